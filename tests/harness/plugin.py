"""pytest plugin: the throwaway MLflow server, and the rules every example runs under.

- The environment is the tests' own: the developer's ``MLFLOW_*`` variables and
  ``~/.mlflow/credentials`` are never used; client retries are bounded.
- Nothing leaves loopback; the lab's URL reaches the throwaway server (lab_network).
- One throwaway server per test run: handed over by ``nox -s doctest``, or started
  here at the very start of the run when pytest is called directly.
- Each page runs in a fresh temporary folder with a clean MLflow state; a run left
  open by a failing example is ended.
- An MLflow WARNING logged while an example runs fails that example, as Python
  warnings do (see ``filterwarnings`` in pyproject.toml).
- Pages about signing in run against a second, authenticated server (tests/auth_server.py),
  started only when a selected test needs it; see "the authenticated server" below.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections import Counter

import pytest

from conf import LAB_HOST, LAB_TRACKING_URI
from tests import lab_network
from tests.auth_server import AuthServer
from tests.throwaway_server import ENV_HANDOVER, ThrowawayServer

# Variables of the developer's shell that would change what the examples do.
SCRUBBED_PREFIXES = ("MLFLOW_", "_MLFLOW_")
TEST_ENVIRONMENT = {
    # A failure must show in seconds: no retry loop of minutes against a dead address.
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
}

# MLflow log records that are not about the example, each with its reason.
IGNORED_MLFLOW_WARNINGS = [
    (
        "mlflow.utils.requirements_utils",
        r"Found torch version \(.*\+cpu\) contains a local version label",
        "the lab machines and CI use the CPU wheel torch==2.13.0+cpu; MLflow then "
        "records torch==2.13.0. Readers with a CUDA wheel see the same for +cuXXX; "
        "the logging page says so.",
    ),
]

_server: ThrowawayServer | None = None
_started_here = False


def pytest_configure(config: pytest.Config) -> None:
    global _server, _started_here
    clean_environment(os.environ)
    # ~/.mlflow/credentials would sign the examples in as the developer.
    config._docs_home = tempfile.mkdtemp(prefix="docs-home-")
    os.environ["HOME"] = config._docs_home
    lab_network.install_guard()

    handed_over = os.environ.get(ENV_HANDOVER)
    if handed_over:
        _server = ThrowawayServer.from_env(handed_over)
    elif not config.option.collectonly:
        # Start now, so the server boots while pytest imports and collects.
        _server = ThrowawayServer.start(allowed_hosts=[LAB_HOST])
        _started_here = True
    if _server is not None:
        lab_network.redirect(LAB_TRACKING_URI, _server.url)


def clean_environment(environ) -> None:
    """Drop the shell's MLflow settings (tracking URI, experiment, credentials...)."""
    for name in [n for n in environ if n.startswith(SCRUBBED_PREFIXES)]:
        del environ[name]
    environ.update(TEST_ENVIRONMENT)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _started_here and _server is not None:
        _server.stop()
    if _auth_server is not None:
        _auth_server.stop()
    shutil.rmtree(getattr(config, "_docs_home", ""), ignore_errors=True)


@pytest.fixture(scope="session")
def mlflow_server() -> ThrowawayServer:
    """The throwaway server, ready. Checks ask it what the examples did."""
    if _server is None:
        pytest.fail("no throwaway MLflow server was started (collect-only run?)")
    _server.wait_ready()
    return _server


@pytest.fixture(scope="module")
def page_sandbox(mlflow_server: ThrowawayServer, tmp_path_factory: pytest.TempPathFactory):
    """One page's world: its own folder, environment and MLflow state."""
    import mlflow

    folder = tmp_path_factory.mktemp("page")
    saved_env = dict(os.environ)
    old_cwd = os.getcwd()
    os.chdir(folder)
    _reset_mlflow(mlflow)
    try:
        yield folder
    finally:
        while mlflow.active_run() is not None:  # left open by a failing example
            mlflow.end_run(status="FAILED")
        _reset_mlflow(mlflow)
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def _reset_mlflow(mlflow) -> None:
    mlflow.set_tracking_uri(None)  # also unsets MLFLOW_TRACKING_URI
    import mlflow.tracking.fluent as fluent

    fluent._active_experiment_id = None  # set by set_experiment(); no public reset


