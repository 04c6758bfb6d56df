"""What a tracking server holds, as plain data: to compare a server before and after a move
or a restore. Runs under any MLflow client from 2.x on (the old server's own environment runs
it as a script: ``python store_summary.py URI`` prints it as JSON).

Experiments by name, and for each its runs by name: status, params, tags, every metric
point (step, value) and every artifact file (path, size). IDs are left out on purpose where
they need not survive (they do survive the move: copy_database.py keeps them; a check says so).
"""

from __future__ import annotations

import json
import sys


def summary(tracking_uri: str) -> dict:
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(tracking_uri)
    held = {}
    for experiment in client.search_experiments(view_type=ViewType.ALL):
        runs = {}
        for run in client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL):
            runs[run.info.run_id] = {
                "name": run.info.run_name,
                "status": run.info.status,
                "start_time": run.info.start_time,
                "params": run.data.params,
                "tags": run.data.tags,
                "metrics": {
                    key: sorted(
                        (m.step, m.value, m.timestamp)
                        for m in client.get_metric_history(run.info.run_id, key)
                    )
                    for key in run.data.metrics
                },
                "artifacts": artifacts(client, run.info.run_id),
            }
        held[experiment.name] = {"id": experiment.experiment_id, "runs": runs}
    return json.loads(json.dumps(held))  # tuples as lists, as after a round trip


def artifacts(client, run_id: str, path: str | None = None) -> dict[str, int]:
    found = {}
    for item in client.list_artifacts(run_id, path):
        if item.is_dir:
            found.update(artifacts(client, run_id, item.path))
        else:
            found[item.path] = item.file_size
    return found


def counts(held: dict) -> dict[str, int]:
    """How many of each kind: what the admin page's move prints, and the report."""
    runs = [run for experiment in held.values() for run in experiment["runs"].values()]
    return {
        "experiments": len(held),
        "runs": len(runs),
        "params": sum(len(run["params"]) for run in runs),
        "tags": sum(len(run["tags"]) for run in runs),
        "metric points": sum(len(p) for run in runs for p in run["metrics"].values()),
        "artifact files": sum(len(run["artifacts"]) for run in runs),
    }


if __name__ == "__main__":
    print(json.dumps(summary(sys.argv[1])))
