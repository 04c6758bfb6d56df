"""Every built page is valid HTML with named landmarks and scoped table headers.

    python -m tools.check_html build/html

html-validate (the version requirements/site-checks/package-lock.json locks), with its
``standard`` and ``a11y`` presets (tools/htmlvalidate.json). Two rules are off, for markup
the site does not write: ``prefer-native-element`` (Sphinx's ``role="heading"`` captions,
furo's ``role="main"``) and ``no-implicit-button-type`` (furo's buttons, which are in no
form). Everything the site's own templates and extension write (docs/_templates,
labdocs/site/accessible_html.py) is checked by every other rule.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tools.site_checkers import html_validate

CONFIG = Path(__file__).with_name("htmlvalidate.json")


def check(site: Path) -> tuple[int, str]:
    pages = sorted(str(p) for p in site.rglob("*.html"))
    command = [*html_validate(), "--config", str(CONFIG), "--formatter", "text", *pages]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    return done.returncode, (done.stdout + done.stderr).strip()


def main() -> int:
    site = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("build/html")
    code, output = check(site)
    if output:
        print(output)
    print(f"html-validate over {site}: {'valid' if code == 0 else 'INVALID'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
