"""tests/lib/training.py: a training's process gets the test's server and a member of its
own; a batch script is copied naming the test's server for the lab's; a member's runs are
found by the tag MLflow gives them."""

from __future__ import annotations

import subprocess
import sys

from labdocs.lab import LAB_TRACKING_URI
from tests.lib.training import EXAMPLES, BatchJob, new_member, runs_by, training_environment


def test_a_training_process_logs_to_the_server_as_its_own_member(mlflow_server, sandbox):
    member = new_member()
    assert member != new_member()
    logged = subprocess.run(
        [sys.executable, "-c", "import mlflow\nwith mlflow.start_run():\n"
         "    mlflow.log_metric('loss', 0.5)\n"],
        env=training_environment(mlflow_server.url, member), cwd=sandbox,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert logged.returncode == 0, logged.stderr
    runs = runs_by(mlflow_server.url, member)
    assert [run.data.metrics for run in runs] == [{"loss": 0.5}]


def test_a_batch_script_names_the_test_s_server_instead_of_the_lab_s(tmp_path):
    job = BatchJob(None, "http://127.0.0.1:5999", tmp_path, EXAMPLES / "train.sbatch")
    copied = job.batch.read_text()
    assert "export MLFLOW_TRACKING_URI=http://127.0.0.1:5999\n" in copied
    assert LAB_TRACKING_URI not in copied
    assert (
        copied.replace("http://127.0.0.1:5999", LAB_TRACKING_URI)
        == (EXAMPLES / "train.sbatch").read_text()
    )
