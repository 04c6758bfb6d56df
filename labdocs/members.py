"""The lab's members: who runs a page, and the member pages run again by the lab's members.

The lab is one long-lived server and many members running the same examples. So the
member pages (``MEMBER_PAGES``) run, besides their usual run, as two lab members one after
the other, signed in to the lab's deployment (deployment.py: the admin page's nginx with
TLS, MLflow and PostgreSQL; in a parallel session, the worker's): the first
(``deployment.MEMBER_USERNAME``), then a second one, whose examples must pass as the first
one's did, on a server that already holds the first one's experiments.

A member run reads the page as it is once the lab's server is secured, in either state of
the site (``PageAfterTheMove``, state_pages.py): the signing-in page promises that only the
address changes, so the page's plain address, in its examples and in the files it includes,
becomes the lab's https address, the blocks for the secured server run and those for the
open one do not, and the member's credentials are in the environment, as that page shows.
Once the lab's server is secured (``lab.SERVER``), the pages' reader signs in too, with an
account of their own (``READER_ACCOUNT``): their runs of every page not about signing in are
member runs, the first of each page. The plain
address reaches nothing during a member run: an example that still used it would fail. Each
run is a pytest File node of its own (``MemberPageRun``), so it gets its own sandbox, and its
items carry the member's name in their node ids.

In a member run, a page's namespace holds the member's world: ``mlflow_server`` and
``deployment`` are the deployment, asked as the member (the placeholders a page exports
become theirs), ``lab_member`` is who they are, and ``ui`` is a browser signed in as them,
trusting the deployment's throwaway certificate as members' browsers trust the lab's.

For the plain runs the reader is ``READER``, the name the pages show: the examples find
their member's name with ``getpass.getuser()`` there, which reads ``LOGNAME``.
"""

from __future__ import annotations

import dataclasses
import functools
import getpass
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from sybil import Sybil
from sybil.integration.pytest import SybilFile, SybilItem

from labdocs import network
from labdocs.auth import Credentials
from labdocs.browser import Browser
from labdocs.deployment import MEMBER_USERNAME, Deployment
from labdocs.lab import LAB_HTTPS_HOST, LAB_HTTPS_TRACKING_URI, LAB_TRACKING_URI, SECURED, SERVER
from labdocs.pages import ROOT, SYNTAX, is_auth_page, pages
from labdocs.parsers import parsers
from labdocs.sandbox import checked_sandbox
from labdocs.started import STARTED
from labdocs.state_pages import page_type
from labdocs.summary import outcomes, plural
from labdocs.ui import UI, stayed_on_loopback

# The name the pages show for the reader (``mlflow-guide-results/jdoe``): the login name
# of the plain runs' reader.
READER = "jdoe"
# The reader's account once the lab's server is secured: not READER, whom the admin page
# creates as its example of a new member on the same deployment.
READER_ACCOUNT = "reader"
SECOND_MEMBER_USERNAME = "second-member"
# The pages lab members follow, each of which logs runs. Relative, without suffix.
MEMBER_PAGES = [
    "docs/guides/mlflow/quick-start",
    "docs/guides/mlflow/getting-started",
    "docs/guides/mlflow/logging",
    "docs/guides/mlflow/common-tasks",
    "docs/guides/mlflow/finding-runs",
    "docs/guides/mlflow/model-registry",
    "docs/guides/mlflow/viewing-results",
    "docs/guides/mlflow/mmpose",
    "docs/guides/mlflow/notebooks",
    "docs/guides/mlflow/signing-in",
]


@dataclass(frozen=True)
class LabMember:
    """Who runs a page: the name its experiments end in, and how they sign in (if they do)."""

    name: str
    credentials: Credentials | None = None


def is_member_page(page: Path) -> bool:
    if not page.resolve().is_relative_to(ROOT):
        return False  # a page of a test's own, outside the site
    return str(page.resolve().relative_to(ROOT).with_suffix("")) in MEMBER_PAGES


_colleagues: dict[tuple[str, str], Credentials] = {}


def colleague(auth: Deployment, username: str) -> Credentials:
    """A member an admin created on this deployment: created on first use, the same after
    (deployments share the lab's URL: each is known by its folder)."""
    key = (str(auth.folder), username)
    if key not in _colleagues:
        _colleagues[key] = auth.create_user(username)
    return _colleagues[key]


# -- the plain runs' reader -----------------------------------------------------------


