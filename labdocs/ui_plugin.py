"""pytest fixtures of the UI checks (ui.py): one Chromium per run, one tab per page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labdocs.browser import Browser
from labdocs.lab import LAB_HOST
from labdocs.ui import UI, UIError


@pytest.fixture(scope="session")
def ui_browser(mlflow_server) -> Iterator[Browser]:
    """One Chromium for the run, started when a page first looks at the UI."""
    browser = Browser(LAB_HOST, mlflow_server.url)
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
