"""The lab's facts, written down once: its tracking server and the versions the site shows.

Pages show these literally (readers copy them); the tests redirect the lab's URI to their
throwaway server; ``conf.py`` hands them to Sphinx as substitutions. Importing this module
imports nothing heavy: the docs build, the lint and every script can read it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]

# The lab's tracking server as it runs today, open, without sign-in: pages and example files
# write this address literally, and the build and the tests rewrite it into the address of the
# server's state (``as_the_server_is``). tests/site/test_site.py fails if a page spells its host
# any other way.
LAB_TRACKING_URI = "http://mindgarage07.cs.uni-kl.de:8001"
# Its host:port, the Host header every request to it carries: a server standing in for the
# lab's must allow it (mlflow server --allowed-hosts).
LAB_HOST = urlsplit(LAB_TRACKING_URI).netloc
# The same server secured (docs/admin/tracking-server.md: nginx with TLS in front, PostgreSQL
# behind): the tests send it to their own deployment of examples/deploy/.
LAB_HTTPS_TRACKING_URI = "https://mindgarage07.cs.uni-kl.de"
LAB_HTTPS_HOST = urlsplit(LAB_HTTPS_TRACKING_URI).hostname


@dataclass(frozen=True)
class ServerState:
    """What members meet at the lab's server: its address, whether it asks them to sign in,
    and its MLflow version (None: nobody has confirmed it)."""

    name: str
    tracking_uri: str
    sign_in: bool
    mlflow_version: str | None

    @property
    def tag(self) -> str:
        """The Sphinx tag of this state (conf.py): pages write ``.. only:: server_open``."""
        return f"server_{self.name}"


OPEN = ServerState("open", LAB_TRACKING_URI, sign_in=False, mlflow_version=None)
# After the admin page's move: the admin page installs this version.
SECURED = ServerState("secured", LAB_HTTPS_TRACKING_URI, sign_in=True, mlflow_version="3.17.2")
SERVER_STATES = {state.name: state for state in (OPEN, SECURED)}

# THE setting: the state of the lab's server now. Every page renders for it alone. The admins'
# last step of the move (docs/admin/tracking-server.md) sets it to "secured".
SERVER_STATE = "open"
# Overrides SERVER_STATE for a build or a test run: DOCS_SERVER_STATE=secured nox -s docs.
ENV_SERVER_STATE = "DOCS_SERVER_STATE"


def server_state(environ: Mapping[str, str] = os.environ) -> ServerState:
    """The state the site is built and tested for: ``SERVER_STATE``, or the environment's."""
    name = environ.get(ENV_SERVER_STATE) or SERVER_STATE
    if name not in SERVER_STATES:
        raise ValueError(
            f"{ENV_SERVER_STATE}={name!r}: the lab's server is one of {sorted(SERVER_STATES)}"
        )
    return SERVER_STATES[name]


SERVER = server_state()


def as_the_server_is(text: str, state: ServerState = SERVER) -> str:
    """What a page or example file says for ``state``: its lab address is that state's.
    Credentials never appear (they come from the environment or the credentials file)."""
    return text.replace(LAB_TRACKING_URI, state.tracking_uri)


def after_the_move(text: str) -> str:
    """What a page or example says once the lab's server is secured: the signing-in page
    promises that only the address changes (credentials come from the environment)."""
    return as_the_server_is(text, SECURED)


# The MLflow version the tests' servers run (requirements/server-<version>.txt): the secured
# server's, which the admin page installs. Nobody knows what the open server runs: it
# predates this site, and the lab's first guide (about 2023) suggests an MLflow 2; an admin
# who confirms it with the check of the compatibility page writes it into OPEN above.
LAB_SERVER_MLFLOW_VERSION = SECURED.mlflow_version


def pinned_version(package: str) -> str:
    """The version requirements/doctest.txt pins: the one the examples are tested with."""
    text = (ROOT / "requirements" / "doctest.txt").read_text()
    match = re.search(rf"^{re.escape(package)}(\[[^\]]*\])?==(\S+)", text, re.MULTILINE)
    if match is None:
        raise ValueError(f"requirements/doctest.txt pins no version of {package}")
    return match.group(2)


MLFLOW_VERSION = pinned_version("mlflow")
MMENGINE_VERSION = pinned_version("mmengine")
