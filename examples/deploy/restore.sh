#!/usr/bin/env bash
# Restore a backup made by backup.sh, replacing everything the server holds. As root, with
# the server stopped (systemctl stop mlflow), and the MLflow version that made the backup
# installed (to roll an upgrade back):
#   restore.sh /backup/mlflow/2026-11-30
set -euo pipefail
umask 077

backup="${1:?give the backup folder}"
data_dir="${LAB_MLFLOW_DIR:-/srv/mlflow}"
export PGHOST="${LAB_PG_SOCKET_DIR:-/var/run/postgresql}"
export PGPASSFILE="${PGPASSFILE:-/etc/mlflow/pgpass}"
owner="${LAB_MLFLOW_OWNER:-mlflow:mlflow}"  # the account mlflow.service runs the server as

for database in mlflow mlflow_auth; do
    [ -s "$backup/$database.dump" ] || { echo "$backup/$database.dump: missing" >&2; exit 1; }
done
for database in mlflow mlflow_auth; do
    # Drops what the database holds (tables of a newer schema included), then restores.
    psql --no-psqlrc --username=mlflow --dbname="$database" --quiet \
        --command='SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public;'
    pg_restore --username=mlflow --dbname="$database" --no-owner --exit-on-error \
        "$backup/$database.dump"
done
rm -rf "$data_dir/artifacts"
cp -a "$backup/artifacts" "$data_dir/artifacts"
chown -R "$owner" "$data_dir/artifacts"  # the server's, as /srv/mlflow
echo "restored from $backup: start the server (systemctl start mlflow)"
