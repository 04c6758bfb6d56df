"""What the compatibility page says happens to the quick start against an MLflow 2 server
(the one page that speaks of MLflow 2 servers) is what was measured there.

The measurement is `nox -s compatibility` (docs/_data/compatibility.json): the quick start's
example run with each client against each server. When a new measurement contradicts the
page, this fails: change the sentence.
"""

import json
import re
from pathlib import Path

import pytest

from tools import compatibility

ROOT = Path(__file__).resolve().parents[2]
COMPATIBILITY = ROOT / "docs" / "guides" / "mlflow" / "compatibility.rst"
DATA = json.loads(compatibility.OUT.read_text())
MLFLOW_2_CELLS = [c for c in DATA["cells"] if c["server"].startswith("2.")]


def page_text() -> str:
    return " ".join(COMPATIBILITY.read_text().split())


def quoted_error() -> str:
    """The error the compatibility page quotes for the quick start on an MLflow 2 server."""
    found = re.search(
        r"fails at :py:func:`mlflow.pytorch.log_model` \(also in the :doc:`quick-start`\): "
        r"``(?P<error>[^`]+)``",
        page_text(),
    )
    assert found, "the compatibility page no longer says how the quick start fails on MLflow 2"
    return found["error"]


@pytest.mark.parametrize("cell", MLFLOW_2_CELLS, ids=lambda c: f"{c['client']}-{c['server']}")
def test_the_quick_start_quotes_the_measured_error(cell):
    quick_start = [
        r
        for r in cell["results"]
        if r["page"].endswith("quick-start.rst") and r["kind"] == "example"
    ]
    assert quick_start and quick_start[0]["outcome"] == "failed"
    assert quoted_error() in " ".join(quick_start[0]["error"].split())


@pytest.mark.parametrize("cell", MLFLOW_2_CELLS, ids=lambda c: f"{c['client']}-{c['server']}")
def test_the_run_does_not_end_finished(cell):
    """The page's check after the example (its run FINISHED) fails there: the exception
    leaves the ``with mlflow.start_run()`` block, which ends the run as FAILED."""
    checks = [
        r for r in cell["results"] if r["page"].endswith("quick-start.rst") and r["kind"] == "check"
    ]
    assert any('status == "FINISHED"' in r.get("error", "") for r in checks)
    assert "the run ends as ``FAILED``" in page_text()


def test_the_mlflow_2_cells_were_measured():
    assert MLFLOW_2_CELLS, "the compatibility data has no MLflow 2 server"
