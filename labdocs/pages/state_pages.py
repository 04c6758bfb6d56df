"""Pages as the tests read them for one state of the lab's server, as Sphinx renders them.

Sphinx drops the blocks of ``only`` directives whose tag is another state's, and writes the
state's address for the open one (labdocs/site/server_state.py). Sybil knows neither: a page of
this module's Document type (``page_type(state)``) reads the page with the state's address,
in its text and in the example files it runs (``read_included``, parsers.py), and leaves out
every region inside another state's ``only`` block. The addresses lie within a line: the
page's line numbers stay true.

``only`` blocks on other tags (``html``, say) are Sphinx's business: their examples run.
"""

from __future__ import annotations

import re
from pathlib import Path

from sybil import Document

from labdocs.lab import SERVER, SERVER_STATES, ServerState, as_the_server_is

STATE_TAGS = {state.tag for state in SERVER_STATES.values()}

# reST: the directive, then its body: every line indented deeper than it, or blank.
REST_ONLY = re.compile(
    r"^(?P<indent>[ \t]*)\.\. only::[ \t]*(?P<expression>\S[^\n]*)\n"
    r"(?P<body>(?:(?P=indent)[ \t]+[^\n]*\n|[ \t]*\n)*)",
    re.MULTILINE,
)
# MyST: a fence (``` or :::, as long as it is) named {only}, to the same fence alone on a line.
MYST_ONLY = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|:{3,})\{only\}[ \t]*(?P<expression>\S[^\n]*)\n"
    r"(?P<body>.*?)^[ \t]*(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
ONLY = {".rst": REST_ONLY, ".md": MYST_ONLY}
MYST_HEADING = re.compile(r"^#{1,6}[ \t]", re.MULTILINE)
# What is not prose in MyST: comments (Sybil's hidden checks), fenced code.
MYST_NOT_PROSE = re.compile(
    r"<!--.*?-->|^[ \t]*(?P<fence>`{3,}|~{3,}).*?^[ \t]*(?P=fence)", re.M | re.S
)


def _prose(text: str) -> str:
    return MYST_NOT_PROSE.sub("", text)


def other_state_spans(text: str, suffix: str, state: ServerState) -> list[tuple[int, int]]:
    """Where the page's ``only`` blocks of other states are: (start, end) offsets."""
    spans = []
    for match in ONLY[suffix].finditer(text):
        expression = match["expression"].strip()
        if expression not in STATE_TAGS:
            if any(tag in expression for tag in STATE_TAGS):
                raise ValueError(
                    f"`only:: {expression}`: a page forks on one state's tag alone "
                    f"({', '.join(sorted(STATE_TAGS))}), which the tests can read"
                )
            continue
        if suffix == ".md" and MYST_HEADING.search(_prose(match["body"])):
            raise ValueError(
                f"`{{only}} {expression}` holds a heading: MyST puts a heading and what follows "
                "it outside the block, where every state shows it. Put the heading outside."
            )
        if expression != state.tag:
            spans.append((match.start(), match.end()))
    return spans


class StatePage(Document):
    """A page read for ``state`` (set on the subclass that ``page_type`` makes)."""

    state: ServerState = SERVER

    @classmethod
    def parse(cls, path: str, *parsers, encoding: str = "utf-8") -> Document:
        document = cls(as_the_server_is(Path(path).read_text(encoding), cls.state), path)
        left_out = other_state_spans(document.text, Path(path).suffix, cls.state)
        for parser in parsers:
            for region in parser(document):
                if not any(start <= region.start < end for start, end in left_out):
                    document.add(region)
        return document

    @classmethod
    def read_included(cls, path: Path) -> str:
        return as_the_server_is(path.read_text(), cls.state)


def page_type(state: ServerState) -> type[StatePage]:
    """The Document type of pages read for ``state``."""
    return type(f"{state.name.capitalize()}ServerPage", (StatePage,), {"state": state})


def document_types(state: ServerState) -> dict[str, type[StatePage]]:
    """Sybil's ``document_types`` for pages of either syntax, read for ``state``."""
    page = page_type(state)
    return {suffix: page for suffix in ONLY}
