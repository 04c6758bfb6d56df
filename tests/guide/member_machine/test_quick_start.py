"""The quick start from a member's machine (tests/lib/member_machine.py): a Python that holds
only what the page tells members to install, running quickstart.py as it reads once the
lab's server is secured (``lab.after_the_move``), signed in as the signing-in page shows."""

from __future__ import annotations

from pathlib import Path

from mlflow import MlflowClient

from labdocs.lab import LAB_HTTPS_TRACKING_URI, after_the_move
from labdocs.pages import DOCS, EXAMPLES
from labdocs.services.auth import signed_in
from labdocs.services.deployment import Deployment
from tests.lib.member_machine import (
    RUNS_A_MEMBER_SCRIPT,
    holds_only_what_the_page_says,
    run_as_member,
)

PAGE = DOCS / "guides" / "mlflow" / "quick-start.rst"


def test_the_member_environment_holds_only_what_the_page_says():
    """The environment is the lock of the page's install line, and nothing else."""
    held = holds_only_what_the_page_says("quick-start", PAGE, "pip install mlflow torch")
    assert "torch" in held
    assert not {"pytest", "sybil", "flask-wtf"} & held


@RUNS_A_MEMBER_SCRIPT
def test_the_quick_start_runs_from_a_member_s_machine(deployment: Deployment, tmp_path: Path):
    """quickstart.py as the page shows it, its address the lab's https one."""
    member = deployment.create_user("quick-starter")
    script = after_the_move((EXAMPLES / "quickstart.py").read_text())
    done = run_as_member("quick-start", script, deployment, member, tmp_path)
    assert f"View run quickstart at: {LAB_HTTPS_TRACKING_URI}/#/experiments/" in done.stdout
    with signed_in(member):
        client = MlflowClient(LAB_HTTPS_TRACKING_URI)
        experiment = client.get_experiment_by_name(f"mlflow-guide-quickstart/{member.username}")
        (run,) = client.search_runs([experiment.experiment_id])
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "train_loss")]
        artifacts = [a.path for a in client.list_artifacts(run.info.run_id)]
        (model,) = client.search_logged_models([experiment.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "quickstart"
    assert run.data.params["learning_rate"] == "0.05"
    assert steps == [0, 1, 2, 3, 4]
    assert artifacts == ["losses.csv"]
    assert model.name == "model" and model.source_run_id == run.info.run_id
