"""Every shell block's copy button gives whole commands: clicked in Chromium, read back.

    python -m tools.check_copied_commands build/html [--remember FILE]

Run by ``nox -s docs``, remembering in build/checked/ (tools/remembered_checks.py). For
each shell block of each built page, the copy button is clicked in a real browser, so that
sphinx-copybutton's own code strips the prompts as conf.py tells it to, and what lands on
the clipboard is checked:

- no substitution was left unreplaced (``|mlflow_version|``, ``{{ mlflow_version }}``),
  and no command ends in ``=`` (a version that rendered outside the block);
- bash parses it whole (``bash -n``: unclosed quotes, a dangling ``\\`` or ``|`` fail).

Inline code is copied by selecting it: a command ending in ``=`` (``pip install mlflow==``
with the version outside it) is a broken command too.

Pages load from ``file://``; every other request is refused.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from labdocs.browser import chromium as browser
from labdocs.browser.chromium import site_browser
from tools.remembered_checks import Remembered, checker_identity, recording

SHELL_BLOCKS = "div.highlight-bash, div.highlight-console, div.highlight-shell, div.highlight-sh"
LEFT_OVER = re.compile(r"\|\w+\||\{\{[^}]*\}\}")


def broken_inline_code(site: Path) -> list[str]:
    """Inline literals that end in '=': a command whose value was rendered outside it."""
    found = []
    for path in sorted(site.rglob("*.html")):
        for literal in re.findall(
            r'<code class="docutils literal[^"]*">(.*?)</code>', path.read_text()
        ):
            text = re.sub(r"<[^>]+>", "", literal)
            # A command (words), not a parameter's name such as ``name=``.
            if " " in text.strip() and text.rstrip().endswith("="):
                found.append(f"{path.relative_to(site)}: inline code ends in '=': {text}")
    return found


def copied_commands(site: Path, remembered: Remembered) -> list[tuple[str, int, str]]:
    """(page, block number, what the copy button put on the clipboard) for each shell block;
    a page unchanged since ``remembered`` saw it, with all it loads, is not clicked again."""
    kept, unseen = remembered.sort_out(sorted(site.rglob("*.html")))
    copied = [
        (str(path.relative_to(site)), number, text) for path, seen in kept for number, text in seen
    ]
    if unseen:
        copied.extend(clicked(site, unseen, remembered))
    remembered.save()
    return copied


def clicked(site: Path, pages: list[Path], remembered: Remembered):
    loaded: set[Path] = set()
    with site_browser() as (chromium, only_files):
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        context.route("**/*", recording(only_files, loaded))
        tab = context.new_page()
        for path in pages:
            loaded.clear()
            seen = []
            tab.goto(path.resolve().as_uri(), wait_until="load")
            blocks = tab.locator(SHELL_BLOCKS)
            for number in range(blocks.count()):
                block = blocks.nth(number)
                block.scroll_into_view_if_needed()
                block.hover()
                block.locator("button.copybtn").click()
                seen.append((number + 1, tab.evaluate("() => navigator.clipboard.readText()")))
                tab.evaluate("() => navigator.clipboard.writeText('')")
            remembered.keep(path, loaded, seen)
            yield from ((str(path.relative_to(site)), number, text) for number, text in seen)


def problems_of(text: str) -> list[str]:
    problems = []
    if not text.strip():
        problems.append("the button copied nothing")
    if LEFT_OVER.search(text):
        problems.append(f"an unreplaced substitution: {LEFT_OVER.search(text)[0]}")
    for line in text.splitlines():
        if re.search(r"=\s*$", line):
            problems.append(f"a command ends in '=': {line}")
    parsed = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True)
    if parsed.returncode != 0:
        problems.append(f"bash cannot parse it: {parsed.stderr.strip()}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, nargs="?", default=Path("build/html"))
    parser.add_argument(
        "--remember", type=Path, metavar="FILE", help="click again only pages that changed"
    )
    args = parser.parse_args()
    site = args.site
    identity = checker_identity(Path(__file__), Path(browser.__file__)) if args.remember else ""
    remembered = Remembered(args.remember, identity)
    copied = copied_commands(site, remembered)
    inline = broken_inline_code(site)
    for problem in inline:
        print(problem)
    failed = len(inline)
    for page, number, text in copied:
        for problem in problems_of(text):
            failed += 1
            print(f"{page}, shell block {number}: {problem}\n    copied: {text!r}")
    print(f"copy buttons of {len(copied)} shell blocks clicked: {failed} problems")
    if remembered.taken:
        print(f"  ({remembered.taken} pages as clicked before: nothing they load has changed)")
    return 1 if failed or not copied else 0


if __name__ == "__main__":
    sys.exit(main())
