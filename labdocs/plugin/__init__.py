"""The pytest plugin, registered once (``pytest_plugins = ["labdocs.plugin"]``): every hook
of the project, each defined here once, in the order a session meets them; the fixtures
come from their own modules, imported below.

- configure: the session's folder and environment (session.py), Ctrl-C and the parent's
  death (interrupts.py), the network guard (network.py), the cache of what passed
  (page_cache.py), the member runs (member_runs.py), and the throwaway server, started at
  once so that it boots while pytest collects;
- collection: what passed before is left out, the examples are counted, the second member
  goes last, the lab's deployment starts booting if a test needs it;
- the rules: an MLflow WARNING fails the example that logged it; a server that dies (the
  throwaway one, or a process of the deployment) stops the session, saying so; after a
  page's failure its later examples are skipped; a skip is reported at its page's line;
- the end: the cache kept, the summary, the guard's refusals fail the session, then one
  teardown: the deployment, the server, the session's folder.

Run in parallel (pytest-xdist), each worker is such a session with its own servers; the
controller starts none: it gathers what the workers send and prints the one summary.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest
from sybil.example import SybilFailure
from sybil.integration.pytest import SybilItem

from labdocs.browser.chromium import NoBrowser, find_chromium
from labdocs.page_facts import is_auth_page, is_member_page
from labdocs.plugin import member_runs, page_cache, summary

# The fixtures: found by pytest as this module's names (pytest-django's plugin.py does so).
from labdocs.plugin.deployment_fixtures import deployment, fresh_deployment, start_if_needed  # noqa: F401
from labdocs.plugin.fixtures import (  # noqa: F401
    SET_BY_LIBRARIES,
    _environment_as_found,
    mlflow_server,
    page_sandbox,
    sandbox,
    start_server,
    ui,
    ui_browser,
)
from labdocs.plugin.members import lab_member, member_page  # noqa: F401
from labdocs.plugin.slurm_fixtures import slurm_cluster  # noqa: F401
from labdocs.plugin.started import STARTED, STOPPING, Started, controller, stop_if_a_server_died
from labdocs.services import network
from labdocs.services.interrupts import Interruptions
from labdocs.services.session import NO_TELEMETRY, SessionFolder, clean_environment

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


# -- configure ----------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    page_cache.add_option(parser)
    parser.addoption(
        "--every-example",
        action="store_true",
        help="run a page's later examples after one failed (the compatibility table "
        "measures each example; the site's own runs stop a page at its first failure)",
    )


@pytest.hookimpl(tryfirst=True)  # before pytest's tmp_path reads --basetemp
def pytest_configure(config: pytest.Config) -> None:
    # Before anything moves (HOME): what passed before, and whether the run leaves a test
    # to run that needs the server.
    start_now = page_cache.servers_needed(config)
    page_cache.configure(config)
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
    member_runs.configure(config)
    if controller(config):
        return
    network.install_guard()
    SybilItem._traceback_filter = _sybil_traceback_filter(SybilItem._traceback_filter)
    if not config.option.collectonly and start_now:
        start_server(started)


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


# -- collection -----------------------------------------------------------------------


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    return page_cache.ignore_collect(collection_path, config)


def pytest_collection_modifyitems(session, config: pytest.Config, items) -> None:
    page_cache.deselect_passed(config, items)
    config.stash[STARTED].examples = [
        summary.example(i) for i in items if getattr(i, "example", None)
    ]
    member_runs.in_running_order(items)


def pytest_collection_finish(session: pytest.Session) -> None:
    page_cache.collected(session.config, [item.nodeid for item in session.items])
    start_if_needed(session)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """A file's tests in one worker, in order (a page's examples share its namespace); a
    member page's runs by the lab members (node ids ``page[as NAME]``, member_runs.py) in one
    worker, the second member after the first, on that worker's lab deployment."""
    from xdist.scheduler import LoadScopeScheduling

    class ByFileAndMembers(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid, config.rootpath)

    return ByFileAndMembers(config, log)


