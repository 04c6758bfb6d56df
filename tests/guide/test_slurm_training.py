"""examples/training/train.sbatch and slurm_train.py, submitted to a real (throwaway)
Slurm: preempted by a more urgent job, requeued by ``scontrol requeue``, and warned of its
time limit by ``--signal=B:USR1@N``. Each ends as one MLflow run, FINISHED, with every step
logged once, after a first attempt that ended its run as KILLED.

The job reaches the throwaway MLflow server on loopback: the test's copy of the batch
script names the server where the page's names the lab's (as network.py sends the lab's
URL to it in the pages).
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime
from pathlib import Path

import pytest

from labdocs.services.slurm import ThrowawaySlurm
from tests.lib.training import EXAMPLES, BatchJob, logged_steps

BATCH_SCRIPT = EXAMPLES / "train.sbatch"
TRAINING = EXAMPLES / "slurm_train.py"


class Training(BatchJob):
    """One member's training, submitted as the page says, from a folder of its own."""

    def __init__(self, cluster: ThrowawaySlurm, server_url: str, folder: Path) -> None:
        super().__init__(cluster, server_url, folder, BATCH_SCRIPT)
        shutil.copy(TRAINING, folder / TRAINING.name)

    def submit(self, *options: str, steps: int) -> int:
        return super().submit(*options, arguments=["--steps", str(steps)])

    def wait_for_run(self, timeout: float = 60.0) -> str:
        """Wait until the training has started its run; its ID."""
        deadline = time.monotonic() + timeout
        while not (runs := self.runs()):
            self.still_going()
            if time.monotonic() > deadline:
                raise AssertionError(f"no run after {timeout} s:\n{self.log()}")
            time.sleep(0.3)
        return runs[0].info.run_id

    def assert_one_finished_run_with_every_step_once(self, steps: int) -> None:
        (run,) = self.runs()
        assert run.info.status == "FINISHED", self.log()
        assert logged_steps(self.server_url, run.info.run_id, "loss") == list(range(steps))

    def assert_run_carries_the_job(self, job: int) -> None:
        """The run's tags name its job, the node, and the GPU the script asks for."""
        (run,) = self.runs()
        tags = {key: value for key, value in run.data.tags.items() if key.startswith("slurm.")}
        assert tags == {"slurm.job_id": str(job), "slurm.node": "localhost", "slurm.gpus": "1"}


@pytest.fixture
def training(slurm_cluster, mlflow_server, sandbox) -> Training:
    return Training(slurm_cluster, mlflow_server.url, sandbox)


def test_a_preempted_training_goes_on_as_the_same_run(training: Training, slurm_cluster):
    job = training.submit(steps=60)
    assert slurm_cluster.job(job)["TresPerNode"] == "gres:gpu:1"  # the script asks for a GPU
    run_id = training.wait_for_steps(5)

    # A job of the urgent partition that needs both CPUs: Slurm preempts the training.
    urgent = slurm_cluster.sbatch(
        "--partition=urgent", "--cpus-per-task=2", "--output=/dev/null", "--wrap=true",
        cwd=training.folder,
    )  # fmt: skip
    training.wait_for_status(run_id, "KILLED")  # the first attempt ended its run so
    slurm_cluster.wait_for(urgent, lambda f: f["JobState"] == "COMPLETED", "completed")

    fields = training.wait_until_done()
    assert fields["Restarts"] == "1"
    assert f"job {job}, attempt 2" in training.log()
    training.assert_one_finished_run_with_every_step_once(60)
    training.assert_run_carries_the_job(job)


def test_a_requeued_training_goes_on_as_the_same_run(training: Training, slurm_cluster):
    job = training.submit(steps=60)
    run_id = training.wait_for_steps(5)

    slurm_cluster.run("scontrol", "requeue", str(job))
    training.wait_for_status(run_id, "KILLED")
    # Requeued, the job waits about two minutes (the page says so) before it may start.
    held = slurm_cluster.wait_for(job, lambda f: f["JobState"] == "PENDING", "requeued")
    assert held["Reason"] == "BeginTime"
    waits = datetime.fromisoformat(held["StartTime"]) - datetime.now()
    assert 60 < waits.total_seconds() <= 125

    assert training.wait_until_done()["Restarts"] == "1"
    training.assert_one_finished_run_with_every_step_once(60)


def test_a_training_warned_of_its_time_limit_requeues_itself(training: Training, slurm_cluster):
    # One minute, signalled 55 s before its end: at Slurm's first check after 5 s, which
    # comes within 35 s. 200 steps of 0.2 s outlast it: the training must requeue itself.
    job = training.submit("--time=1", "--signal=B:USR1@55", steps=200)
    run_id = training.wait_for_run()
    training.wait_for_status(run_id, "KILLED", timeout=60)
    # The test only: the next attempt gets the time to finish (each would be signalled
    # again after half a minute, and on this machine Python and torch take part of it).
    slurm_cluster.wait_for(job, lambda f: f["JobState"] == "PENDING", "requeued")
    slurm_cluster.run("scontrol", "update", f"jobid={job}", "TimeLimit=10")

    assert training.wait_until_done()["Restarts"] == "1"
    training.assert_one_finished_run_with_every_step_once(200)
