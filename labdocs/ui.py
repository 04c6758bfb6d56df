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
import time
from collections.abc import Iterator
from pathlib import Path

from labdocs.browser import Browser
from labdocs.lab import LAB_TRACKING_URI
from labdocs.pictures import lighten

ENV_SCREENSHOTS = "DOCS_SCREENSHOTS"  # "write": ui.picture writes the pictures it frames
TIMEOUT_S = 20.0  # the UI loads lazily; a name that never shows fails after this
# Roles of things a reader clicks, in the order they are looked for.
CLICKABLE_ROLES = ["tab", "link", "button", "radio", "menuitem", "checkbox", "option", "switch"]
TOOLTIP_AFTER_S = 1.5  # how long a name is looked for before icons' tooltips are tried
PICTURE_MARGIN = 16  # pixels below the last thing a picture frames


class UIError(AssertionError):
    """The UI does not show what the page says it does."""


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
            self._tab = self._context.new_page()
            self._tab.goto(self.home)
        return self._tab

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
        """The visible element named exactly ``name``, waiting for the UI to load it."""
        deadline = time.monotonic() + TIMEOUT_S
        tried_tooltips = False
        while True:
            found = self._visible(name)
            if found is not None:
                return found
            # Not by its name: once the page had a moment to load, try the icons' tooltips.
            if not tried_tooltips and time.monotonic() > deadline - TIMEOUT_S + TOOLTIP_AFTER_S:
                tried_tooltips = True
                found = self._by_tooltip(name)
                if found is not None:
                    return found
            if time.monotonic() > deadline:
                raise UIError(
                    f"{where}the MLflow UI shows nothing named {name!r} (waited {TIMEOUT_S:.0f} s"
                    f" on {self.tab.url}). Names it shows there: {self.visible_names()}"
                )
            self.tab.wait_for_timeout(200)

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
            row = self.tab.get_by_role("row").filter(has=self.tab.get_by_text(run, exact=True))
            row = row.filter(visible=True).first
            row.wait_for()
            row.locator(".ag-selection-checkbox, input[type=checkbox]").first.click()

    # -- what the prose says is shown --------------------------------------------------------

    def shows(self, *texts: str) -> None:
        """Each text is visible, exactly (a run's name, a parameter's value, a file)."""
        for text in texts:
            shown = self.tab.get_by_text(text, exact=True).filter(visible=True)
            try:
                shown.first.wait_for(timeout=TIMEOUT_S * 1000)
            except Exception as error:
                raise UIError(f"the MLflow UI does not show {text!r} on {self.tab.url}") from error

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