# DOCS_MEMBER_RUNS=off leaves the member runs out: tools/compatibility.py measures client
# and server versions, and the deployment runs the server under test, which before 3.5
# cannot run the lab's start script (--allowed-hosts).
ENV_MEMBER_RUNS = "DOCS_MEMBER_RUNS"


def configure(config: pytest.Config) -> None:
    """The plain runs' reader, and the member runs' collectors (plugin.py, at configure)."""
    # getpass.getuser() reads LOGNAME first: the plain runs' reader is the pages' jdoe.
    os.environ["LOGNAME"] = os.environ["USER"] = READER
    if os.environ.get(ENV_MEMBER_RUNS, "on") != "off":
        register_member_runs(config)
    elif SERVER.sign_in:  # the reader's runs are member runs: they cannot be left out
        config.pluginmanager.register(MemberRuns(READER_ACCOUNT, False, every_page=True), "reader")


@pytest.fixture(scope="module")
def lab_member(request: pytest.FixtureRequest) -> LabMember:
    """Who runs this page: on a sign-in page, the lab deployment's member; else READER."""
    if is_auth_page(Path(str(request.node.path))):
        deployment = request.getfixturevalue("deployment")
        return LabMember(deployment.member.username, deployment.member)
    return LabMember(getpass.getuser())


# -- the member runs ----------------------------------------------------------------------

MEMBER_RUN_FIXTURES = ["mlflow_server", "deployment", "member_page"]


# A page as it reads once the lab's server is secured (``lab.after_the_move``): its examples,
# and the files it includes, name the lab's https address; the blocks only the open server's
# readers see (``only:: server_open``) are left out, those of the secured server's run.
PageAfterTheMove = page_type(SECURED)


class MemberItem(SybilItem):
    """An example of a member run: its namespace holds the member's world (see above)."""

    def setup(self) -> None:
        super().setup()
        self.example.namespace.update(self.funcargs["member_page"])


class MemberPageRun(SybilFile):
    """One page, run by one lab member against the lab's deployment."""

    member_username: str

    def collect(self):
        for sybil in self.sybils:
            document = sybil.parse(self.path)
            self.documents.append(document)
            for example in document.examples():
                yield MemberItem.from_parent(self, sybil=sybil, example=example)


@dataclass(frozen=True)
class MemberRuns:
    """A collector plugin: every member page, run as ``username`` (one plugin per member);
    with ``every_page``, every page that is not about signing in (the reader's runs once
    the lab's server is secured)."""

    username: str
    also_sign_in_pages: bool  # the sign-in pages' own run is the first member's already
    every_page: bool = False

    def pytest_collect_file(self, file_path: Path, parent):
        if file_path.suffix not in SYNTAX:
            return None
        if self.every_page:
            if is_auth_page(file_path) or file_path.resolve() not in site_pages():
                return None
        elif not is_member_page(file_path):
            return None
        if is_auth_page(file_path) and not self.also_sign_in_pages:
            return None
        sybil = Sybil(
            parsers(SYNTAX[file_path.suffix]),
            patterns=[file_path.name],
            fixtures=MEMBER_RUN_FIXTURES,
            name=f"as {self.username}",
            document_types={file_path.suffix: PageAfterTheMove},
        )
        relative = file_path.resolve().relative_to(parent.config.rootpath)
        run = MemberPageRun.from_parent(
            parent, path=file_path, sybils=[sybil], nodeid=f"{relative}[as {self.username}]"
        )
        run.member_username = self.username
        return run


def register_member_runs(config: pytest.Config) -> None:
    """The member runs: the first member on the pages not about signing in, then the second
    member on all member pages. Once the lab's server is secured (``lab.SERVER``), the
    reader signs in too: READER_ACCOUNT's runs of every page not about signing in come first (the
    plain collectors of conftest.py leave those pages to them)."""
    # pluggy calls the last registered first: the second member is registered first, so
    # that each page's first member run is collected, and runs, before its second.
    config.pluginmanager.register(MemberRuns(SECOND_MEMBER_USERNAME, True), "members-second")
    config.pluginmanager.register(MemberRuns(MEMBER_USERNAME, False), "members-first")
    if SERVER.sign_in:
        config.pluginmanager.register(MemberRuns(READER_ACCOUNT, False, every_page=True), "reader")


@functools.cache
def site_pages() -> frozenset[Path]:
    return frozenset(page.resolve() for page in pages())


