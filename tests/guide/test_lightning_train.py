"""examples/training/lightning_train.py (and lightning.sbatch): PyTorch Lightning's
MLFlowLogger logs the parameters, a point of ``train_loss`` per step and the checkpoints;
a training resumed from its checkpoint goes on in the same run, by hand and through
Lightning's own Slurm auto-requeue under a real (throwaway) Slurm. Without the run's ID
passed back to the logger, the requeued training starts a second run (the page warns of it).

The training runs in what the page tells members to install, on top of the quick start's
(tools/member_env.py's ``lightning``), and nothing else: the doctest environment holds no
Lightning.

The Slurm warning before the time limit (``--signal=B:USR1@120``) is sent at once, to the
batch script's process, as Slurm sends it (``scancel --batch --signal=USR1``): Lightning's
handler does not depend on who sent it.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from mlflow import MlflowClient

from labdocs.pages import DOCS
from labdocs.services.slurm import ThrowawaySlurm
from tests.lib.member_machine import holds_only_what_the_page_says, member_python
from tests.lib.training import (
    EXAMPLES,
    BatchJob,
    logged_steps,
    new_member,
    run_training,
    runs_of,
    training_environment,
)

PAGE = DOCS / "guides" / "mlflow" / "lightning.rst"
TRAINING = EXAMPLES / "lightning_train.py"
BATCH_SCRIPT = EXAMPLES / "lightning.sbatch"
STEPS_PER_EPOCH = 16  # 256 samples, batches of 16
# What most people write: a new logger at every start, the checkpoint's run forgotten.
PASSES_THE_RUN_ID = "    run_id=run_id,\n"
FORGETS_THE_RUN_ID = "    run_id=None,\n"


def test_the_member_environment_holds_only_what_the_pages_say():
    """The quick start's install line, then the page's, and nothing else."""
    held = holds_only_what_the_page_says("lightning", PAGE, "pip install lightning==2.6.6")
    assert {"torch", "lightning"} <= held
    assert not {"pytest", "sybil"} & held


def test_the_other_pages_run_without_lightning():
    """Installed beside MLflow, Lightning is imported by ``mlflow.pytorch`` and listed among
    the requirements of every model the other pages log, which a member's would not list."""
    assert importlib.util.find_spec("lightning") is None
    assert importlib.util.find_spec("pytorch_lightning") is None


def train(folder: Path, server_url: str, member: str, *args: str) -> str:
    python = member_python("lightning")
    done = run_training(
        [str(python), TRAINING.name, *args],
        env=training_environment(server_url, member, python), cwd=folder,
    )  # fmt: skip
    output = f"{done.stdout}\n{done.stderr}"
    assert done.returncode == 0, output
    return output


def test_a_resumed_training_goes_on_in_the_same_run(mlflow_server, sandbox):
    shutil.copy(TRAINING, sandbox)
    member = new_member()
    train(sandbox, mlflow_server.url, member, "2")
    (first,) = runs_of(mlflow_server.url, f"mlflow-guide-lightning/{member}")
    assert first.info.status == "FINISHED"

    output = train(sandbox, mlflow_server.url, member, "3")
    assert "Restored all states from the checkpoint" in output

    (run,) = runs_of(mlflow_server.url, f"mlflow-guide-lightning/{member}")
    assert run.info.run_id == first.info.run_id
    assert run.info.status == "FINISHED"
    assert run.data.params == {"lr": "0.05"}
    assert logged_steps(mlflow_server.url, run.info.run_id, "train_loss") == list(
        range(3 * STEPS_PER_EPOCH)
    )
    client = MlflowClient(mlflow_server.url)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert "epoch=2-step=48" in artifacts, artifacts
    # Outside Slurm, the run carries no job.
    assert not [tag for tag in run.data.tags if tag.startswith("slurm.")], run.data.tags


