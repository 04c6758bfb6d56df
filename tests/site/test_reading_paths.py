"""The reading paths (labdocs/site/reading_paths.py) and the built-site check that every page is
reached from the landing page and ends with where to go next (tools/check_built_site.py).

The site written below is what Sphinx and furo write, cut to what the check reads: the
landing page's article, each page's closing "Where next" section, a sidebar and a toctree
(whose links a reader following the text does not count).
"""

from __future__ import annotations

from pathlib import Path

from labdocs.pages import DOCS, pages
from labdocs.site.reading_paths import (
    ADMINS,
    LANDING,
    OTHER_GUIDES,
    PATHS,
    START,
    on_a_path,
    reading_paths,
    where_next,
)
from tools.check_built_site import check_reading_paths

DOCNAMES = [str(page.relative_to(DOCS).with_suffix("")) for page in pages()]


def test_every_page_of_the_site_is_on_a_reading_path():
    assert [name for name in DOCNAMES if name != LANDING and not on_a_path(name, DOCNAMES)] == []


def test_each_page_leads_on_along_every_path_it_is_on():
    slurm = "guides/mlflow/slurm"  # on the GPU path and the MMPose path, last on the latter
    assert where_next(slurm, DOCNAMES) == [(PATHS[1].title, "guides/mlflow/provenance")]
    # The end of the start opens every member's path.
    assert [page for _, page in where_next(START.pages[-1], DOCNAMES)] == [
        path.pages[0] for path in PATHS if path.pages[0].startswith("guides/")
    ]


def test_a_new_guide_or_admin_page_is_on_a_path_by_itself_a_guides_second_page_is_not():
    added = [*DOCNAMES, "guides/gpus/index", "guides/gpus/second", "admin/backups"]
    paths = {path.title: path.pages for path in reading_paths(added)}
    assert paths[OTHER_GUIDES] == ("guides/gpus/index",)
    assert paths[ADMINS][-1] == "admin/backups"
    assert not on_a_path("guides/gpus/second", added)


def page(title: str, article: str, where_next: str | None = None) -> str:
    closing = f'<section id="where-next"><h2>Where next</h2>{where_next}</section>'
    return (
        f'<html><body><div class="sidebar-tree"><a class="reference internal" href="c.html">C'
        f'</a></div><article role="main"><section><h1>{title}</h1>{article}'
        f"{closing if where_next is not None else ''}</section></article></body></html>"
    )


def link(href: str) -> str:
    return f'<a class="reference internal" href="{href}">{href}</a>'


def test_the_check_finds_a_page_no_path_reaches_and_a_page_that_ends_nowhere(tmp_path: Path):
    (tmp_path / "index.html").write_text(
        page(
            "Landing", link("a.html") + '<div class="toctree-wrapper">' + link("c.html") + "</div>"
        )
    )
    (tmp_path / "a.html").write_text(page("A", "", where_next=link("b.html")))
    (tmp_path / "b.html").write_text(page("B", link("a.html")))  # no "Where next"
    (tmp_path / "c.html").write_text(page("C", "", where_next=link("index.html")))
    assert check_reading_paths(tmp_path) == [
        "b.html: does not end with where to go next",
        "c.html: no link from the landing page's paths reaches it",
    ]
    (tmp_path / "b.html").write_text(page("B", "", where_next=link("c.html")))
    assert check_reading_paths(tmp_path) == []
