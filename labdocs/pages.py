"""The site's pages, and the parsers that find their examples: written once, for the tests
(conftest.py), the example lint (tools/lint_examples.py) and the benchmark.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

from sybil import Document
from sybil.parsers import myst, rest

from labdocs.parsers import (
    Labelled,
    LiteralIncludeParser,
    ReasonedSkipParser,
    ShellExportParser,
    SilentSkipParser,
    python_block_label,
)
from labdocs.ui import FigureParser, GuiLabelParser  # issue 13: the UI, in a browser

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
SYNTAX = {".rst": "rest", ".md": "myst"}
NOT_PAGES = ["_build/*", "_inventories/*", "_static/*", "_templates/*"]  # below docs/

# Pages about signing in run against the authenticated server (auth.py), not the plain
# one. Without suffix: they may be reST or MyST. Relative to the repository.
AUTH_PAGES = ["docs/guides/mlflow/signing-in", "docs/guides/mlflow/notebooks", "docs/admin/*"]


def pages() -> list[Path]:
    """Every page of the site, in a stable order."""
    found = [p for p in DOCS.rglob("*") if p.suffix in SYNTAX]
    return sorted(
        p for p in found if not any(fnmatch(str(p.relative_to(DOCS)), x) for x in NOT_PAGES)
    )


def is_auth_page(page: Path) -> bool:
    name = str(page.relative_to(ROOT).with_suffix(""))
    return any(fnmatch(name, pattern) for pattern in AUTH_PAGES)


def parsers(syntax: str) -> list:
    """The parsers of a page in ``syntax`` ("rest" or "myst"), each labelled for the summary."""
    module = rest if syntax == "rest" else myst
    line_up = [
        Labelled(module.PythonCodeBlockParser(), python_block_label),
        Labelled(LiteralIncludeParser(syntax), "example files"),
        Labelled(ShellExportParser(syntax), "shell exports"),
        Labelled(ReasonedSkipParser(syntax), "skip markers"),
        Labelled(SilentSkipParser(syntax), "unrunnable blocks"),
        Labelled(GuiLabelParser(syntax), "UI instructions"),  # issue 13: clicked in Chromium
        Labelled(FigureParser(syntax), "UI pictures"),  # issue 13: present, and reached
    ]
    if syntax == "rest":  # a reST paragraph of ">>>" lines is a doctest block
        line_up.append(Labelled(rest.DocTestParser(), "doctests"))
    return line_up


def parse(page: Path) -> Document:
    return Document.parse(str(page), *parsers(SYNTAX[page.suffix]))


def included_files(page: Path) -> list[Path]:
    """The files a page shows with ``literalinclude`` (of any language)."""
    document = Document(page.read_text(), str(page))
    return [path for _, path, _ in LiteralIncludeParser(SYNTAX[page.suffix]).included(document)]
