"""examples/training/sweep_trial.py as the sweeps page runs it: in a process of its own,
with nothing of the sweep's script but the parent's ID (``SWEEP_RUN_ID``). The trial joins
its sweep on the server, in the sweep's experiment, and leaves no local store behind.
"""

from __future__ import annotations

import sys

import pytest
from mlflow import MlflowClient

from labdocs.lab import LAB_TRACKING_URI
from tests.lib.training import EXAMPLES, new_member, run_training, training_environment

TRIAL = EXAMPLES / "sweep_trial.py"


@pytest.mark.parametrize("uri_exported", [False, True], ids=["nothing-exported", "uri-exported"])
def test_a_trial_in_a_process_of_its_own_joins_its_sweep(mlflow_server, sandbox, uri_exported):
    member = new_member()
    client = MlflowClient(mlflow_server.url)
    experiment_id = client.create_experiment(f"mlflow-guide-sweeps/{member}")
    sweep = client.create_run(experiment_id, run_name="lr-sweep")
    client.set_terminated(sweep.info.run_id)  # the parent may have ended: the page says so

    # The test's copy names the test's server where the page's names the lab's.
    script = TRIAL.read_text()
    assert script.count(LAB_TRACKING_URI) == 1
    (sandbox / TRIAL.name).write_text(script.replace(LAB_TRACKING_URI, mlflow_server.url))
    env = {**training_environment(mlflow_server.url, member), "SWEEP_RUN_ID": sweep.info.run_id}
    if not uri_exported:  # a fresh shell: only what the page says to export
        del env["MLFLOW_TRACKING_URI"]
    done = run_training([sys.executable, TRIAL.name], env=env, cwd=sandbox)
    assert done.returncode == 0, done.stderr[-3000:]

    (trial,) = client.search_runs(
        [experiment_id], f"tags.`mlflow.parentRunId` = '{sweep.info.run_id}'"
    )
    assert trial.info.run_name == "lr=0.2" and trial.info.status == "FINISHED"
    assert trial.data.params == {"lr": "0.2"}
    assert sorted(p.step for p in client.get_metric_history(trial.info.run_id, "val_loss")) == [
        0, 1, 2, 3, 4,
    ]  # fmt: skip
    left = sorted(path.name for path in sandbox.iterdir())
    assert left == [TRIAL.name], left  # no mlflow.db, no mlruns: nothing logged locally
