"""Sybil parsers for the site's pages, beyond Sybil's own code-block parsers.

Every region a parser yields carries a ``label``, the kind of example the run's summary
counts it as (``Labelled`` adds it to the regions of Sybil's own parsers).

- ``LiteralIncludeParser``: a ``literalinclude`` of a Python file from ``examples/``
  runs that file, at that place in the page, in the page's namespace. The file shown
  is the file tested.
- ``ShellExportParser``: ``export NAME=value`` lines of a shell block set that
  variable for the rest of the page, as they would in the reader's shell. A value like
  ``'<your password>'`` is replaced by the credential the page's ``deployment`` made.
- ``ReasonedSkipParser``: Sybil's ``skip``, but a skip without a reason is an error.
- ``SilentSkipParser``: a block that the built site highlights as Python but that Sybil
  would skip (any spelling of Python but exactly ``python``: ``Python``, ``py3``,
  ``pycon``, ``ipython``...; or no language and valid Python) fails, naming its page and
  line.
- ``GuiLabelParser`` and ``FigureParser``: what a page says of the MLflow UI, clicked and
  looked at in the page's browser tab (ui.py).

``parsers(syntax)`` lines them up, with Sybil's own, for a page of either syntax.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path

from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound
from sybil import Document, Example, Region
from sybil.parsers import myst, rest
from sybil.parsers.abstract.lexers import LexerCollection
from sybil.parsers.markdown.lexers import FencedCodeBlockLexer
from sybil.parsers.myst.lexers import DirectiveLexer as MystDirectiveLexer
from sybil.parsers.rest.lexers import DirectiveLexer as RestDirectiveLexer

from labdocs.browser.ui import UIError
from labdocs.lab import ROOT

# Pygments' Python lexers: what Sphinx highlights as Python. IPython's own lexers come
# with IPython, which the docs build lacks; its names are listed as well.
PYTHON_LEXERS = {"Python", "Python 2.x", "Python console session"}
IPYTHON_LANGUAGES = {"ipython", "ipython3", "ipython2", "ipythonconsole"}
SHELL_LANGUAGES = {"bash", "shell", "sh", "console", "shell-session"}


def page_name(path: str | Path) -> str:
    """A page's path as messages name it: from the repository's root, when it is inside."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def line_of(document: Document, position: int) -> int:
    return document.text.count("\n", 0, position) + 1


class Labelled:
    """A parser whose regions carry ``label``: a string, or a function of the region."""

    def __init__(self, parser, label: str | Callable[[Region], str]) -> None:
        self.parser = parser
        self.label = label

    def __call__(self, document: Document) -> Iterator[Region]:
        for region in self.parser(document):
            region.label = self.label(region) if callable(self.label) else self.label
            yield region


def python_block_label(region: Region) -> str:
    """Sybil's Python blocks: shown to readers, or hidden checks."""
    hidden = region.lexemes.get("directive") == "invisible-code-block"
    return "hidden checks" if hidden else "code blocks"


# -- literalinclude -------------------------------------------------------------


def _run_included_file(example: Example) -> None:
    path: Path = example.parsed
    # A page read another way reads its files so too (members.PageAfterTheMove).
    read = getattr(example.document, "read_included", Path.read_text)
    code = compile(read(path), str(path), "exec", dont_inherit=True)
    exec(code, example.namespace)
    example.namespace.pop("__builtins__", None)


class LiteralIncludeParser:
    """Run the Python files that pages show with ``literalinclude``."""

    def __init__(self, syntax: str) -> None:
        lexer = RestDirectiveLexer if syntax == "rest" else MystDirectiveLexer
        self.lexers = LexerCollection([lexer(directive="literalinclude", arguments=".+")])

    def included(self, document: Document) -> Iterator[tuple[Region, Path, dict]]:
        """Every file the page includes: (region, path, options)."""
        for region in self.lexers(document):
            target = region.lexemes["arguments"].strip()
            path = (Path(document.path).parent / target).resolve()
            if not path.is_file():
                raise ValueError(
                    f"{document.path}:{line_of(document, region.start)}: "
                    f"literalinclude of a missing file: {target}"
                )
            yield region, path, region.lexemes.get("options") or {}

    def __call__(self, document: Document) -> Iterator[Region]:
        for region, path, options in self.included(document):
            if path.suffix == ".py" and options.get("language", "python") == "python":
                yield Region(region.start, region.end, path, _run_included_file)


# -- shell exports ---------------------------------------------------------------

EXPORT = re.compile(r"^\s*(?:\$\s+)?export\s+(?P<assignment>[A-Za-z_][A-Za-z0-9_]*=.*)$")


