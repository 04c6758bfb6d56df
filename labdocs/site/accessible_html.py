"""What Sphinx and docutils write that screen readers and keyboards cannot use, made usable.

A Sphinx extension (``conf.py`` lists it), run on each page's HTML before the theme lays it
out (``html-page-context``, after furo has made its navigation tree):

- Toctree captions are ``<p class="caption" role="heading">`` with no ``aria-level``, which
  ARIA requires of a heading (a Sphinx bug, sphinx-doc/sphinx#14030): they get level 2, below
  the page's one ``h1``.
- Code keeps its lines as written, so a wide block scrolls sideways (at a phone's width,
  most do). A scrolling region that the keyboard cannot reach cannot be read without a
  mouse: each code block's ``pre`` becomes focusable, named by what it holds. Output
  (``text`` blocks) wraps instead (docs/_static/code-blocks.css) and is left alone.
- Table header cells say what they head: ``scope="col"`` in the header row, ``scope="row"``
  in the stub column.
- Pictures (screenshots drawn at twice their size) open full size on click, keep their
  place while they load (``width``/``height``: the page does not jump) and load only when
  the reader scrolls near them (``loading="lazy"``).

tools/check_accessibility.py (axe-core, ``nox -s docs``) proves the result on every page.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the tests use the functions below without Sphinx installed
    from sphinx.application import Sphinx

AFTER_THE_THEME = 900  # furo fills furo_navigation_tree at the default priority, 500

CAPTION = '<p class="caption" role="heading">'
CAPTION_WITH_LEVEL = '<p class="caption" role="heading" aria-level="2">'

# Pygments' block inside Sphinx's wrapper: <div class="highlight-LANG notranslate"><div
# class="highlight"><pre>. Sphinx writes no attributes on the pre.
CODE_BLOCK = re.compile(
    r'(<div class="highlight-(?P<language>[\w+-]+) notranslate">\s*<div class="highlight">)<pre>'
)
WRAPPED = {"text", "none"}  # code-blocks.css wraps these: they never scroll sideways
NAMES = {
    "python": "Python code",
    "python3": "Python code",
    "default": "Python code",  # Sphinx's default highlighting language
    "pycon": "Python session",
    "bash": "Shell commands",
    "console": "Shell session",
    "shell": "Shell commands",
    "sh": "Shell commands",
    "ini": "Configuration file",
    "toml": "Configuration file",
    "yaml": "Configuration file",
    "nginx": "nginx configuration",
    "sql": "SQL",
}

HEADER_CELL = re.compile(r'<th class="head(?P<more>[^"]*)">')
STUB_CELL = re.compile(r'<th class="stub">')


# Sphinx writes <img alt="..." src="../_images/name.png" /> for an image or a figure.
IMAGE = re.compile(r'<img alt="(?P<alt>[^"]*)" src="(?P<src>[^"]*_images/(?P<name>[^"/]+))" />')
LINKED = re.compile(r'<a [^>]*class="[^"]*image-reference[^"]*"[^>]*>\s*$')
PIXEL_RATIO = 2  # the pictures of the UI are drawn at twice the CSS pixels (browser.py)


def png_size(path: Path) -> tuple[int, int]:
    """A PNG's width and height, from its header."""
    header = path.read_bytes()[:24]
    if header[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    return struct.unpack(">II", header[16:24])


def sized_linked_lazy(html: str, files: dict[str, Path]) -> str:
    """Each ``<img>`` of a known PNG: sized, lazy, inside a link to itself."""

    def picture(match: re.Match) -> str:
        file = files.get(match["name"])
        if file is None or file.suffix != ".png":
            return match[0]
        width, height = (size // PIXEL_RATIO for size in png_size(file))
        img = (
            f'<img alt="{match["alt"]}" src="{match["src"]}" width="{width}" '
            f'height="{height}" loading="lazy" />'
        )
        if LINKED.search(html, 0, match.start()):
            return img
        return f'<a class="reference internal image-reference" href="{match["src"]}">{img}</a>'

    return IMAGE.sub(picture, html)


def code_name(language: str) -> str:
    return NAMES.get(language, f"{language} code")


def keyboard_reachable_code(html: str) -> str:
    def reachable(match: re.Match) -> str:
        language = match["language"]
        if language in WRAPPED:
            return match[0]
        name = code_name(language)
        return f'{match[1]}<pre tabindex="0" role="group" aria-label="{name}">'

    return CODE_BLOCK.sub(reachable, html)


TABLE_WRAPPER = re.compile(r'<div class="table-wrapper')
FIRST_HEADER = re.compile(r"<th[^>]*>(?:<p>)?(?P<text>[^<]*)")


def keyboard_reachable_tables(html: str) -> str:
    """furo wraps every table in a box that scrolls sideways when the table is wider than
    the page (a phone's): a keyboard reaches it, and a screen reader names it, by its first
    header cell (landmarks' names must differ on a page)."""
    seen: list[str] = []

    def reachable(match: re.Match) -> str:
        header = FIRST_HEADER.search(html, match.end())
        name = f"table: {header['text'].strip()}" if header else "table"
        seen.append(name)
        name = name if seen.count(name) == 1 else f"{name} ({seen.count(name)})"
        return f'<div tabindex="0" role="region" aria-label="{name}" class="table-wrapper'

    return TABLE_WRAPPER.sub(reachable, html)


def scoped_headers(html: str) -> str:
    html = HEADER_CELL.sub(lambda m: f'<th class="head{m["more"]}" scope="col">', html)
    return STUB_CELL.sub('<th class="stub" scope="row">', html)


def accessible(html: str) -> str:
    """A page body (or navigation tree) with the fixes above."""
    html = html.replace(CAPTION, CAPTION_WITH_LEVEL)
    return scoped_headers(keyboard_reachable_tables(keyboard_reachable_code(html)))


def on_page(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    for key in ("body", "furo_navigation_tree", "toc"):
        if isinstance(context.get(key), str):
            context[key] = accessible(context[key])
    if isinstance(context.get("body"), str):
        # builder.images: each image's source (relative to the sources) -> its name in _images
        files = {name: Path(app.srcdir, source) for source, name in app.builder.images.items()}
        context["body"] = sized_linked_lazy(context["body"], files)


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", on_page, priority=AFTER_THE_THEME)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
