"""A page's browser tab: what the pages say about the MLflow UI, checked in Chromium.

A page names what readers click with Sphinx's ``guilabel`` role (reST ``:guilabel:`Compare```,
MyST ``{guilabel}`Compare```). ``GuiLabelParser`` (parsers.py) makes each paragraph or list
item that names some an example: in the page's tab, each named element is found, visible,
under exactly that name, and clicked, in the order the page names them. A page's UI walk
starts at the lab's URL, after the page's own examples have logged their runs; renaming a
label on the page, or MLflow renaming it in the UI, fails at that page and line.

Hidden checks (``invisible-code-block``) use the page's ``ui`` (a ``UI``) to look at what the
prose says is shown: ``ui.shows("lr-0.1")``, ``ui.chart("train_loss", runs=..., steps=...)``,
``ui.tick("lr-0.1")`` (tick a run's box), ``ui.open(url)`` (a URL MLflow printed, literally).

Pictures: ``ui.picture("ui/runs.png", shows=[...])`` frames the UI down to what it names.
``FigureParser`` (parsers.py) makes each ``figure`` or ``image`` of a ``ui/*.png`` file an example that fails if the file is
missing, has no alt text, or was not framed by a ``ui.picture`` earlier on the page: the state
a picture shows must be reachable by the page's instructions. With ``DOCS_SCREENSHOTS=write``
(``nox -s screenshots``), ``ui.picture`` writes the PNG next to the page.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from labdocs.browser.chromium import Browser
from labdocs.browser.pictures import lighten
from labdocs.lab import LAB_TRACKING_URI
from labdocs.services.waiting import wait_until

ENV_SCREENSHOTS = "DOCS_SCREENSHOTS"  # "write": ui.picture writes the pictures it frames
# The UI loads lazily: a name the page gives may appear only once the server answered. It
# is absent once the UI has settled: no request of the tab in flight and nothing added to
# or changed in the page for SETTLED_S. Then the wait ends, however busy the machine.
SETTLED_S = 2.0
# A hang: the tab never settles (a request that never ends, a page that redraws forever).
HANG_S = 120.0
# Playwright's own waits (a click waiting for its element to take input, a navigation):
# each a hang when it outlasts this.
TIMEOUT_S = HANG_S
# In each page the tab opens, the time of the last change to what it shows.
WATCH_CHANGES = """
window.__lastChange = performance.now();
new MutationObserver(() => { window.__lastChange = performance.now(); })
    .observe(document, {subtree: true, childList: true, characterData: true});
"""
# Roles of things a reader clicks, in the order they are looked for.
CLICKABLE_ROLES = ["tab", "link", "button", "radio", "menuitem", "checkbox", "option", "switch"]
PICTURE_MARGIN = 16  # pixels below the last thing a picture frames


class UIError(AssertionError):
    """The UI does not show what the page says it does."""


@contextmanager
def stayed_on_loopback(browser: Browser) -> Iterator[None]:
    """Fail if the browser asked, inside the block, for anything beyond the lab's URL."""
    before = len(browser.guard.refused)
    yield
    refused = browser.guard.refused[before:]
    if refused:
        raise UIError(f"the browser tried to leave this machine: {refused}")


# -- the page's browser ------------------------------------------------------------------


