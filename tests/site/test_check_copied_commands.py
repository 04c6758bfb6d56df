"""tools/check_copied_commands.py clicks copy buttons in Chromium, and clicks again only
what changed.

The page below stands in for sphinx-copybutton: its button copies what its script, a file
of the site, says. The tool runs as ``nox -s docs`` runs it, in a process of its own
(Playwright's sync API refuses to start beside the UI checks' browser in this one).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>A page</title>
<script src="copy.js"></script></head>
<body><main><h1>A page</h1>
<div class="highlight-bash"><pre>$ echo one</pre><button class="copybtn">Copy</button></div>
</main></body></html>
"""


def copy_script(command: str) -> str:
    return (
        "addEventListener('DOMContentLoaded', () => document.querySelector('.copybtn')"
        f".addEventListener('click', () => navigator.clipboard.writeText({command!r})));"
    )


def check(site: Path, *options: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "tools.check_copied_commands", str(site), *options]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_a_page_is_clicked_again_when_a_script_it_loads_changes(tmp_path):
    site, remember = tmp_path / "site", ["--remember", str(tmp_path / "copied.json")]
    site.mkdir()
    (site / "page.html").write_text(PAGE)
    (site / "copy.js").write_text(copy_script("echo one"))
    first = check(site, *remember)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "1 shell blocks clicked: 0 problems" in first.stdout
    assert "as clicked before" not in first.stdout

    again = check(site, *remember)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "(1 pages as clicked before: nothing they load has changed)" in again.stdout

    # The page's bytes unchanged, its script now copies a command bash cannot parse.
    (site / "copy.js").write_text(copy_script("echo 'unclosed"))
    broken = check(site, *remember)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "page.html, shell block 1: bash cannot parse it" in broken.stdout
    assert "as clicked before" not in broken.stdout


def test_without_remembering_every_page_is_clicked(tmp_path):
    (tmp_path / "page.html").write_text(PAGE)
    (tmp_path / "copy.js").write_text(copy_script("echo 'unclosed"))
    for _ in range(2):
        done = check(tmp_path)
        assert done.returncode == 1 and "bash cannot parse it" in done.stdout, done.stdout
    assert sorted(path.name for path in tmp_path.iterdir()) == ["copy.js", "page.html"]