def scope_of(nodeid: str, root: Path) -> str:
    """What runs in one worker, in order: a file, or a member page's runs."""
    file = nodeid.split("::", 1)[0]
    page = file.split("[as ", 1)[0]
    # A sign-in page's own run is its first member's: with its second, in order.
    first_member = is_auth_page(root / page) and is_member_page(root / page)
    return f"{page}, as the lab's members" if page != file or first_member else file


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids) -> None:
    """A worker collected: its examples are the session's (each worker collects them all)."""
    page_cache.collected(node.config, ids)
    started = node.config.stash[STARTED]
    if not started.examples:
        started.examples = summary.examples_of(ids, node.config.rootpath)


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


def pytest_runtest_setup(item: pytest.Item) -> None:
    asked = item.config.stash[STARTED].interruptions.signals
    if asked:
        raise KeyboardInterrupt(f"interrupted by {asked[0]}")
    if stop_if_a_server_died(item.session):
        pytest.skip(STOPPING)
    failed = item.config.stash[STARTED].failed_at
    page_run = _page_run(item)
    if failed.get(page_run) is not None:
        pytest.skip(f"not run: after the failure at line {failed[page_run]}")
    if page_run is not None:  # another run of a page that failed would fail the same way
        page = page_cache.file_of(page_run)
        for run, line in failed.items():
            if page_cache.file_of(run) == page:
                who = run[len(page) :].strip("[]") or "for its reader"
                pytest.skip(f"not run: the page failed at line {line} ({who})")


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
        item.stash[ONLY_WARNED] = True  # the example ran to its end: the page goes on
        lines = "\n".join(f"  {r.name}: {r.getMessage()}" for r in recorder.records)
        message = f"MLflow logged warnings while this example ran:\n{lines}"
        example = getattr(item, "example", None)
        if example is not None:  # reported at the page's line, as Sybil reports its own
            raise SybilFailure(example, message)
        pytest.fail(message, pytrace=False)
    return result


# An example that failed only because MLflow logged warnings: it ran to its end, so the
# page's later examples still build on what it did.
ONLY_WARNED = pytest.StashKey[bool]()


def _page_run(item: pytest.Item) -> str | None:
    """The page run an example belongs to: its Sybil document's collector (a page's own
    run, or one member's run of it, member_runs.py); None for a test that is no example."""
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
    if report.failed and stop_if_a_server_died(item.session):  # say that, once, at the end
        report.outcome, report.longrepr = "skipped", (str(item.path), 0, STOPPING)
    example = getattr(item, "example", None)
    stops_the_page = not (
        item.stash.get(ONLY_WARNED, False) or item.config.getoption("every_example")
    )
    if report.failed and example is not None and stops_the_page:
        item.config.stash[STARTED].failed_at.setdefault(_page_run(item), example.line)
    if report.skipped and example is not None and isinstance(report.longrepr, tuple):
        # Where the skip is on the page, not where Sybil raised SkipTest (a report's line
        # counts from 1, as the page's do).
        report.longrepr = (example.path, example.line, report.longrepr[2])
    return report


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
    page_cache.session_finished(session, exitstatus)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """A worker ended: keep the refusals of its network guard, and what it left to the cache."""
    node.config.stash[STARTED].refused += getattr(node, "workeroutput", {}).get("refused", [])
    page_cache.worker_down(node)


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    started = config.stash[STARTED]
    summary.write(terminalreporter, started.examples, *page_cache.from_cache(config))
    summary.write_members(terminalreporter, started.examples)
    if started.refused:
        terminalreporter.write_sep("!", "the network guard refused connections", red=True)
        for what in dict.fromkeys(started.refused):
            terminalreporter.write_line(f"  {what}")
        terminalreporter.write_line(
            "Nothing of the tests may leave loopback: set what made these connections so "
            f"that it does not (MLflow telemetry: {' '.join(f'{k}={v}' for k, v in NO_TELEMETRY.items())})."
        )


@pytest.hookimpl(tryfirst=True)  # the servers stop, whatever other plugins' ends raise
def pytest_unconfigure(config: pytest.Config) -> None:
    """One teardown, in order: the deployment, the throwaway server, the session's folder."""
    started = config.stash.get(STARTED, None)
    if started is None:
        return
    try:
        if started.server is not None:
            started.server.ask_to_stop()  # it ends while the deployment does
        if started.deployment is not None:
            started.deployment.stop()
    finally:
        if started.server is not None:
            started.server.stop(grace=3.0)  # throwaway: nothing to lose by a SIGKILL
        started.folder.remove()
