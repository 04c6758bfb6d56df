"""How much a member reads: the built words of each page of the MLflow guide, and in all.

    python -m tools.count_words build/html [--enforce]

Words are counted as a reader meets them: the page's article as built (prose, code and
output blocks alike), without the closing "Where next" and the page listings (toctrees).
``nox -s docs`` prints the figures; ``--enforce`` fails a total over its budget.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

from labdocs.site.reading_paths import GUIDE
from tools.check_built_site import WHERE_NEXT, article

# The guide's pages together, and the three a newcomer reads first.
MEMBER_BUDGET = 14_000
FIRST_PAGES = ("getting-started", "quick-start", "viewing-results")
FIRST_PAGES_BUDGET = 2_500


def words(page_html: str) -> int:
    """Every tag ends a word, so a highlighted line of code counts each of its tokens: the
    counting of the figures the budgets were set from."""
    text = WHERE_NEXT.sub(" ", article(page_html))
    return len(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def guide_words(site: Path) -> dict[str, int]:
    """Words per page of the guide, by page name (``logging``), in name order."""
    return {page.stem: words(page.read_text()) for page in sorted((site / GUIDE).glob("*.html"))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--enforce", action="store_true", help="fail a total over budget")
    args = parser.parse_args(argv)
    counted = guide_words(args.site)
    width = max(map(len, counted))
    for page, count in counted.items():
        print(f"  {page:<{width}} {count:>6}")
    totals = [
        ("the guide's pages", sum(counted.values()), MEMBER_BUDGET),
        (" + ".join(FIRST_PAGES), sum(counted[page] for page in FIRST_PAGES), FIRST_PAGES_BUDGET),
    ]
    over = []
    for name, total, budget in totals:
        print(f"words: {name}: {total} (budget {budget})")
        if total > budget:
            over.append(name)
    return 1 if args.enforce and over else 0


if __name__ == "__main__":
    sys.exit(main())
