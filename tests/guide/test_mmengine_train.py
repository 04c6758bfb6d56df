"""examples/training/mmengine_train.py: an MMEngine training killed after a checkpoint and
started again (``resume=True``) goes on in the same MLflow run, FINISHED at the end, every
iteration logged once. Without the run's ID handed to MLflow, the resumed training makes a
second run; without ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``, MMEngine 0.10.7 cannot resume
under torch 2.13 at all (the page warns of both). Started in a Slurm job, the run carries
the job as tags, those of its latest start when resumed in another job.

The kill: the process ends with ``os._exit`` right after MMEngine saved the second epoch's
checkpoint, as a job killed then (SIGKILL, a node gone) ends: nothing of Python's own
shutdown runs, and the MLflow run is left RUNNING.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from mlflow import MlflowClient

from tests.lib.training import (
    EXAMPLES,
    MemberTraining,
    logged_steps,
    run_training,
)

TRAINING = EXAMPLES / "mmengine_train.py"
ITERATIONS_PER_EPOCH = 8  # 64 samples, batches of 8
EPOCHS = 4

# Run the training, killed right after the checkpoint of epoch 2, or after iteration 12
# (in the middle of epoch 2, whose checkpoint is not written yet). The test's part only.
KILLED = """\
import os
import runpy
import sys

from mmengine.hooks import CheckpointHook

save_checkpoint, end_iteration = CheckpointHook.after_train_epoch, CheckpointHook.after_train_iter


def save_checkpoint_then_die(self, runner):
    save_checkpoint(self, runner)
    if runner.epoch + 1 == 2:
        os._exit(9)


def die_after_iteration_12(self, runner, batch_idx, data_batch=None, outputs=None):
    end_iteration(self, runner, batch_idx, data_batch, outputs)
    if runner.iter + 1 == 12:
        os._exit(9)


if sys.argv.pop(1) == "after-epoch-2":
    CheckpointHook.after_train_epoch = save_checkpoint_then_die
else:
    CheckpointHook.after_train_iter = die_after_iteration_12
runpy.run_path(sys.argv[1], run_name="__main__")
"""

HANDS_THE_RUN_ID_ON = "run_id = run_id_of_last_checkpoint(WORK_DIR)"
LOADS_WHOLE = 'os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"'


class Training(MemberTraining):
    """A member's training folder, with the script (or a variant of it)."""

    project = "mmengine"

    def __init__(self, server_url: str, folder: Path, script: str) -> None:
        super().__init__(server_url, folder)
        (folder / TRAINING.name).write_text(script)
        (folder / "killed.py").write_text(KILLED)

    def start(self, *, killed: str = ""):
        """Start the training; killed "after-epoch-2" or "after-iteration-12"."""
        argv = [sys.executable, TRAINING.name]
        if killed:
            argv[1:1] = ["killed.py", killed]
        return run_training(argv, env=self.environment(), cwd=self.folder)


def uploaded_logs(server_url: str, run_id: str) -> list[str]:
    """The run's artifacts that are training logs: ``<start time>/<start time>.log``."""
    client, found, folders = MlflowClient(server_url), [], [None]
    while folders:
        for artifact in client.list_artifacts(run_id, folders.pop()):
            if artifact.is_dir:
                folders.append(artifact.path)
            elif artifact.path.endswith(".log"):
                found.append(artifact.path)
    return sorted(found)


def variant(original: str, replacement: str) -> str:
    script = TRAINING.read_text()
    assert script.count(original) == 1, original
    return script.replace(original, replacement)


def test_a_resumed_training_goes_on_in_the_same_run(mlflow_server, sandbox):
    training = Training(mlflow_server.url, sandbox, TRAINING.read_text())
    assert training.start(killed="after-epoch-2").returncode == 9
    (killed,) = training.runs()
    assert killed.info.status == "RUNNING"  # nothing ended it

    done = training.start()
    assert done.returncode == 0, done.stderr
    assert "resumed epoch: 2" in done.stdout + done.stderr

    (run,) = training.runs()
    assert run.info.run_id == killed.info.run_id
    assert run.info.status == "FINISHED"
    assert run.data.params["train_cfg.max_epochs"] == "4"
    assert not [tag for tag in run.data.tags if tag.startswith("slurm.")]  # outside Slurm
    assert logged_steps(mlflow_server.url, run.info.run_id, "loss") == list(
        range(1, EPOCHS * ITERATIONS_PER_EPOCH + 1)
    )
    # MMEngine uploads the whole work_dir: the killed start's log too, a folder per start.
    first, second = uploaded_logs(mlflow_server.url, run.info.run_id)
    assert first.split("/")[0] != second.split("/")[0]


def test_without_the_run_id_the_resumed_training_makes_a_second_run(mlflow_server, sandbox):
    script = variant(HANDS_THE_RUN_ID_ON, "run_id = None")
    training = Training(mlflow_server.url, sandbox, script)
    assert training.start(killed="after-epoch-2").returncode == 9
    done = training.start()
    assert done.returncode == 0, done.stderr

    first, second = sorted(training.runs(), key=lambda run: run.info.start_time)
    assert first.info.status == "RUNNING"  # left so for ever
    assert second.info.status == "FINISHED"
    # The second run holds the first start's log again, beside its own (the page says so).
    assert len(uploaded_logs(mlflow_server.url, second.info.run_id)) == 2
    half = 2 * ITERATIONS_PER_EPOCH
    assert logged_steps(mlflow_server.url, first.info.run_id, "loss") == list(range(1, half + 1))
    assert logged_steps(mlflow_server.url, second.info.run_id, "loss") == list(
        range(half + 1, 2 * half + 1)
    )


