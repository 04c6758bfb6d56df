#!/usr/bin/env bash
# Move the runs and artifacts of the lab's old, open server into this deployment. Once, as
# root, with both servers stopped, before anyone logs to the new one:
#   move-old-server.sh OLD_STORE OLD_ARTIFACTS
# OLD_STORE is what the old server's --backend-store-uri named: its SQLite file (mlflow.db)
# or its file store folder (mlruns). OLD_ARTIFACTS is its artifact folder (mlartifacts, the
# default of `mlflow server` 2.x). Neither is changed: the script works on copies.
set -euo pipefail
umask 077

store="${1:?give the store of the old server: its mlflow.db or its mlruns folder}"
artifacts="${2:?give the artifact folder of the old server (mlartifacts)}"
data_dir="${LAB_MLFLOW_DIR:-/srv/mlflow}"
export PGHOST="${LAB_PG_SOCKET_DIR:-/var/run/postgresql}"
export PGPASSFILE="${PGPASSFILE:-/etc/mlflow/pgpass}"
owner="${LAB_MLFLOW_OWNER:-mlflow:mlflow}"  # the account mlflow.service runs the server as
python="$(dirname "$(command -v mlflow)")/python"  # the server's own environment
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# 1. The old store as an SQLite database of this MLflow version's schema.
if [ -d "$store" ]; then
    mlflow migrate-filestore --source "$store" --target "sqlite:///$work/moved.db"
else
    cp "$store" "$work/moved.db"
    mlflow db upgrade "sqlite:///$work/moved.db"
fi
# 2. Every row into PostgreSQL, with the same IDs; the counts of both sides are printed.
"$python" "$(dirname "$0")/copy_database.py" \
    "sqlite:///$work/moved.db" "postgresql+psycopg2://mlflow@/mlflow"
# 3. The artifacts, where the new server serves them (same paths: mlflow-artifacts:/...).
mkdir -p "$data_dir/artifacts"
cp -a "$artifacts/." "$data_dir/artifacts/"
chown -R "$owner" "$data_dir/artifacts"  # the server's, as /srv/mlflow
echo "moved: start the server (systemctl start mlflow), then give the experiments owners"
