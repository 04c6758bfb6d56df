"""The UI checks themselves (labdocs/browser/ui.py, chromium.py): what they read on a page,
what they refuse, and how they fail; the member's browser trusts the deployment's
certificate alone. The pages' own UI walks are in the pages."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sybil import Document

from labdocs.browser import ui as ui_module
from labdocs.browser.chromium import ENV_CHROMIUM, Browser, NoBrowser, find_chromium
from labdocs.browser.ui import UI, UIError
from labdocs.lab import LAB_HTTPS_HOST, LAB_HTTPS_TRACKING_URI, LAB_TRACKING_URI
from labdocs.pages.parsers import FigureParser, GuiLabelParser

REST_PAGE = """\
Title
=====

Open :guilabel:`Experiments`, then
:guilabel:`mlflow-guide-results`.

.. note::

   Press :guilabel:`Compare`.

.. Compare :guilabel:`Hidden` (a comment, not prose).

- a list item with :guilabel:`Chart view`

.. figure:: ui/pictured.png
   :alt: What it shows.

.. figure:: ui/no-alt.png
"""

MYST_PAGE = """\
# Title

Open {guilabel}`Experiments`, then {guilabel}`Runs`.

```{figure} ui/pictured.png
:alt: What it shows.
```
"""


def regions(text: str, suffix: str, parser):
    document = Document(text, f"page{suffix}")
    return [(document.text.count("\n", 0, r.start) + 1, r.parsed) for r in parser(document)]


def test_each_paragraph_of_rest_names_its_labels_in_order():
    found = regions(REST_PAGE, ".rst", GuiLabelParser("rest"))
    assert found == [
        (4, ["Experiments", "mlflow-guide-results"]),
        (9, ["Compare"]),  # inside a directive's content: prose too
        (13, ["Chart view"]),
    ]


def test_myst_labels_are_found_too():
    assert regions(MYST_PAGE, ".md", GuiLabelParser("myst")) == [(3, ["Experiments", "Runs"])]


def test_figures_of_ui_pictures_are_found_with_their_alt_text():
    rest = [
        (line, path.name, alt)
        for line, (path, alt) in regions(REST_PAGE, ".rst", FigureParser("rest"))
    ]
    assert rest == [(15, "pictured.png", True), (18, "no-alt.png", False)]
    myst = [
        (line, path.name, alt)
        for line, (path, alt) in regions(MYST_PAGE, ".md", FigureParser("myst"))
    ]
    assert myst == [(5, "pictured.png", True)]


def test_a_named_browser_that_is_not_there_fails_saying_how_to_get_one(monkeypatch):
    monkeypatch.setenv(ENV_CHROMIUM, "/nonexistent/chromium")
    with pytest.raises(
        NoBrowser, match=r"apt-get install -y chromium.*playwright install chromium"
    ):
        find_chromium()


def test_a_browser_is_found_here():
    assert os.access(find_chromium(), os.X_OK)


# -- in the browser ------------------------------------------------------------------------


@pytest.fixture
def tab(ui_browser, tmp_path: Path):
    page_ui = UI(ui_browser, tmp_path / "page.rst")
    yield page_ui
    page_ui.close()


def test_the_lab_url_reaches_the_test_server_and_nothing_else_is_reached(tab, ui_browser):
    tab.open(LAB_TRACKING_URI)
    tab.shows("Experiments")  # MLflow's UI, served by the throwaway server
    before = len(ui_browser.guard.refused)
    for target in ["http://192.0.2.1/x", "https://example.com/", "http://localhost:1/"]:
        outcome = tab.tab.evaluate(
            "url => fetch(url, {mode: 'no-cors'}).then(() => 'reached', () => 'failed')", target
        )
        assert outcome == "failed", target
    # The first two were refused by the route (and recorded: the page fails); the third is
    # loopback, allowed, and closed.
    assert ui_browser.guard.refused[before:] == ["http://192.0.2.1/x", "https://example.com/"]
    del ui_browser.guard.refused[before:]  # this test's own, on purpose


def test_pages_may_only_open_the_labs_urls(tab):
    with pytest.raises(UIError, match="pages open the lab's URLs"):
        tab.open("https://example.com/")


def test_a_name_the_ui_does_not_show_fails_naming_page_line_and_what_it_shows(tab):
    tab.open(LAB_TRACKING_URI)
    tab.shows("Experiments")  # the UI has loaded
    started = time.monotonic()
    with pytest.raises(UIError) as failure:
        tab.follow(["Experimentz"], where="docs/x.rst:7: ")
    waited = time.monotonic() - started
    message = str(failure.value)
    assert message.startswith("docs/x.rst:7: the MLflow UI shows nothing named 'Experimentz'")
    assert "settled: nothing loading or changing" in message
    assert "'Experiments'" in message  # what it does show, to fix the page with
    # Once the UI settled without it, at once: not after a guess at how slow the machine is.
    assert waited < ui_module.HANG_S / 4, waited


def test_a_name_the_ui_loads_late_is_waited_for(tab):
    """A name that appears after seconds of loading is found: the wait is for the UI to
    settle, however long its requests take."""
    tab.open(LAB_TRACKING_URI)
    tab.shows("Experiments")
    tab.tab.evaluate(
        """() => {
            let ticks = 0;  // the UI still changing (a spinner's text), for about 6 s
            const timer = setInterval(() => {
                document.title = String(ticks);
                document.body.setAttribute("data-ticks", String(++ticks));
                const spinner = document.getElementById("late-spinner")
                    || document.body.appendChild(document.createElement("span"));
                spinner.id = "late-spinner";
                spinner.textContent = "loading " + ticks;
                if (ticks === 12) {
                    clearInterval(timer);
                    const button = document.createElement("button");
                    button.textContent = "Loaded late";
                    document.body.prepend(button);
                }
            }, 500);
        }"""
    )
    started = time.monotonic()
    tab.follow(["Loaded late"])
    assert time.monotonic() - started > 4  # found when it came, not given up at 2 s


def test_the_member_s_browser_trusts_the_deployment_s_certificate_alone(deployment, ui_browser):
    ui_browser.close()  # Playwright's sync API: one instance per thread (members.py)
    server = f"https://127.0.0.1:{deployment.https_port}"
    for pin, answer in [(None, "ERR_CERT_AUTHORITY_INVALID"), (deployment.certificate_pin, "")]:
        browser = Browser(LAB_HTTPS_HOST, server, ui_browser.chromium, pin)
        try:
            context = browser.new_context()
            tab = context.new_page()
            try:
                status = tab.goto(f"{LAB_HTTPS_TRACKING_URI}/health").status
                seen = ""
            except Exception as error:  # Playwright's Error: the browser's net:: code
                status, seen = None, str(error)
            context.close()
        finally:
            browser.close()
        if answer:
            assert answer in seen, seen
        else:
            assert status == 200, seen
