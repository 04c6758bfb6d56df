"""labdocs/site/accessible_html.py makes what Sphinx writes pass axe-core, in Chromium.

The markup below is what Sphinx 9 and docutils write (a toctree caption, a wide code block,
a table with a header row and a stub column), with the one rule of furo's stylesheet that
matters here (a wide ``pre`` scrolls); axe-core is the locked copy that
``nox -s docs`` runs over the built site (tools/check_accessibility.py). Without the
extension's rewriting, axe finds each problem; with it, none.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labdocs.site.accessible_html import accessible
from tools.site_checkers import ENV_SITE_CHECKS

ROOT = Path(__file__).resolve().parents[2]

AS_SPHINX_WRITES = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>A page</title>
<style>pre { overflow: auto; }</style></head>
<body><main>
<h1>A page</h1>
<nav aria-label="Site"><p class="caption" role="heading"><span class="caption-text">Guides</span></p>
<ul><li><a href="#">A page</a></li></ul></nav>
<div class="highlight-bash notranslate"><div class="highlight"><pre><span></span>{wide}
</pre></div></div>
<table class="docutils align-default">
<thead><tr class="row-odd"><th class="head stub"><p>server \\ client</p></th>
<th class="head"><p>3.17.2</p></th></tr></thead>
<tbody><tr class="row-even"><th class="stub"><p>3.17.2</p></th><td><p>all pass</p></td></tr>
</tbody></table>
</main></body></html>
""".replace("{wide}", "pip install " + "mlflow-and-a-long-argument " * 12)


@pytest.fixture(scope="module", autouse=True)
def locked_axe():
    if not os.environ.get(ENV_SITE_CHECKS):
        pytest.fail(
            f"{ENV_SITE_CHECKS} is not set: run through `nox -s doctest`, or set it to the "
            "output of `python -m tools.site_checkers`"
        )


def audit(site: Path, *options: str) -> list[dict]:
    """tools/check_accessibility.py's findings, from a process of its own: Playwright's sync
    API refuses to start beside the UI checks' browser in this one."""
    command = [sys.executable, "-m", "tools.check_accessibility", str(site), "--json", *options]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def rules(found: list[dict]) -> set[str]:
    return {violation["rule"] for violation in found}


def test_axe_finds_what_sphinx_writes(tmp_path):
    (tmp_path / "page.html").write_text(AS_SPHINX_WRITES)
    assert rules(audit(tmp_path)) == {"aria-required-attr", "scrollable-region-focusable"}


def test_the_extension_leaves_axe_nothing(tmp_path):
    (tmp_path / "page.html").write_text(accessible(AS_SPHINX_WRITES))
    assert audit(tmp_path) == []


def test_table_headers_are_scoped():
    html = accessible(AS_SPHINX_WRITES)
    assert '<th class="head stub" scope="col">' in html
    assert '<th class="head" scope="col">' in html
    assert '<th class="stub" scope="row">' in html


def test_output_blocks_wrap_and_stay_out_of_the_tab_order():
    output = '<div class="highlight-text notranslate"><div class="highlight"><pre>x</pre>'
    assert accessible(output) == output


WIDE_TABLE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>A page</title>
<style>.table-wrapper { overflow-x: auto; width: 300px; }</style></head>
<body><main><h1>A page</h1>
<div class="table-wrapper colwidths-auto docutils container">
<table class="docutils align-default"><tbody><tr class="row-even">
<td><p>{wide}</p></td></tr></tbody></table></div>
</main></body></html>
""".replace("{wide}", "unbreakable" * 40)


def test_a_table_wider_than_a_phone_scrolls_by_keyboard_too(tmp_path):
    (tmp_path / "page.html").write_text(WIDE_TABLE)
    assert rules(audit(tmp_path)) == {"scrollable-region-focusable"}
    (tmp_path / "page.html").write_text(accessible(WIDE_TABLE))
    assert audit(tmp_path) == []


def test_tables_are_named_apart():
    html = accessible(WIDE_TABLE + WIDE_TABLE + WIDE_TABLE)
    assert html.count('aria-label="table"') == 1
    assert 'aria-label="table (2)"' in html and 'aria-label="table (3)"' in html


LINKED = AS_SPHINX_WRITES.replace("</head>", '<link rel="stylesheet" href="look.css"></head>')


def test_a_page_is_audited_again_when_it_or_a_file_it_loads_changes(tmp_path):
    site, remember = tmp_path / "site", ["--remember", str(tmp_path / "checked.json")]
    site.mkdir()
    (site / "page.html").write_text(accessible(LINKED))
    (site / "look.css").write_text("h1 { color: #111; }")
    assert audit(site, *remember) == []
    kept = json.loads((tmp_path / "checked.json").read_text())["pages"]
    assert [Path(name).name for name in kept] == ["page.html"]
    assert {Path(name).name for name in kept[str(site / "page.html")]["loaded"]} == {
        "page.html",
        "look.css",
    }
    # Unchanged, the page is not audited again: its result is the one kept, proved by
    # planting a finding in the kept result.
    planted = {"page": "page.html", "width": "-", "rule": "planted", "impact": "minor"}
    kept[str(site / "page.html")]["seen"] = [{**planted, "help": "", "targets": []}]
    checker = json.loads((tmp_path / "checked.json").read_text())["checker"]
    (tmp_path / "checked.json").write_text(json.dumps({"checker": checker, "pages": kept}))
    assert rules(audit(site, *remember)) == {"planted"}
    # The page unchanged, a stylesheet it loads turned grey on white: audited again.
    (site / "look.css").write_text("h1 { color: #fdfdfd; background: #fff; }")
    assert rules(audit(site, *remember)) == {"color-contrast"}
    (site / "look.css").write_text("h1 { color: #111; }")
    (site / "page.html").write_text(LINKED)
    assert rules(audit(site, *remember)) == {"aria-required-attr", "scrollable-region-focusable"}
