"""Every Python example on the site runs under pytest, through Sybil.

Pages (.rst and .md in docs/) run top to bottom, one namespace per page, against the
throwaway MLflow server that labdocs/plugin/ starts. See docs/contributing.md.
"""

from sybil import Sybil
from sybil.sybil import SybilCollection

from labdocs.lab import SERVER
from labdocs.page_facts import AUTH_PAGES
from labdocs.pages import NOT_PAGES
from labdocs.pages.parsers import parsers
from labdocs.pages.state_pages import document_types

# One plugin (labdocs/plugin/): its hooks and, imported there, every fixture.
pytest_plugins = ["labdocs.plugin"]

# Each page gets the throwaway server (checks ask it what the page did), a sandbox (its
# own temporary folder, environment and MLflow state), a browser tab on the MLflow UI, and
# the lab member who runs it (its experiments are named after them).
PAGE_FIXTURES = ["mlflow_server", "page_sandbox", "ui", "lab_member"]
# Pages about signing in run against the lab's deployment instead (examples/deploy/:
# nginx with TLS, MLflow, PostgreSQL; deployment_fixtures.py), at the lab's https address, which
# they show; the placeholders they export ('<your password>') become the credentials it
# made for this session.
AUTH_PAGE_FIXTURES = ["mlflow_server", "deployment", "page_sandbox", "lab_member"]

rest_auth = [page + ".rst" for page in AUTH_PAGES]
myst_auth = [page + ".md" for page in AUTH_PAGES]

# Every page reads as the site renders it for the lab's server now (labdocs/lab.py
# SERVER_STATE, or DOCS_SERVER_STATE): that state's address, its `only` blocks and not the
# other state's (labdocs/pages/state_pages.py).
AS_THE_SERVER_IS = document_types(SERVER)

rest_pages = Sybil(
    parsers("rest"), patterns=["*.rst"], excludes=[*rest_auth, *NOT_PAGES],
    fixtures=PAGE_FIXTURES, name="rest", document_types=AS_THE_SERVER_IS,
)  # fmt: skip
myst_pages = Sybil(
    parsers("myst"), patterns=["*.md"], excludes=[*myst_auth, *NOT_PAGES],
    fixtures=PAGE_FIXTURES, name="myst", document_types=AS_THE_SERVER_IS,
)  # fmt: skip
rest_auth_pages = Sybil(
    parsers("rest"), patterns=rest_auth, fixtures=AUTH_PAGE_FIXTURES, name="rest-auth",
    document_types=AS_THE_SERVER_IS,
)  # fmt: skip
myst_auth_pages = Sybil(
    parsers("myst"), patterns=myst_auth, fixtures=AUTH_PAGE_FIXTURES, name="myst-auth",
    document_types=AS_THE_SERVER_IS,
)  # fmt: skip

# Once the server is secured, the reader signs in like every member: their runs of the
# pages not about signing in are member runs (labdocs/plugin/members.py), not these.
plain_pages = [] if SERVER.sign_in else [rest_pages, myst_pages]
pytest_collect_file = SybilCollection([*plain_pages, rest_auth_pages, myst_auth_pages]).pytest()
