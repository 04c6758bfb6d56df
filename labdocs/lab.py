"""The lab's facts, written down once: its tracking server and the versions the site shows.

Pages show these literally (readers copy them); the tests redirect the lab's URI to their
throwaway server; ``conf.py`` hands them to Sphinx as substitutions. Importing this module
imports nothing heavy: the docs build, the lint and every script can read it.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]

# The lab's tracking server. tests/test_site.py fails if a page spells its host any other way.
LAB_TRACKING_URI = "http://mindgarage07.cs.uni-kl.de:8001"
# Its host:port, the Host header every request to it carries: a server standing in for the
# lab's must allow it (mlflow server --allowed-hosts).
LAB_HOST = urlsplit(LAB_TRACKING_URI).netloc
# The same server secured (docs/admin/tracking-server.md: nginx with TLS in front, PostgreSQL
# behind): the tests send it to their own deployment of examples/deploy/.
LAB_HTTPS_TRACKING_URI = "https://mindgarage07.cs.uni-kl.de"
LAB_HTTPS_HOST = urlsplit(LAB_HTTPS_TRACKING_URI).hostname


def after_the_move(text: str) -> str:
    """What a page or example says once the lab's server is secured: the signing-in page
    promises that only the address changes (credentials come from the environment)."""
    return text.replace(LAB_TRACKING_URI, LAB_HTTPS_TRACKING_URI)


# The MLflow version of the lab's tracking server. Nobody knows what the server runs today:
# it predates this site, and the lab's first guide (about 2023) suggests an MLflow 2. This is
# the version the admin page installs and the tests' throwaway server runs
# (requirements/server-<version>.txt). It is an assumption until an admin confirms it with the
# check the compatibility page shows members, and writes the answer here.
LAB_SERVER_MLFLOW_VERSION = "3.17.2"


def pinned_version(package: str) -> str:
    """The version requirements/doctest.txt pins: the one the examples are tested with."""
    text = (ROOT / "requirements" / "doctest.txt").read_text()
    match = re.search(rf"^{re.escape(package)}(\[[^\]]*\])?==(\S+)", text, re.MULTILINE)
    if match is None:
        raise ValueError(f"requirements/doctest.txt pins no version of {package}")
    return match.group(2)


MLFLOW_VERSION = pinned_version("mlflow")
MMENGINE_VERSION = pinned_version("mmengine")
