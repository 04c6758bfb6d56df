"""The member runs (labdocs/plugin/member_runs.py): each member page read as it will be once
the lab's server is secured, signed in to the lab's deployment over https (the member's
browser, which trusts the deployment's certificate alone: test_ui.py), in their order."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from mlflow import MlflowClient
from sybil import Document

from labdocs.lab import LAB_HOST, LAB_HTTPS_TRACKING_URI, LAB_TRACKING_URI
from labdocs.pages import DOCS, EXAMPLES, ROOT, SYNTAX
from labdocs.pages.parsers import parsers
from labdocs.plugin import scope_of
from labdocs.plugin.member_runs import PageAfterTheMove
from labdocs.services import network

QUICK_START = DOCS / "guides" / "mlflow" / "quick-start.rst"
LOGGING = DOCS / "guides" / "mlflow" / "logging.rst"


@pytest.mark.parametrize("page", [QUICK_START, LOGGING], ids=lambda p: p.name)
def test_a_member_run_reads_the_page_after_the_move(page):
    """Its examples name the https address where the page shows the plain one, at the same
    lines; nothing else of the page changes."""
    lineup = parsers(SYNTAX[page.suffix])
    as_shown = Document.parse(str(page), *lineup)
    after = PageAfterTheMove.parse(str(page), *lineup)
    assert LAB_TRACKING_URI in as_shown.text
    assert LAB_TRACKING_URI not in after.text
    assert after.text == as_shown.text.replace(LAB_TRACKING_URI, LAB_HTTPS_TRACKING_URI)
    assert [e.line for e in after.examples()] == [e.line for e in as_shown.examples()]


def test_the_files_a_member_run_includes_are_read_after_the_move_too():
    script = EXAMPLES / "quickstart.py"
    shown = script.read_text()
    assert f'mlflow.set_tracking_uri("{LAB_TRACKING_URI}")' in shown
    read = PageAfterTheMove.read_included(script)
    assert f'mlflow.set_tracking_uri("{LAB_HTTPS_TRACKING_URI}")' in read
    assert read.count("\n") == shown.count("\n")


def test_the_plain_address_reaches_nothing_in_a_member_run(mlflow_server):
    """Not even through a connection MLflow opened to it before and keeps open."""
    MlflowClient(LAB_TRACKING_URI).search_experiments(max_results=1)
    refusal = re.escape(f"refused: resolving {LAB_HOST}")
    with (
        network.refusals_expected() as refused,
        network.closed(LAB_TRACKING_URI),
        pytest.raises(Exception, match=refusal),
    ):
        MlflowClient(LAB_TRACKING_URI).search_experiments(max_results=1)
    assert refused, "the guard saw nothing"
    MlflowClient(LAB_TRACKING_URI).search_experiments(max_results=1)  # open again after


def test_a_member_page_s_runs_go_to_one_worker_in_order():
    """In a parallel session each worker has its own deployment: the second member must
    meet the first one's experiments, so a page's member runs share a worker; a sign-in
    page's own run is its first member's."""

    def scope(nodeid: str) -> str:
        return scope_of(nodeid, ROOT)

    logging, signing_in = "docs/guides/mlflow/logging.rst", "docs/guides/mlflow/signing-in.md"
    second = "[as second-member]::line:20,column:1"
    assert scope(f"{logging}[as lab-member]::line:20,column:1") == scope(logging + second)
    assert scope(f"{signing_in}::line:20,column:1") == scope(signing_in + second)
    assert scope(f"{logging}::line:20,column:1") == logging  # its reader's run: a file
    assert scope("tests/harness/test_ui.py::test_a") == scope("tests/harness/test_ui.py::test_b")


def test_what_needs_no_deployment_runs_first_and_the_second_member_last():
    """The session's deployment boots while the files that need none run: a page's
    reader's run before a test module on the deployment, given first, and the members'
    runs after both, the second member's last."""
    attacks = "tests/admin/test_deployment_attacks.py"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "--all", "-p", "no:cacheprovider",
         attacks, str(LOGGING.relative_to(ROOT))],
        cwd=ROOT, env={**os.environ, "DOCS_MEMBER_RUNS": "on"}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    files = [line.split("::")[0] for line in done.stdout.splitlines() if "::" in line]
    logging = "docs/guides/mlflow/logging.rst"
    assert list(dict.fromkeys(files)) == [
        logging, attacks, f"{logging}[as lab-member]", f"{logging}[as second-member]",
    ]  # fmt: skip
