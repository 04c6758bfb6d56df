"""What passed is not run again until something it depends on changes (labdocs/plugin/page_cache.py).

Each test runs pytest of its own, with the plugin (labdocs/plugin/), on a
small site written for it: a page that includes an example file, and what every page
depends on (labdocs/, conftest.py, a lock). Its examples write a line to a file outside
the site each time they run: what ran is what that file says.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from labdocs.pages import ROOT
from labdocs.plugin import SET_BY_LIBRARIES

# A nested session on a loaded machine: a minute or more, beside the server it starts.
pytestmark = pytest.mark.timeout(600)

CONFTEST = """
from sybil import Sybil
from sybil.sybil import SybilCollection
from labdocs.pages.parsers import parsers

pytest_plugins = ["labdocs.plugin"]  # its hooks, and the page cache it imports
pytest_collect_file = SybilCollection(
    [Sybil(parsers("rest"), patterns=["*.rst"], fixtures=[], name="rest")]
).pytest()


def pytest_terminal_summary(terminalreporter, config):
    from labdocs.plugin import STARTED  # imported here: after the plugins, for their rewrite

    started = config.stash[STARTED]
    terminalreporter.write_line(f"server started: {started.server is not None}")
"""

PAGE = """
Logging
=======

.. literalinclude:: ../../examples/shown.py

.. code-block:: python

   import os

   with open(os.environ["RAN"], "a") as ran:
       ran.write("page\\n")

.. invisible-code-block: python

   assert shown_value == 3
"""

OTHER_PAGE = """
Another page
============

.. code-block:: python

   import os

   with open(os.environ["RAN"], "a") as ran:
       ran.write("other\\n")
"""

SHOWN = """shown_value = 3
"""

SITE = {
    "docs/guides/page.rst": PAGE,
    "docs/guides/other.rst": OTHER_PAGE,
    "examples/shown.py": SHOWN,
    "labdocs/notes.txt": "what every page depends on\n",
    "requirements/doctest.txt": "mlflow==3.17.2 --hash=sha256:0\n",
}


class Site:
    """A small site in ``folder``, and pytest runs of it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "site"
        self.ran = folder / "ran.txt"
        self.tmp = folder / "tmp"
        self.tmp.mkdir()
        for name, text in {**SITE, "conftest.py": CONFTEST}.items():
            self.write(name, text)
        settings = (ROOT / "pyproject.toml").read_text()  # the site's own pytest settings
        self.write("pyproject.toml", settings.replace('["docs", "tests"]', '["docs"]'))

    def write(self, name: str, text: str) -> None:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))

    def append(self, name: str, text: str) -> None:
        path = self.folder / name
        path.write_text(path.read_text() + text)

    def run(self, *args: str, env: dict[str, str] | None = None) -> tuple[str, list[str]]:
        """pytest on the site: (its output, the pages whose examples ran)."""
        self.ran.unlink(missing_ok=True)
        environ = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(self.tmp), **(env or {})}
        for name in ("PYTEST_CURRENT_TEST", "CI", *SET_BY_LIBRARIES):  # as in a new process
            environ.pop(name, None)
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:randomly", *args],
            cwd=self.folder, env=environ, capture_output=True, text=True, timeout=500,
        )  # fmt: skip
        output = f"{done.stdout}{done.stderr}\n(exit status {done.returncode})"
        assert not list(self.tmp.iterdir()), f"left in TMPDIR:\n{output}"
        ran = sorted(set(self.ran.read_text().split())) if self.ran.exists() else []
        return output, ran


@pytest.fixture
def fresh_site(tmp_path: Path) -> Site:
    return Site(tmp_path)


def run(site: Site, *args: str, **env: str) -> tuple[str, list[str]]:
    return site.run(*args, env={"RAN": str(site.ran), **env})


def test_a_page_that_passed_is_not_run_again_and_starts_no_server(fresh_site: Site):
    output, ran = run(fresh_site)
    assert ran == ["other", "page"], output
    assert "server started: True" in output, output
    output, ran = run(fresh_site, "docs/guides/page.rst")  # named, as people run one page
    assert ran == [], output
    output, ran = run(fresh_site)
    assert ran == [], output
    assert "2 pages passed from cache" in output, output
    assert "code blocks: 2 passed from cache" in output, output  # counted as they ran
    assert "(exit status 0)" in output, output
    assert "server started: False" in output, output  # nothing to run: no server booted


def test_runs_with_other_settings_keep_their_own_results(fresh_site: Site):
    """doctest and doctest-other-state, one after the other: each finds its own pages kept
    (a setting is part of the key: what passed with one is not taken for the other)."""
    secured = {"DOCS_SERVER_STATE": "secured"}
    assert run(fresh_site)[1] == ["other", "page"]
    output, ran = run(fresh_site, **secured)
    assert ran == ["other", "page"], output  # never passed with this setting
    output, ran = run(fresh_site)
    assert ran == [], output
    output, ran = run(fresh_site, **secured)
    assert ran == [], output


# Each kind of input a page depends on, edited: (file, text appended, whether every page
# depends on it).
EDITS = [
    ("docs/guides/page.rst", "\nOne more sentence.\n", False),  # the page's text
    ("examples/shown.py", "# a comment\n", False),  # a file it includes
    ("labdocs/notes.txt", "more\n", True),  # a file of labdocs/
    ("requirements/doctest.txt", "torch==2.13.0 --hash=sha256:0\n", True),  # a lock
    ("conftest.py", "# a comment\n", True),  # conftest.py
]


