"""The signing-in page from a member's machine (tests/lib/member_machine.py): a Python that
holds only what the page tells members to install, signed in to the lab's deployment at its
https address either way the page shows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mlflow import MlflowClient

from labdocs.lab import LAB_HTTPS_TRACKING_URI
from labdocs.pages import DOCS, shown_python
from labdocs.plugin.members import colleague
from labdocs.services.auth import Credentials, new_password, signed_in
from labdocs.services.deployment import Deployment
from labdocs.services.progress import run_while_progressing
from labdocs.services.session import NO_TELEMETRY
from tests.lib.member_machine import (
    MEMBER_IDLE_S,
    RUNS_A_MEMBER_SCRIPT,
    credentials_file,
    holds_only_what_the_page_says,
    member_python,
    run_as_member,
)

PAGE = DOCS / "guides" / "mlflow" / "signing-in.md"


def test_the_member_environment_holds_only_what_the_page_says():
    """The environment is the lock of the page's install line, and nothing else."""
    held = holds_only_what_the_page_says(
        "signing-in", PAGE, 'pip install "mlflow[auth]==|mlflow_version|"'
    )
    assert "flask-wtf" in held
    assert not {"pytest", "sybil", "torch"} & held


@RUNS_A_MEMBER_SCRIPT
@pytest.mark.parametrize("credentials_in", ["environment", "file"])
def test_the_page_s_examples_run_from_a_member_s_machine(
    deployment: Deployment, tmp_path: Path, credentials_in: str
):
    """Signed in either way the page shows: its variables, or its credentials file alone."""
    member = deployment.create_user(f"member-client-{credentials_in}")
    colleague(deployment, "asmith")  # the page shares an experiment with them
    new = new_password()
    done = run_as_member(
        "signing-in", shown_python(PAGE), deployment, member, tmp_path,
        credentials_file(member, PAGE) if credentials_in == "file" else "",
        input=f"{member.password}\n{new}\n",  # getpass reads stdin without a terminal
    )  # fmt: skip
    assert f"'username': '{member.username}'" in done.stdout  # the users/current answer
    assert "Permission denied" in done.stdout  # the Default experiment refuses a run
    # The server holds what the page logged, and the new password is the member's now.
    with signed_in(Credentials(member.username, new)):
        client = MlflowClient(LAB_HTTPS_TRACKING_URI)
        experiment = client.get_experiment_by_name(f"mlflow-guide-signing-in/{member.username}")
        (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.metrics == {"accuracy": 0.9}


def test_without_the_auth_extra_the_page_s_error():
    """Plain `pip install mlflow` lacks Flask-WTF: the sign-in client fails as the page
    says, with an ImportError about Flask-WTF (Flask-WTF hidden from the member's Python,
    as if never installed)."""
    code = (
        "import sys; sys.modules['flask_wtf'] = None\n"
        "from mlflow.server import get_app_client\n"
        f"get_app_client('basic-auth', tracking_uri={LAB_HTTPS_TRACKING_URI!r})\n"
    )
    done = run_while_progressing(
        [str(member_python("signing-in")), "-c", code], idle_s=MEMBER_IDLE_S,
        env={"PATH": os.environ["PATH"], **NO_TELEMETRY},
    )  # fmt: skip
    assert done.returncode == 1
    error = done.stderr.strip().splitlines()[-1]
    said = "(without it: an `ImportError` about Flask-WTF)"
    assert said in " ".join(PAGE.read_text().split()), "the signing-in page names no ImportError"
    assert error.startswith("ImportError: ") and "Flask-WTF" in error, error
