"""Every Python example on the site runs under pytest, through Sybil.

Pages (.rst and .md in docs/) run top to bottom, one namespace per page, against the
throwaway MLflow server of labdocs/. See docs/contributing.md.
"""

from sybil import Sybil
from sybil.sybil import SybilCollection

from labdocs.pages import AUTH_PAGES, NOT_PAGES, parsers

pytest_plugins = [
    "labdocs.plugin",
    "labdocs.ui_plugin",  # ui_plugin: issue 13
    "labdocs.slurm_plugin",  # a throwaway Slurm, for the trainings run as batch jobs
]

# Each page gets the throwaway server (checks ask it what the page did) and a sandbox:
# its own temporary folder, environment and MLflow state.
PAGE_FIXTURES = ["mlflow_server", "page_sandbox", "ui"]  # ui: the page's browser tab (issue 13)
# Pages about signing in run against the authenticated server instead; the placeholders
# they export ('<your password>') become the credentials it made for this run.
AUTH_PAGE_FIXTURES = ["mlflow_server", "auth_server", "auth_page_sandbox"]

rest_auth = [page + ".rst" for page in AUTH_PAGES]
myst_auth = [page + ".md" for page in AUTH_PAGES]

rest_pages = Sybil(
    parsers("rest"), patterns=["*.rst"], excludes=[*rest_auth, *NOT_PAGES],
    fixtures=PAGE_FIXTURES, name="rest",
)  # fmt: skip
myst_pages = Sybil(
    parsers("myst"), patterns=["*.md"], excludes=[*myst_auth, *NOT_PAGES],
    fixtures=PAGE_FIXTURES, name="myst",
)  # fmt: skip
rest_auth_pages = Sybil(
    parsers("rest"), patterns=rest_auth, fixtures=AUTH_PAGE_FIXTURES, name="rest-auth"
)
myst_auth_pages = Sybil(
    parsers("myst"), patterns=myst_auth, fixtures=AUTH_PAGE_FIXTURES, name="myst-auth"
)

pytest_collect_file = SybilCollection(
    [rest_pages, myst_pages, rest_auth_pages, myst_auth_pages]
).pytest()
