"""tests/lib/store_summary.py: what a server holds, read back as data, in this process and
as the script the old server's environment runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from mlflow import MlflowClient

from labdocs.services.session import NO_TELEMETRY
from tests.lib import store_summary
from tests.lib.training import new_member


def test_a_run_is_summarised_whole_and_counted(mlflow_server, sandbox):
    client = MlflowClient(mlflow_server.url)
    name = f"store-summary/{new_member()}"
    experiment_id = client.create_experiment(name)
    run = client.create_run(experiment_id, run_name="first", tags={"team": "pose"})
    client.log_param(run.info.run_id, "lr", "0.01")
    for step in range(3):
        client.log_metric(run.info.run_id, "loss", 1.0 / (step + 1), step=step)
    (sandbox / "notes.txt").write_text("twelve bytes")
    client.log_artifact(run.info.run_id, str(sandbox / "notes.txt"), "docs")
    client.set_terminated(run.info.run_id)

    held = store_summary.summary(mlflow_server.url)[name]
    summarised = held["runs"][run.info.run_id]
    assert held["id"] == experiment_id
    assert (summarised["name"], summarised["status"]) == ("first", "FINISHED")
    assert summarised["params"] == {"lr": "0.01"}
    assert summarised["tags"]["team"] == "pose"
    assert [point[:2] for point in summarised["metrics"]["loss"]] == [
        [0, 1.0], [1, 0.5], [2, 1.0 / 3]
    ]  # fmt: skip
    assert summarised["artifacts"] == {"docs/notes.txt": 12}
    counts = store_summary.counts({name: held})
    assert counts["runs"] == 1 and counts["metric points"] == 3 and counts["artifact files"] == 1

    printed = subprocess.run(
        [sys.executable, store_summary.__file__, mlflow_server.url],
        capture_output=True, text=True, timeout=120, env={**os.environ, **NO_TELEMETRY},
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout)[name] == held
