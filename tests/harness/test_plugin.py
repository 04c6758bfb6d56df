"""What the plugin and the parsers do with faulty pages (labdocs/plugin/,
parsers.py): each fault fails at once, naming its page and line, and nothing is left.

Each test runs a pytest of its own, with the harness, on small pages written for it,
in a folder whose TMPDIR starts empty and must end empty.
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
import time
from pathlib import Path

import pytest

from labdocs.lab import LAB_TRACKING_URI
from labdocs.pages import ROOT
from labdocs.plugin import SET_BY_LIBRARIES
from labdocs.services.progress import run_while_progressing

# A nested session boots a throwaway server of its own (5 s idle, a minute or more beside
# other work) before its first example. It is waited for while it progresses (NESTED_IDLE_S);
# this bounds a hang of the test itself.
pytestmark = pytest.mark.timeout(900)
# A nested pytest has hung once it (its workers included) used no CPU and wrote nothing for
# this long: its examples' own bound (timeout=5 in the faulty run) ends each far sooner.
NESTED_IDLE_S = 120.0

CONFTEST = """
from sybil import Sybil
from sybil.sybil import SybilCollection
from labdocs.pages.parsers import parsers

pytest_plugins = ["labdocs.plugin"]
fixtures = ["mlflow_server", "page_sandbox"]
pytest_collect_file = SybilCollection([
    Sybil(parsers("rest"), patterns=["*.rst"], fixtures=fixtures, name="rest"),
    Sybil(parsers("myst"), patterns=["*.md"], fixtures=fixtures, name="myst"),
]).pytest()
"""


def run_pytest(folder: Path, pages: dict[str, str], *args: str):
    """Write the pages into ``folder``, run pytest on them; (result, seconds, TMPDIR left)."""
    (folder / "conftest.py").write_text(CONFTEST)
    settings = (ROOT / "pyproject.toml").read_text()  # the site's own pytest settings
    (folder / "pyproject.toml").write_text(settings.replace('["docs", "tests"]', '["."]'))
    for name, text in pages.items():
        (folder / name).write_text(textwrap.dedent(text))
    tmp = folder / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp)}
    for name in ("PYTEST_CURRENT_TEST", *SET_BY_LIBRARIES):  # as in a new process
        env.pop(name, None)
    started = time.monotonic()
    done = run_while_progressing(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", *args],
        idle_s=NESTED_IDLE_S, cwd=folder, env=env,
    )  # fmt: skip
    return done, time.monotonic() - started, sorted(p.name for p in tmp.iterdir())


FAULTY_PAGES = {
    "capital.rst": """
        Shown as Python by the site, run by nobody:

        .. code-block:: Python

           import mlflow
           mlflow.log_metric("loss", 1.0)
        """,
    "py3.md": """
        # Another spelling

        ```py3
        import mlflow
        mlflow.log_metric("loss", 1.0)
        ```
        """,
    "doctest.rst": """
        A doctest block:

        >>> 40 + 2
        42
        """,
    "left_open.rst": f"""
        .. code-block:: python

           import mlflow

           mlflow.set_tracking_uri("{LAB_TRACKING_URI}")
           mlflow.set_experiment("left-open")
           run = mlflow.start_run(run_name="forgotten")
        """,
    "hung.rst": """
        .. code-block:: python

           import time

           time.sleep(600)
        """,
    "elsewhere.rst": """
        A local MLflow server, which is not one of the tests':

        .. code-block:: python

           import mlflow

           mlflow.set_tracking_uri("http://localhost:5000")
           mlflow.search_experiments()
        """,
    "swallowed.rst": """
        A connection that fails quietly, like a telemetry thread's:

        .. code-block:: python

           import socket

           try:
               socket.create_connection(("192.0.2.1", 443), timeout=1)
           except Exception:
               pass

        .. code-block:: python

           import tempfile

           leftover = tempfile.mkdtemp()  # as MLflow's model folders were
        """,
    "stops.rst": """
        A failure, then examples that build on it, one of which would wait out its bound:

        .. code-block:: python

           raise RuntimeError("the page's first failure")

        .. code-block:: python

           import time

           time.sleep(600)

        .. code-block:: python

           assert False, "never run"
        """,
    "warned.rst": """
        An example that runs to its end while MLflow logs a warning, then one after it:

        .. code-block:: python

           import logging

           logging.getLogger("mlflow.tracking").warning("a warning MLflow logs")

        .. code-block:: python

           assert logging
        """,
    "test_leaky.py": """
        import os

        def test_leaves_a_variable_behind():
            os.environ["MLFLOW_TRACKING_USERNAME"] = "lab-member"

        def test_comes_next():
            assert "MLFLOW_TRACKING_USERNAME" not in os.environ

        def test_sets_what_libraries_set_for_themselves():
            # As torch._inductor does when it first finds its cache.
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.abspath("inductor-cache")
        """,
}


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faulty")
    # In parallel, as the whole suite runs: each fault must still be reported at its page
    # and line, the refusals of every worker counted, one summary printed.
    return run_pytest(
        folder, FAULTY_PAGES, "-o", "timeout=5", "-rA", "-n", "2", "--dist", "loadfile"
    )


def outcome(result, test_id: str) -> str:
    """How a page's example ended, as ``-rA`` reports it (a teardown error comes second)."""
    page, line = test_id.split(":")
    syntax = "rest" if page.endswith(".rst") else "myst"
    node = f"{page}::sybil:{syntax},line:{line},column:1"
    found = re.findall(rf"^(PASSED|FAILED|ERROR|SKIPPED) {re.escape(node)}\b", result.stdout, re.M)
    assert found, f"{test_id} not reported:\n{result.stdout[-3000:]}"
    return " then ".join(found)


