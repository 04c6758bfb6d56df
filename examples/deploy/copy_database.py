"""Copy an MLflow tracking database into an empty one, row by row, keeping every ID.

    /opt/mlflow/bin/python copy_database.py sqlite:///moved.db postgresql+psycopg2://mlflow@/mlflow

The source must already have the schema of the MLflow installed here (`mlflow db upgrade`
it first); the target must be empty: this creates MLflow's tables in it, copies every row,
and prints, table by table, how many rows each side holds. Run it with the server stopped.

Artifacts stay behind the sign-in only where the server keeps them (mlflow-artifacts:/...):
a row whose artifact location names anything else (a folder of the server such as
file:///etc/mlflow, or a path climbing out with ..) would let whoever may read it download
what the server's account can read. Experiments, runs and logged models with such a
location get the one the new server would give them (their files are not moved); a model
version or trace pointing elsewhere stops the copy. Afterwards the target is checked again,
and the count of locations outside the artifacts printed (it must be 0).
"""

import posixpath
import sys
import urllib.parse

import sqlalchemy as sa
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore


def new_experiment_ids(reading, target) -> dict:
    """Experiment IDs that do not fit PostgreSQL's integer column, and their new numbers.

    A file store (mlruns) numbers experiments at random, up to 18 digits; SQLite takes them,
    PostgreSQL does not. Such experiments get the next free small numbers. Their artifacts
    stay where they are: their addresses (mlflow-artifacts:/<old ID>/...) are kept as text.
    """
    if target.dialect.name != "postgresql":
        return {}
    ids = [row[0] for row in reading.execute(sa.text("SELECT experiment_id FROM experiments"))]
    small = [i for i in ids if i < 2**31]
    free = max(small, default=0) + 1
    renumbered = {}
    for old in sorted(i for i in ids if i >= 2**31):
        renumbered[old] = free
        print(f"experiment {old} is now experiment {free}")
        free += 1
    return renumbered


ARTIFACTS = "mlflow-artifacts:"  # where the new server keeps artifacts, behind the sign-in
# Where the new server puts the artifacts of each kind of row (as MLflow names them).
NEW_LOCATIONS = {
    "experiments": ("artifact_location", "{experiment_id}"),
    "runs": ("artifact_uri", "{experiment_id}/{run_uuid}/artifacts"),
    "logged_models": ("artifact_location", "{experiment_id}/models/{model_id}/artifacts"),
}
TRACE_LOCATION_TAG = "mlflow.artifactLocation"


def in_artifacts(uri, *also: str) -> bool:
    """Whether ``uri`` stays inside the server's artifacts (or is one of the schemes
    ``also`` names, such as runs: and models: addresses of a model version)."""
    if not uri:
        return False
    parsed = urllib.parse.urlsplit(uri)
    path = parsed.path
    while urllib.parse.unquote(path) != path:  # %2e%2e is .. too
        path = urllib.parse.unquote(path)
    return (
        parsed.scheme in ("mlflow-artifacts", *also)
        and not (parsed.netloc or parsed.query or parsed.fragment)
        and ".." not in path.replace("\\", "/").split("/")
    )


def outside_artifacts(connection, tables: sa.MetaData) -> list[str]:
    """Every location in the database that is not inside the server's artifacts."""
    found = []
    for name, (column, _) in NEW_LOCATIONS.items():
        table = tables.tables[name]
        for key, uri in connection.execute(
            sa.select(table.primary_key.columns[0], table.c[column])
        ):
            if not in_artifacts(uri):
                found.append(f"{name} {key}: {column} {uri}")
    versions = tables.tables["model_versions"]
    for name, version, source, storage in connection.execute(
        sa.select(
            versions.c.name, versions.c.version, versions.c.source, versions.c.storage_location
        )
    ):
        if not in_artifacts(source, "runs", "models") or not (
            storage is None or in_artifacts(storage)
        ):
            found.append(f"model_versions {name} {version}: source {source}, storage {storage}")
    tags = tables.tables["trace_tags"]
    for request_id, uri in connection.execute(
        sa.select(tags.c.request_id, tags.c.value).where(tags.c.key == TRACE_LOCATION_TAG)
    ):
        if not in_artifacts(uri):
            found.append(f"trace {request_id}: {TRACE_LOCATION_TAG} {uri}")
    return found


def keep_in_artifacts(table_name: str, row: dict) -> dict:
    """The row, its artifact location rewritten to the new server's if it points elsewhere."""
    column, new = NEW_LOCATIONS.get(table_name, (None, None))
    if column is not None and not in_artifacts(row[column]):
        location = posixpath.join(ARTIFACTS + "/", new.format(**row))
        print(f"{table_name}: {column} {row[column]} is outside the artifacts: now {location}")
        row = {**row, column: location}
    return row


def copy(source_uri: str, target_uri: str) -> dict[str, tuple[int, int]]:
    SqlAlchemyStore(target_uri, "unused")  # MLflow's tables, at this version's schema
    source, target = sa.create_engine(source_uri), sa.create_engine(target_uri)
    tables = sa.MetaData()
    tables.reflect(target)
    counts, rewritten = {}, 0
    with source.connect() as reading, target.begin() as writing:
        runs = tables.tables["runs"]
        if writing.execute(sa.select(sa.func.count()).select_from(runs)).scalar():
            sys.exit(f"{target_uri} already holds runs: copy only into an empty database")
        renumbered = new_experiment_ids(reading, target)
        for table in tables.sorted_tables:  # parents before the rows that point to them
            if table.name == "alembic_version":
                continue
            if writing.execute(sa.select(sa.func.count()).select_from(table)).scalar():
                writing.execute(table.delete())  # the few rows MLflow made, such as Default
            rows = [dict(row._mapping) for row in reading.execute(sa.select(table))]
            if "experiment_id" in table.columns:
                for row in rows:
                    row["experiment_id"] = renumbered.get(
                        row["experiment_id"], row["experiment_id"]
                    )
            placed = [keep_in_artifacts(table.name, row) for row in rows]
            rewritten += sum(old is not new for old, new in zip(rows, placed, strict=False))
            rows = placed
            if rows:
                writing.execute(table.insert(), rows)
            copied = writing.execute(sa.select(sa.func.count()).select_from(table)).scalar()
            counts[table.name] = (len(rows), copied)
        if target.dialect.name == "postgresql":
            # Counters of generated IDs continue after the highest copied one.
            for table in tables.sorted_tables:
                for column in table.primary_key.columns:
                    if column.autoincrement is True or (
                        column.autoincrement == "auto" and column.type.python_type is int
                    ):
                        writing.execute(
                            sa.text(
                                "SELECT setval(pg_get_serial_sequence(:t, :c), "
                                f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, "
                                "false) WHERE pg_get_serial_sequence(:t, :c) IS NOT NULL"
                            ),
                            {"t": table.name, "c": column.name},
                        )
        refused = outside_artifacts(writing, tables)  # what no rewrite could place
        if refused:
            sys.exit("locations outside the artifacts, nothing copied:\n" + "\n".join(refused))
    with target.connect() as checking:  # the database the server will serve, as committed
        left = outside_artifacts(checking, tables)
    print(f"artifact locations rewritten: {rewritten}")
    print(f"locations outside the artifacts in {target.url.database}: {len(left)}")
    if left:
        sys.exit("\n".join(left))
    return counts


if __name__ == "__main__":
    counts = copy(sys.argv[1], sys.argv[2])
    for name, (found, copied) in counts.items():
        print(f"{name:32} {found:8} -> {copied:8}")
    if any(found != copied for found, copied in counts.values()):
        sys.exit("some rows were not copied")
