#!/usr/bin/env bash
# Start the MindGarage lab's MLflow tracking server, with authentication.
#
# Secrets never go into this file. The server reads them from its environment:
#   MLFLOW_FLASK_SERVER_SECRET_KEY  a long random string; keep it the same across restarts
#   MLFLOW_AUTH_ADMIN_PASSWORD      the admin's first password (at least 12 characters);
#                                   needed only on the first start, which creates the admin
#
# The four settings below are the lab's. Each can be overridden from the environment: the
# tests run this very script, on a throwaway folder and port.
set -euo pipefail

data_dir="${LAB_MLFLOW_DIR:-/srv/mlflow}"  # runs, artifacts, users and this server's config
host="${LAB_MLFLOW_HOST:-0.0.0.0}"  # the network interface: all of them
port="${LAB_MLFLOW_PORT:-8001}"
allowed_hosts="${LAB_MLFLOW_ALLOWED_HOSTS:-mindgarage07.cs.uni-kl.de:8001}"  # the URL's host:port

: "${MLFLOW_FLASK_SERVER_SECRET_KEY:?is not set: see the admin guide}"
export MLFLOW_AUTH_CONFIG_PATH="$data_dir/basic_auth.ini"
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false  # no GenAI job runner: the lab tracks training

cd "$data_dir"  # basic_auth.ini names the user database relative to this folder
exec mlflow server \
    --app-name basic-auth \
    --backend-store-uri "sqlite:///$data_dir/mlflow.db" \
    --serve-artifacts \
    --artifacts-destination "$data_dir/artifacts" \
    --host "$host" \
    --port "$port" \
    --allowed-hosts "$allowed_hosts" \
    --workers 2
