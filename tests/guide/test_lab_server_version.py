"""The lab server's MLflow version (labdocs.lab.LAB_SERVER_MLFLOW_VERSION): the command that pages
show members and admins to check it works, and the tests' server runs that version."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from labdocs.lab import (
    LAB_HOST,
    LAB_HTTPS_TRACKING_URI,
    LAB_SERVER_MLFLOW_VERSION,
    LAB_TRACKING_URI,
)
from labdocs.services.server_versions import find_mlflow, mlflow_version

ROOT = Path(__file__).resolve().parents[2]
VERSION_COMMAND = f"curl {LAB_TRACKING_URI}/version"
# Once sign-in is on, /version asks for a username too (tests/admin/test_deployment.py runs these).
PAGES_WITH_IT = {
    "docs/guides/mlflow/compatibility.rst": [
        VERSION_COMMAND,
        f"curl -u <your username> {LAB_HTTPS_TRACKING_URI}/version",
    ],
    "docs/admin/tracking-server.md": [f"curl -u admin {LAB_HTTPS_TRACKING_URI}/version"],
}


def shown_commands(page: str) -> list[str]:
    return [
        line.strip()
        for line in (ROOT / page).read_text().splitlines()
        if line.strip().startswith("curl ") and line.strip().endswith("/version")
    ]


@pytest.mark.parametrize("page", PAGES_WITH_IT)
def test_pages_show_the_version_command(page):
    assert shown_commands(page) == PAGES_WITH_IT[page]


def test_the_version_command_prints_the_servers_version(mlflow_server):
    """Run as shown, with curl told to reach the lab's host:port on the throwaway server
    (no name lookup, the lab's Host header unchanged)."""
    route = [
        "--resolve", f"{LAB_HOST}:127.0.0.1",
        "--connect-to", f"{LAB_HOST}:127.0.0.1:{mlflow_server.port}",
        "--noproxy", "*", "--silent", "--show-error", "--max-time", "30",
    ]  # fmt: skip
    curl, *arguments = VERSION_COMMAND.split()
    done = subprocess.run([curl, *route, *arguments], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    expected = ".".join(map(str, mlflow_version(find_mlflow())))
    assert done.stdout.strip() == expected
    assert re.fullmatch(r"\d+\.\d+\.\d+", done.stdout.strip())


@pytest.mark.skipif(
    os.environ.get("DOCS_MLFLOW_SERVER", "lab") != "lab",
    reason="DOCS_MLFLOW_SERVER chose another server version for this run",
)
def test_the_tests_server_runs_the_lab_servers_version():
    assert mlflow_version(find_mlflow()) == tuple(map(int, LAB_SERVER_MLFLOW_VERSION.split(".")))
