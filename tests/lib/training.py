"""Trainings run as readers run them: in processes of their own (torchrun, Slurm jobs).

The network guard (network.py) covers only the pytest process, and the lab's URL is sent
to the throwaway server only there. A training in a process of its own gets the server's
loopback URL through ``MLFLOW_TRACKING_URI`` (as readers export the lab's), MLflow's
telemetry off, and a login name of its own: the examples name their experiments after
``getpass.getuser()``, which reads ``LOGNAME`` first, so each test is a lab member of its
own, with experiments no other test shares.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mlflow import MlflowClient
from mlflow.entities import Run

from labdocs.services.lab_address import written_for
from labdocs.services.progress import run_while_progressing
from labdocs.services.session import NO_TELEMETRY
from labdocs.services.waiting import wait_until

if TYPE_CHECKING:
    from labdocs.services.slurm import ThrowawaySlurm

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "training"
TORCHRUN = Path(sys.executable).with_name("torchrun")


def new_member() -> str:
    """A login name no other test uses."""
    return f"member-{secrets.token_hex(4)}"


def training_environment(
    tracking_uri: str, member: str, python: Path = Path(sys.executable)
) -> dict[str, str]:
    """The environment a training process gets: the tests' own, plus the server and member,
    with ``python`` first on the ``PATH``."""
    return {
        **os.environ,
        "MLFLOW_TRACKING_URI": tracking_uri,
        **NO_TELEMETRY,
        "LOGNAME": member,
        "USER": member,
        # `python` and `torchrun` in a batch script: this environment's, as under nox, or
        # that of what a page tells members to install (tools/member_env.py).
        "PATH": os.pathsep.join([str(python.parent), os.environ.get("PATH", "")]),
    }


# A training in a process of its own (torchrun's workers, Lightning) has hung once none of
# its processes used CPU time or wrote for this long: a rank waiting on a peer that died,
# say. Starting Python with torch takes seconds alone and minutes beside other work: it
# is waited for while it works.
TRAINING_IDLE_S = 60.0


def run_training(argv: list[str], *, env: dict[str, str], cwd: Path):
    """Run a training to its end, waited for while it progresses; its output is kept for
    the assertion that needs it."""
    return run_while_progressing(argv, idle_s=TRAINING_IDLE_S, env=env, cwd=cwd)


def runs_of(tracking_uri: str, experiment_name: str) -> list[Run]:
    """Every run of an experiment (none if the experiment does not exist)."""
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        return []
    return client.search_runs([experiment.experiment_id], max_results=1000)


def logged_steps(tracking_uri: str, run_id: str, key: str) -> list[int]:
    """The steps of a metric's every logged point, in the order of their steps."""
    history = MlflowClient(tracking_uri).get_metric_history(run_id, key)
    return sorted(point.step for point in history)


def runs_by(tracking_uri: str, member: str) -> list[Run]:
    """Every run a member started, in whatever experiment (MLflow tags each with its user)."""
    client = MlflowClient(tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments(max_results=50000)]
    return client.search_runs(experiments, f"tags.`mlflow.user` = '{member}'", max_results=1000)


class MemberTraining:
    """A training of a lab member no other test is: its runs in the experiment
    ``mlflow-guide-<project>/<member>`` (as the examples name theirs), its loss ``metric``."""

    project = "slurm"
    metric = "loss"
    python = Path(sys.executable)  # the environment the training runs in

    def __init__(self, server_url: str, folder: Path) -> None:
        self.server_url, self.folder, self.member = server_url, folder, new_member()

    def environment(self) -> dict[str, str]:
        return training_environment(self.server_url, self.member, self.python)

    def runs(self) -> list[Run]:
        return runs_of(self.server_url, f"mlflow-guide-{self.project}/{self.member}")

    def still_going(self) -> None:
        """Raise if the training ended, or cannot go on: a wait for it would be in vain."""

    def log(self) -> str:
        return ""

    def wait_for_steps(self, count: int, timeout: float = 60.0) -> str:
        """Wait until the run has logged ``count`` points; its ID."""

        def logged() -> str | None:
            self.still_going()
            runs = self.runs()
            if (
                runs
                and len(logged_steps(self.server_url, runs[0].info.run_id, self.metric)) >= count
            ):
                return runs[0].info.run_id
            return None

        return wait_until(logged, timeout=timeout, every=0.2, failure=lambda: AssertionError(
            f"fewer than {count} steps logged after {timeout} s:\n{self.log()}"
        ))  # fmt: skip

    def wait_for_status(self, run_id: str, status: str, timeout: float = 60.0) -> None:
        client = MlflowClient(self.server_url)
        found = [""]

        def reached() -> bool:
            found[0] = client.get_run(run_id).info.status
            return found[0] == status

        wait_until(reached, timeout=timeout, every=0.2, failure=lambda: AssertionError(
            f"run {run_id} is {found[0]}, not {status}:\n{self.log()}"
        ))  # fmt: skip


class BatchJob(MemberTraining):
    """A member's training submitted to the throwaway Slurm (slurm.py) from its own folder,
    with a copy of the page's batch script that names the test's server for the lab's."""

    def __init__(self, cluster: ThrowawaySlurm, server_url: str, folder: Path, batch: Path):
        super().__init__(server_url, folder)
        self.cluster, self.batch, self.job_id = cluster, folder / batch.name, 0
        script = batch.read_text()
        self.batch.write_text(written_for(script, server_url, once=True))

    def submit(self, *options: str, arguments: list[str]) -> int:
        """``sbatch`` with ``options``, the batch script, and the training's ``arguments``."""
        self.job_id = self.cluster.sbatch(
            *options, self.batch, *arguments, cwd=self.folder, env=self.environment()
        )
        return self.job_id

    def log(self) -> str:
        path = self.folder / f"train-{self.job_id}.log"
        return path.read_text() if path.exists() else "(no log yet)"

    def still_going(self) -> None:
        self.cluster.check_alive()

    def wait_until_done(self, timeout: float = 120.0) -> dict[str, str]:
        """Wait for the job to complete, starting each requeued attempt at once (the test
        does not wait out the two minutes of BeginTime that Slurm holds a requeued job)."""

        def done(fields):
            self.cluster.start_now_if_held_back(self.job_id)
            return fields["JobState"] in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT")

        fields = self.cluster.wait_for(self.job_id, done, "done", timeout=timeout)
        assert fields["JobState"] == "COMPLETED", f"{fields}\n{self.log()}"
        return fields
