"""The lint of the pages (tools/lint_pages.py): each fault it must find, at its page and line,
in seconds and without a server; and the site's own pages, clean."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from labdocs.lab import LAB_TRACKING_URI
from labdocs.pages import pages
from tools import lint_pages

FAULTS = {
    "capital.rst": (
        """
        .. code-block:: Python

           print("shown as Python, run by nobody")
        """,
        "capital.rst:2: a `Python` block is shown as Python but would not run",
    ),
    "py3.md": (
        """
        ```py3
        print("another spelling")
        ```
        """,
        "py3.md:2: a `py3` block is shown as Python but would not run",
    ),
    "literal.rst": (
        """
        Like this::

           import mlflow
           mlflow.log_metric("loss", 1.0)
        """,
        "literal.rst:4: a `::` literal block that is valid Python is silently skipped",
    ),
    "unreasoned.rst": (
        """
        .. skip: next

        .. code-block:: python

           1 / 0
        """,
        "unreasoned.rst:2: `skip: next` needs a reason",
    ),
    "missing.rst": (
        """
        .. literalinclude:: nowhere.py
        """,
        "missing.rst:2: literalinclude of a missing file: nowhere.py",
    ),
    "picture.rst": (
        """
        .. figure:: ui/absent.png
           :width: 100%
        """,
        "picture.rst:2: the picture absent.png has no :alt: text",
    ),
    "spelled.rst": (
        f"""
        Set {LAB_TRACKING_URI.replace("http://", "https://")} as the tracking URI.
        """,
        "spelled.rst:2: the lab's URL spelled https://mindgarage07",
    ),
    "link.rst": (
        """
        See [the docs](https://mlflow.org/docs/latest/).
        """,
        "link.rst:2: a Markdown link in reST renders as brackets",
    ),
}


@pytest.mark.parametrize("name", FAULTS)
def test_each_fault_is_found_at_its_page_and_line(tmp_path: Path, name: str):
    text, expected = FAULTS[name]
    page = tmp_path / name
    page.write_text(textwrap.dedent(text))
    found = lint_pages.page_problems(page) + lint_pages.spelling_problems(page)
    assert any(expected in problem for problem in found), found


def test_a_picture_without_its_file_is_found(tmp_path: Path):
    page = tmp_path / "page.rst"
    page.write_text(".. figure:: ui/absent.png\n   :alt: the runs table\n")
    assert lint_pages.page_problems(page) == [f"{page}:1: the picture absent.png is missing"]


def test_an_example_no_page_shows_is_found(tmp_path: Path):
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "shown.py").write_text("print(1)\n")
    (tmp_path / "examples" / "orphan.py").write_text("print(2)\n")
    page = tmp_path / "page.rst"
    page.write_text(".. literalinclude:: examples/shown.py\n")
    found = lint_pages.unshown_examples([page], tmp_path / "examples")
    assert found == [
        f"{tmp_path / 'examples' / 'orphan.py'}: no page shows it with literalinclude (nor runs it)"
    ]


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.name)
def test_the_sites_pages_are_clean(page: Path):
    assert lint_pages.page_problems(page) + lint_pages.spelling_problems(page) == []
