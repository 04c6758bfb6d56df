"""The signing-in page from a member's machine: its examples, in the order the page shows
them, run by a Python that holds only what the page tells members to install
(tools/member_env.py), against the lab's deployment at its https address.

The member's machine trusts the lab's certificate authority as members' machines trust the
real one: here, the throwaway CA of the run, named in ``MLFLOW_TRACKING_SERVER_CERT_PATH``
(and ``REQUESTS_CA_BUNDLE`` for the page's ``requests`` call). The only other stand-in is
name resolution: a ``sitecustomize`` sends the lab's host, port 443, to nginx's loopback
port, and refuses every other name.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from labdocs.auth import Credentials, new_password, signed_in
from labdocs.deployment import Deployment, registry_environment
from labdocs.lab import LAB_HTTPS_HOST, LAB_HTTPS_TRACKING_URI, MLFLOW_VERSION, ROOT
from labdocs.members import colleague
from labdocs.session import NO_TELEMETRY

ENV_MEMBER_PYTHON = "DOCS_MEMBER_PYTHON"
PAGE = ROOT / "docs" / "guides" / "mlflow" / "signing-in.md"
# What every venv starts with (ensurepip, Python 3.11), not what a member installs.
BOOTSTRAP = {"pip", "setuptools"}
VISIBLE_PYTHON = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
SHIM = """\
import socket

_real_getaddrinfo = socket.getaddrinfo


def _lab_on_loopback(host, port, *args, **kwargs):
    if host == {host!r} and str(port) in ("443", "https"):
        return _real_getaddrinfo("127.0.0.1", {port}, *args, **kwargs)
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise OSError(f"the member's test machine resolves only the lab's host, not {{host}}")
    return _real_getaddrinfo(host, port, *args, **kwargs)


socket.getaddrinfo = _lab_on_loopback
"""


@pytest.fixture(scope="module")
def member_python() -> Path:
    """Built by `nox -s doctest` before the tests (DOCS_MEMBER_PYTHON); else built here,
    by pip trusting the registry's certificates, not the deployment's CA."""
    if os.environ.get(ENV_MEMBER_PYTHON):
        return Path(os.environ[ENV_MEMBER_PYTHON])
    built = subprocess.run(
        [sys.executable, "-m", "tools.member_env"],
        cwd=ROOT, env=registry_environment(), capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    if built.returncode != 0:
        pytest.fail(f"no member environment: {built.stderr[-3000:]}", pytrace=False)
    return Path(built.stdout.strip().splitlines()[-1])


def test_the_member_environment_holds_only_what_the_page_says(member_python: Path):
    """The page says `pip install "mlflow[auth]==<version>"`: the environment is its lock."""
    shown = re.findall(r'pip install "(mlflow\[auth\]==[^"]+)"', PAGE.read_text())
    assert shown == ["mlflow[auth]==|mlflow_version|"], shown
    installed = subprocess.run(
        [str(member_python), "-m", "pip", "freeze", "--all", "--exclude", "pip"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    lock = (ROOT / "requirements" / "member-signing-in.txt").read_text()
    assert re.search(rf"^mlflow=={re.escape(MLFLOW_VERSION)} ", lock, re.MULTILINE)
    assert names(installed) - BOOTSTRAP == names(lock) - BOOTSTRAP
    assert "flask-wtf" in names(installed)
    assert not {"pytest", "torch", "sybil"} & names(installed)


def names(requirements: str) -> set[str]:
    """The distributions pinned (name==version) in a freeze or a lock, normalized."""
    found = re.findall(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==", requirements, re.MULTILINE)
    return {re.sub(r"[-_.]+", "-", name).lower() for name in found}


def test_the_page_s_examples_run_from_a_member_s_machine(
    deployment: Deployment, member_python: Path, tmp_path: Path
):
    member = deployment.create_user("member-client")
    colleague(deployment, "asmith")  # the page shares an experiment with them
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(
        SHIM.format(host=LAB_HTTPS_HOST, port=deployment.https_port)
    )
    script = tmp_path / "member.py"
    script.write_text("\n".join(VISIBLE_PYTHON.findall(PAGE.read_text())))
    home = tmp_path / "home"
    home.mkdir()
    new = new_password()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "TMPDIR": str(tmp_path),
        "PYTHONPATH": str(shim),
        "MLFLOW_TRACKING_USERNAME": member.username,
        "MLFLOW_TRACKING_PASSWORD": member.password,
        "MLFLOW_TRACKING_SERVER_CERT_PATH": str(deployment.ca),
        "REQUESTS_CA_BUNDLE": str(deployment.ca),
        **NO_TELEMETRY,
    }
    done = subprocess.run(
        [str(member_python), str(script)],
        input=f"{member.password}\n{new}\n",  # getpass reads stdin without a terminal
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"'username': '{member.username}'" in done.stdout  # the users/current answer
    assert "Permission denied" in done.stdout  # the Default experiment refuses a run
    # The server holds what the page logged, and the new password is the member's now.
    with signed_in(Credentials(member.username, new)):
        client = MlflowClient(LAB_HTTPS_TRACKING_URI)
        experiment = client.get_experiment_by_name(f"mlflow-guide-signing-in/{member.username}")
        (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.metrics == {"accuracy": 0.9}


def test_without_the_auth_extra_the_page_s_error(member_python: Path):
    """Plain `pip install mlflow` lacks Flask-WTF: the sign-in client fails as the page
    quotes (Flask-WTF hidden from the member's Python, as if never installed)."""
    code = (
        "import sys; sys.modules['flask_wtf'] = None\n"
        "from mlflow.server import get_app_client\n"
        f"get_app_client('basic-auth', tracking_uri={LAB_HTTPS_TRACKING_URI!r})\n"
    )
    done = subprocess.run(
        [str(member_python), "-c", code],
        env={"PATH": os.environ["PATH"], **NO_TELEMETRY},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    error = done.stderr.strip().splitlines()[-1]
    quoted = re.search(r"fails with ``(ImportError: .*?)``", PAGE.read_text(), re.DOTALL)
    assert quoted, "the signing-in page quotes no ImportError"
    assert error == " ".join(quoted[1].split())
