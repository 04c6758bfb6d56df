"""The pages' static checks: what can be known without a server, in seconds (``nox -s lint``).

    python -m tools.lint_pages

Every page is read with the very parsers the doctests use (labdocs/pages/parsers.py), so a page
that lints clean is one the doctests read as its author meant:

- the page parses: every ``skip`` says why, every ``literalinclude`` finds its file;
- no block is shown as Python that would not run (``Python``, ``py3``, ``pycon``...);
- every picture of the UI exists and has alt text (that a page's instructions reach what it
  shows is checked in the browser, by the doctests);
- every example file is shown on a page; the lab's URL is spelled one way (the tests
  redirect exactly that spelling); reST pages have no Markdown links;
- every example of the guide opens with getting-started's setup lines (tools/setup_block.py);
- ruff, on every Python block and hidden check the doctests run, reported at the page's
  line. A page's blocks continue one another (names defined in one are used in the next),
  so the rules about undefined or unused names do not apply to a single block.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from unittest import SkipTest

from labdocs import pages
from labdocs.lab import LAB_HTTPS_TRACKING_URI, LAB_TRACKING_URI
from labdocs.pages.parsers import FigureParser, SilentSkipParser, line_of, page_name
from tools.problems import report
from tools.setup_block import GUIDE, SETUP_HOME, setup_problems

PAGE_CONTEXT_RULES = "F821,F401,F811,E402,B018"  # undefined/unused across blocks; bare expressions
LINTED = {"code blocks", "hidden checks"}
LAB_URLS = re.compile(r"https?://mindgarage07[^\s\"'`<>)]*")
# The troubleshooting page's deliberate mistake: the lab's host on the wrong port.
WRONG_PORT = LAB_TRACKING_URI.replace(":8001", ":8002")
MARKDOWN_LINK = re.compile(r"\[[^\]]+\]\(https?://")


def page_problems(page: Path) -> list[str]:
    """What the parsers find wrong with ``page`` before anything runs."""
    where = page_name(page)
    try:
        document = pages.parse(page)
    except ValueError as error:  # a skip without a reason, a missing included file
        return [str(error).replace(str(page), str(where))]
    syntax = pages.SYNTAX[page.suffix]
    found = [
        f"{where}:{line_of(document, r.start)}: {r.parsed}"
        for r in SilentSkipParser(syntax)(document)
    ]
    for region in FigureParser(syntax)(document):
        path, has_alt = region.parsed
        line = line_of(document, region.start)
        if not has_alt:
            found.append(f"{where}:{line}: the picture {path.name} has no :alt: text")
        if not path.is_file():
            found.append(f"{where}:{line}: the picture {path.name} is missing")
    return found


def spelling_problems(path: Path) -> list[str]:
    """The lab's URL, one way; in reST, no ``[text](url)`` (it renders as brackets)."""
    found = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        where = f"{page_name(path)}:{number}"
        for url in LAB_URLS.findall(line):
            # Today's open server, or the secured one (no port: nginx on 443).
            known = url.startswith((LAB_TRACKING_URI, WRONG_PORT, LAB_HTTPS_TRACKING_URI))
            if not known or url.startswith(f"{LAB_HTTPS_TRACKING_URI}:"):
                found.append(
                    f"{where}: the lab's URL spelled {url}, not {LAB_TRACKING_URI} "
                    f"(or {LAB_HTTPS_TRACKING_URI})"
                )
        if path.suffix == ".rst" and MARKDOWN_LINK.search(line):
            found.append(f"{where}: a Markdown link in reST renders as brackets")
    return found


def unshown_examples(all_pages: list[Path], examples: Path = pages.EXAMPLES) -> list[str]:
    shown = {path for page in all_pages for path in pages.included_files(page)}
    return [
        f"{page_name(example)}: no page shows it with literalinclude (nor runs it)"
        for example in sorted(p for p in examples.iterdir() if p.is_file())
        if example not in shown
    ]


def python_blocks(page: Path):
    """(line, source) of each Python block and hidden check on the page that runs.

    Blocks a ``skip`` marker keeps from running are left out: they are anti-examples, shown
    as readers must not write them. Which they are, Sybil's own skip evaluator says: each
    example is passed through the page's evaluators as in a run, with nothing executed.
    """
    document = pages.parse(page)
    for example in document.examples():
        if example.region.label == "skip markers":
            example.evaluate()  # Sybil's skip state; a reason is a string, evaluated as such
            continue
        try:
            document.evaluate(example, lambda example: None)  # only the skip decides
        except SkipTest:
            continue
        if example.region.label in LINTED:
            yield example.line + example.parsed.line_offset, str(example.parsed)


def ruff(*args: str, source: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], input=source, capture_output=True, text=True
    )


def ruff_problems(page: Path) -> list[str]:
    where, found = page_name(page), []
    for line, source in python_blocks(page):
        checked = ruff(
            "check", "--output-format", "json", "--extend-ignore", PAGE_CONTEXT_RULES,
            "--stdin-filename", f"{where}.py", "-", source=source,
        )  # fmt: skip
        for row in json.loads(checked.stdout or "[]"):
            at = line + row["location"]["row"] - 1
            found.append(f"{where}:{at}: {row['code']} {row['message']}")
        formatted = ruff("format", "--diff", "--stdin-filename", f"{where}.py", "-", source=source)
        if formatted.returncode != 0:
            found.append(f"{where}:{line}: not formatted as ruff would:\n{formatted.stdout}")
    return found


def lint(all_pages: list[Path]) -> list[str]:
    found = []
    for page in all_pages:
        parsed = page_problems(page)
        found += parsed + spelling_problems(page)
        if not parsed:  # ruff reads what the parsers found
            found += ruff_problems(page)
        if page.parent == GUIDE and page != SETUP_HOME:  # the guide's examples: its one setup
            found += setup_problems(page)
    for example in sorted(pages.EXAMPLES.glob("*.py")):
        found += spelling_problems(example)
    return found + unshown_examples(all_pages)


def main() -> int:
    all_pages = pages.pages()
    return report(lint(all_pages), f"lint of {len(all_pages)} pages")


if __name__ == "__main__":
    sys.exit(main())
