"""The authenticated throwaway server of the member runs (members.py), on loopback.

The member pages show the lab's plain address (``LAB_TRACKING_URI``, port 8001), which the
lab's deployment (deployment.py: nginx with TLS, at the https address) does not serve: the
member runs of those pages sign in to this server instead, MLflow's basic-auth on plain
http, started from ``member_server/lab_server.sh`` with ``member_server/basic_auth.ini``
(``servers.lab_script_command`` substitutes only the data folder, host, port and allowed
hosts). It is the tests' stand-in, not the lab's setup: the admin page's is examples/deploy/.

The secret key and the admin's password are generated for each run (``secrets``). They
live in this process and in the server's environment only: nothing is written into the
repository, and the config copied into the server's temporary folder holds no secret.

Pages that sign in (``AUTH_PAGES`` in pages.py) show placeholders, never credentials:
``export MLFLOW_TRACKING_PASSWORD='<your password>'``. When the tests run such a page,
the shell-export parser fills each placeholder in from ``AuthServer.placeholders`` (the
page's ``auth_server``): the generated admin, and a lab member created for this run. Delete a page's
export block and its examples run with no credentials, as a reader's would.
"""

from __future__ import annotations

import configparser
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from labdocs import lab
from labdocs.server_versions import find_mlflow
from labdocs.servers import ThrowawayServer, lab_script_command

ROOT = lab.ROOT
LAB_SERVER_SCRIPT = ROOT / "labdocs" / "member_server" / "lab_server.sh"
LAB_AUTH_CONFIG = ROOT / "labdocs" / "member_server" / "basic_auth.ini"
MEMBER_USERNAME = "lab-member"  # what '<your username>' becomes in the tests
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


@dataclass
class AuthServer(SignInServer):
    """The running authenticated server, its admin and (once ready) its lab member."""

    server: ThrowawayServer
    admin: Credentials
    member: Credentials | None = None

    @classmethod
    def start(cls, mlflow: str | None = None) -> AuthServer:
        """Launch labdocs/member_server/lab_server.sh in a temporary folder; return at once."""
        config = configparser.ConfigParser()
        config.read(LAB_AUTH_CONFIG)
        admin = Credentials(config["mlflow"]["admin_username"], new_password())
        server = ThrowawayServer.start(
            lab_script_command(LAB_SERVER_SCRIPT, mlflow or find_mlflow()),
            name="authenticated MLflow server (labdocs/member_server/lab_server.sh)",
            copy_in=(LAB_AUTH_CONFIG,),
            env={
                "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(32),
                "MLFLOW_AUTH_ADMIN_PASSWORD": admin.password,
            },
        )
        return cls(server, admin)

    @property
    def url(self) -> str:
        return self.server.url

    def wait_ready(self) -> float:
        """Wait for the server; on first call, create the lab member. Seconds since start."""
        seconds = self.server.wait_ready()
        if self.member is None:
            self.member = self.create_user(MEMBER_USERNAME)
        return seconds

    def stop(self) -> None:
        self.server.stop()  # the whole process group, then the temporary folder


@contextmanager
def signed_in(who: Credentials | None) -> Iterator[None]:
    """MLflow's client signs in as ``who`` (or sends no credentials) inside the block; the
    credential variables are as before after it, whatever the block set them to."""
    with pytest.MonkeyPatch.context() as patch:
        for name in CREDENTIAL_VARIABLES:
            # Set before deleted: MonkeyPatch records only what it changes, and deleting
            # an unset variable changes nothing, so a block that sets it would leak it.
            patch.setenv(name, "")
            patch.delenv(name)
        if who is not None:
            patch.setenv("MLFLOW_TRACKING_USERNAME", who.username)
            patch.setenv("MLFLOW_TRACKING_PASSWORD", who.password)
        yield