def test_a_start_in_a_work_dir_of_its_own_uploads_only_its_own_log(mlflow_server, sandbox):
    """The MMPose page's way to keep a run to its own files: resume into a new work_dir,
    naming the checkpoint (what MMPose's ``--work-dir`` and ``--resume <checkpoint>`` set)."""
    training = Training(mlflow_server.url, sandbox, TRAINING.read_text())
    assert training.start(killed="after-epoch-2").returncode == 9
    script = variant(
        'WORK_DIR = "work_dirs/regression"',
        'WORK_DIR = "work_dirs/regression-resumed"\n'
        'CHECKPOINT = "work_dirs/regression/epoch_2.pth"',
    )
    assert script.count("resume=True,") == 1
    (training.folder / TRAINING.name).write_text(
        script.replace("resume=True,", "resume=True, load_from=CHECKPOINT,")
    )
    done = training.start()
    assert done.returncode == 0, done.stderr
    assert "resumed epoch: 2" in done.stdout + done.stderr

    _killed, resumed = sorted(training.runs(), key=lambda run: run.info.start_time)
    assert resumed.info.status == "FINISHED"
    assert len(uploaded_logs(mlflow_server.url, resumed.info.run_id)) == 1


def test_mmengine_cannot_resume_under_torch_2_6_and_later_without_loading_whole(
    mlflow_server, sandbox
):
    training = Training(mlflow_server.url, sandbox, TRAINING.read_text())
    assert training.start(killed="after-epoch-2").returncode == 9
    (training.folder / TRAINING.name).write_text(variant(LOADS_WHOLE, "pass"))

    done = training.start()
    assert done.returncode == 1
    assert "_pickle.UnpicklingError: Weights only load failed." in done.stderr
    assert "in load_or_resume" in done.stderr  # MMEngine's resume, not the script's own load


def test_a_training_killed_between_checkpoints_logs_those_iterations_again(mlflow_server, sandbox):
    training = Training(mlflow_server.url, sandbox, TRAINING.read_text())
    assert training.start(killed="after-iteration-12").returncode == 9
    done = training.start()
    assert done.returncode == 0, done.stderr

    (run,) = training.runs()
    assert run.info.status == "FINISHED"
    every_iteration = list(range(1, EPOCHS * ITERATIONS_PER_EPOCH + 1))
    since_the_checkpoint = [9, 10, 11, 12]  # epoch 1 ends at iteration 8
    assert logged_steps(mlflow_server.url, run.info.run_id, "loss") == sorted(
        every_iteration + since_the_checkpoint
    )


def test_a_config_that_changes_between_starts_stops_the_resumed_training(mlflow_server, sandbox):
    script = variant('run_name="regression",', 'run_name=time.strftime("%H%M%S"),')
    training = Training(mlflow_server.url, sandbox, "import time\n" + script)
    assert training.start(killed="after-epoch-2").returncode == 9
    time.sleep(1.1)  # the next start's name differs
    done = training.start()
    assert done.returncode == 1
    assert "INVALID_PARAMETER_VALUE" in done.stderr
    assert "Changing param values is not allowed" in done.stderr
    (run,) = training.runs()  # nothing trained: no point beyond the checkpoint
    assert logged_steps(mlflow_server.url, run.info.run_id, "loss") == list(range(1, 17))


# -- the Slurm job's tags -----------------------------------------------------------------

ENDED = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT")


def run_as_job(cluster, training: Training, command: str) -> tuple[int, dict[str, str]]:
    """``sbatch --wrap=<command>`` from the training's folder, waited for; its ID and fields."""
    job = cluster.sbatch(
        f"--output={training.folder}/job-%j.log", f"--wrap={command}",
        cwd=training.folder, env=training.environment(),
    )  # fmt: skip
    return job, cluster.wait_for(job, lambda f: f["JobState"] in ENDED, "ended", timeout=300)


def test_a_training_resumed_in_another_slurm_job_carries_that_jobs_tags(
    mlflow_server, sandbox, slurm_cluster
):
    """The hook sets the tags, not the config: a config value that changed with the job
    would stop the resumed training (``Changing param values is not allowed``)."""
    training = Training(mlflow_server.url, sandbox, TRAINING.read_text())
    killed, fields = run_as_job(
        slurm_cluster, training, f"python killed.py after-epoch-2 {TRAINING.name}"
    )
    assert fields["ExitCode"] == "9:0", fields
    (run,) = training.runs()
    assert run.data.tags["slurm.job_id"] == str(killed)

    resumed, fields = run_as_job(slurm_cluster, training, f"python {TRAINING.name}")
    logs = "".join(p.read_text() for p in sorted(training.folder.glob("job-*.log")))
    assert fields["JobState"] == "COMPLETED", logs
    (run,) = training.runs()
    assert run.info.status == "FINISHED"
    tags = run.data.tags
    assert tags["slurm.job_id"] == str(resumed)  # the latest start's job
    assert tags["slurm.node"] == "localhost"
    assert "slurm.array_task_id" not in tags and "slurm.gpus" not in tags  # no array, no GPU
