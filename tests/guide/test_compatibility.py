"""The compatibility table (docs/_data/compatibility.json, from `nox -s compatibility`): it
covers the versions the project names, and what the pages say about it is what it shows.

The data is measured, not typed; these tests read it. When a new run changes a result, the
test of the sentence that the result contradicts fails: change the sentence.
"""

import json
from pathlib import Path

import pytest

from labdocs.lab import LAB_SERVER_MLFLOW_VERSION, MLFLOW_VERSION
from labdocs.site import compatibility_table
from tools import compatibility, lock, mlflow_envs

ROOT = Path(__file__).resolve().parents[2]
DATA = json.loads(compatibility.OUT.read_text())
CELLS = {(c["client"], c["server"]): c for c in DATA["cells"]}
CLIENTS = [c["version"] for c in DATA["clients"]]
SERVERS = [s["version"] for s in DATA["servers"]]


def major(version: str) -> int:
    return int(version.split(".")[0])


def problems(cell: dict) -> set[tuple[str, str, str]]:
    """(page, section, kind) of every example that failed or warned."""
    return {
        (r["page"].rsplit("/", 1)[-1], r["operation"], r["kind"])
        for r in cell["results"]
        if r["outcome"] in ("failed", "warned")
    }


def test_the_data_covers_the_projects_versions_and_every_pair():
    assert LAB_SERVER_MLFLOW_VERSION in SERVERS
    assert MLFLOW_VERSION in CLIENTS and compatibility.OLDEST_CLIENT in CLIENTS
    assert any(major(s) == 2 for s in SERVERS)  # a lab server never upgraded
    assert set(CELLS) == {(c, s) for c in CLIENTS for s in SERVERS}
    for cell in DATA["cells"]:
        assert "error" not in cell, cell["error"]  # each pair was measured
        pages = {r["page"] for r in cell["results"]}
        assert pages == set(compatibility.PAGES), (cell["client"], cell["server"])


def test_every_page_of_the_guide_is_run_or_said_why_not():
    guide = {str(p.relative_to(ROOT)) for p in (ROOT / "docs/guides/mlflow").glob("*.*")}
    guide.discard("docs/guides/mlflow/index.rst")  # links only
    assert guide <= set(compatibility.PAGES) | set(compatibility.NOT_RUN)


def test_the_table_shows_every_cell_and_every_problem():
    text = "\n".join(compatibility_table.rst_lines(DATA))
    assert DATA["measured"] in text
    for cell in DATA["cells"]:
        assert compatibility_table.cell_text(cell) in text
        for result in cell["results"]:
            if result["outcome"] != "passed" and result["outcome"] != "skipped":
                assert f"line {result['line']}" in text


# -- what the pages say, against what was measured ------------------------------------------


@pytest.mark.parametrize("server", [s for s in SERVERS if major(s) >= 3])
def test_with_an_mlflow_3_server_the_pinned_client_runs_everything(server):
    assert problems(CELLS[MLFLOW_VERSION, server]) == set()


