"""Signing in, for the tests: credentials, the sign-in offer of the lab's deployment
(deployment.py) to the pages' checks, and MLflow's client signed in as someone.

Pages that sign in show placeholders, never credentials:
``export MLFLOW_TRACKING_PASSWORD='<your password>'``. When the tests run such a page, the
shell-export parser fills each placeholder in from ``SignInServer.placeholders`` (the page's
``deployment``): its generated admin, and a lab member created for this run. Delete a page's
export block and its examples run with no credentials, as a reader's would. Passwords are
generated for each run (``secrets``) and live in this process and the servers' folders only.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from labdocs.services.session import changed_environment

CREDENTIAL_VARIABLES = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")


def new_password() -> str:
    return secrets.token_urlsafe(18)  # 24 characters; the server wants at least 12


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = ""

    def __repr__(self) -> str:  # never print a password into a test report
        return f"Credentials({self.username!r}, password=...)"


class SignInServer:
    """What a server with sign-in offers the tests: its admin, its lab member (once ready),
    users made by the admin, and the placeholders pages export filled in with them."""

    url: str
    admin: Credentials
    member: Credentials | None

    @property
    def placeholders(self) -> dict[str, str]:
        """What the placeholders that pages export stand for, in this run."""
        if self.member is None:
            raise RuntimeError(f"the server at {self.url} is not ready (call wait_ready)")
        return {
            "<your username>": self.member.username,
            "<your password>": self.member.password,
            "<admin password>": self.admin.password,
        }

    def signed_in(self, who: Credentials | None):
        """See ``signed_in`` below: for the pages' hidden checks."""
        return signed_in(who)

    def create_user(self, username: str) -> Credentials:
        """A new user with a generated password, created by the admin."""
        from mlflow.server.auth.client import AuthServiceClient

        user = Credentials(username, new_password())
        with signed_in(self.admin):
            AuthServiceClient(self.url).create_user(user.username, user.password)
        return user


@contextmanager
def signed_in(who: Credentials | None) -> Iterator[None]:
    """MLflow's client signs in as ``who`` (or sends no credentials) inside the block; the
    credential variables are as before after it, whatever the block set them to."""
    changes: dict[str, str | None] = dict.fromkeys(CREDENTIAL_VARIABLES)
    if who is not None:
        changes |= {
            "MLFLOW_TRACKING_USERNAME": who.username,
            "MLFLOW_TRACKING_PASSWORD": who.password,
        }
    with changed_environment(changes):
        yield
