"""What the Slurm page warns of, shown on examples/training/slurm_train.py and on the
obvious code, with the signals Slurm sends (SIGTERM, SIGUSR1, SIGKILL) sent directly: how
the process and its MLflow run end does not depend on who sent the signal. The page's
script passes where the obvious code fails; tests/guide/test_slurm_training.py runs the page's
script under a real Slurm.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from mlflow import MlflowClient

from tests.lib.training import EXAMPLES, MemberTraining, logged_steps

TRAINING = EXAMPLES / "slurm_train.py"

# The obvious handler: stop the training at once. The run as most pages start it, in a
# ``with`` block, and (below) without one.
SYS_EXIT_IN_THE_HANDLER = """\
import signal
import sys

signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))

import getpass
import time

import mlflow

mlflow.set_experiment(f"mlflow-guide-slurm/{getpass.getuser()}")
with mlflow.start_run():
    for step in range(100):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        time.sleep(0.2)
"""

SYS_EXIT_IN_THE_HANDLER_NO_WITH = SYS_EXIT_IN_THE_HANDLER.replace(
    """\
with mlflow.start_run():
    for step in range(100):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        time.sleep(0.2)
""",
    """\
mlflow.start_run()
for step in range(100):
    mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    time.sleep(0.2)
mlflow.end_run()
""",
)
assert SYS_EXIT_IN_THE_HANDLER_NO_WITH != SYS_EXIT_IN_THE_HANDLER

# The page's script with its handlers installed after the heavy imports, as usual.
HANDLERS_AFTER_THE_IMPORTS = "import mlflow\nimport torch\n\n" + TRAINING.read_text()


class Training(MemberTraining):
    """A training process of a member's own, as a batch job would start it."""

    def __init__(self, script: Path, server_url: str, folder: Path, *args: str) -> None:
        super().__init__(server_url, folder)
        self.argv = [sys.executable, str(script), *args]
        self.process: subprocess.Popen | None = None

    def start(self) -> subprocess.Popen:
        self.process = subprocess.Popen(
            self.argv, cwd=self.folder, env=self.environment(),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        return self.process

    def wait(self, timeout: float = 90.0) -> int:
        out, _ = self.process.communicate(timeout=timeout)
        self.output = out.decode(errors="replace")
        return self.process.returncode

    def still_going(self) -> None:
        assert self.process.poll() is None, "the training ended early"

    def stop_after(self, steps: int) -> str:
        """Start, let it log ``steps`` points, send SIGTERM as Slurm does, wait: the run's ID."""
        self.start()
        run_id = self.wait_for_steps(steps)
        self.process.send_signal(signal.SIGTERM)
        self.wait()
        return run_id

    def wait_until_importing_torch(self, timeout: float = 60.0) -> None:
        """Until torch's library is loaded: the process is in its heavy imports."""
        maps = Path(f"/proc/{self.process.pid}/maps")
        deadline = time.monotonic() + timeout
        while "libtorch" not in maps.read_text():
            assert time.monotonic() < deadline, "torch was not imported"
            time.sleep(0.01)


@pytest.fixture
def member_folder(sandbox: Path) -> Path:
    shutil.copy(TRAINING, sandbox / TRAINING.name)
    return sandbox


@pytest.mark.parametrize(
    ("code", "status"),
    [(SYS_EXIT_IN_THE_HANDLER, "FAILED"), (SYS_EXIT_IN_THE_HANDLER_NO_WITH, "FINISHED")],
    ids=["with", "without-with"],
)
def test_sys_exit_in_the_handler_ends_a_stopped_training_as_failed_or_finished(
    mlflow_server, sandbox, code, status
):
    script = sandbox / "obvious.py"
    script.write_text(code)
    training = Training(script, mlflow_server.url, sandbox)
    run_id = training.stop_after(3)

    (run,) = training.runs()
    assert len(logged_steps(mlflow_server.url, run_id, "loss")) < 100  # stopped halfway
    assert run.info.status == status, training.output  # not KILLED, not resumable
    assert not list(sandbox.glob("checkpoint-*"))


def test_the_page_ends_a_stopped_training_killed(mlflow_server, member_folder):
    training = Training(member_folder / TRAINING.name, mlflow_server.url, member_folder)
    run_id = training.stop_after(3)
    assert training.process.returncode == 0, training.output

    (run,) = training.runs()
    assert run.info.run_id == run_id
    assert run.info.status == "KILLED"
    assert (member_folder / "checkpoint-local.pt").exists()
    # Outside Slurm, the run carries no job.
    assert not [tag for tag in run.data.tags if tag.startswith("slurm.")], run.data.tags


def test_a_signal_during_the_imports_kills_handlers_installed_after_them(mlflow_server, sandbox):
    script = sandbox / "handlers_last.py"
    script.write_text(HANDLERS_AFTER_THE_IMPORTS)
    training = Training(script, mlflow_server.url, sandbox)
    training.start()
    training.wait_until_importing_torch()
    training.process.send_signal(signal.SIGUSR1)

    assert training.wait() == -signal.SIGUSR1  # killed: no checkpoint, nothing to requeue
    assert not list(sandbox.glob("checkpoint-*"))


def test_the_pages_handlers_catch_a_signal_during_the_imports(mlflow_server, member_folder):
    training = Training(member_folder / TRAINING.name, mlflow_server.url, member_folder)
    training.start()
    training.wait_until_importing_torch()
    training.process.send_signal(signal.SIGUSR1)

    assert training.wait() == 0, training.output
    (run,) = training.runs()
    assert run.info.status == "KILLED"  # stopped before its first step, resumable
    assert logged_steps(mlflow_server.url, run.info.run_id, "loss") == []
    assert (member_folder / "checkpoint-local.pt").exists()


def test_a_sigkilled_run_stays_running_and_repeats_steps_from_an_older_checkpoint(
    mlflow_server, member_folder
):
    training = Training(
        member_folder / TRAINING.name, mlflow_server.url, member_folder, "--steps", "30"
    )  # a checkpoint every 10 steps
    training.start()
    run_id = training.wait_for_steps(13)
    training.process.send_signal(signal.SIGKILL)
    training.wait()
    logged_before = len(logged_steps(mlflow_server.url, run_id, "loss"))
    client = MlflowClient(mlflow_server.url)
    time.sleep(1)
    assert client.get_run(run_id).info.status == "RUNNING"  # and stays so

    checkpoint = torch.load(member_folder / "checkpoint-local.pt")
    assert checkpoint["run_id"] == run_id
    assert checkpoint["next_step"] < logged_before  # older than the last logged step

    client.set_terminated(run_id, "KILLED")  # what the page says to do
    assert client.get_run(run_id).info.status == "KILLED"
    training.start()  # again: from the checkpoint of step 10, into the same run
    assert training.wait() == 0, training.output

    (run,) = training.runs()
    assert run.info.status == "FINISHED"
    steps = logged_steps(mlflow_server.url, run_id, "loss")
    repeated = sorted({s for s in steps if steps.count(s) > 1})
    assert repeated == list(range(checkpoint["next_step"], logged_before))
