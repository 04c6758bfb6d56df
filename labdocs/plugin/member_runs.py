"""The member runs: each member page (page_facts.py) run again by two lab members, one
after the other, signed in to the lab's deployment (in a parallel session, the worker's):
their collectors, the page as it reads once the lab's server is secured, and their order.

A member run reads the page as it is once the lab's server is secured, in either state of
the site (``PageAfterTheMove``, state_pages.py): the signing-in page promises that only the
address changes, so the page's plain address, in its examples and in the files it includes,
becomes the lab's https address, and the blocks for the secured server run, those for the
open one do not. Each run is a pytest File node of its own (``MemberPageRun``), so it gets
its own sandbox (members.py), and its items carry the member's name in their node ids.
Once the lab's server is secured (``lab.SERVER``), the pages' reader signs in too, with an
account of their own: their runs of every page not about signing in are member runs.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from sybil import Sybil
from sybil.integration.pytest import SybilFile, SybilItem

from labdocs.lab import SECURED, SERVER
from labdocs.page_facts import (
    MEMBER_USERNAME,
    READER,
    READER_ACCOUNT,
    SECOND_MEMBER_USERNAME,
    is_auth_page,
    is_member_page,
)
from labdocs.pages import SYNTAX, pages
from labdocs.pages.parsers import parsers
from labdocs.pages.state_pages import page_type

# DOCS_MEMBER_RUNS=off leaves the member runs out: tools/compatibility.py measures client
# and server versions, and the deployment runs the server under test, which before 3.5
# cannot run the lab's start script (--allowed-hosts).
ENV_MEMBER_RUNS = "DOCS_MEMBER_RUNS"
MEMBER_RUN_FIXTURES = ["mlflow_server", "deployment", "member_page"]

# A page as it reads once the lab's server is secured (``lab.after_the_move``): its examples,
# and the files it includes, name the lab's https address; the blocks only the open server's
# readers see (``only:: server_open``) are left out, those of the secured server's run.
PageAfterTheMove = page_type(SECURED)


def configure(config: pytest.Config) -> None:
    """The plain runs' reader, and the member runs' collectors (plugin.py, at configure)."""
    # getpass.getuser() reads LOGNAME first: the plain runs' reader is the pages' jdoe.
    os.environ["LOGNAME"] = os.environ["USER"] = READER
    if os.environ.get(ENV_MEMBER_RUNS, "on") != "off":
        register_member_runs(config)
    elif SERVER.sign_in:  # the reader's runs are member runs: they cannot be left out
        config.pluginmanager.register(MemberRuns(READER_ACCOUNT, False, every_page=True), "reader")


class MemberItem(SybilItem):
    """An example of a member run: its namespace holds the member's world (members.py)."""

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


def in_running_order(items: list[pytest.Item]) -> None:
    """The files that need no deployment first, so that the session's deployment boots
    while they run (deployment_fixtures.py starts it when collection ends); then those
    that need it; the second member after everyone else, as on a server where colleagues
    ran the pages first. A stable sort of whole files: each keeps its items' order."""
    on_deployment = {_file(item) for item in items if "deployment" in _fixtures(item)}
    items.sort(key=lambda item: (_is_second_member(item), _file(item) in on_deployment))


def _file(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def _fixtures(item: pytest.Item) -> tuple[str, ...]:
    return tuple(getattr(item, "fixturenames", ()))


def _is_second_member(item: pytest.Item) -> bool:
    return isinstance(item, MemberItem) and item.parent.member_username == SECOND_MEMBER_USERNAME
