"""The pytest plugin: the rules every test runs under, and the fixtures of its servers.

Top to bottom, as a session meets them:

- configure: the session's own folder and environment (session.py), Ctrl-C and the
  parent's death (interrupts.py), the network guard (network.py), and the throwaway server
  (servers.py), started at once so that it boots while pytest imports and collects;
- the fixtures: ``mlflow_server`` (ready); ``page_sandbox`` for a page
  (module scope), ``sandbox`` for a test (sandbox.py); ``ui`` for a page's browser tab (ui.py);
- the rules: an MLflow WARNING fails the example that logged it; a server that dies stops
  the session at once, saying so; a skipped example is reported at its page and line; a
  test leaves the environment as it found it;
- the end: the summary (summary.py), refusals of the guard fail the session, servers stop.

Run in parallel (pytest-xdist, as ``nox -s doctest`` runs the whole suite), each worker is
such a session with its own servers (and its own lab deployment, deployment_plugin.py); a
page's examples stay together, in order, in one worker, and so do a member page's runs by
the lab members. The controller starts no server: it gathers what the workers send (their
examples, the guard's refusals) and prints the one summary. State lives in
``config.stash``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sybil.example import SybilFailure
from sybil.integration.pytest import SybilItem

from labdocs import network, page_cache, summary
from labdocs.browser import Browser, NoBrowser, find_chromium
from labdocs.interrupts import Interruptions
from labdocs.lab import LAB_HOST, LAB_TRACKING_URI
from labdocs.pages import is_auth_page
from labdocs.sandbox import left_open_error, within_sandbox
from labdocs.server_versions import ServerError, find_mlflow
from labdocs.servers import ThrowawayServer, plain_server_command
from labdocs.session import SessionFolder, clean_environment
from labdocs.ui import UI, UIError

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


# Variables that libraries set for themselves, once per process, in whichever test first
# imports or uses them: not that test's doing, so the environment check lets them appear.
SET_BY_LIBRARIES = {
    "PYTORCH_NVML_BASED_CUDA_CHECK": "lightning_fabric sets it on import (mlflow.pytorch imports it)",
    "TORCHINDUCTOR_CACHE_DIR": "torch._inductor sets it when it first finds its cache folder",
}


@dataclass
class Started:
    """What this session started and keeps: its folder, servers, browser, page examples."""

    folder: SessionFolder
    interruptions: Interruptions
    chromium: str | NoBrowser  # found before HOME moves (Playwright's browsers live under it)
    server: ThrowawayServer | None = None
    examples: list[summary.Example] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # the guard's, in this or any worker
    failed_at: dict[str, int] = field(default_factory=dict)  # a page run's first failed line

    def servers(self) -> list[ThrowawayServer]:
        return [self.server] if self.server is not None else []


STARTED = pytest.StashKey[Started]()


def controller(config: pytest.Config) -> bool:
    """The controller of a parallel session: it runs no test itself."""
    return getattr(config.option, "dist", "no") != "no" and not hasattr(config, "workerinput")


# -- configure ----------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)  # before pytest's tmp_path reads --basetemp
def pytest_configure(config: pytest.Config) -> None:
    # Before anything moves: whether the run leaves a test to run that needs the server.
    start_now = page_cache.servers_needed(config)
    interruptions = Interruptions()
    interruptions.install()
    try:
        chromium: str | NoBrowser = find_chromium()
    except NoBrowser as error:  # fails the pages that look at the UI, not the others
        chromium = error
    clean_environment(os.environ)
    started = Started(SessionFolder(), interruptions, chromium)
    started.folder.enter()
    if config.option.basetemp is None:
        config.option.basetemp = str(started.folder.pytest)
    config.stash[STARTED] = started
    if controller(config):
        return
    network.install_guard()
    SybilItem._traceback_filter = _sybil_traceback_filter(SybilItem._traceback_filter)
    if not config.option.collectonly and start_now:
        _start_server(started)


def _start_server(started: Started) -> ThrowawayServer:
    """The throwaway server, booting: at configure time when tests will need it (it boots
    while pytest collects), else when a test first asks (page_cache.py)."""
    if started.server is None:
        started.server = ThrowawayServer.start(plain_server_command(find_mlflow()))
        network.redirect(LAB_TRACKING_URI, started.server.url)
    return started.server


def _sybil_traceback_filter(original):
    """Sybil 10.1 shortens tracebacks to the example's frames, assuming there are some: for
    an error raised outside the example (a fixture's, a chained one) it fails with
    IndexError, and pytest with an INTERNALERROR that hides the real error."""
    if getattr(original, "keeps_whole_tracebacks", False):
        return original

    def traceback_filter(self, excinfo):
        try:
            return original(self, excinfo)
        except IndexError:
            return excinfo.traceback

    traceback_filter.keeps_whole_tracebacks = True
    return traceback_filter


def pytest_collection_modifyitems(session, config: pytest.Config, items) -> None:
    started = config.stash[STARTED]
    started.examples = [summary.example(i) for i in items if getattr(i, "example", None)]


# -- fixtures -------------------------------------------------------------------------


def _ready(request: pytest.FixtureRequest, server: ThrowawayServer) -> None:
    """Wait for the server; if it cannot serve, stop the whole session with one message."""
    try:
        server.wait_ready()
    except ServerError as error:
        _stop(request.session, str(error))
        pytest.skip(STOPPING)


@pytest.fixture(scope="session")
def mlflow_server(request: pytest.FixtureRequest) -> ThrowawayServer:
    """The throwaway server, ready. Checks ask it what the examples did."""
    if request.config.option.collectonly:
        pytest.fail("no throwaway MLflow server is started in a collect-only run")
    try:
        server = _start_server(request.config.stash[STARTED])
    except ServerError as error:
        _stop(request.session, str(error))
        pytest.skip(STOPPING)
    _ready(request, server)
    return server


@pytest.fixture(scope="module")
def page_sandbox(request: pytest.FixtureRequest, mlflow_server, tmp_path_factory):
    """One page's world: its own folder, environment and MLflow state."""
    yield from _sandbox(request, tmp_path_factory.mktemp("page"), "this page")


@pytest.fixture
def sandbox(request: pytest.FixtureRequest, tmp_path):
    """A test's world: ``tmp_path`` as its folder; environment, MLflow, MMEngine restored."""
    yield from _sandbox(request, tmp_path, "this test")


def _sandbox(request: pytest.FixtureRequest, folder, where: str):
    failed_before = request.session.testsfailed
    left_open: list[str] = []
    with within_sandbox(folder, left_open):
        yield folder
    if left_open and request.session.testsfailed == failed_before:
        raise left_open_error(where, left_open)


@pytest.fixture(autouse=True)
def _environment_as_found(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test leaves ``os.environ`` as it found it, or fails. In a parallel session the
    next test in the worker may be any other's, and a variable left behind (a member's
    name, say) changes what that one does, far from the cause. Pages are exempt: their
    sandbox restores what their exports set, when the page ends."""
    if not isinstance(request.node, pytest.Function):
        yield
        return
    before = dict(os.environ)
    yield
    names = (before.keys() | os.environ.keys()) - {"PYTEST_CURRENT_TEST"}  # pytest's own
    changed = sorted(
        n
        for n in names
        if before.get(n) != os.environ.get(n) and not (n in SET_BY_LIBRARIES and n not in before)
    )
    if changed:
        os.environ.clear()
        os.environ.update(before)
        pytest.fail(f"the test left environment variables changed: {', '.join(changed)}")


@pytest.fixture(scope="session")
def ui_browser(pytestconfig: pytest.Config, mlflow_server) -> Iterator[Browser]:
    """One Chromium for the session, started when a page first looks at the UI."""
    chromium = pytestconfig.stash[STARTED].chromium
    if isinstance(chromium, NoBrowser):
        raise chromium
    browser = Browser(LAB_HOST, mlflow_server.url, chromium)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="module")
def ui(request: pytest.FixtureRequest, ui_browser: Browser) -> Iterator[UI]:
    """A page's browser tab. Any request of the browser beyond the lab's URL fails the page."""
    refused_before = len(ui_browser.guard.refused)
    page_ui = UI(ui_browser, Path(str(request.node.path)))
    try:
        yield page_ui
    finally:
        page_ui.close()
    refused = ui_browser.guard.refused[refused_before:]
    if refused:
        raise UIError(f"the browser tried to leave this machine: {refused}")


# -- rules ----------------------------------------------------------------------------


class _MlflowWarnings(logging.Handler):
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
    """Whatever talks to the tracking server fails if MLflow logs a WARNING meanwhile.

    (And the interruption of a Ctrl-C is repeated while a test's call runs: interrupts.py.)
    """
    recorder = _MlflowWarnings()
    logger = logging.getLogger("mlflow")
    if "mlflow_server" in getattr(item, "fixturenames", ()):
        logger.addHandler(recorder)
    try:
        with item.config.stash[STARTED].interruptions.during_example():
            result = yield
    finally:
        logger.removeHandler(recorder)
    if recorder.records:
        lines = "\n".join(f"  {r.name}: {r.getMessage()}" for r in recorder.records)
        message = f"MLflow logged warnings while this example ran:\n{lines}"
        example = getattr(item, "example", None)
        if example is not None:  # reported at the page's line, as Sybil reports its own
            raise SybilFailure(example, message)
        pytest.fail(message, pytrace=False)
    return result


def pytest_runtest_setup(item: pytest.Item) -> None:
    asked = item.config.stash[STARTED].interruptions.signals
    if asked:
        raise KeyboardInterrupt(f"interrupted by {asked[0]}")
    if _a_server_died(item.session):
        pytest.skip(STOPPING)
    failed_at = item.config.stash[STARTED].failed_at.get(_page_run(item))
    if failed_at is not None:
        pytest.skip(f"not run: after the failure at line {failed_at}")


def _page_run(item: pytest.Item) -> str | None:
    """The page run an example belongs to: its Sybil document's collector (a page's own
    run, or one member's run of it, members.py); None for a test that is no example."""
    return item.parent.nodeid if getattr(item, "example", None) is not None else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """A server that died is said once; a skip is reported at its page's line; and after a
    page's example fails, the page's later examples are not run.

    A page runs top to bottom in one namespace, each example building on what the ones
    before it did (the run it logged, the tab it opened): after one fails, the later ones
    would each fail in its own way, or wait out its own bound (a UI name, a hung
    server), and bury the one failure that matters under dozens. They are skipped,
    naming the line that failed: the page's first failure answers alone, in seconds.
    """
    report = yield
    if report.failed and _a_server_died(item.session):  # say that, once, at the end
        report.outcome, report.longrepr = "skipped", (str(item.path), 0, STOPPING)
    example = getattr(item, "example", None)
    if report.failed and example is not None:
        item.config.stash[STARTED].failed_at.setdefault(_page_run(item), example.line)
    if report.skipped and example is not None and isinstance(report.longrepr, tuple):
        # Where the skip is on the page, not where Sybil raised SkipTest (a report's line
        # counts from 1, as the page's do).
        report.longrepr = (example.path, example.line, report.longrepr[2])
    return report


def _a_server_died(session: pytest.Session) -> bool:
    for server in session.config.stash[STARTED].servers():
        if server.exit_status() is not None:
            when = "died during the run" if server.ready else "exited before it was ready"
            _stop(session, str(server.died(when)))
            return True
    return False


STOPPING = "the session is stopping: the reason is printed at its end"


def _stop(session: pytest.Session, message: str) -> None:
    """Stop the session after the test at hand, saying why once, at the end.

    ``session.shouldstop`` rather than ``pytest.exit``: a worker of a parallel session
    hands it to the controller, which stops every worker and prints it.
    """
    if not session.shouldstop:
        session.shouldstop = message


# -- the end --------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)  # before xdist sends workeroutput
def pytest_sessionfinish(session: pytest.Session, exitstatus) -> None:
    started = session.config.stash[STARTED]
    started.interruptions.stop()
    started.refused += network.refused
    if hasattr(session.config, "workerinput"):
        session.config.workeroutput["refused"] = started.refused
    if started.refused and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # listed in the terminal summary


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """A file's tests in one worker, in order (a page's examples share its namespace); a
    member page's runs by the lab members (node ids ``page[as NAME]``, members.py) in one
    worker, the second member after the first, on that worker's lab deployment."""
    from xdist.scheduler import LoadScopeScheduling

    class ByFileAndMembers(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid, config.rootpath)

    return ByFileAndMembers(config, log)


def scope_of(nodeid: str, root: Path) -> str:
    """What runs in one worker, in order: a file, or a member page's runs."""
    from labdocs.members import is_member_page

    file = nodeid.split("::", 1)[0]
    page = file.split("[as ", 1)[0]
    # A sign-in page's own run is its first member's: with its second, in order.
    first_member = is_auth_page(root / page) and is_member_page(root / page)
    return f"{page}, as the lab's members" if page != file or first_member else file


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids) -> None:
    """A worker collected: its examples are the session's (each worker collects them all)."""
    started = node.config.stash[STARTED]
    if not started.examples:
        started.examples = summary.examples_of(ids, node.config.rootpath)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """A worker ended: keep the refusals of its network guard."""
    node.config.stash[STARTED].refused += getattr(node, "workeroutput", {}).get("refused", [])


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    started = config.stash[STARTED]
    summary.write(terminalreporter, started.examples, *page_cache.from_cache(config))
    if started.refused:
        terminalreporter.write_sep("!", "the network guard refused connections", red=True)
        for what in dict.fromkeys(started.refused):
            terminalreporter.write_line(f"  {what}")
        terminalreporter.write_line(
            "Nothing of the tests may leave loopback: set what made these connections so "
            "that it does not (MLflow telemetry: MLFLOW_DISABLE_TELEMETRY=true)."
        )


@pytest.hookimpl(tryfirst=True)  # the servers stop, whatever other plugins' ends raise
def pytest_unconfigure(config: pytest.Config) -> None:
    started = config.stash.get(STARTED, None)
    if started is None:
        return
    servers = started.servers()
    for server in servers:  # all at once: uvicorn waits for open connections before it ends
        server.ask_to_stop()
    for server in servers:
        server.stop(grace=3.0)  # throwaway: nothing to lose by a SIGKILL
    started.folder.remove()
