"""A page that fails in one of its runs fails at once, in the time of that run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from labdocs.pages import DOCS, EXAMPLES, ROOT
from labdocs.services.session import ENV_SYSTEM_TMP

QUICK_START = DOCS / "guides" / "mlflow" / "quick-start.rst"
# What a run of one page reads: the harness, the examples (and the deployment's files, set
# up as the admin page says), the page; its settings and the locks the lab's versions are
# read from. Only these are copied,
# so that this module depends on them alone.
LABDOCS = ROOT / "labdocs"
REQUIREMENTS = ROOT / "requirements"
ADMIN_PAGE = DOCS / "admin" / "tracking-server.md"
SETTINGS = [ROOT / "conftest.py", ROOT / "pyproject.toml", ADMIN_PAGE, *REQUIREMENTS.glob("*")]


def test_the_members_runs_of_a_page_whose_own_run_failed_are_not_run(tmp_path):
    """A page that fails for its reader fails at once: its members' runs, which would boot
    the lab's deployment only to fail the same way, are reported not run."""
    copy = tmp_path / "site"
    for path in [*LABDOCS.rglob("*.py"), *EXAMPLES.rglob("*"), QUICK_START, *SETTINGS]:
        if path.is_file() and "__pycache__" not in path.parts:
            (copy / path.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy / path.relative_to(ROOT))
    page = copy / QUICK_START.relative_to(ROOT)
    text = page.read_text()
    checked = 'assert on_server.info.status == "FINISHED"'
    assert checked in text
    page.write_text(text.replace(checked, 'assert on_server.info.status == "PLANTED"'))
    failing_line = 1 + text[: text.index(".. invisible-code-block")].count("\n")

    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_CURRENT_TEST")}
    # The nested session makes its folder in the machine's temporary folder, as a session of
    # its own does (and removes it): nested in this one's, PostgreSQL's socket path would
    # pass the 107 bytes a Unix socket's name may have.
    environ["TMPDIR"] = os.environ[ENV_SYSTEM_TMP]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-rfs",
         str(page.relative_to(copy))],
        cwd=copy, env=environ, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 1 and "1 failed" in output, output
    assert f"quick-start.rst:{failing_line}" in output, output
    # Its first run (its reader's: it needs no deployment) fails; the members' are not run.
    assert len(re.findall(r"^FAILED ", output, re.MULTILINE)) == 1, output
    not_run = re.findall(
        rf"^SKIPPED \[(\d+)\] \S*quick-start.rst:\d+: not run: the page failed at line "
        rf"{failing_line} \(for its reader\)$",
        output,
        re.MULTILINE,
    )
    assert sum(map(int, not_run)) == 2 * 2, output  # the first member's and the second's
