"""The notebook page from a member's machine (tests/lib/member_machine.py): its cells as a
reader signed in by the signing-in page's credentials file runs them, in one kernel (a
Python process of its own), on the lab's deployment."""

from __future__ import annotations

from pathlib import Path

from mlflow import MlflowClient

from labdocs.lab import LAB_HTTPS_TRACKING_URI, after_the_move
from labdocs.pages import DOCS, shown_python
from labdocs.services.auth import signed_in
from labdocs.services.deployment import Deployment
from tests.lib.member_machine import RUNS_A_MEMBER_SCRIPT, credentials_file, run_as_member

PAGE = DOCS / "guides" / "mlflow" / "notebooks.md"
SIGNING_IN = DOCS / "guides" / "mlflow" / "signing-in.md"


@RUNS_A_MEMBER_SCRIPT
def test_the_cells_run_without_the_credentials_cell(deployment: Deployment, tmp_path: Path):
    """All but the cell that asks for a username and password, which the page lets them
    skip, as a reader of a server without sign-in does."""
    member = deployment.create_user("notebook-reader")
    cells = after_the_move(shown_python(PAGE, skipping='input("MLflow username: ")'))
    file = credentials_file(member, SIGNING_IN)
    done = run_as_member("signing-in", cells, deployment, member, tmp_path, file)
    assert "is already active" in done.stdout
    with signed_in(member):
        client = MlflowClient(LAB_HTTPS_TRACKING_URI)
        experiment = client.get_experiment_by_name(f"mlflow-guide-notebooks/{member.username}")
        runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time"])
    assert [r.info.run_name for r in runs] == ["notebook", "first"]
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert runs[0].data.metrics == {"val_acc": 0.81}