def code_block_lexers(syntax: str, language: str) -> LexerCollection:
    """Code blocks of either syntax, with the language as the ``arguments`` lexeme."""
    directive = r"(sourcecode|code-block|code)"
    if syntax == "rest":
        return LexerCollection([RestDirectiveLexer(directive=directive, arguments=language)])
    return LexerCollection(
        [
            FencedCodeBlockLexer(language, mapping={"language": "arguments", "source": "source"}),
            MystDirectiveLexer(directive=directive, arguments=language),
        ]
    )


PLACEHOLDER = re.compile(r"<[^<>]+>")


def _apply_exports(example: Example) -> None:
    exports = dict(example.parsed)
    for name, value in exports.items():
        if PLACEHOLDER.fullmatch(value):  # pages show placeholders; the tests supply values
            exports[name] = _placeholder_value(example, name, value)
    os.environ.update(exports)


def _placeholder_value(example: Example, name: str, placeholder: str) -> str:
    deployment = example.namespace.get("deployment")  # the lab's, where the page signs in
    if deployment is None:
        raise AssertionError(
            f"{example.path}:{example.line}: exports {name}={placeholder}, but the page does "
            "not run against the lab's deployment (AUTH_PAGES in labdocs/page_facts.py)"
        )
    values = deployment.placeholders
    if placeholder not in values:
        raise AssertionError(
            f"{example.path}:{example.line}: the tests have no value for {placeholder} "
            f"(exported as {name}); they know {sorted(values)}"
        )
    return values[placeholder]


class ShellExportParser:
    """``export NAME=value`` in a shell block sets NAME for the rest of the page."""

    def __init__(self, syntax: str) -> None:
        self.lexers = code_block_lexers(syntax, r".+")

    def __call__(self, document: Document) -> Iterator[Region]:
        for region in self.lexers(document):
            if (region.lexemes.get("arguments") or "").strip() not in SHELL_LANGUAGES:
                continue
            exports = {}
            for line in str(region.lexemes["source"]).splitlines():
                match = EXPORT.match(line)
                if match:
                    name, value = shlex.split(match["assignment"])[0].split("=", 1)
                    exports[name] = value
            if exports:
                yield Region(region.start, region.end, exports, _apply_exports)


# -- skips that must say why -----------------------------------------------------


def _checked_skip_regions(parser, document: Document):
    for region in parser(document):
        action, reason = region.parsed
        if action in ("start", "next") and not (reason or "").strip():
            raise ValueError(
                f"{document.path}:{line_of(document, region.start)}: "
                f'`skip: {action}` needs a reason, e.g. skip: {action} "why it cannot run"'
            )
        yield region


class ReasonedSkipParser:
    def __init__(self, syntax: str) -> None:
        self.parser = rest.SkipParser() if syntax == "rest" else myst.SkipParser()

    def __call__(self, document: Document):
        return _checked_skip_regions(self.parser, document)


# -- Python that Sybil would not run --------------------------------------------