class UI:
    """One page's browser tab, opened lazily on the lab's URL."""

    def __init__(self, browser: Browser, page_path: Path, home: str = LAB_TRACKING_URI) -> None:
        self.browser = browser
        self.page_path = page_path
        self.home = home  # the lab's address the tab opens, as the page shows it
        self.pictured: set[Path] = set()
        self._context = None
        self._tab = None

    # -- where the tab is ----------------------------------------------------------------

    @property
    def tab(self):
        if self._tab is None:
            self._context = self.browser.new_context()
            self._context.set_default_timeout(TIMEOUT_S * 1000)
            self._context.add_init_script(WATCH_CHANGES)
            tab = self._context.new_page()
            self._in_flight: set = set()
            tab.on("request", self._requested)
            tab.on("requestfinished", lambda request: self._in_flight.discard(request))
            tab.on("requestfailed", lambda request: self._in_flight.discard(request))
            self._tab = tab
            self._tab.goto(self.home)
        return self._tab

    def _requested(self, request) -> None:
        # What the UI shows comes from the server's answers (fetch, XHR) and documents;
        # a script a worker loads may never report its end to the tab.
        if request.resource_type in ("fetch", "xhr", "document"):
            self._in_flight.add(request)

    def settled(self) -> bool:
        """Nothing in flight and nothing changed on the tab for SETTLED_S: the UI shows
        what it will show."""
        if self._in_flight:
            return False
        try:
            since = self.tab.evaluate("performance.now() - (window.__lastChange || 0)")
        except Exception:  # the tab is between two documents: a navigation under way
            return False
        return since >= SETTLED_S * 1000

    def _busy(self) -> str:
        """What keeps the tab from settling, said."""
        requests = sorted(f"{r.method} {r.url}" for r in self._in_flight)
        try:
            since = self.tab.evaluate("performance.now() - (window.__lastChange || 0)")
        except Exception:
            since = 0
        return f"requests in flight: {requests or 'none'}; last change {since / 1000:.1f} s ago"

    def _wait_for(self, lookup, absent: str):
        """``lookup()``'s first answer that is not None, looked for until the UI has
        settled without it (then UIError: ``absent``, with where the tab is) or HANG_S."""

        def found():
            answer = lookup()
            if answer is None and self.settled():
                answer = lookup()  # what settled may be what was looked for
                if answer is None:
                    raise UIError(
                        f"{absent} (on {self.tab.url}, settled: nothing loading or changing)"
                    )
            return answer

        return wait_until(
            found,
            timeout=HANG_S,
            every=0.2,
            sleep=lambda seconds: self.tab.wait_for_timeout(seconds * 1000),  # serves events
            failure=lambda: UIError(
                f"{absent} (on {self.tab.url}, not settled after {HANG_S:.0f} s: {self._busy()})"
            ),
        )

    def open(self, url: str) -> None:
        """Open a URL as a reader pastes it (the lab's; the browser reaches the test server)."""
        if not url.startswith(self.home):
            raise UIError(f"pages open the lab's URLs ({self.home}...), not {url}")
        self.tab.goto(url)

    def close(self) -> None:
        if self._context is not None:
            self._context.close()
        self._context = self._tab = None

    # -- finding what a page names ---------------------------------------------------------

    def _candidates(self, name: str) -> Iterator:
        tab = self.tab
        for role in CLICKABLE_ROLES:
            yield tab.get_by_role(role, name=name, exact=True)
        yield tab.get_by_label(name, exact=True)
        yield tab.get_by_placeholder(name, exact=True)
        yield tab.get_by_title(name, exact=True)
        yield tab.get_by_text(name, exact=True)

    def _visible(self, name: str):
        for candidate in self._candidates(name):
            visible = candidate.filter(visible=True)
            if visible.count():
                return visible.first
        return None

    def _by_tooltip(self, name: str):
        """An icon whose tooltip (shown on hover) is ``name``, as MLflow's view switches."""
        tab = self.tab
        icons = tab.locator("[tooltip-data-state]").filter(visible=True)
        for icon in icons.all()[:60]:
            if icon.inner_text().strip():
                continue  # has a text of its own: found by name, if it is the one
            tab.mouse.move(0, 0)  # close the last tooltip first
            tab.get_by_role("tooltip").first.wait_for(state="hidden", timeout=2000)
            icon.hover()
            tooltip = tab.get_by_role("tooltip").filter(visible=True)
            try:
                tooltip.first.wait_for(timeout=1500)
            except Exception:
                continue  # an icon without a tooltip
            if name in [t.strip() for t in tooltip.all_inner_texts()]:
                return icon
        return None

    def find(self, name: str, where: str = ""):
        """The visible element named exactly ``name``, waiting for the UI to load it: by
        its name, else (the UI settled without it) by an icon's tooltip, once."""
        tooltips_tried = False

        def lookup():
            nonlocal tooltips_tried
            found = self._visible(name)
            if found is None and not tooltips_tried and self.settled():
                tooltips_tried = True  # hovering is slow (each icon without one, 1.5 s): once
                found = self._by_tooltip(name)
            return found

        absent = f"{where}the MLflow UI shows nothing named {name!r}"
        try:
            return self._wait_for(lookup, absent)
        except UIError as error:
            raise UIError(f"{error}. Names it shows there: {self.visible_names()}") from None

    def visible_names(self) -> list[str]:
        names = []
        for role in CLICKABLE_ROLES:
            for element in self.tab.get_by_role(role).filter(visible=True).all()[:30]:
                text = " ".join(element.inner_text().split())
                if text and text not in names:
                    names.append(text)
        return names

    # -- what the prose says to do -----------------------------------------------------------

    def follow(self, names: list[str], where: str = "") -> None:
        """Click each named element in turn, as a reader following the paragraph would."""
        for name in names:
            self.find(name, where).click()

    def tick(self, *runs: str) -> None:
        """Tick the box in front of each run of the runs table."""
        for run in runs:
            rows = self.tab.get_by_role("row").filter(has=self.tab.get_by_text(run, exact=True))
            rows = rows.filter(visible=True)
            row = self._wait_for(
                lambda rows=rows: rows.first if rows.count() else None,
                f"the MLflow UI shows no row of the run {run!r} to tick",
            )
            row.locator(".ag-selection-checkbox, input[type=checkbox]").first.click()

    # -- what the prose says is shown --------------------------------------------------------

    def shows(self, *texts: str) -> None:
        """Each text is visible, exactly (a run's name, a parameter's value, a file)."""
        for text in texts:
            shown = self.tab.get_by_text(text, exact=True).filter(visible=True)
            self._wait_for(
                lambda shown=shown: shown.first if shown.count() else None,
                f"the MLflow UI does not show {text!r}",
            )

    def chart(self, metric: str, *, runs: list[str], steps: list[int]) -> None:
        """A metric chart: a curve per run (its legend says "run (metric)"), over ``steps``."""
        self.shows(metric, *(f"{run} ({metric})" for run in runs))
        legend = self.tab.get_by_text(f"{runs[0]} ({metric})", exact=True).filter(visible=True)
        # The chart: the nearest block around its legend with its title and a "Step" axis.
        has = "[.//*[normalize-space(text())='{}']]"
        chart = legend.first.locator(
            f"xpath=ancestor::div{has.format('Step')}{has.format(metric)}[1]"
        )
        labels = set(chart.inner_text().split())
        missing = [step for step in steps if str(step) not in labels]
        if metric not in labels or missing:
            raise UIError(f"the {metric!r} chart lacks its title or the steps {missing}: {labels}")

    # -- pictures ---------------------------------------------------------------------------

    def picture(self, name: str, *, shows: list[str], sidebar: bool = False) -> Path:
        """Frame the page's main panel (and the sidebar) down to the last of ``shows``.

        Each of ``shows`` must be visible: the picture shows a state the page reached. In
        screenshot mode (``DOCS_SCREENSHOTS=write``) the PNG is written next to the page.
        """
        path = (self.page_path.parent / name).resolve()
        self.shows(*shows)
        bottoms = []
        for text in shows:
            box = self.tab.get_by_text(text, exact=True).filter(visible=True).first.bounding_box()
            bottoms.append(box["y"] + box["height"])
        panel = self.tab.locator("main").first.bounding_box()
        left = 0 if sidebar else panel["x"]
        clip = {
            "x": left,
            "y": 0,
            "width": panel["x"] + panel["width"] - left,
            "height": min(max(bottoms) + PICTURE_MARGIN, panel["y"] + panel["height"]),
        }
        if os.environ.get(ENV_SCREENSHOTS) == "write":
            self.tab.mouse.move(0, self.tab.viewport_size["height"] - 1)  # no hover effects
            self.tab.wait_for_timeout(800)  # let charts finish drawing
            path.parent.mkdir(exist_ok=True)
            self.tab.screenshot(path=str(path), clip=clip, animations="disabled")
            lighten(path)  # a page of pictures stays within its weight budget
        self.pictured.add(path)
        return path
