"""The site's pages: which there are and what each includes (which sign in, and who runs
them: page_facts.py). For the tests (conftest.py), the lint of pages and the benchmark.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

from sybil import Document

from labdocs import lab
from labdocs.lab import LAB_HTTPS_TRACKING_URI, LAB_TRACKING_URI
from labdocs.pages.parsers import LiteralIncludeParser, code_block_lexers, parsers
from labdocs.services.lab_address import written_for

ROOT = lab.ROOT
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
SYNTAX = {".rst": "rest", ".md": "myst"}
NOT_PAGES = ["_build/*", "_inventories/*", "_static/*", "_templates/*"]  # below docs/


def pages() -> list[Path]:
    """Every page of the site, in a stable order."""
    found = [p for p in DOCS.rglob("*") if p.suffix in SYNTAX]
    return sorted(
        p for p in found if not any(fnmatch(str(p.relative_to(DOCS)), x) for x in NOT_PAGES)
    )


def parse(page: Path) -> Document:
    return Document.parse(str(page), *parsers(SYNTAX[page.suffix]))


def included_files(page: Path) -> list[Path]:
    """The files a page shows with ``literalinclude`` (of any language)."""
    document = Document(page.read_text(), str(page))
    return [path for _, path, _ in LiteralIncludeParser(SYNTAX[page.suffix]).included(document)]


def as_this_page_reads(path: Path) -> str:
    """An example file's text as the page running it reads it, for a hidden check that runs
    the file itself: the lab's address is the one the page set (``mlflow.get_tracking_uri``;
    in a member run, the https address after the move, members.py)."""
    import mlflow

    address = mlflow.get_tracking_uri()
    if address not in (LAB_TRACKING_URI, LAB_HTTPS_TRACKING_URI):
        raise ValueError(f"the page set no lab address before running {path.name}: {address}")
    return written_for(path.read_text(), address)


def shown_python(page: Path, skipping: str | None = None) -> str:
    """The Python a reader sees on a page, in its order, as one script: its Python code
    blocks (not the hidden checks) and the lines it shows of the files it includes. What a
    member who copies every block into one file runs; with ``skipping``, less the code
    blocks that hold that text, which the page lets a reader leave out (a reader without
    sign-in skips the cell that asks for a password)."""
    document = Document(page.read_text(), str(page))
    shown = [
        (region.start, str(region.lexemes["source"]))
        for region in code_block_lexers(SYNTAX[page.suffix], "python")(document)
    ]
    if skipping is not None:
        kept = [(start, source) for start, source in shown if skipping not in source]
        if len(kept) == len(shown):
            raise ValueError(f"{page}: no Python block holds {skipping!r} to skip")
        shown = kept
    for region, path, options in LiteralIncludeParser(SYNTAX[page.suffix]).included(document):
        unread = set(options) - {"language", "lines"}
        if unread:  # what they change of the file is not read here yet
            raise ValueError(f"{page}: literalinclude of {path.name} with {sorted(unread)}")
        if path.suffix == ".py":
            shown.append((region.start, shown_lines(path.read_text(), options.get("lines"))))
    return "\n".join(source for _, source in sorted(shown))


def shown_lines(text: str, lines: str | None) -> str:
    """The lines of a file that ``literalinclude``'s ``:lines:`` (``3-``, ``1,4-6``) shows."""
    if not lines:
        return text
    numbered = text.splitlines(keepends=True)
    kept: list[str] = []
    for part in lines.split(","):
        first, _, last = part.strip().partition("-")
        end = len(numbered) if part.strip().endswith("-") else int(last or first)
        kept += numbered[int(first or 1) - 1 : end]
    return "".join(kept)
