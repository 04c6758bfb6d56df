"""Chromium for the UI checks: where it is, and how it starts so that it stays on this machine.

Standard library only at import: the noxfile asks ``find_chromium`` before pytest starts,
so that a missing browser fails the session at once, and the plugin asks it before HOME
moves into the session's folder. Playwright is imported when a page first needs the
browser (``launch``).

The browser opens the lab's URLs literally. Chromium's own resolver maps the lab's
host:port to the throwaway server and every other name to "not found"; a dead proxy on
loopback catches any address that needs no name; and a Playwright route refuses, and
records, any request to anything but the lab's URL or loopback (``Guard.refused``).
"""

from __future__ import annotations

import glob
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from labdocs.services.lab_address import resolver_rules

ENV_CHROMIUM = "DOCS_CHROMIUM"  # a path to a Chromium (or Chrome) to use instead of the search
PLAYWRIGHT_VERSION_HINT = "requirements/doctest.txt"
HOW_TO_GET = (
    "The UI checks need Chromium. On Debian or Ubuntu: `apt-get install -y chromium`. "
    "In GitHub Actions: `python -m playwright install chromium` (with the playwright version "
    f"that {PLAYWRIGHT_VERSION_HINT} pins). Or name one: {ENV_CHROMIUM}=/path/to/chromium."
)
# Flags that keep Chromium quiet: no update checks, sync, field trials or first-run pings.
QUIET_FLAGS = [
    "--no-sandbox",  # as root in containers and CI
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication",
    "--metrics-recording-only",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-quic",
    "--no-pings",
]
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, nothing leaves
# The window: narrow enough that pictures of it stay legible in the site's column, and
# drawn at twice the pixels so that their text stays sharp when scaled.
WINDOW = {"width": 1200, "height": 860}
PIXEL_RATIO = 2


class NoBrowser(RuntimeError):
    """No Chromium was found."""


def find_chromium() -> str:
    """The Chromium to drive: $DOCS_CHROMIUM, then one on PATH, then Playwright's own."""
    named = os.environ.get(ENV_CHROMIUM)
    if named:
        if not (Path(named).is_file() and os.access(named, os.X_OK)):
            raise NoBrowser(f"{ENV_CHROMIUM}={named} is not an executable file. {HOW_TO_GET}")
        return named
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    # `playwright install chromium` puts it under $PLAYWRIGHT_BROWSERS_PATH or ~/.cache.
    cache = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or str(Path.home() / ".cache/ms-playwright")
    installed = sorted(glob.glob(f"{cache}/chromium-*/chrome-linux*/chrome"))
    if installed:
        return installed[-1]
    raise NoBrowser(
        f"no Chromium found (not {ENV_CHROMIUM}, not on PATH, not in {cache}). {HOW_TO_GET}"
    )


def chromium_args(lab_host: str, server_url: str, trusted_key: str | None = None) -> list[str]:
    """Flags that send the lab's host:port to the throwaway server and nothing elsewhere.

    ``trusted_key``: the base64 SHA-256 of the public key of a throwaway certificate that
    Chromium accepts for https, as members' browsers accept the lab's real certificate;
    any other certificate stays refused.
    """
    resolver, bypass = resolver_rules(lab_host, server_url)
    return [
        *QUIET_FLAGS,
        resolver,
        f"--proxy-server={DEAD_PROXY}",
        bypass,
        *([f"--ignore-certificate-errors-spki-list={trusted_key}"] if trusted_key else []),
    ]


@dataclass
class Guard:
    """A Playwright route: requests to the lab's URL and loopback pass, others are refused."""

    lab_host: str
    refused: list[str] = field(default_factory=list)

    def allows(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about"):
            return True
        return parts.netloc == self.lab_host or parts.hostname in ("127.0.0.1", "localhost")

    def __call__(self, route) -> None:
        if self.allows(route.request.url):
            route.continue_()
        else:
            self.refused.append(route.request.url)
            route.abort("blockedbyclient")


@dataclass
class Browser:
    """One Chromium for the whole test run; each page gets a context of its own."""

    lab_host: str
    server_url: str
    chromium: str  # find_chromium()'s answer
    trusted_key: str | None = None  # see chromium_args
    guard: Guard = field(init=False)
    _playwright: object = None
    _browser: object = None

    def __post_init__(self) -> None:
        self.guard = Guard(self.lab_host)

    def new_context(self, **options):
        """A fresh context (no cookies, no stored UI settings), guarded, like a new reader's.

        ``options`` go to Playwright's ``new_context`` (``http_credentials``, say).
        """
        if self._browser is None:
            self._launch()
        context = self._browser.new_context(
            viewport=WINDOW,
            device_scale_factor=PIXEL_RATIO,
            service_workers="block",
            locale="en-US",
            timezone_id="UTC",
            **options,
        )
        context.route("**/*", self.guard)
        return context

    def _launch(self) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=self.chromium,
            args=chromium_args(self.lab_host, self.server_url, self.trusted_key),
            headless=True,
        )

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()
        self._browser = self._playwright = None


@contextmanager
def site_browser(refused: list[str] | None = None):
    """Chromium for the built site's own pages (``file://``): every other request is
    refused, and noted in ``refused``. Yields ``(browser, route)``: give each context the
    route (``context.route("**/*", route)``)."""
    from playwright.sync_api import sync_playwright

    def only_files(route) -> None:
        if urlsplit(route.request.url).scheme in ("file", "data", "blob", "about"):
            route.continue_()
        else:
            if refused is not None:
                refused.append(route.request.url)
            route.abort("blockedbyclient")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=find_chromium(),
            args=[*QUIET_FLAGS, f"--proxy-server={DEAD_PROXY}"],
            headless=True,
        )
        try:
            yield browser, only_files
        finally:
            browser.close()


if __name__ == "__main__":
    import sys

    # `python -m labdocs.browser.chromium` (nox): the browser's path, or how to get one.
    try:
        print(find_chromium())
    except NoBrowser as error:
        sys.exit(f"error: {error}")
