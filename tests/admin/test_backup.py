"""The admin page's backups, restores and restarts, on throwaway deployments, as root
against Debian's PostgreSQL cluster with the page's pg_hba.conf line.

- backup.sh makes the folder it is given (its parent too), and a backup that fails leaves
  no folder that looks like a backup.
- A backup taken (examples/deploy/backup.sh) while a member logs, restored
  (restore.sh) into a fresh deployment: every run that had finished before the backup
  started is there whole, with its artifacts.
- Two MLflow processes behind nginx, one restarted while a training logs; then PostgreSQL
  restarted: the training goes on, and the server holds every step.
"""

from __future__ import annotations

import os
import stat
import subprocess
import threading
import time
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from labdocs.lab import LAB_HTTPS_TRACKING_URI
from labdocs.plugin.deployment_fixtures import DRILL_READY_TIMEOUT
from labdocs.services.auth import new_password, signed_in
from labdocs.services.deployment import DEPLOY, Deployment
from tests.lib import store_summary

URL = LAB_HTTPS_TRACKING_URI
CLIENT_RETRY_SETTINGS = [
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER",
]


class Training(threading.Thread):
    """A member's training: one run after another, each logging ``steps`` metric points
    and an artifact, until told to stop. Records which runs had finished, and when."""

    def __init__(self, who, tmp_path: Path, experiment_id: str, steps: int = 20) -> None:
        super().__init__(daemon=True)
        self.who, self.tmp_path, self.experiment_id, self.steps = (
            who,
            tmp_path,
            experiment_id,
            steps,
        )
        self.finished: list[tuple[float, str]] = []  # (when, run id)
        self.stop_now = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            client = MlflowClient(URL)
            notes = self.tmp_path / "notes.txt"
            notes.write_text("checkpoint notes")
            while not self.stop_now.is_set():
                run = client.create_run(self.experiment_id)
                for step in range(self.steps):
                    client.log_metric(run.info.run_id, "loss", 1.0 / (step + 1), step=step)
                client.log_artifact(run.info.run_id, str(notes))
                client.set_terminated(run.info.run_id)
                self.finished.append((time.monotonic(), run.info.run_id))
        except BaseException as error:  # reported by the test
            self.error = error


def test_a_backup_makes_its_folder_and_a_failed_one_looks_like_none(deployment, tmp_path):
    """As root, as the page runs it: /backup/mlflow/<date> with /backup/mlflow not made yet
    (its own folder, readable by root only); the same folder again is refused; and with the
    database refusing the password, no <date> folder is left, only <date>.incomplete."""
    target = tmp_path / "backup" / "mlflow" / "2026-12-07"
    deployment.run_script("backup.sh", str(target))
    for dump in ("mlflow.dump", "mlflow_auth.dump"):
        assert (target / dump).stat().st_size > 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    assert sorted(p.name for p in target.parent.iterdir()) == ["2026-12-07"]

    wrong = tmp_path / "wrong-pgpass"
    wrong.write_text(f"*:5432:*:mlflow:{new_password()}\n")
    wrong.chmod(0o600)
    for folder, pgpass, message in (
        (target, deployment.etc / "pgpass", f"{target}: exists already: give a new folder"),
        (target.parent / "2026-12-08", wrong, 'password authentication failed for user "mlflow"'),
    ):
        done = subprocess.run(
            ["bash", str(DEPLOY / "backup.sh"), str(folder)],
            env={**os.environ, **deployment.script_environment(), "PGPASSFILE": str(pgpass)},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode != 0 and message in done.stderr, done.stderr
    assert sorted(p.name for p in target.parent.iterdir()) == [
        "2026-12-07",
        "2026-12-08.incomplete",
    ]


@pytest.mark.timeout(600)  # two deployments, a backup while logging, a restore
def test_a_backup_taken_while_members_log_restores_every_finished_run(
    fresh_deployment, tmp_path: Path
):
    source: Deployment = fresh_deployment()
    with source.routed():
        member = source.create_user("jdoe")
        with signed_in(member):
            experiment_id = MlflowClient(URL).create_experiment("backed-up")
            training = Training(member, tmp_path, experiment_id)
            with signed_in(member):  # the thread reads the same environment
                training.start()
                while len(training.finished) < 2 and training.error is None:
                    time.sleep(0.2)
                backup_started = time.monotonic()
                source.run_script("backup.sh", str(tmp_path / "backup"))
                training.stop_now.set()
                training.join(timeout=120)
        assert training.error is None, training.error
    done_before = [run_id for when, run_id in training.finished if when < backup_started]
    assert len(done_before) >= 2
    with source.routed(), signed_in(source.admin):
        held_at_source = store_summary.summary(URL)

    target: Deployment = fresh_deployment()
    target.stop_mlflow()
    target.run_script("restore.sh", str(tmp_path / "backup"))
    target.start_mlflow_again()
    with target.routed():
        target.wait_ready(timeout=DRILL_READY_TIMEOUT)
        with signed_in(source.admin):  # the users came back with the backup
            restored = store_summary.summary(URL)
        with signed_in(member):  # and so did the member's password
            MlflowClient(URL).search_experiments(max_results=1)
    runs_at_source = held_at_source["backed-up"]["runs"]
    runs_restored = restored["backed-up"]["runs"]
    for run_id in done_before:
        assert runs_restored[run_id] == runs_at_source[run_id]  # whole: metrics, artifacts
    print(
        f"backup while logging: {len(runs_at_source)} runs at the source when it ended, "
        f"{len(done_before)} finished before the backup, {len(runs_restored)} restored; "
        f"restored {store_summary.counts(restored)}"
    )


@pytest.mark.timeout(600)  # a deployment of two MLflow processes, restarted in turn
def test_a_training_survives_restarts_of_mlflow_and_postgres(
    fresh_deployment, sandbox, monkeypatch
):
    # A member's client retries as MLflow does by default (about two minutes), not as the
    # tests' fail-fast settings: nginx answers 502 while no MLflow process is there.
    for setting in CLIENT_RETRY_SETTINGS:
        monkeypatch.delenv(setting)
    deployment: Deployment = fresh_deployment(processes=2)
    with deployment.routed():
        member = deployment.create_user("jdoe")
        with signed_in(member):
            mlflow.set_tracking_uri(URL)
            experiment = mlflow.set_experiment("restarted")
            logged = 0
            with mlflow.start_run() as run:

                def log_for(seconds: float) -> None:
                    nonlocal logged
                    until = time.monotonic() + seconds
                    while time.monotonic() < until:
                        mlflow.log_metric("loss", 1.0 / (logged + 1), step=logged)
                        logged += 1

                log_for(2)
                deployment.stop_mlflow(0)  # one process restarted: the other serves
                log_for(2)
                deployment.start_mlflow_again(0)
                deployment.wait_ready(timeout=DRILL_READY_TIMEOUT)
                deployment.stop_mlflow(1)
                log_for(2)
                deployment.start_mlflow_again(1)
                deployment.wait_ready(timeout=DRILL_READY_TIMEOUT)
                deployment.postgres.restart()  # the database restarted under the training
                log_for(3)
            mlflow.set_tracking_uri(None)
        with signed_in(deployment.admin):
            client = MlflowClient(URL)
            history = client.get_metric_history(run.info.run_id, "loss")
            assert client.get_run(run.info.run_id).info.status == "FINISHED"
            assert client.get_experiment(experiment.experiment_id).name == "restarted"
    assert sorted(m.step for m in history) == list(range(logged))  # not one step lost
    print(f"restarts: {logged} metric points logged through them, {len(history)} on the server")
