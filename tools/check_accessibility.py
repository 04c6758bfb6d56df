"""axe-core over every built page, in Chromium, at a desktop's and a phone's width.

    python -m tools.check_accessibility build/html            # fails on any violation
    python -m tools.check_accessibility build/html --report   # counts by rule, never fails
    python -m tools.check_accessibility build/html --json     # every violation, as JSON

Run by ``nox -s docs`` after the build. Every violation fails, whatever axe calls its
impact: a reader who cannot reach a code block by keyboard is not helped by "moderate".
The pages load from ``file://`` with every other request refused, as the site must work
offline. axe-core's version is the one requirements/site-checks/package-lock.json locks.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from labdocs.browser import site_browser
from tools.site_checkers import axe_script

WIDTHS = {"desktop": 1280, "phone": 390}  # CSS pixels
HEIGHT = 900


def pages_of(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def audit(site: Path) -> list[dict]:
    """One record per violation and node count: page, width, rule, impact, targets."""
    script = axe_script()
    refused: list[str] = []
    found = []
    with site_browser(refused) as (browser, only_files):
        for name, width in WIDTHS.items():
            context = browser.new_context(
                viewport={"width": width, "height": HEIGHT}, service_workers="block"
            )
            context.route("**/*", only_files)
            tab = context.new_page()
            for path in pages_of(site):
                tab.goto(path.resolve().as_uri(), wait_until="load")
                tab.add_script_tag(content=script)
                result = tab.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
                for violation in result["violations"]:
                    found.append(
                        {
                            "page": str(path.relative_to(site)),
                            "width": f"{name} {width}px",
                            "rule": violation["id"],
                            "impact": violation["impact"],
                            "help": violation["help"],
                            "targets": [
                                " ".join(map(str, n["target"])) for n in violation["nodes"]
                            ],
                        }
                    )
            context.close()
    if refused:
        found.append(
            {
                "page": "(network)",
                "width": "-",
                "rule": "network-request",
                "impact": "critical",
                "help": "the site asked for something beyond its files",
                "targets": sorted(set(refused)),
            }
        )
    return found


def report(found: list[dict], pages: int) -> str:
    nodes = Counter()
    where = Counter()
    for violation in found:
        nodes[(violation["rule"], violation["impact"])] += len(violation["targets"])
        where[(violation["rule"], violation["impact"])] += 1
    lines = [f"axe-core over {pages} pages x {len(WIDTHS)} widths:"]
    for (rule, impact), count in sorted(nodes.items()):
        lines.append(
            f"  {rule} ({impact}): {count} elements on {where[(rule, impact)]} page-widths"
        )
    lines.append(f"  total: {sum(nodes.values())} elements")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--report", action="store_true", help="count by rule; do not fail")
    parser.add_argument("--json", action="store_true", help="print the violations as JSON")
    args = parser.parse_args()
    found = audit(args.site)
    if args.json:
        print(json.dumps(found))
        return 0
    if not args.report:
        for violation in found:
            targets = "; ".join(violation["targets"][:5])
            print(
                f"{violation['page']} at {violation['width']}: {violation['rule']} "
                f"({violation['impact']}): {violation['help']}: {targets}"
            )
    print(report(found, len(pages_of(args.site))))
    return 1 if found and not args.report else 0


if __name__ == "__main__":
    sys.exit(main())