def _looks_like_python(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    # A lone name or constant ("output.txt", "mlflow") parses too, but is not code.
    return any(
        not (
            isinstance(node, ast.Expr)
            and isinstance(node.value, (ast.Name, ast.Attribute, ast.Constant))
        )
        for node in tree.body
    )


def highlighted_as_python(language: str) -> bool:
    """Whether the built site shows a block of this language as Python."""
    if language.lower() in IPYTHON_LANGUAGES:
        return True
    try:
        return get_lexer_by_name(language).name in PYTHON_LEXERS
    except ClassNotFound:
        return False


def _fail_silent_skip(example: Example) -> None:
    raise AssertionError(
        f"{example.path}:{example.line}: {example.parsed}. Sybil runs only blocks whose "
        "language is exactly `python`: mark it `python` (and make it run), or give it a "
        "language that is not Python (`text` for output)."
    )


# A reST paragraph ending in "::" (not a directive) followed by an indented block.
LITERAL_BLOCK = re.compile(
    r"^(?![ \t]*\.\. )[^\n]*::[ \t]*\n[ \t]*\n(?P<body>(?:[ \t]+\S[^\n]*\n|[ \t]*\n)+)",
    re.MULTILINE,
)


class SilentSkipParser:
    """Blocks that look like Python but would not be run: fail, naming page and line."""

    def __init__(self, syntax: str) -> None:
        self.syntax = syntax
        self.lexers = code_block_lexers(syntax, r"[^{\s]*")

    def __call__(self, document: Document):
        for region in self.lexers(document):
            language = (region.lexemes.get("arguments") or "").strip()
            source = str(region.lexemes["source"])
            if language and language != "python" and highlighted_as_python(language):
                why = f"a `{language}` block is shown as Python but would not run"
            elif not language and _looks_like_python(source):
                why = "a block with no language that is valid Python is silently skipped"
            else:
                continue
            yield Region(region.start, region.end, why, _fail_silent_skip)
        if self.syntax == "rest":
            for match in LITERAL_BLOCK.finditer(document.text):
                lines = match["body"].splitlines()
                indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
                if _looks_like_python("\n".join(line[indent:] for line in lines)):
                    why = "a `::` literal block that is valid Python is silently skipped"
                    yield Region(match.start("body"), match.end(), why, _fail_silent_skip)


# -- the MLflow UI, in a browser -------------------------------------------------------------------------------

GUILABEL = {
    "rest": re.compile(r":guilabel:`(?P<name>[^`]+)`"),
    "myst": re.compile(r"\{guilabel\}`(?P<name>[^`]+)`"),
}
PARAGRAPH = re.compile(r"(?:^[ \t]*\S.*(?:\n|$))+", re.MULTILINE)


def _label_text(raw: str) -> str:
    """What Sphinx shows for a guilabel: ``&`` marks an accelerator, ``&&`` is an ampersand."""
    return raw.replace("&&", "\0").replace("&", "").replace("\0", "&")


def _follow_labels(example: Example) -> None:
    ui = example.namespace["ui"]
    ui.follow(example.parsed, where=f"{page_name(example.path)}:{example.line}: ")


class GuiLabelParser:
    """Each paragraph or list item naming UI elements: click them, in order, in the browser."""

    def __init__(self, syntax: str) -> None:
        self.pattern = GUILABEL[syntax]

    def __call__(self, document: Document):
        for block in PARAGRAPH.finditer(document.text):
            if block.group().lstrip().startswith((".. ", "```", ":::")):
                continue  # a directive or comment, not prose
            names = [_label_text(m["name"]) for m in self.pattern.finditer(block.group())]
            if names:
                yield Region(block.start(), block.end(), names, _follow_labels)


FIGURE = {
    "rest": re.compile(
        r"^(?P<indent>[ \t]*)\.\. (?:figure|image):: (?P<file>ui/\S+\.png)[ \t]*\n"
        r"(?P<options>(?:(?P=indent)[ \t]+:.*\n)*)",
        re.MULTILINE,
    ),
    "myst": re.compile(
        r"^(?P<indent>[ \t]*)(?:```|:::)\{(?:figure|image)\} (?P<file>ui/\S+\.png)[ \t]*\n"
        r"(?P<options>(?:[ \t]*:.*\n)*)",
        re.MULTILINE,
    ),
}
ALT = re.compile(r"^[ \t]*:alt:[ \t]*(?P<alt>\S.*)$", re.MULTILINE)


def _check_figure(example: Example) -> None:
    path, has_alt = example.parsed
    where = f"{page_name(example.path)}:{example.line}"
    if not has_alt:
        raise UIError(f"{where}: the picture {path.name} has no :alt: text")
    if not path.is_file():
        raise UIError(f"{where}: the picture {path} is missing: run `nox -s screenshots`")
    ui = example.namespace["ui"]
    if path not in ui.pictured:
        raise UIError(
            f"{where}: nothing framed {path.name} before it on this page: a hidden "
            f'`ui.picture("ui/{path.name}", shows=[...])` must show the state it pictures'
        )


class FigureParser:
    """Each picture of the UI (``ui/*.png``): present, with alt text, and framed on the way."""

    def __init__(self, syntax: str) -> None:
        self.pattern = FIGURE[syntax]

    def __call__(self, document: Document):
        for match in self.pattern.finditer(document.text):
            path = (Path(document.path).parent / match["file"]).resolve()
            has_alt = ALT.search(match["options"]) is not None
            yield Region(match.start(), match.end(), (path, has_alt), _check_figure)


# -- the line-up --------------------------------------------------------------------


def parsers(syntax: str) -> list:
    """The parsers of a page in ``syntax`` ("rest" or "myst"), each labelled for the summary."""
    module = rest if syntax == "rest" else myst
    line_up = [
        Labelled(module.PythonCodeBlockParser(), python_block_label),
        Labelled(LiteralIncludeParser(syntax), "example files"),
        Labelled(ShellExportParser(syntax), "shell exports"),
        Labelled(ReasonedSkipParser(syntax), "skip markers"),
        Labelled(SilentSkipParser(syntax), "unrunnable blocks"),
        Labelled(GuiLabelParser(syntax), "UI instructions"),  # clicked in Chromium
        Labelled(FigureParser(syntax), "UI pictures"),  # present, and reached
    ]
    if syntax == "rest":  # a reST paragraph of ">>>" lines is a doctest block
        line_up.append(Labelled(rest.DocTestParser(), "doctests"))
    return line_up
