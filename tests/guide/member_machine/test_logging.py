"""The logging page from a member's machine (tests/lib/member_machine.py): every block and
file it shows, in its order, as one script, by the Python of the quick start's install line,
as the page reads once the lab's server is secured (``lab.after_the_move``)."""

from __future__ import annotations

from pathlib import Path

from mlflow import MlflowClient

from labdocs.lab import LAB_HTTPS_TRACKING_URI, after_the_move
from labdocs.pages import DOCS, shown_python
from labdocs.services.auth import signed_in
from labdocs.services.deployment import Deployment
from tests.lib.member_machine import RUNS_A_MEMBER_SCRIPT, run_as_member

PAGE = DOCS / "guides" / "mlflow" / "logging.rst"


@RUNS_A_MEMBER_SCRIPT
def test_the_page_s_examples_run_from_a_member_s_machine(deployment: Deployment, tmp_path: Path):
    member = deployment.create_user("logger")
    run_as_member("quick-start", after_the_move(shown_python(PAGE)), deployment, member, tmp_path)
    with signed_in(member):
        client = MlflowClient(LAB_HTTPS_TRACKING_URI)
        experiment = client.get_experiment_by_name(f"mlflow-guide-logging/{member.username}")
        runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time"])
    assert [r.info.run_name for r in runs] == [
        "metrics", "config", "artifacts", "pytorch-model",
    ]  # fmt: skip
    assert {r.info.status for r in runs} == {"FINISHED"}
