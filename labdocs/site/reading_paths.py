"""The site's reading paths, one per kind of reader, and the "Where next" at the end of a page.

A Sphinx extension (``conf.py`` lists it). The paths are written once, here: the landing
page shows them (``reading-paths`` directive) and every page on them ends with a "Where next"
section naming the next page of each path it is on. A page on no path is a build warning
(a failure under ``-W``): a reader would only find it in the sidebar.
``tools/check_built_site.py`` checks the built result: every page reached by links from the
landing page, every page ending with where to go next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the tests use the paths without Sphinx
    from sphinx.application import Sphinx


@dataclass(frozen=True)
class ReadingPath:
    title: str
    pages: tuple[str, ...]  # docnames, in reading order


GUIDE = "guides/mlflow/"
ADMINS = "Running the lab's server (admins)"


def _guide(*pages: str) -> tuple[str, ...]:
    return tuple(GUIDE + page for page in pages)


# Every member reads these first; each path below goes on from them.
START = ReadingPath(
    "Everyone: start here", _guide("index", "getting-started", "quick-start", "viewing-results")
)
PATHS = (
    ReadingPath(
        "On your laptop or in a notebook",
        _guide(
            "logging",
            "common-tasks",
            "provenance",
            "finding-runs",
            "model-registry",
            "notebooks",
            "signing-in",
            "troubleshooting",
        ),
    ),
    ReadingPath(
        "Training on the lab's GPU machines under Slurm",
        _guide(
            "training-habits",
            "slurm",
            "provenance",
            "several-processes",
            "server-away",
            "sweeps",
            "lightning",
        ),
    ),
    ReadingPath("Training with MMPose or MMEngine", _guide("mmpose", "mmengine-resume", "slurm")),
    ReadingPath(ADMINS, ("admin/tracking-server", f"{GUIDE}compatibility")),
    ReadingPath("Adding a guide to this site", ("contributing",)),
)
LANDING = "index"
# Pages added later are on a path by themselves: a guide's index page (docs/guides/<name>/)
# on "Other guides", an admin page on the admins' path. A guide's further pages go on a
# path above.
OTHER_GUIDES = "Other guides"
A_GUIDE = re.compile(r"guides/[^/]+/index")
AN_ADMIN_PAGE = re.compile(r"admin/.+")


def reading_paths(docnames) -> tuple[ReadingPath, ...]:
    """Every path, the start first, with the pages of the site (``docnames``) that are on a
    path by themselves."""
    listed = {page for path in (START, *PATHS) for page in path.pages}
    unlisted = sorted(set(docnames) - listed)
    paths = [START]
    for path in PATHS:
        if path.title == ADMINS:
            path = ReadingPath(
                ADMINS, path.pages + tuple(d for d in unlisted if AN_ADMIN_PAGE.fullmatch(d))
            )
        paths.append(path)
    guides = tuple(d for d in unlisted if A_GUIDE.fullmatch(d))
    return (*paths, *([ReadingPath(OTHER_GUIDES, guides)] if guides else []))


def on_a_path(docname: str, docnames) -> bool:
    return any(docname in path.pages for path in reading_paths(docnames))


def where_next(docname: str, docnames) -> list[tuple[str, str]]:
    """(why, docname) pairs: where a reader of ``docname`` goes next, one per path it is on."""
    start, *paths = reading_paths(docnames)
    if docname in start.pages:
        at = start.pages.index(docname)
        if at + 1 < len(start.pages):
            return [("Next", start.pages[at + 1])]
        return [(path.title, path.pages[0]) for path in paths if path.pages[0].startswith(GUIDE)]
    found = []
    for path in paths:
        if docname in path.pages[:-1]:
            found.append((path.title, path.pages[path.pages.index(docname) + 1]))
    return found


# -- Sphinx ------------------------------------------------------------------------------


def _link(docname: str, target: str, text: str | None = None):
    """A link to a page, named by its title unless ``text`` names it."""
    from docutils import nodes
    from sphinx import addnodes

    reference = addnodes.pending_xref(
        "", refdomain="std", reftype="doc", reftarget="/" + target,
        refexplicit=text is not None, refdoc=docname, refwarn=True,
    )  # fmt: skip
    reference += nodes.inline("", text or target)
    return reference


def _path_list(docname: str, path: ReadingPath):
    from docutils import nodes

    listing = nodes.enumerated_list()
    for page in path.pages:
        listing += nodes.list_item("", nodes.paragraph("", "", _link(docname, page)))
    return listing


def _add_where_next(app: Sphinx, doctree) -> None:
    from docutils import nodes

    docname = app.env.docname
    if docname == LANDING:
        return
    if not on_a_path(docname, app.env.found_docs):
        from sphinx.util import logging

        logging.getLogger(__name__).warning(
            "%s is on no reading path (labdocs/site/reading_paths.py): no link leads a reader to it",
            docname, location=docname,
        )  # fmt: skip
        return
    top = next(iter(doctree.findall(nodes.section)), None)
    if top is None:
        return
    section = nodes.section(ids=["where-next"], names=["where next"])
    section += nodes.title("", "Where next")
    items = nodes.bullet_list()
    for why, page in where_next(docname, app.env.found_docs):
        paragraph = nodes.paragraph("", f"{why}: ")
        paragraph += _link(docname, page)
        items += nodes.list_item("", paragraph)
    back = nodes.paragraph("", "Another path: see ")
    back += _link(docname, LANDING, "the landing page")
    back += nodes.Text(".")
    items += nodes.list_item("", back)
    section += items
    top += section


def _paths_directive():
    from docutils import nodes
    from sphinx.util.docutils import SphinxDirective

    class ReadingPaths(SphinxDirective):
        """The landing page's paths: the start, then one list per kind of reader."""

        def run(self):
            docname = self.env.docname
            result = []
            for path in reading_paths(self.env.found_docs):
                result.append(nodes.rubric("", path.title))
                result.append(_path_list(docname, path))
            return result

    return ReadingPaths


def _all_pages_when_pages_come_or_go(app: Sphinx, env, added, changed, removed) -> list[str]:
    """A page added or removed changes the paths around it, and the landing page's list:
    every page is read again (a warm build would keep their old "Where next")."""
    return sorted(env.found_docs - set(added)) if added or removed else []


def _pages_whose_neighbours_moved(app: Sphinx, env) -> list[str]:
    """Pages whose place in the toctrees changed are written again: Sphinx writes only the
    pages it read, and a page kept from the last build would keep its old Next link."""
    relations = env.collect_relations()
    before = getattr(env, "labdocs_relations", None)
    env.labdocs_relations = relations
    if before is None:
        return []
    return [page for page, around in relations.items() if before.get(page) != around]


def setup(app: Sphinx) -> dict:
    app.add_directive("reading-paths", _paths_directive())
    # The paths themselves: when they change, Sphinx reads every page again.
    app.add_config_value("labdocs_reading_paths", repr((START, PATHS)), "env")
    app.connect("env-get-outdated", _all_pages_when_pages_come_or_go)
    app.connect("env-get-updated", _pages_whose_neighbours_moved)
    # After the table-of-contents collector (priority 500): the section ends the page but is
    # no chapter of it, in the sidebar or the page's contents.
    app.connect("doctree-read", _add_where_next, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
