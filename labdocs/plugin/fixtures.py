"""The fixtures every page and test may ask for: the throwaway server, a sandbox, the
browser tab, and the rule that a test leaves the environment as it found it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from labdocs.browser.chromium import Browser, NoBrowser
from labdocs.browser.ui import UI, stayed_on_loopback
from labdocs.lab import LAB_HOST
from labdocs.plugin.sandbox import checked_sandbox
from labdocs.plugin.started import STARTED, STOPPING, Started, stop
from labdocs.services import lab_address
from labdocs.services.server_versions import ServerError, find_mlflow
from labdocs.services.servers import ThrowawayServer, plain_server_command

# Variables that libraries set for themselves, once per process, in whichever test first
# imports or uses them: not that test's doing, so the environment check lets them appear.
SET_BY_LIBRARIES = {
    "TORCHINDUCTOR_CACHE_DIR": "torch._inductor sets it when it first finds its cache folder",
}


def start_server(started: Started) -> ThrowawayServer:
    """The throwaway server, booting: at configure time when tests will need it (it boots
    while pytest collects), else when a test first asks (page_cache.py)."""
    if started.server is None:
        started.server = ThrowawayServer.start(plain_server_command(find_mlflow()))
        lab_address.route_open(started.server.url)
    return started.server


@pytest.fixture(scope="session")
def mlflow_server(request: pytest.FixtureRequest) -> ThrowawayServer:
    """The throwaway server, ready. Checks ask it what the examples did. If it cannot
    serve, the whole session stops with one message."""
    if request.config.option.collectonly:
        pytest.fail("no throwaway MLflow server is started in a collect-only run")
    try:
        server = start_server(request.config.stash[STARTED])
        server.wait_ready()
    except ServerError as error:
        stop(request.session, str(error))
        pytest.skip(STOPPING)
    return server


@pytest.fixture(scope="module")
def page_sandbox(request: pytest.FixtureRequest, mlflow_server, tmp_path_factory):
    """One page's world: its own folder, environment and MLflow state."""
    with checked_sandbox(request.session, tmp_path_factory.mktemp("page"), "this page") as f:
        yield f


@pytest.fixture
def sandbox(request: pytest.FixtureRequest, tmp_path):
    """A test's world: ``tmp_path`` as its folder; environment, MLflow, MMEngine restored."""
    with checked_sandbox(request.session, tmp_path, "this test") as folder:
        yield folder


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
    with stayed_on_loopback(ui_browser):
        page_ui = UI(ui_browser, Path(str(request.node.path)))
        try:
            yield page_ui
        finally:
            page_ui.close()