# Each faulty example: what it reports, and the line of the output that says why.
REPORTED = [
    (
        "capital.rst:4",
        "FAILED",
        "capital.rst:4: a `Python` block is shown as Python but would not run",
    ),
    ("py3.md:4", "FAILED", "py3.md:4: a `py3` block is shown as Python but would not run"),
    (  # at the page's end
        "left_open.rst:2",
        "PASSED then ERROR",
        "this page left the run 'forgotten' open (MLflow ended it as FAILED)",
    ),
    ("hung.rst:2", "FAILED", "Timeout (>5.0s)"),
    ("elsewhere.rst:4", "FAILED", "refused: connecting to loopback port 5000"),
    # It swallowed the refusal: the run fails for it all the same (below).
    ("swallowed.rst:4", "PASSED", "the network guard refused connections"),
]


@pytest.mark.parametrize(("example", "reported", "why"), REPORTED, ids=[r[0] for r in REPORTED])
def test_each_faulty_example_is_reported_saying_why(faulty_run, example, reported, why):
    result, _, _ = faulty_run
    assert outcome(result, example) == reported
    assert why in result.stdout


def test_a_doctest_block_runs(faulty_run, tmp_path):
    result, _, _ = faulty_run
    assert outcome(result, "doctest.rst:4") == "PASSED"
    alone, _, _ = run_pytest(
        tmp_path, {"doctest.rst": FAULTY_PAGES["doctest.rst"]}, "-rA", "doctest.rst"
    )
    assert alone.returncode == 0, alone.stdout
    # The same single item as in the full run: no second collection by pytest's doctest plugin.
    passed = re.findall(r"^PASSED (\S+)", alone.stdout, re.M)
    assert passed == ["doctest.rst::sybil:rest,line:4,column:1"]
    assert "1 example on 1 page" in alone.stdout


def test_after_a_page_s_failure_its_later_examples_are_not_run(faulty_run):
    """The first failure answers alone: the examples after it, which build on it, are
    reported as not run, naming its line, and none waits out its bound (the sleep)."""
    result, _, _ = faulty_run
    assert outcome(result, "stops.rst:4") == "FAILED"
    assert "RuntimeError: the page's first failure" in result.stdout
    for line in (8, 14):
        skipped = rf"^SKIPPED \[1\] \S*stops\.rst:{line}: not run: after the failure at line 4$"
        assert re.search(skipped, result.stdout, re.M), result.stdout[-3000:]
    assert "stops.rst:8" not in re.sub(r"^SKIPPED .*$", "", result.stdout, flags=re.M)
    # The other pages of the run, in the same worker or not, run as usual.
    assert outcome(result, "doctest.rst:4") == "PASSED"


