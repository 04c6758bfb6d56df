"""The admin page's move from today's server, run as the page says, and counted.

Today's server is taken to run MLflow 2 (2.22.5, the newest 2.x) with either an SQLite
database or a ``./mlruns`` file store. Such a server, from the 2.22.5 environment of
tools/mlflow_envs.py, is filled by a 2.22.5 client (experiments, runs, params, tags,
metrics with steps, artifacts, a model), stopped, and moved into a fresh deployment with
examples/deploy/move-old-server.sh; the owners are given with grant_owners.py. The new
server is then asked what it holds: the same, every experiment, run, metric point, param,
tag and artifact file, and each experiment's owner as owners.csv says.
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
from pathlib import Path

import pytest
from mlflow.server.auth.client import AuthServiceClient

from labdocs.lab import LAB_HTTPS_TRACKING_URI
from labdocs.plugin.deployment_fixtures import DRILL_READY_TIMEOUT
from labdocs.services.auth import signed_in
from labdocs.services.deployment import DEPLOY, Deployment
from labdocs.services.servers import ThrowawayServer
from tests.lib import store_summary
from tests.lib.other_mlflow import server_mlflow

OLD_VERSION = "2.22.5"
ROOT = Path(__file__).resolve().parents[2]
# What the old server's members logged: run by the old version's own client.
OLD_TRAININGS = """
import mlflow

class Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input):
        return model_input * 2

for team in ("pose", "segmentation"):
    mlflow.set_experiment(f"old-{team}")
    for number in range(3):
        with mlflow.start_run(run_name=f"{team}-{number}"):
            mlflow.log_params({"lr": 0.01 * (number + 1), "batch_size": 4, "team": team})
            mlflow.set_tags({"dataset": "coco", "seed": str(number)})
            for step in range(25):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
                mlflow.log_metric("lr", 0.01 * 0.9**step, step=step)
            mlflow.log_text(f"notes of {team}-{number}", "notes/readme.txt")
            mlflow.log_dict({"epochs": 25}, "config.json")
            if number == 0:
                mlflow.pyfunc.log_model(
                    "model", python_model=Doubler(), pip_requirements=["mlflow==2.22.5"]
                )
"""


def old_server(mlflow: str, store: str, artifacts: Path) -> ThrowawayServer:
    def command(folder: Path, port: int):
        return [
            mlflow, "server", "--backend-store-uri", store,
            "--artifacts-destination", str(artifacts),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        ], {}  # fmt: skip

    server = ThrowawayServer.start(command, name=f"old MLflow {OLD_VERSION} server ({store})")
    server.wait_ready(timeout=DRILL_READY_TIMEOUT)
    return server


def as_old_client(mlflow: str, code: str, url: str, *args: str) -> str:
    python = str(Path(mlflow).with_name("python"))
    done = subprocess.run(
        [python, "-c", code, *args],
        env={**os.environ, "MLFLOW_TRACKING_URI": url},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.timeout(600)  # an old server, a fresh deployment, and the move itself
@pytest.mark.parametrize("kind", ["sqlite", "file store"])
def test_the_old_server_moves_whole(kind, fresh_deployment, tmp_path: Path):
    mlflow2 = server_mlflow(OLD_VERSION)
    old = tmp_path / "old"
    old.mkdir()
    store = f"sqlite:///{old / 'mlflow.db'}" if kind == "sqlite" else str(old / "mlruns")
    server = old_server(mlflow2, store, old / "mlartifacts")
    try:
        as_old_client(mlflow2, OLD_TRAININGS, server.url)
        summary_code = Path(store_summary.__file__).read_text()
        before = json.loads(as_old_client(mlflow2, summary_code, server.url, server.url))
    finally:
        server.stop()  # the page: stop the old server first
    assert store_summary.counts(before)["runs"] == 6

    deployment: Deployment = fresh_deployment()
    deployment.stop_mlflow()  # installed, but nobody logs to it during the move
    moved = subprocess.run(
        ["bash", str(DEPLOY / "move-old-server.sh"),
         str(old / "mlflow.db") if kind == "sqlite" else store, str(old / "mlartifacts")],
        env={**os.environ, **deployment.script_environment(), "TMPDIR": str(tmp_path)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert moved.returncode == 0, moved.stdout + moved.stderr
    print(moved.stdout)
    # The old server kept its artifacts in its artifact folder: nothing to rewrite, and the
    # database checked afterwards holds no location outside the artifacts.
    assert "artifact locations rewritten: 0" in moved.stdout
    assert "locations outside the artifacts in mlflow: 0" in moved.stdout
    deployment.start_mlflow_again()

    owners = tmp_path / "owners.csv"
    with deployment.routed():
        deployment.wait_ready(timeout=DRILL_READY_TIMEOUT)
        pose, segmentation = (deployment.create_user(name) for name in ("jdoe", "asmith"))
        owners.write_text("old-pose,jdoe\nold-segmentation,asmith\n")
        with signed_in(deployment.admin):
            grant = runpy.run_path(str(DEPLOY / "grant_owners.py"))["grant_owners"]
            assert grant(str(owners)) == {"old-pose": "jdoe", "old-segmentation": "asmith"}
            after = store_summary.summary(LAB_HTTPS_TRACKING_URI)
            auth = AuthServiceClient(LAB_HTTPS_TRACKING_URI)
            for name, owner in (("old-pose", pose), ("old-segmentation", segmentation)):
                experiment_id = after[name]["id"]
                granted = auth.get_user_permission(owner.username, "experiment", experiment_id)
                assert granted.permission == "MANAGE"
        with signed_in(pose):  # the owner may log to it now
            import mlflow

            mlflow.set_tracking_uri(LAB_HTTPS_TRACKING_URI)
            with mlflow.start_run(experiment_id=after["old-pose"]["id"]):
                mlflow.log_metric("loss", 0.01)
            mlflow.set_tracking_uri(None)
    print(f"{kind}: before {store_summary.counts(before)}, after {store_summary.counts(after)}")
    if kind == "file store":
        # Its experiments' random 18-digit IDs do not fit PostgreSQL: copy_database.py gives
        # them new ones, and says so; nothing else changes.
        for name in ("old-pose", "old-segmentation"):
            old_id, new_id = before[name].pop("id"), after[name].pop("id")
            assert f"experiment {old_id} is now experiment {new_id}" in moved.stdout
    assert after == before  # every experiment, run, param, tag, metric point and artifact
