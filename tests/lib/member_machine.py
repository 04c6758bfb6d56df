"""A lab member's machine: a Python that holds only what a page tells members to install
(tools/member_env.py), running a page's examples as one script against the lab's deployment
at its https address, signed in as the signing-in page shows.

The member's machine trusts the lab's certificate authority as members' machines trust the
real one: here, the throwaway CA of the run, named in ``MLFLOW_TRACKING_SERVER_CERT_PATH``
(and ``REQUESTS_CA_BUNDLE`` for the signing-in page's ``requests`` call). The only other
stand-in is name resolution: a ``sitecustomize`` sends the lab's host, port 443, to nginx's
loopback port, and refuses every other name.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from labdocs.lab import LAB_HTTPS_HOST, MLFLOW_VERSION, ROOT
from labdocs.services.auth import Credentials
from labdocs.services.deployment import Deployment, registry_environment
from labdocs.services.progress import run_while_progressing
from labdocs.services.session import NO_TELEMETRY
from tools.unlocked import names

# A member's script imports torch and logs models (MLflow infers their requirements in a
# process of its own): 20 s on an idle machine, minutes beside other work. It is waited for
# while it, or a process it started, uses CPU time or writes; it has hung once it did
# neither for this long (waiting on a deployment that does not answer, say).
MEMBER_IDLE_S = 60.0
# The tests that run one: their bound is a hang of the test's own calls, not the script's.
RUNS_A_MEMBER_SCRIPT = pytest.mark.timeout(900)
# What every venv starts with (ensurepip, Python 3.11), not what a member installs.
BOOTSTRAP = {"pip", "setuptools"}
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


def member_python(name: str) -> Path:
    """The member environment ``name``: built by `nox -s doctest` before the tests, else
    here, by pip trusting the registry's certificates, not the deployment's CA."""
    built = subprocess.run(
        [sys.executable, "-m", "tools.member_env", name],
        cwd=ROOT, env=registry_environment(), capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    if built.returncode != 0:
        pytest.fail(f"no member environment {name}: {built.stderr[-3000:]}", pytrace=False)
    return Path(built.stdout.strip().splitlines()[-1])


def lab_on_loopback(folder: Path, https_port: int) -> Path:
    """The folder of the ``sitecustomize`` that resolves the lab's host to ``https_port``:
    for a member's ``PYTHONPATH``."""
    shim = folder / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SHIM.format(host=LAB_HTTPS_HOST, port=https_port))
    return shim


def run_as_member(
    name: str,
    script: str,
    deployment: Deployment,
    member: Credentials,
    folder: Path,
    credentials_file: str = "",
    **kwargs,
) -> subprocess.CompletedProcess:
    """``script`` run by the member environment ``name`` in ``folder``, signed in as
    ``member`` as the signing-in page shows: by the variables it exports, or, given the
    text of ``~/.mlflow/credentials`` (``credentials_file``), by that file alone; it must
    end well."""
    shim = lab_on_loopback(folder, deployment.https_port)
    (folder / "member.py").write_text(script)
    home = folder / "home"
    home.mkdir()
    signing_in = {
        "MLFLOW_TRACKING_USERNAME": member.username,
        "MLFLOW_TRACKING_PASSWORD": member.password,
    }
    if credentials_file:
        (home / ".mlflow").mkdir()
        (home / ".mlflow" / "credentials").write_text(credentials_file)
        (home / ".mlflow" / "credentials").chmod(0o600)
        signing_in = {}
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "TMPDIR": str(folder),
        "PYTHONPATH": str(shim),
        **signing_in,
        "MLFLOW_TRACKING_SERVER_CERT_PATH": str(deployment.ca),
        "REQUESTS_CA_BUNDLE": str(deployment.ca),
        **NO_TELEMETRY,
    }
    done = run_while_progressing(
        [str(member_python(name)), "member.py"], idle_s=MEMBER_IDLE_S, cwd=folder, env=env,
        **kwargs,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def credentials_file(member: Credentials, page: Path) -> str:
    """``~/.mlflow/credentials`` as ``page`` (the signing-in page) writes it, with the
    member's own username and password."""
    (shown,) = re.findall(r"```ini\n(.*?)```", page.read_text(), re.DOTALL)
    assert "<your password>" in shown
    return shown.replace("<your username>", member.username).replace(
        "<your password>", member.password
    )


def installed(name: str) -> set[str]:
    """The distributions in the member environment ``name``, normalized, without what
    every venv starts with."""
    frozen = subprocess.run(
        [str(member_python(name)), "-m", "pip", "freeze", "--all", "--exclude", "pip"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    return names(frozen) - BOOTSTRAP


def holds_only_what_the_page_says(name: str, page: Path, install_line: str) -> set[str]:
    """Check that ``page`` shows ``install_line``, that the lock of the member environment
    ``name`` (``requirements/member-<name>.txt``) pins the site's MLflow, and that the
    environment holds that lock and nothing else: what it holds, for the test's own checks."""
    assert install_line in page.read_text(), f"{page.name} no longer shows {install_line!r}"
    lock = (ROOT / "requirements" / f"member-{name}.txt").read_text()
    pinned = rf"^mlflow=={re.escape(MLFLOW_VERSION)} "
    assert re.search(pinned, lock, re.MULTILINE), f"the lock of {name} pins another MLflow"
    held = installed(name)
    locked = names(lock) - BOOTSTRAP
    assert held == locked, f"{name} holds {sorted(held - locked)}, lacks {sorted(locked - held)}"
    return held