# -- the authenticated server, for the pages about signing in -----------------------
#
# conftest.py runs AUTH_PAGES with the fixtures `auth_server` and `auth_page_sandbox`
# instead of `page_sandbox` alone, and fills their placeholder exports in from
# `auth_placeholders()`. The server starts once, when the collected tests need it.

_auth_server: AuthServer | None = None


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start booting the authenticated server now if a selected test needs it."""
    if not session.config.option.collectonly and any(
        "auth_server" in getattr(item, "fixturenames", ()) for item in session.items
    ):
        _start_auth_server()


def _start_auth_server() -> AuthServer:
    global _auth_server
    if _auth_server is None:
        _auth_server = AuthServer.start(allowed_hosts=[LAB_HOST])
    return _auth_server


@pytest.fixture(scope="session")
def auth_server() -> AuthServer:
    """The authenticated server (examples/lab_server.sh), ready, with a lab member."""
    server = _start_auth_server()
    server.wait_ready()
    return server


def auth_placeholders() -> dict[str, str]:
    """For the shell-export parser: the credentials that a page's placeholders stand for."""
    if _auth_server is None:
        raise RuntimeError("this page needs the `auth_server` fixture")
    return _auth_server.placeholders


@pytest.fixture(scope="module")
def auth_page_sandbox(page_sandbox, auth_server: AuthServer, mlflow_server: ThrowawayServer):
    """``page_sandbox``, with the lab's URL reaching the authenticated server during the page."""
    import mlflow

    _send_lab_url_to(auth_server.url)
    try:
        yield page_sandbox
    finally:
        while mlflow.active_run() is not None:  # end it on this server, as the page's user
            mlflow.end_run(status="FAILED")
        _send_lab_url_to(mlflow_server.url)


def _send_lab_url_to(url: str) -> None:
    lab_network.redirect(LAB_TRACKING_URI, url)
    # MLflow keeps its HTTP connections open in cached sessions: drop them, or a connection
    # opened to the other server would go on serving the lab's URL.
    from mlflow.utils.request_utils import _cached_get_request_session

    _cached_get_request_session.cache_clear()


# -- an MLflow warning fails the example ---------------------------------------


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        for logger, pattern, _reason in IGNORED_MLFLOW_WARNINGS:
            if record.name == logger and re.search(pattern, record.getMessage()):
                return
        self.records.append(record)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    recorder = _Recorder()
    logger = logging.getLogger("mlflow")
    logger.addHandler(recorder)
    try:
        result = yield
    finally:
        logger.removeHandler(recorder)
    if recorder.records:
        lines = "\n".join(f"  {r.name}: {r.getMessage()}" for r in recorder.records)
        pytest.fail(f"MLflow logged warnings while this example ran:\n{lines}", pytrace=False)
    return result


# -- how many examples ran --------------------------------------------------------


def _kind(item: pytest.Item) -> str | None:
    example = getattr(item, "example", None)
    if example is None:
        return None
    evaluator = getattr(
        example.region.evaluator, "__name__", type(example.region.evaluator).__name__
    )
    text = example.document.text[example.region.start : example.region.end]
    if "invisible-code-block" in text:
        return "hidden checks"
    return {
        "_run_included_file": "example files",
        "_apply_exports": "shell exports",
        "_fail_silent_skip": "unrunnable blocks",
        "Skipper": "skip markers",
    }.get(evaluator, "code blocks")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Say how many examples of each kind ran, on how many pages, and how they ended."""
    outcome_of = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if report.when == "call" or outcome in ("skipped", "error"):
                outcome_of[report.nodeid] = outcome
    table: dict[str, Counter[str]] = {}
    pages = set()
    for item in getattr(config, "_doc_items", []):
        table.setdefault(_kind(item), Counter())[outcome_of.get(item.nodeid, "not run")] += 1
        pages.add(item.example.path)
    if not table:
        return
    total = sum(sum(c.values()) for c in table.values())
    terminalreporter.write_sep("-", f"{total} examples on {len(pages)} pages")
    for kind, outcomes in sorted(table.items()):
        counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))
        terminalreporter.write_line(f"{kind:>18}: {counts}")


def pytest_collection_modifyitems(session, config, items) -> None:
    config._doc_items = [item for item in items if getattr(item, "example", None) is not None]
    # Tests of the authenticated server last (a stable sort: each page keeps its order), so
    # that server boots while the others run instead of being waited for first.
    items.sort(key=lambda item: "auth_server" in getattr(item, "fixturenames", ()))
