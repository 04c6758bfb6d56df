"""Copy an MLflow tracking database into an empty one, row by row, keeping every ID.

    /opt/mlflow/bin/python copy_database.py sqlite:///moved.db postgresql+psycopg2://mlflow@/mlflow

The source must already have the schema of the MLflow installed here (`mlflow db upgrade`
it first); the target must be empty: this creates MLflow's tables in it, copies every row,
and prints, table by table, how many rows each side holds. Run it with the server stopped.
"""

import sys

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


def copy(source_uri: str, target_uri: str) -> dict[str, tuple[int, int]]:
    SqlAlchemyStore(target_uri, "unused")  # MLflow's tables, at this version's schema
    source, target = sa.create_engine(source_uri), sa.create_engine(target_uri)
    tables = sa.MetaData()
    tables.reflect(target)
    counts = {}
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
    return counts


if __name__ == "__main__":
    counts = copy(sys.argv[1], sys.argv[2])
    for name, (found, copied) in counts.items():
        print(f"{name:32} {found:8} -> {copied:8}")
    if any(found != copied for found, copied in counts.values()):
        sys.exit("some rows were not copied")
