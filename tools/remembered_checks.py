"""What a browser check saw on a page, kept until the page or a file it loaded changes.

Auditing and clicking every page in Chromium is most of a warm ``nox -s docs`` (40 s of
44, the build itself 1 s), while an edit makes Sphinx rewrite only the pages it touches. A
page whose bytes, and the bytes of every file it loaded when it was checked (stylesheets,
scripts, images: whatever the browser asked for), are those of then, checked by the same
checker (its code, the browser's, axe-core's), shows the same thing: it is taken from the
file. Anything changed, or the file missing or unreadable, the page is checked again.

Only what the browser saw is kept (axe's violations, what a copy button copied); the
checker judges it afresh on every run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import unquote, urlsplit


def digest(*parts: bytes) -> str:
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def digest_of(path: Path) -> str | None:
    try:
        return digest(path.read_bytes())
    except OSError:
        return None


class Remembered:
    """``file`` None: nothing is kept, every page is checked (the checkers' own default)."""

    def __init__(self, file: Path | None, checker: str) -> None:
        self.file, self.checker = file, checker
        self.pages: dict[str, dict] = {}
        self.taken = 0
        if file is not None and file.exists():
            try:
                kept = json.loads(file.read_text())
            except ValueError:
                kept = {}
            if kept.get("checker") == checker:
                self.pages = kept["pages"]

    def sort_out(self, pages: list[Path]) -> tuple[list[tuple[Path, object]], list[Path]]:
        """(page, what the browser saw on it) for each page that nothing it loaded has
        changed since; and the pages to check again. Pages gone from the site are forgotten."""
        kept, unseen = [], []
        now = {str(page.resolve()): page for page in pages}
        self.pages = {name: entry for name, entry in self.pages.items() if name in now}
        for name, page in now.items():
            entry = self.pages.get(name)
            if entry is None or any(
                digest_of(Path(file)) != known for file, known in entry["loaded"].items()
            ):
                unseen.append(page)
            else:
                kept.append((page, entry["seen"]))
        self.taken = len(kept)
        return kept, unseen

    def keep(self, page: Path, loaded: set[Path], seen: object) -> None:
        files = {str(path) for path in loaded} | {str(page.resolve())}
        self.pages[str(page.resolve())] = {
            "loaded": {name: digest_of(Path(name)) for name in sorted(files)},
            "seen": seen,
        }

    def save(self) -> None:
        if self.file is not None:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            self.file.write_text(json.dumps({"checker": self.checker, "pages": self.pages}))


def recording(route_on, loaded: set[Path]):
    """``route_on`` (site_browser's route), noting in ``loaded`` each file the page asked for."""

    def route(route) -> None:
        url = urlsplit(route.request.url)
        if url.scheme == "file":
            loaded.add(Path(unquote(url.path)))
        route_on(route)

    return route


def checker_identity(*sources: Path, extra: str = "") -> str:
    """The checker as a digest: its modules' code and this one's, the browser's binary,
    anything ``extra``."""
    from labdocs.browser.chromium import find_chromium

    chromium = Path(find_chromium()).resolve()
    stat = chromium.stat()
    return digest(
        *(source.read_bytes() for source in (Path(__file__), *sources)),
        f"{chromium} {stat.st_size} {stat.st_mtime_ns}".encode(),
        extra.encode(),
    )
