"""axe-core over every built page, in Chromium, at a desktop's and a phone's width.

    python -m tools.check_accessibility build/html            # fails on any violation
    python -m tools.check_accessibility build/html --report   # counts by rule, never fails
    python -m tools.check_accessibility build/html --json     # every violation, as JSON
    python -m tools.check_accessibility build/html --remember F  # only pages changed since

Run by ``nox -s docs`` after the build, remembering in build/checked/: an edit audits again
only the pages it changed (tools/remembered_checks.py). Every violation fails, whatever axe
calls its impact: a reader who cannot reach a code block by keyboard is not helped by
"moderate". The pages load from ``file://`` with every other request refused, as the site
must work offline. axe-core's version is the one requirements/site-checks/package-lock.json locks.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from labdocs.browser import chromium as browser
from labdocs.browser.chromium import site_browser
from tools.remembered_checks import Remembered, checker_identity, recording
from tools.site_checkers import axe_script

WIDTHS = {"desktop": 1280, "phone": 390}  # CSS pixels
HEIGHT = 900


def pages_of(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def audit(site: Path, remembered: Remembered | None = None) -> list[dict]:
    """One record per violation and node count: page, width, rule, impact, targets.

    With ``remembered``, a page is audited again only when it, or a file it loaded, has
    changed since (tools/remembered_checks.py)."""
    script = axe_script()
    remembered = remembered or Remembered(None, "")
    kept, unseen = remembered.sort_out(pages_of(site))
    found = [violation for _, seen in kept for violation in seen]
    if unseen:
        found.extend(axe_in_chromium(site, unseen, script, remembered))
    remembered.save()
    return found


def checker() -> str:
    """What the audit's result depends on besides the pages: this code, the browser, axe."""
    return checker_identity(Path(__file__), Path(browser.__file__), extra=axe_script())


def axe_in_chromium(site: Path, pages: list[Path], script: str, remembered: Remembered):
    refused: list[str] = []
    loaded: set[Path] = set()
    with site_browser(refused) as (chromium, only_files):
        tabs = {}
        for name, width in WIDTHS.items():
            context = chromium.new_context(
                viewport={"width": width, "height": HEIGHT}, service_workers="block"
            )
            context.route("**/*", recording(only_files, loaded))
            tabs[f"{name} {width}px"] = context.new_page()
        for path in pages:
            refused.clear()
            loaded.clear()
            seen = []
            for width, tab in tabs.items():
                tab.goto(path.resolve().as_uri(), wait_until="load")
                tab.add_script_tag(content=script)
                result = tab.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
                seen.extend(
                    {
                        "page": str(path.relative_to(site)),
                        "width": width,
                        "rule": violation["id"],
                        "impact": violation["impact"],
                        "help": violation["help"],
                        "targets": [" ".join(map(str, n["target"])) for n in violation["nodes"]],
                    }
                    for violation in result["violations"]
                )
            if refused:
                seen.append(
                    {
                        "page": str(path.relative_to(site)),
                        "width": "-",
                        "rule": "network-request",
                        "impact": "critical",
                        "help": "the page asked for something beyond the site's files",
                        "targets": sorted(set(refused)),
                    }
                )
            remembered.keep(path, loaded, seen)
            yield from seen


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
    parser.add_argument(
        "--remember", type=Path, metavar="FILE", help="audit again only pages that changed"
    )
    args = parser.parse_args()
    remembered = Remembered(args.remember, checker() if args.remember else "")
    found = audit(args.site, remembered)
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
    if remembered.taken:
        print(f"  ({remembered.taken} pages as audited before: nothing they load has changed)")
    return 1 if found and not args.report else 0


if __name__ == "__main__":
    sys.exit(main())
