"""The pytest plugin: the rules every test runs under, and the fixtures of its servers.

Top to bottom, as a run meets them:

- configure: the run's own folder and environment (sandbox.py), the network guard
  (network.py), and the throwaway server (servers.py), started at once so that it boots
  while pytest imports and collects;
- the fixtures: ``mlflow_server`` and ``auth_server`` (ready), ``page_sandbox`` for a page
  (module scope), ``auth_page_sandbox`` for a page about signing in, ``sandbox`` for a test;
- the rules: an MLflow WARNING fails the example that logged it; a server that dies stops
  the run at once, saying so; a skipped example is reported at its page and line;
- the end: the summary (summary.py), refusals of the guard fail the run, servers stop.

State lives in ``config.stash``.
"""

from __future__ import annotations

import _thread
import contextlib
import ctypes
import logging
import os
import re
import signal
import sys
import threading
from dataclasses import dataclass, field

import pytest
from sybil.example import SybilFailure
from sybil.integration.pytest import SybilItem

from labdocs import network, summary
from labdocs.deployment import Deployment
from labdocs.lab import LAB_TRACKING_URI
from labdocs.sandbox import RunFolder, clean_environment, left_open_error, sandboxed
from labdocs.servers import ServerError, ThrowawayServer, find_mlflow, plain_server

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
PR_SET_PDEATHSIG = 1


@dataclass
class Run:
    """What this run started and keeps: its folder, its servers, its page examples."""

    folder: RunFolder
    server: ThrowawayServer | None = None
    auth: Deployment | None = None  # the lab's deployment: nginx, TLS, PostgreSQL
    examples: list[pytest.Item] = field(default_factory=list)

    def servers(self) -> list[ThrowawayServer]:
        found = [self.server, *(self.auth.processes() if self.auth else [])]
        return [s for s in found if s is not None]

    def start_auth_server(self) -> Deployment:
        if self.auth is None:
            self.auth = Deployment.start()
        return self.auth


RUN = pytest.StashKey[Run]()


# -- configure ----------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)  # before pytest's tmp_path reads --basetemp
def pytest_configure(config: pytest.Config) -> None:
    end_with_parent()
    clean_environment(os.environ)
    run = Run(RunFolder())
    run.folder.enter()
    if config.option.basetemp is None:
        config.option.basetemp = str(run.folder.pytest)
    config.stash[RUN] = run
    network.install_guard()
    if not config.option.collectonly:
        run.server = ThrowawayServer.start(plain_server(find_mlflow()))
        network.redirect(LAB_TRACKING_URI, run.server.url)


def _sybil_traceback_filter(original):
    """Sybil 10.1 shortens tracebacks to the example's frames, assuming there are some: for
    an error raised outside the example (a fixture's, a chained one) it fails with
    IndexError, and pytest with an INTERNALERROR that hides the real error."""

    def traceback_filter(self, excinfo):
        try:
            return original(self, excinfo)
        except IndexError:
            return excinfo.traceback

    return traceback_filter


SybilItem._traceback_filter = _sybil_traceback_filter(SybilItem._traceback_filter)


_interrupted: list[str] = []  # the signals that asked this run to stop
_stopping = threading.Event()  # pytest has caught the interruption, or the session ended
_in_example = threading.Event()  # the main thread runs a test's call


def end_with_parent() -> None:
    """On Ctrl-C, or when whoever started pytest dies (nox, killed), stop at once, cleanly.

    Both become a KeyboardInterrupt, so that pytest stops as on Ctrl-C: summary, then
    pytest_unconfigure stops the servers. The kernel sends the SIGTERM when the parent dies
    (Linux' PR_SET_PDEATHSIG).

    A KeyboardInterrupt can land where Python swallows it (a weakref callback of MLflow's
    thread pools, say), and the example goes on. So, while that example runs, the
    interruption is repeated every two seconds; and no next example starts.
    """

    def interrupt(signum, frame):
        if not _interrupted:
            sys.unraisablehook = _ignoring_interruptions(sys.unraisablehook)
            threading.Thread(target=_insist, daemon=True).start()
        _interrupted.append(signal.Signals(signum).name)
        raise KeyboardInterrupt(f"pytest got {_interrupted[0]}")

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    # Not Linux: no prctl; the servers' watchdogs still end them with this process.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _insist() -> None:
    while not _stopping.wait(2.0):
        if _in_example.is_set():
            _thread.interrupt_main(signal.SIGINT)  # runs `interrupt` again, in the main thread


def _ignoring_interruptions(hook):
    """An interruption swallowed as "Exception ignored in ..." is ours, not an error."""

    def unraisablehook(unraisable):
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            hook(unraisable)

    return unraisablehook


def pytest_keyboard_interrupt(excinfo) -> None:
    _stopping.set()


