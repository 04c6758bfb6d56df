#!/usr/bin/env bash
# The tests' authenticated MLflow server for the member runs of the plain pages
# (labdocs/auth.py): sign-in on plain http at the lab's address of today, port 8001. Not the
# lab's setup: passwords cross the network in clear here. The admin page's deployment is
# examples/deploy/ (nginx with TLS in front, PostgreSQL).
#
# Secrets never go into this file. The server reads them from its environment:
#   MLFLOW_FLASK_SERVER_SECRET_KEY  a long random string, the same across restarts
#   MLFLOW_AUTH_ADMIN_PASSWORD      the admin's first password (12 characters or
#                                   more), needed only on the first start
#
# The five settings below are the lab's. The environment can override each: the
# tests run this very script, on a throwaway folder and port.
set -euo pipefail

# Runs, artifacts, users and this server's configuration:
data_dir="${LAB_MLFLOW_DIR:-/srv/mlflow}"
host="${LAB_MLFLOW_HOST:-0.0.0.0}"  # the network interfaces: all of them
port="${LAB_MLFLOW_PORT:-8001}"
# The host:port of the URL that members use:
allowed_hosts="${LAB_MLFLOW_ALLOWED_HOSTS:-mindgarage07.cs.uni-kl.de:8001}"
# That URL as a browser's origin: the UI's own requests carry it.
allowed_origins="${LAB_MLFLOW_ALLOWED_ORIGINS:-http://mindgarage07.cs.uni-kl.de:8001}"

: "${MLFLOW_FLASK_SERVER_SECRET_KEY:?is not set: see the admin guide}"
export MLFLOW_AUTH_CONFIG_PATH="$data_dir/basic_auth.ini"
# No job runner: it serves MLflow's GenAI features; the lab tracks training.
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false
# No usage data to MLflow's telemetry service, from the server or through it.
export MLFLOW_DISABLE_TELEMETRY=true

cd "$data_dir"  # basic_auth.ini names the user database relative to it
exec mlflow server \
    --app-name basic-auth \
    --backend-store-uri "sqlite:///$data_dir/mlflow.db" \
    --serve-artifacts \
    --artifacts-destination "$data_dir/artifacts" \
    --host "$host" \
    --port "$port" \
    --allowed-hosts "$allowed_hosts" \
    --cors-allowed-origins "$allowed_origins" \
    --workers 2
