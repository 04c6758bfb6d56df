"""Sybil parsers for the site's pages, beyond Sybil's own code-block parsers.

Every region a parser yields carries a ``label``, the kind of example the run's summary
counts it as (``Labelled`` adds it to the regions of Sybil's own parsers).

- ``LiteralIncludeParser``: a ``literalinclude`` of a Python file from ``examples/``
  runs that file, at that place in the page, in the page's namespace. The file shown
  is the file tested.
- ``ShellExportParser``: ``export NAME=value`` lines of a shell block set that
  variable for the rest of the page, as they would in the reader's shell. A value like
  ``'<your password>'`` is replaced by the credential the page's ``auth_server`` made.
- ``ReasonedSkipParser``: Sybil's ``skip``, but a skip without a reason is an error.
- ``SilentSkipParser``: a block that the built site highlights as Python but that Sybil
  would skip (any spelling of Python but exactly ``python``: ``Python``, ``py3``,
  ``pycon``, ``ipython``...; or no language and valid Python) fails, naming its page and
  line.
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

# Pygments' Python lexers: what Sphinx highlights as Python. IPython's own lexers come
# with IPython, which the docs build lacks; its names are listed as well.
PYTHON_LEXERS = {"Python", "Python 2.x", "Python console session"}
IPYTHON_LANGUAGES = {"ipython", "ipython3", "ipython2", "ipythonconsole"}
SHELL_LANGUAGES = {"bash", "shell", "sh", "console", "shell-session"}


def _line_of(document: Document, position: int) -> int:
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
    code = compile(path.read_text(), str(path), "exec", dont_inherit=True)
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
                    f"{document.path}:{_line_of(document, region.start)}: "
                    f"literalinclude of a missing file: {target}"
                )
            yield region, path, region.lexemes.get("options") or {}

    def __call__(self, document: Document) -> Iterator[Region]:
        for region, path, options in self.included(document):
            if path.suffix == ".py" and options.get("language", "python") == "python":
                yield Region(region.start, region.end, path, _run_included_file)


# -- shell exports ---------------------------------------------------------------

EXPORT = re.compile(r"^\s*(?:\$\s+)?export\s+(?P<assignment>[A-Za-z_][A-Za-z0-9_]*=.*)$")


def _code_block_lexers(syntax: str, language: str) -> LexerCollection:
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
    auth_server = example.namespace.get("auth_server")
    if auth_server is None:
        raise AssertionError(
            f"{example.path}:{example.line}: exports {name}={placeholder}, but the page does "
            "not run against the authenticated server (AUTH_PAGES in labdocs/pages.py)"
        )
    values = auth_server.placeholders
    if placeholder not in values:
        raise AssertionError(
            f"{example.path}:{example.line}: the tests have no value for {placeholder} "
            f"(exported as {name}); they know {sorted(values)}"
        )
    return values[placeholder]


class ShellExportParser:
    """``export NAME=value`` in a shell block sets NAME for the rest of the page."""

    def __init__(self, syntax: str) -> None:
        self.lexers = _code_block_lexers(syntax, r".+")

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
                f"{document.path}:{_line_of(document, region.start)}: "
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
        self.lexers = _code_block_lexers(syntax, r"[^{\s]*")

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