def pytest_collection_modifyitems(session, config: pytest.Config, items) -> None:
    config.stash[RUN].examples = [i for i in items if getattr(i, "example", None) is not None]
    # Tests of the authenticated server last (a stable sort: each page keeps its order), so
    # that server boots while the others run instead of being waited for first.
    items.sort(key=lambda item: "auth_server" in getattr(item, "fixturenames", ()))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start booting the authenticated server now if a selected test needs it."""
    if not session.config.option.collectonly and any(
        "auth_server" in getattr(item, "fixturenames", ()) for item in session.items
    ):
        try:
            session.config.stash[RUN].start_auth_server()
        except ServerError as error:  # a server version the lab script cannot run, say
            pytest.exit(str(error), returncode=pytest.ExitCode.INTERNAL_ERROR)


# -- fixtures -------------------------------------------------------------------------


def _ready(server: ThrowawayServer | Deployment) -> None:
    """Wait for the server; if it cannot serve, stop the whole run with one message."""
    try:
        server.wait_ready()
    except ServerError as error:
        pytest.exit(str(error), returncode=pytest.ExitCode.INTERNAL_ERROR)


@pytest.fixture(scope="session")
def mlflow_server(pytestconfig: pytest.Config) -> ThrowawayServer:
    """The throwaway server, ready. Checks ask it what the examples did."""
    server = pytestconfig.stash[RUN].server
    if server is None:
        pytest.fail("no throwaway MLflow server was started (collect-only run?)")
    _ready(server)
    return server


@pytest.fixture(scope="session")
def auth_server(pytestconfig: pytest.Config) -> Deployment:
    """The lab's deployment (examples/deploy/: nginx with TLS, the start script, PostgreSQL),
    ready, with a lab member. Its URL is the lab's https address."""
    auth = pytestconfig.stash[RUN].start_auth_server()
    _ready(auth)  # and, the first time, create the lab member
    return auth


@pytest.fixture(scope="module")
def page_sandbox(request: pytest.FixtureRequest, mlflow_server, tmp_path_factory):
    """One page's world: its own folder, environment and MLflow state."""
    yield from _sandbox(request, tmp_path_factory.mktemp("page"), "this page")


@pytest.fixture(scope="module")
def auth_page_sandbox(page_sandbox, auth_server: Deployment):
    """``page_sandbox`` for a page about signing in: it shows the lab's https address, which
    always reaches the deployment (deployment.py)."""
    yield page_sandbox


@pytest.fixture
def sandbox(request: pytest.FixtureRequest, tmp_path):
    """A test's world: ``tmp_path`` as its folder; environment, MLflow, MMEngine restored."""
    yield from _sandbox(request, tmp_path, "this test")


def _sandbox(request: pytest.FixtureRequest, folder, where: str):
    failed_before = request.session.testsfailed
    left_open: list[str] = []
    with sandboxed(folder, left_open):
        yield folder
    if left_open and request.session.testsfailed == failed_before:
        raise left_open_error(where, left_open)


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

    (And the interruption of a Ctrl-C is repeated while a test's call runs: see above.)
    """
    recorder = _MlflowWarnings()
    logger = logging.getLogger("mlflow")
    if "mlflow_server" in getattr(item, "fixturenames", ()):
        logger.addHandler(recorder)
    _in_example.set()
    try:
        result = yield
    finally:
        _in_example.clear()
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
    if _interrupted:
        pytest.exit(f"interrupted by {_interrupted[0]}", returncode=pytest.ExitCode.INTERRUPTED)
    _stop_if_a_server_died(item.config)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    if report.failed:  # because the server died? Then say that, once, and stop.
        _stop_if_a_server_died(item.config)
    example = getattr(item, "example", None)
    if report.skipped and example is not None and isinstance(report.longrepr, tuple):
        # Where the skip is on the page, not where Sybil raised SkipTest.
        report.longrepr = (example.path, example.line - 1, report.longrepr[2])
    return report


def _stop_if_a_server_died(config: pytest.Config) -> None:
    for server in config.stash[RUN].servers():
        if server.exit_status() is not None:
            when = "died during the run" if server.ready else "exited before it was ready"
            pytest.exit(str(server.died(when)), returncode=pytest.ExitCode.INTERNAL_ERROR)


# -- the end --------------------------------------------------------------------------


def pytest_sessionfinish(session: pytest.Session, exitstatus) -> None:
    _stopping.set()
    if network.refused and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # listed in the terminal summary


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    summary.write(terminalreporter, config.stash[RUN].examples)
    if network.refused:
        terminalreporter.write_sep("!", "the network guard refused connections", red=True)
        for what in dict.fromkeys(network.refused):
            terminalreporter.write_line(f"  {what}")
        terminalreporter.write_line(
            "Nothing of the tests may leave loopback: set what made these connections so "
            "that it does not (MLflow telemetry: MLFLOW_DISABLE_TELEMETRY=true)."
        )


@pytest.hookimpl(tryfirst=True)  # the servers stop, whatever other plugins' ends raise
def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is None:
        return
    servers = run.servers()
    for server in servers:  # all at once: uvicorn waits for open connections before it ends
        server.ask_to_stop()
    for server in servers:
        server.stop(grace=3.0)  # throwaway: nothing to lose by a SIGKILL
    run.folder.remove()
