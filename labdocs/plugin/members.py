"""The lab's members as the pages' fixtures see them: who runs a page (``lab_member``), and
a member run's world (``member_page``), with the colleagues an admin created.

In a member run (member_runs.py), a page's namespace holds the member's world:
``mlflow_server`` and ``deployment`` are the deployment, asked as the member (the
placeholders a page exports become theirs), ``lab_member`` is who they are, and ``ui`` is a
browser signed in as them, trusting the deployment's throwaway certificate as members'
browsers trust the lab's. The plain address reaches nothing during a member run: an
example that still used it fails. For the plain runs the reader is ``READER``
(page_facts.py): the examples find their name with ``getpass.getuser()``.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from labdocs.browser.chromium import Browser
from labdocs.browser.member_browser import MemberUI, SignedInBrowser
from labdocs.browser.ui import stayed_on_loopback
from labdocs.lab import LAB_HTTPS_HOST
from labdocs.page_facts import MEMBER_USERNAME, is_auth_page
from labdocs.plugin.member_runs import MemberPageRun
from labdocs.plugin.sandbox import checked_sandbox
from labdocs.services import lab_address
from labdocs.services.auth import Credentials
from labdocs.services.deployment import Deployment


@dataclass(frozen=True)
class LabMember:
    """Who runs a page: the name its experiments end in, and how they sign in (if they do)."""

    name: str
    credentials: Credentials | None = None


_colleagues: dict[tuple[str, str], Credentials] = {}


def colleague(auth: Deployment, username: str) -> Credentials:
    """A member an admin created on this deployment: created on first use, the same after
    (deployments share the lab's URL: each is known by its folder)."""
    key = (str(auth.folder), username)
    if key not in _colleagues:
        _colleagues[key] = auth.create_user(username)
    return _colleagues[key]


@pytest.fixture(scope="module")
def lab_member(request: pytest.FixtureRequest) -> LabMember:
    """Who runs this page: on a sign-in page, the lab deployment's member; else READER."""
    if is_auth_page(Path(str(request.node.path))):
        deployment = request.getfixturevalue("deployment")
        return LabMember(deployment.member.username, deployment.member)
    return LabMember(getpass.getuser())


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
                lab_address.open_closed(),
            ):
                if not is_auth_page(page):  # those show the reader exporting them first
                    os.environ["MLFLOW_TRACKING_USERNAME"] = credentials.username
                    os.environ["MLFLOW_TRACKING_PASSWORD"] = credentials.password
                yield world
        finally:
            member_ui.close()
            browser.close()
