"""The member's browser: Chromium signed in to the lab's deployment, and the page's UI walk
with the page's ``.../jdoe`` names read as the member's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from labdocs.browser.chromium import Browser
from labdocs.browser.ui import UI
from labdocs.lab import LAB_HTTPS_TRACKING_URI
from labdocs.page_facts import READER
from labdocs.services.auth import Credentials


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
