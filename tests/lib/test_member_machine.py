"""The member's machine (member_machine.py): it reaches the lab's host at the deployment's
port and no other name, and writes the credentials file as the signing-in page does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from labdocs.lab import LAB_HTTPS_HOST
from labdocs.services.auth import Credentials
from tests.lib.member_machine import credentials_file, lab_on_loopback

RESOLVE = """\
import socket
print(socket.getaddrinfo({host!r}, 443)[0][4])
try:
    socket.getaddrinfo("pypi.org", 443)
except OSError as error:
    print(error)
"""


def test_the_lab_s_host_resolves_to_the_deployment_and_no_other_name(tmp_path: Path):
    shim = lab_on_loopback(tmp_path, 8443)
    done = subprocess.run(
        [sys.executable, "-c", RESOLVE.format(host=LAB_HTTPS_HOST)],
        env={"PYTHONPATH": str(shim)}, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert done.stdout.splitlines() == [
        "('127.0.0.1', 8443)",
        "the member's test machine resolves only the lab's host, not pypi.org",
    ]


def test_the_credentials_file_is_the_page_s_with_the_member_s_own(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text(
        "```ini\n[mlflow]\nmlflow_tracking_username = <your username>\n"
        "mlflow_tracking_password = <your password>\n```\n"
    )
    written = credentials_file(Credentials("jdoe", "s3cret"), page)
    assert written == (
        "[mlflow]\nmlflow_tracking_username = jdoe\nmlflow_tracking_password = s3cret\n"
    )
