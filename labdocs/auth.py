"""Signing in, for the tests: credentials generated per run, and MLflow's client signed in.

The authenticated server itself is the lab's deployment (deployment.py), started from the
admin page's own files. Its secret key, its admin's password and its members' passwords are
generated for each run (``secrets``): they live in this process, the server's environment
and the run's folder only; nothing is written into the repository.

Pages that sign in (``AUTH_PAGES`` in pages.py) show placeholders, never credentials:
``export MLFLOW_TRACKING_PASSWORD='<your password>'``. When the tests run such a page,
the shell-export parser fills each placeholder in from ``Deployment.placeholders`` (the
page's ``auth_server``): the generated admin, and a lab member created for this run. Delete a
page's export block and its examples run with no credentials, as a reader's would.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

CREDENTIAL_VARIABLES = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")


def new_password() -> str:
    return secrets.token_urlsafe(18)  # 24 characters; the server wants at least 12


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = ""

    def __repr__(self) -> str:  # never print a password into a test report
        return f"Credentials({self.username!r}, password=...)"


@contextmanager
def signed_in(who: Credentials | None) -> Iterator[None]:
    """MLflow's client signs in as ``who`` (or sends no credentials) inside the block."""
    saved = {name: os.environ.get(name) for name in CREDENTIAL_VARIABLES}
    for name in CREDENTIAL_VARIABLES:
        os.environ.pop(name, None)
    if who is not None:
        os.environ["MLFLOW_TRACKING_USERNAME"] = who.username
        os.environ["MLFLOW_TRACKING_PASSWORD"] = who.password
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