class SlurmTraining(BatchJob):
    """One member's Lightning training, submitted as the page says, from its own folder."""

    project, metric = "lightning", "train_loss"

    def __init__(self, cluster: ThrowawaySlurm, server_url: str, folder: Path, script: str):
        super().__init__(cluster, server_url, folder, BATCH_SCRIPT)
        self.python = member_python("lightning")
        (folder / TRAINING.name).write_text(script)

    def submit(self, epochs: int) -> int:
        return super().submit(arguments=[str(epochs)])

    def warn_of_the_time_limit(self) -> None:
        """What ``--signal=B:USR1@120`` makes Slurm do two minutes before the limit."""
        self.cluster.run("scancel", "--batch", "--signal=USR1", str(self.job_id))


def lightning_under_slurm(
    cluster, server_url, folder, script: str, *, goes_on_in_the_run: bool
) -> SlurmTraining:
    """Submit, let it log a while, warn it of its time limit, and see the job through."""
    training = SlurmTraining(cluster, server_url, folder, script)
    job = training.submit(epochs=20)
    assert cluster.job(job)["TresPerNode"] == "gres:gpu:1"  # the script asks for a GPU
    first_run = training.wait_for_steps(20, timeout=120)
    training.warn_of_the_time_limit()
    cluster.wait_for(job, lambda fields: fields["JobState"] == "PENDING", "requeued")
    # While the job waits in the queue, Lightning has ended the run as FAILED.
    training.wait_for_status(first_run, "FAILED")
    if goes_on_in_the_run:  # the requeued job makes it RUNNING again
        cluster.start_now_if_held_back(job)
        training.wait_for_status(first_run, "RUNNING", timeout=120)
    fields = training.wait_until_done(timeout=180)
    assert fields["Restarts"] == "1", training.log()
    assert f"job {job}, attempt 2" in training.log()
    assert "Restored all states from the checkpoint" in training.log()
    assert (folder / f"lightning-{job}" / "hpc_ckpt_1.ckpt").is_file()  # the page names it
    return training


@pytest.mark.timeout(420)  # two attempts, each starting Python with torch and Lightning
def test_lightning_auto_requeue_goes_on_in_the_same_run(slurm_cluster, mlflow_server, sandbox):
    training = lightning_under_slurm(
        slurm_cluster, mlflow_server.url, sandbox, TRAINING.read_text(), goes_on_in_the_run=True
    )

    (run,) = training.runs()
    assert run.info.status == "FINISHED", training.log()
    tags = {key: value for key, value in run.data.tags.items() if key.startswith("slurm.")}
    assert tags == {
        "slurm.job_id": str(training.job_id),
        "slurm.node": "localhost",
        "slurm.gpus": "1",
    }
    steps = logged_steps(mlflow_server.url, run.info.run_id, "train_loss")
    assert steps == list(range(len(steps))), training.log()  # each once, none skipped
    # Resumed from a checkpoint taken in the middle of a step and of an epoch (which its
    # data loader cannot resume), Lightning trains a step more or fewer than 20 epochs hold.
    assert abs(len(steps) - 20 * STEPS_PER_EPOCH) <= 1, training.log()


@pytest.mark.timeout(420)
def test_lightning_auto_requeue_without_the_run_id_starts_a_second_run(
    slurm_cluster, mlflow_server, sandbox
):
    script = TRAINING.read_text()
    assert script.count(PASSES_THE_RUN_ID) == 1
    script = script.replace(PASSES_THE_RUN_ID, FORGETS_THE_RUN_ID)
    training = lightning_under_slurm(
        slurm_cluster, mlflow_server.url, sandbox, script, goes_on_in_the_run=False
    )

    runs = training.runs()
    assert len(runs) == 2, training.log()
    first, second = sorted(runs, key=lambda run: run.info.start_time)
    assert first.info.status == "FAILED"
    assert second.info.status == "FINISHED"
    # The second run starts where the checkpoint left off: neither holds the whole training.
    assert logged_steps(mlflow_server.url, second.info.run_id, "train_loss")[0] > 0