def test_each_change_brings_the_page_back(fresh_site: Site):
    run(fresh_site)
    for name, text, everything in EDITS:
        fresh_site.append(name, text)
        output, ran = run(fresh_site)
        assert ran == (["other", "page"] if everything else ["page"]), f"{name}:\n{output}"
    output, ran = run(fresh_site)
    assert ran == [], output  # and then they passed from cache again


def test_a_page_that_failed_or_skipped_is_not_kept(fresh_site: Site):
    fresh_site.append("examples/shown.py", "shown_value = 4\n")
    output, ran = run(fresh_site)
    assert "1 failed" in output, output
    output, ran = run(fresh_site)
    assert ran == ["page"], output  # the failing page runs again; the other one not
    fresh_site.append(
        "docs/guides/other.rst",
        '\n.. code-block:: python\n\n   import pytest\n\n   pytest.skip("no tool here")\n',
    )
    fresh_site.write("examples/shown.py", SHOWN)
    output, ran = run(fresh_site)
    assert ran == ["other", "page"], output
    output, ran = run(fresh_site)
    assert ran == ["other"], output  # its skipped example keeps it from the cache


def test_a_skip_the_page_itself_writes_is_its_outcome_and_kept(fresh_site: Site):
    """A page's own ``skip:`` line decides from the page's text, which is in the key."""
    fresh_site.append(
        "docs/guides/other.rst",
        '\n.. skip: next "run by another test"\n\n.. code-block:: python\n\n   1 / 0\n',
    )
    output, ran = run(fresh_site)
    assert ran == ["other", "page"] and "1 skipped" in output, output
    output, ran = run(fresh_site)
    assert ran == [], output
    assert "skipped from cache" in output and "2 pages passed from cache" in output, output
    fresh_site.append("docs/guides/other.rst", "\nA sentence.\n")
    output, ran = run(fresh_site)
    assert ran == ["other"] and "1 skipped" in output, output  # its text changed


def test_all_and_ci_run_everything(fresh_site: Site):
    run(fresh_site)
    output, ran = run(fresh_site, "--all")
    assert ran == ["other", "page"], output
    output, ran = run(fresh_site, CI="true")
    assert ran == ["other", "page"], output


def test_a_partial_run_keeps_nothing(fresh_site: Site):
    output, ran = run(fresh_site, "-k", "page")
    assert ran == ["page"] and "3 passed" in output, output
    output, ran = run(fresh_site)
    assert ran == ["other", "page"], output


def test_a_test_file_is_keyed_by_the_files_it_names(tmp_path: Path):
    """A test module depends on the pages and examples its strings name; one that lists
    the repository's files depends on them all."""
    from labdocs.plugin.page_cache import Keys

    files = {
        "tests/test_named.py": 'PAGE = DOCS / "guides" / "page.rst"\nSCRIPT = "examples/shown.py"\n',
        "tests/test_lists.py": 'PAGES = sorted((ROOT / "docs").rglob("*.rst"))\n',
        # Lists examples/ only: a page's edit is not its business.
        "tests/test_examples.py": 'def test():\n    found = EXAMPLES / "."\n    sorted(found.glob("*.py"))\n',
        # Names the other page in its docstring only, and lists a test's own folder.
        "tests/test_prose.py": (
            '"""Unlike docs/guides/other.rst and the page "other", this lists nothing."""\n'
            "def test(tmp_path):\n"
            '    assert not list(tmp_path.iterdir()), f"left in TMPDIR {tmp_path}"\n'
        ),
        # A folder it cannot follow, and git's list: every file.
        "tests/test_unknown.py": "from somewhere import PLACE\nLISTED = sorted(PLACE.glob('*'))\n",
        "tests/test_git.py": 'FILES = run(["git", "ls-files"]).split()\n',
        "docs/guides/page.rst": PAGE,
        "docs/guides/other.rst": OTHER_PAGE,
        "examples/shown.py": SHOWN,
        "tools/helper.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    modules = [name for name in files if name.startswith("tests/")]
    every = {"tests/test_unknown.py", "tests/test_git.py"}
    pages = {"tests/test_lists.py", *every}

    def keys() -> dict[str, str]:
        found = Keys(tmp_path, "the environment")
        return {name: found.of(name) for name in modules}

    for edited, changed in [
        ("docs/guides/other.rst", pages),
        ("docs/guides/page.rst", {"tests/test_named.py", *pages}),
        ("examples/shown.py", {"tests/test_named.py", "tests/test_examples.py", *every}),
        ("tools/helper.py", set(modules)),
        ("tests/test_named.py", {"tests/test_named.py", *every}),
    ]:
        before = keys()
        (tmp_path / edited).write_text((tmp_path / edited).read_text() + "# edited\n")
        after = keys()
        assert {name for name in before if before[name] != after[name]} == changed, edited


def test_the_folders_the_cache_knows_by_name_are_where_labdocs_puts_them():
    from labdocs import pages
    from labdocs.plugin.page_cache import KNOWN_FOLDERS
    from labdocs.services import deployment

    found = {"ROOT": pages.ROOT, "SITE": pages.ROOT, "DOCS": pages.DOCS}
    found |= {"EXAMPLES": pages.EXAMPLES, "DEPLOY": deployment.DEPLOY}
    assert {name: str(path.relative_to(ROOT)) for name, path in found.items()} == {
        name: folder or "." for name, folder in KNOWN_FOLDERS.items()
    }
