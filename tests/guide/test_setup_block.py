"""The guide's one setup (tools/setup_block.py): getting-started shows it whole; every other
example opens with its lines, after its comment, in its order; each way to deviate is found
at its page and line, without a server; and the guide's pages deviate nowhere."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from labdocs.lab import LAB_TRACKING_URI
from labdocs.pages import pages
from tools import lint_pages
from tools.setup_block import GUIDE, SETUP_COMMENT, SETUP_HOME, canonical, setup_problems

from .test_members import MEMBER_IMPORTS, MEMBER_RULE

IMPORTS = "\n".join([*MEMBER_IMPORTS, "", "import mlflow", ""])
TRACKING = f'mlflow.set_tracking_uri("{LAB_TRACKING_URI}")'
MEMBER = f"member = {MEMBER_RULE}"
EXPERIMENT = 'mlflow.set_experiment(f"mlflow-guide-page/{member}")'
OLD_MEMBER = 'member = os.environ.get("MLFLOW_TRACKING_USERNAME") or getpass.getuser()'


def rst_block(*lines: str) -> str:
    return ".. code-block:: python\n\n" + textwrap.indent("\n".join(lines), "   ") + "\n"


FAULTS = {
    "the other idiom": (
        rst_block(IMPORTS, SETUP_COMMENT, TRACKING, OLD_MEMBER, EXPERIMENT),
        f"page.rst:{3 + IMPORTS.count(chr(10)) + 3}: not getting-started's setup line: "
        + OLD_MEMBER,
    ),
    "no comment": (
        rst_block(IMPORTS, TRACKING, MEMBER, EXPERIMENT),
        f"page.rst:{3 + IMPORTS.count(chr(10)) + 1}: setup outside the block",
    ),
    "another comment": (
        rst_block(IMPORTS, "# The setup of the getting-started page.", TRACKING, MEMBER),
        "setup outside the block after '# Setup: see Getting started': " + TRACKING,
    ),
    "another order": (
        rst_block(IMPORTS, SETUP_COMMENT, MEMBER, TRACKING, EXPERIMENT),
        "out of getting-started's order: " + TRACKING,
    ),
    "a line between": (
        rst_block(IMPORTS, SETUP_COMMENT, TRACKING, "print(1)", MEMBER, EXPERIMENT),
        "setup outside the block after '# Setup: see Getting started': " + MEMBER,
    ),
    "no imports": (
        rst_block("import mlflow", "", SETUP_COMMENT, TRACKING, MEMBER, EXPERIMENT),
        "the example lacks",
    ),
    "the comment alone": (
        rst_block("import mlflow", "", SETUP_COMMENT, "print(1)"),
        "'# Setup: see Getting started' with no setup after it",
    ),
    "another experiment line": (
        rst_block(IMPORTS, SETUP_COMMENT, TRACKING, MEMBER, 'mlflow.set_experiment(f"x/{member}")'),
        'not getting-started\'s setup line: mlflow.set_experiment(f"x/{member}")',
    ),
}


@pytest.mark.parametrize("name", FAULTS)
def test_each_deviation_is_found_at_its_page_and_line(tmp_path: Path, name: str):
    text, expected = FAULTS[name]
    page = tmp_path / "page.rst"
    page.write_text(text)
    found = setup_problems(page)
    assert any(expected in problem for problem in found), found


def test_the_setup_as_getting_started_shows_it_passes(tmp_path: Path):
    page = tmp_path / "page.rst"
    experiment = f"experiment = {EXPERIMENT}"
    page.write_text(rst_block(IMPORTS, SETUP_COMMENT, TRACKING, MEMBER, experiment))
    assert setup_problems(page) == []


def test_an_example_file_a_page_shows_is_read_whole(tmp_path: Path):
    example = tmp_path / "train.py"
    example.write_text("\n".join(["import getpass", "import os", "", OLD_MEMBER, ""]))
    page = tmp_path / "page.rst"
    page.write_text(".. literalinclude:: train.py\n   :language: python\n")
    assert setup_problems(page) == [
        f"{example}:4: setup outside the block after {SETUP_COMMENT!r}: {OLD_MEMBER}"
    ]


def test_getting_started_shows_the_whole_setup():
    assert canonical() == (
        TRACKING,
        MEMBER,
        'experiment = mlflow.set_experiment(f"mlflow-guide-getting-started/{member}")',
    )


GUIDE_PAGES = [p for p in pages() if p.parent == GUIDE and p != SETUP_HOME]


@pytest.mark.parametrize("page", GUIDE_PAGES, ids=lambda p: p.name)
def test_every_example_of_the_guide_opens_with_the_one_setup(page: Path):
    assert setup_problems(page) == []


def test_the_lint_of_the_pages_runs_the_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    page = tmp_path / "page.rst"
    page.write_text(rst_block(IMPORTS, TRACKING, MEMBER, EXPERIMENT))
    monkeypatch.setattr(lint_pages, "GUIDE", tmp_path)
    monkeypatch.setattr(lint_pages, "unshown_examples", lambda _: [])
    assert any("setup outside the block" in p for p in lint_pages.lint([page]))