@pytest.fixture(scope="module")
def member_page(
    request: pytest.FixtureRequest, deployment: Deployment, ui_browser: Browser, tmp_path_factory
):
    """A member run's world: its sandbox, the member's credentials exported as the
    signing-in page says (unless the page signs in itself), the namespace entries that make
    the page the member's, and the plain address closed."""
    run: MemberPageRun = request.node
    page = Path(str(run.path))
    if run.member_username == MEMBER_USERNAME:
        credentials = deployment.member
    else:
        credentials = colleague(deployment, run.member_username)
    as_member = dataclasses.replace(deployment, member=credentials)
    # Playwright's sync API runs one instance per thread: the plain pages' Chromium stops
    # (it starts again if a plain page needs it), the member's own starts when needed.
    ui_browser.close()
    browser = SignedInBrowser(
        LAB_HTTPS_HOST,
        f"https://127.0.0.1:{deployment.https_port}",
        ui_browser.chromium,
        deployment.certificate_pin,
        credentials=credentials,
    )
    member_ui = MemberUI(browser, page, credentials.username)
    world = {
        "deployment": as_member,
        "mlflow_server": as_member,
        "lab_member": LabMember(credentials.username, credentials),
        "ui": member_ui,
    }
    folder = tmp_path_factory.mktemp("member-page")
    with stayed_on_loopback(browser):
        try:
            with (
                checked_sandbox(request.session, folder, "this page"),
                network.closed(LAB_TRACKING_URI),
            ):
                if not is_auth_page(page):  # those show the reader exporting them first
                    os.environ["MLFLOW_TRACKING_USERNAME"] = credentials.username
                    os.environ["MLFLOW_TRACKING_PASSWORD"] = credentials.password
                yield world
        finally:
            member_ui.close()
            browser.close()


# -- the member's browser ---------------------------------------------------------------


@dataclass
class SignedInBrowser(Browser):
    """Chromium whose contexts sign in to the lab's deployment as a member."""

    credentials: Credentials | None = None

    def new_context(self, **options):
        login = {"username": self.credentials.username, "password": self.credentials.password}
        return super().new_context(http_credentials=login, **options)


PAGE_MEMBER = re.compile(rf"(?<=/){READER}\b")


class MemberUI(UI):
    """The page's UI walk as a member: the page's ``.../jdoe`` names are the member's."""

    def __init__(self, browser: Browser, page_path: Path, member: str) -> None:
        super().__init__(browser, page_path, home=LAB_HTTPS_TRACKING_URI)
        self.member = member

    def as_member(self, text: str) -> str:
        return PAGE_MEMBER.sub(self.member, text)

    def find(self, name: str, where: str = ""):
        return super().find(self.as_member(name), where)

    def shows(self, *texts: str) -> None:
        super().shows(*map(self.as_member, texts))

    def picture(self, name: str, *, shows: list[str], sidebar: bool = False) -> Path:
        """What the picture shows is shown; the pictures themselves are the reader's."""
        self.shows(*shows)
        path = (self.page_path.parent / name).resolve()
        self.pictured.add(path)
        return path


# -- the closing line ---------------------------------------------------------------------


MEMBER_RUN = re.compile(r"\[as (?P<member>[^\]]+)\]::")


def write_summary(terminalreporter, config: pytest.Config) -> None:
    """A line per member: how the member runs went (in a parallel session too: the examples
    are the session's, plugin.py)."""
    outcome_of = outcomes(terminalreporter)
    runs: dict[str, Counter[str]] = {}
    pages: dict[str, set[str]] = {}
    for nodeid, _, page in config.stash[STARTED].examples:
        found = MEMBER_RUN.search(nodeid)
        if found is None:
            continue
        member = found["member"]
        runs.setdefault(member, Counter())[outcome_of.get(nodeid, "not run")] += 1
        pages.setdefault(member, set()).add(page)
    for member, counts in runs.items():
        line = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        terminalreporter.write_line(
            f"as {member}, signed in: "
            f"{plural(sum(counts.values()), 'example')} on {plural(len(pages[member]), 'page')}"
            f" ({line})"
        )


def second_member_last(items: list[pytest.Item]) -> None:
    """The second member comes after everyone else, as on a server where colleagues ran the
    pages first (a stable sort: each page keeps its order)."""
    items.sort(key=_is_second_member)


def _is_second_member(item: pytest.Item) -> bool:
    return isinstance(item, MemberItem) and item.parent.member_username == SECOND_MEMBER_USERNAME