def test_a_warning_fails_its_example_and_the_page_goes_on(faulty_run):
    """An example that failed only because MLflow logged a warning ran to its end: what the
    later examples build on is there, so they run."""
    result, _, _ = faulty_run
    assert outcome(result, "warned.rst:4") == "FAILED"
    assert "mlflow.tracking: a warning MLflow logs" in result.stdout
    assert outcome(result, "warned.rst:10") == "PASSED"


def test_every_example_runs_after_a_failure_when_asked(tmp_path):
    """The compatibility table measures each example: ``--every-example``."""
    result, _, _ = run_pytest(
        tmp_path, {"stops.rst": FAULTY_PAGES["stops.rst"]}, "-o", "timeout=2", "-rA",
        "--every-example", "stops.rst",
    )  # fmt: skip
    assert outcome(result, "stops.rst:4") == "FAILED"
    assert outcome(result, "stops.rst:8") == "FAILED"  # waited out its bound
    assert "Timeout (>2.0s)" in result.stdout
    assert outcome(result, "stops.rst:14") == "FAILED"
    assert "never run" in result.stdout


def test_refused_connections_fail_the_run_even_when_swallowed(faulty_run):
    result, _, _ = faulty_run
    assert "resolving 192.0.2.1:443" in result.stdout
    assert result.returncode == 1


def test_nothing_is_left_in_the_temporary_folder(faulty_run):
    _, _, left = faulty_run
    assert left == []


def test_a_dead_server_stops_the_run_at_once_with_one_message(tmp_path):
    pages = {
        "a_kill.rst": """
            .. code-block:: python

               import os, signal, time

               os.killpg(mlflow_server.process.pid, signal.SIGKILL)
               time.sleep(1)
            """,
        "b_after.rst": f"""
            .. code-block:: python

               import mlflow

               mlflow.set_tracking_uri("{LAB_TRACKING_URI}")
               mlflow.set_experiment("after")
            """
        + "\n".join(
            f"\n.. code-block:: python\n\n   mlflow.log_metric('m', {n})\n" for n in range(20)
        ),
    }
    result, _, left = run_pytest(tmp_path, pages)
    assert result.returncode == pytest.ExitCode.INTERRUPTED, result.stdout
    assert result.stdout.count("died during the run") == 1, result.stdout
    assert "the throwaway MLflow server at http://127.0.0.1:" in result.stdout
    assert "(killed by SIGKILL)" in result.stdout
    # Never the lab's fault: no connection error naming the lab's host.
    assert "Connection refused" not in result.stdout
    assert "host='mindgarage07" not in result.stdout
    assert len(result.stdout.splitlines()) < 120
    assert left == []


def test_a_test_that_leaves_a_variable_behind_fails_and_the_next_does_not_see_it(faulty_run):
    result, _, _ = faulty_run
    leaky = "test_leaky.py::test_leaves_a_variable_behind"
    assert re.search(rf"^ERROR {leaky} - Failed", result.stdout, re.M), result.stdout[-3000:]
    changed = "Failed: the test left environment variables changed: MLFLOW_TRACKING_USERNAME\n"
    assert changed in result.stdout
    assert re.search(r"^PASSED test_leaky.py::test_comes_next$", result.stdout, re.M)
    # What libraries set for themselves is not the test's doing.
    by_libraries = "test_leaky.py::test_sets_what_libraries_set_for_themselves"
    assert re.search(rf"^PASSED {by_libraries}$", result.stdout, re.M), result.stdout[-3000:]
    assert not re.search(rf"^ERROR {by_libraries}", result.stdout, re.M)  # at its teardown


def test_one_summary_counts_every_worker_s_examples(faulty_run):
    result, _, _ = faulty_run
    assert len(re.findall(r"^-+ \d+ examples on 9 pages -+$", result.stdout, re.M)) == 1
    assert "[gw1]" in result.stdout  # two workers ran them
