"""Every Python example on the site runs under pytest, through Sybil.

Pages (.rst and .md in docs/) run top to bottom, one namespace per page, against
the throwaway MLflow server of tests/doctest_plugin.py. See docs/contributing.md.
"""

from sybil import Sybil
from sybil.parsers import myst, rest

from tests.doc_parsers import (
    LiteralIncludeParser,
    ReasonedSkipParser,
    ShellExportParser,
    SilentSkipParser,
)

pytest_plugins = ["tests.doctest_plugin"]

# Each page gets the throwaway server (checks ask it what the page did) and a
# sandbox: its own temporary folder, environment and MLflow state.
PAGE_FIXTURES = ["mlflow_server", "page_sandbox"]


def _sybil(syntax, module, pattern):
    return Sybil(
        parsers=[
            module.PythonCodeBlockParser(),  # python blocks and invisible-code-block checks
            LiteralIncludeParser(syntax),
            ShellExportParser(syntax),
            ReasonedSkipParser(syntax),
            SilentSkipParser(syntax),
        ],
        patterns=[pattern],
        excludes=["_build/*", "_inventories/*"],
        fixtures=PAGE_FIXTURES,
        name=syntax,
    )


pytest_collect_file = (_sybil("rest", rest, "*.rst") + _sybil("myst", myst, "*.md")).pytest()
