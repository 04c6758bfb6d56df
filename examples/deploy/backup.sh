#!/usr/bin/env bash
# Back up the lab's MLflow server, safely while members log: each database as one
# consistent snapshot (pg_dump), then the artifacts. As root, from cron or a systemd timer:
#   backup.sh /backup/mlflow/$(date +%F)
# A backup that fails halfway stays in TARGET.incomplete, never in TARGET.
set -euo pipefail
umask 077

target="${1:?give a new folder for the backup}"
target="${target%/}"
data_dir="${LAB_MLFLOW_DIR:-/srv/mlflow}"
export PGHOST="${LAB_PG_SOCKET_DIR:-/var/run/postgresql}"
export PGPASSFILE="${PGPASSFILE:-/etc/mlflow/pgpass}"

for existing in "$target" "$target.incomplete"; do  # never mix two backups
    if [ -e "$existing" ]; then
        echo "$existing: exists already: give a new folder" >&2
        exit 1
    fi
done
mkdir -p -- "$(dirname -- "$target")"
work="$target.incomplete"
mkdir -- "$work"
for database in mlflow mlflow_auth; do
    pg_dump --username=mlflow --format=custom --file="$work/$database.dump" "$database"
done
# After the databases: every finished run in the dump has its artifacts in the copy. (Files
# of runs logged meanwhile may be copied too; the restored server just does not list them.)
mkdir "$work/artifacts"
if [ -d "$data_dir/artifacts" ]; then  # none before the first artifact is logged
    cp -a "$data_dir/artifacts/." "$work/artifacts/"
fi
mv -- "$work" "$target"
echo "backed up into $target"
