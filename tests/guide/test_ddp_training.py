"""examples/training/ddp_train.py under torchrun, two processes (gloo, on the CPU): one
MLflow run for the training, FINISHED, every step logged once; the same started by
ddp.sbatch on the throwaway Slurm, its two GPUs stood in for by two CPU processes: one run
with the job's tags; and the obvious code, in which every rank logs, makes a run per
process (the page warns of it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from labdocs.services.slurm import ThrowawaySlurm
from tests.lib.training import (
    EXAMPLES,
    TORCHRUN,
    BatchJob,
    logged_steps,
    new_member,
    run_training,
    runs_by,
    runs_of,
    training_environment,
)

DDP_TRAIN = EXAMPLES / "ddp_train.py"
DDP_BATCH = EXAMPLES / "ddp.sbatch"
TORCHRUN_TWO = [str(TORCHRUN), "--standalone", "--nproc_per_node=2"]

# What most people write first: every process runs the same script, MLflow calls and all.
EVERY_RANK_LOGS = """\
import getpass

import mlflow
import torch.distributed as dist

dist.init_process_group("gloo")
mlflow.set_experiment(f"mlflow-guide-ddp/{getpass.getuser()}")
with mlflow.start_run():
    for step in range(5):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
dist.destroy_process_group()
"""


def torchrun(script: Path, server_url: str, cwd: Path) -> tuple[str, str]:
    """Run ``script`` on two processes as a new member: the member's login name, and
    what torchrun printed."""
    member = new_member()
    done = run_training(
        [*TORCHRUN_TWO, str(script)], env=training_environment(server_url, member), cwd=cwd
    )
    output = f"{done.stdout}\n{done.stderr}"
    assert done.returncode == 0, f"torchrun failed:\n{output}"
    return member, output


def test_rank_zero_alone_makes_one_finished_run_with_every_step_once(mlflow_server, sandbox):
    member, _ = torchrun(DDP_TRAIN, mlflow_server.url, sandbox)

    (run,) = runs_of(mlflow_server.url, f"mlflow-guide-ddp/{member}")
    assert run.info.status == "FINISHED"
    assert run.data.params["world_size"] == "2"
    assert logged_steps(mlflow_server.url, run.info.run_id, "loss") == list(range(20))
    assert not [tag for tag in run.data.tags if tag.startswith("slurm.")]  # not in a job


class DdpJob(BatchJob):
    """The page's batch script and training, submitted from a folder of the member's."""

    project = "ddp"

    def __init__(self, cluster: ThrowawaySlurm, server_url: str, folder: Path) -> None:
        super().__init__(cluster, server_url, folder, DDP_BATCH)
        shutil.copy(DDP_TRAIN, folder / DDP_TRAIN.name)

    def log(self) -> str:
        path = self.folder / f"ddp-{self.job_id}.log"
        return path.read_text() if path.exists() else "(no log yet)"


def test_the_batch_script_makes_one_run_of_both_processes_with_the_jobs_tags(
    mlflow_server, sandbox, slurm_cluster
):
    training = DdpJob(slurm_cluster, mlflow_server.url, sandbox)
    job = training.submit(arguments=[])
    assert slurm_cluster.job(job)["TresPerNode"] == "gres:gpu:2"
    training.wait_until_done(timeout=240)

    (run,) = training.runs()
    assert run.info.status == "FINISHED", training.log()
    assert run.data.params["world_size"] == "2"  # torchrun started a process per GPU
    assert logged_steps(mlflow_server.url, run.info.run_id, "loss") == list(range(20))
    slurm = {k: v for k, v in run.data.tags.items() if k.startswith("slurm.")}
    assert slurm == {"slurm.job_id": str(job), "slurm.node": "localhost", "slurm.gpus": "2"}


def test_every_rank_logging_makes_a_run_per_process(mlflow_server, sandbox):
    script = sandbox / "every_rank_logs.py"
    script.write_text(EVERY_RANK_LOGS)
    member, output = torchrun(script, mlflow_server.url, sandbox)

    runs = runs_by(mlflow_server.url, member)
    assert len(runs) == 2, output
    assert all(
        logged_steps(mlflow_server.url, r.info.run_id, "loss") == [0, 1, 2, 3, 4] for r in runs
    )
