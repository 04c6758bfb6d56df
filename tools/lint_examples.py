"""ruff on the Python examples inside the pages (``nox -s lint`` runs this).

    python -m tools.lint_examples

ruff reads .py files only. This finds every Python block of every page with Sybil's own
parsers (so exactly the blocks the doctests run), and gives each to ``ruff check`` and
``ruff format --check`` on standard input. Problems are reported at the page's line.

A page's blocks continue one another (names defined in one block are used in the next),
so the rules about undefined or unused names do not apply to a single block.
"""

from __future__ import annotations

import json
import subprocess
import sys
from unittest import SkipTest

from labdocs import pages

PAGE_CONTEXT_RULES = "F821,F401,F811,E402,B018"  # undefined/unused across blocks; bare expressions
LINTED = {"code blocks", "hidden checks"}


def python_blocks(page):
    """(line, source) of each Python block and hidden check on the page.

    Blocks a ``skip`` marker keeps from running are left out too: they are anti-examples,
    shown as readers must not write them (the skip's reason says so and where it is proven).
    Which blocks those are, Sybil's own skip evaluator says: each example is passed through
    the page's evaluators as in a run, with nothing of it executed.
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


def main() -> int:
    problems, blocks = [], 0
    for page in pages.pages():
        where = page.relative_to(pages.ROOT)
        for line, source in python_blocks(page):
            blocks += 1
            checked = ruff(
                "check", "--output-format", "json", "--extend-ignore", PAGE_CONTEXT_RULES,
                "--stdin-filename", f"{where}.py", "-", source=source,
            )  # fmt: skip
            for row in json.loads(checked.stdout or "[]"):
                at = line + row["location"]["row"] - 1
                problems.append(f"{where}:{at}: {row['code']} {row['message']}")
            formatted = ruff(
                "format", "--diff", "--stdin-filename", f"{where}.py", "-", source=source
            )
            if formatted.returncode != 0:
                problems.append(f"{where}:{line}: not formatted as ruff would:\n{formatted.stdout}")
    for problem in problems:
        print(problem)
    print(f"ruff: {blocks} Python blocks on {len(pages.pages())} pages, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