@pytest.mark.parametrize("server", [s for s in SERVERS if major(s) >= 3])
def test_with_an_mlflow_3_server_the_oldest_client_differs_only_where_the_page_says(server):
    """compatibility.rst: with 3.1, only the troubleshooting page's default store and the
    logging page's PyTorch format differ (and two MLflow warnings)."""
    assert problems(CELLS[compatibility.OLDEST_CLIENT, server]) <= {
        ("troubleshooting.rst", "My runs are not on the server", "example"),
        ("troubleshooting.rst", "My runs are not on the server", "check"),
        ("logging.rst", "PyTorch models", "check"),  # pt2 checked: 3.1 has no pt2
        ("quick-start.rst", "Quick start", "example"),  # a warning, not a failure
        ("common-tasks.rst", "Autologging with PyTorch", "example"),  # a warning
    }
    failed = {r["operation"] for r in CELLS[compatibility.OLDEST_CLIENT, server]["results"]
              if r["outcome"] == "failed"}  # fmt: skip
    assert failed <= {"My runs are not on the server", "PyTorch models"}
    page = (ROOT / "docs/guides/mlflow/compatibility.rst").read_text()
    assert "mlflow.db" in page and "no ``pt2`` format" in page


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("server", [s for s in SERVERS if major(s) == 2])
def test_with_an_mlflow_2_server_only_logging_models_fails(client, server):
    """compatibility.rst: log_model fails against an MLflow 2 server, the way the page shows
    for it works, everything else works."""
    cell = CELLS[client, server]
    failed = {
        (r["page"].rsplit("/", 1)[-1], r["operation"])
        for r in cell["results"]
        if r["outcome"] == "failed"
    }
    model_sections = {
        ("quick-start.rst", "Quick start"),  # it logs a model with log_model
        ("logging.rst", "PyTorch models"),
        ("common-tasks.rst", "Autologging with PyTorch"),  # the page's check, see below
        ("troubleshooting.rst", "My runs are not on the server"),  # 3.1's default store
    }
    assert failed <= model_sections
    assert ("logging.rst", "PyTorch models") in failed  # still true? then the page is right
    log_model = [
        r for r in cell["results"] if r["operation"] == "PyTorch models" and r["kind"] == "example"
    ]
    assert (
        "/api/2.0/mlflow/logged-models failed with error code 404 != 200" in log_model[0]["error"]
    )
    workaround = [r for r in cell["results"] if r["operation"] == "If the server runs MLflow 2"]
    assert workaround and all(r["outcome"] in ("passed", "warned") for r in workaround)
    autolog = [
        r
        for r in cell["results"]
        if r["operation"] == "Autologging with PyTorch" and r["outcome"] == "failed"
    ]
    assert all(r["kind"] == "check" for r in autolog)  # the reader's example itself works


def test_the_pages_name_the_oldest_client_the_table_measured():
    for page in ("docs/guides/mlflow/compatibility.rst", "docs/guides/mlflow/getting-started.rst"):
        assert compatibility.OLDEST_CLIENT in (ROOT / page).read_text()


# -- the environments behind it: unsupported versions fail at once --------------------------


@pytest.mark.parametrize("version", ["2.22.5", "latest", "3.1"])
def test_an_unsupported_client_fails_at_once(version):
    with pytest.raises(mlflow_envs.EnvError, match="not supported"):
        mlflow_envs.client_requirements(version)


def test_an_old_server_without_its_pins_fails_at_once():
    with pytest.raises(mlflow_envs.EnvError, match=r"3\.0\.1 is not supported.*SQLAlchemy 2\.1"):
        mlflow_envs.server_requirements("3.0.1")


def test_a_client_gets_the_test_environment_with_its_mlflow():
    text = mlflow_envs.client_requirements("3.1.4")  # its lock, requirements/client-3.1.4.txt
    locked = lock.pins(text)
    assert locked["mlflow"] == "3.1.4" and "--hash=sha256:" in text
    assert locked["torch"].startswith("2.13.0") and locked["sqlalchemy"] == "2.0.58"
    assert set(lock.pins(mlflow_envs.client_input(MLFLOW_VERSION))) <= set(locked)


def test_the_pinned_client_gets_the_doctest_lock():
    assert (
        mlflow_envs.client_requirements(MLFLOW_VERSION)
        == (ROOT / "requirements" / "doctest.txt").read_text()
    )


@pytest.mark.parametrize("path", sorted((ROOT / "requirements").glob("server-*.in")))
def test_each_server_input_pins_its_own_version_and_its_lock_no_torch(path):
    version = path.stem.removeprefix("server-")
    requirements = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    assert f"mlflow[auth]=={version}" in requirements
    locked = lock.pins(mlflow_envs.server_requirements(version))  # the lock, server-<v>.txt
    assert locked["mlflow"] == version
    assert not any("torch" in name for name in locked)  # a server needs none
