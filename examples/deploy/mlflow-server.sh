#!/usr/bin/env bash
# Start the MindGarage lab's MLflow tracking server: on 127.0.0.1 only, behind nginx
# (mlflow.nginx.conf), with its runs and its users in PostgreSQL (postgres-setup.sql).
#
# systemd runs it (mlflow.service) as the account `mlflow`, with its secrets as credentials:
# files in $CREDENTIALS_DIRECTORY that only this service can read, never in a script, an
# environment file or a command line (the command line of every process is readable by every
# account on the machine):
#   flask-secret-key  a long random string, the same across restarts
#   admin-password    the admin's first password (12 characters or more), read only on the
#                     very first start; empty afterwards
#   pgpass            the database password, as PostgreSQL's password file
#
# The settings below are the lab's. The environment can override each: the tests run this
# very script on throwaway folders and ports.
set -euo pipefail
umask 077  # runs, artifacts and users: readable by this account only

data_dir="${LAB_MLFLOW_DIR:-/srv/mlflow}"  # artifacts; runs and users are in PostgreSQL
port="${LAB_MLFLOW_PORT:-5000}"  # nginx passes requests on to 127.0.0.1:5000
workers="${LAB_MLFLOW_WORKERS:-2}"
# PostgreSQL on this machine, through its Unix socket (it listens on no network port).
export PGHOST="${LAB_PG_SOCKET_DIR:-/var/run/postgresql}"
export MLFLOW_AUTH_CONFIG_PATH="${LAB_MLFLOW_AUTH_CONFIG:-/etc/mlflow/basic_auth.ini}"

credentials="${CREDENTIALS_DIRECTORY:?is not set: start the server with systemctl start mlflow}"
for name in flask-secret-key pgpass; do
    if [ ! -s "$credentials/$name" ]; then
        echo "$credentials/$name: missing or empty: see the admin guide" >&2
        exit 1
    fi
done
export PGPASSFILE="$credentials/pgpass"
# MLflow reads the secret key from the environment of each of its processes: there it must be.
MLFLOW_FLASK_SERVER_SECRET_KEY="$(head -n 1 "$credentials/flask-secret-key")"
export MLFLOW_FLASK_SERVER_SECRET_KEY
# The admin's password only while the file holds one: on the first start.
if [ -s "$credentials/admin-password" ]; then
    MLFLOW_AUTH_ADMIN_PASSWORD="$(head -n 1 "$credentials/admin-password")"
    export MLFLOW_AUTH_ADMIN_PASSWORD
fi
# Both databases answer, with this password, before MLflow starts: else stop now, saying why.
for database in mlflow mlflow_auth; do
    if ! problem=$(psql --no-psqlrc --username=mlflow --dbname="$database" \
            --command='select 1' 2>&1 >/dev/null); then
        echo "PostgreSQL database $database: $problem" >&2
        exit 1
    fi
done

# No job runner: it serves MLflow's GenAI features; the lab tracks training.
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false
# No usage data to MLflow's telemetry service, from the server or through it.
export MLFLOW_DISABLE_TELEMETRY=true

exec mlflow server \
    --app-name basic-auth \
    --backend-store-uri "postgresql+psycopg2://mlflow@/mlflow" \
    --serve-artifacts \
    --artifacts-destination "$data_dir/artifacts" \
    --host 127.0.0.1 \
    --port "$port" \
    --allowed-hosts mindgarage07.cs.uni-kl.de \
    --cors-allowed-origins https://mindgarage07.cs.uni-kl.de \
    --workers "$workers"
