"""Every Python example on the site runs under pytest, through Sybil.

Pages (.rst and .md in docs/) run top to bottom, one namespace per page, against
the throwaway MLflow server of tests/doctest_plugin.py. See docs/contributing.md.
"""

from sybil import Sybil
from sybil.parsers import myst, rest
from sybil.sybil import SybilCollection

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


# Pages about signing in run against a second, authenticated server instead, and the
# placeholders they export ('<your password>') get the credentials generated for the run
# (tests/auth_server.py). Listed without suffix: they may be reST or MyST.
AUTH_PAGES = ["docs/guides/mlflow/signing-in", "docs/admin/*"]
AUTH_PAGE_FIXTURES = ["auth_server", "auth_page_sandbox"]


def auth_placeholders():
    from tests.doctest_plugin import auth_placeholders  # a plugin: imported by pytest first

    return auth_placeholders()


def _sybil(syntax, module, suffix, *, auth=False):
    auth_pages = [page + suffix for page in AUTH_PAGES]
    return Sybil(
        parsers=[
            module.PythonCodeBlockParser(),  # python blocks and invisible-code-block checks
            LiteralIncludeParser(syntax),
            ShellExportParser(syntax, placeholders=auth_placeholders if auth else None),
            ReasonedSkipParser(syntax),
            SilentSkipParser(syntax),
        ],
        patterns=auth_pages if auth else ["*" + suffix],
        excludes=["_build/*", "_inventories/*", *([] if auth else auth_pages)],
        fixtures=AUTH_PAGE_FIXTURES if auth else PAGE_FIXTURES,
        name=f"{syntax}-auth" if auth else syntax,
    )


pytest_collect_file = SybilCollection(
    _sybil(syntax, module, suffix, auth=auth)
    for syntax, module, suffix in [("rest", rest, ".rst"), ("myst", myst, ".md")]
    for auth in (False, True)
).pytest()
