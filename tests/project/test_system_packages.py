"""The Debian packages each nox session needs (tools/system_packages.py): which, found here,
and, where nox may not install them, one command that would, at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from labdocs.pages import ROOT
from labdocs.services.session import ENV_SYSTEM_TMP
from tools import system_packages

SYSTEM_PYTHON = "/usr/bin/python3"  # readable by any user, unlike a Python under /root


def run(*args: str, env: dict[str, str] | None = None, user: str | None = None):
    if user:
        with readable_copy() as folder:
            argv = ["runuser", "-u", user, "--", SYSTEM_PYTHON, "-m", "tools.system_packages"]
            return _run([*argv, *args], folder, env)
    return _run([sys.executable, "-m", "tools.system_packages", *args], ROOT, env)


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None):
    return subprocess.run(
        argv, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


@contextmanager
def readable_copy() -> Iterator[Path]:
    """The tool and what it imports where another user can read them: a clone may lie
    where only its owner may pass (under /root), and so may this session's folder."""
    folder = Path(tempfile.mkdtemp(dir=os.environ.get(ENV_SYSTEM_TMP)))
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout  # the repository's files, as a clone has them
        for name in filter(None, listed.split("\0")):
            if (ROOT / name).is_file():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(ROOT / name, folder / name)
        for path in (folder, *folder.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield folder
    finally:
        shutil.rmtree(folder)


def test_which_packages_each_session_needs():
    assert run("--list", "docs").stdout.split() == ["chromium", "nodejs", "npm"]
    assert run("--list", "doctest").stdout.split() == [
        "chromium", "nodejs", "npm", "slurm-wlm", "munge", "nginx", "postgresql", "openssl",
        "tcpdump", "curl", "systemd",
    ]  # fmt: skip
    assert run("--list", "load").stdout.split() == [
        "nginx",
        "postgresql",
        "openssl",
        "tcpdump",
        "curl",
    ]
    assert "pngquant" in run("--list", "screenshots").stdout.split()


def test_every_session_that_needs_packages_sets_them_up():
    """noxfile.py asks for each session's packages at the session's start."""
    noxfile = (ROOT / "noxfile.py").read_text()
    for session in system_packages.SESSIONS:
        assert f'system_packages(session, "{session}")' in noxfile, session


def test_what_the_suite_needs_is_found_here():
    """This machine has them (as CI's does after its first run): nothing to do, nothing said."""
    done = run("doctest", "docs", "deployment-drills", env={system_packages.ENV_MODE: "check"})
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_where_it_may_not_install_it_stops_with_the_one_command():
    """Chromium missing (the one named is not there), installing not allowed: the command."""
    done = run(
        "docs", env={"DOCS_CHROMIUM": "/nonexistent/chromium", system_packages.ENV_MODE: "check"}
    )
    assert done.returncode == 1
    assert "nox -s docs needs Debian's chromium (Chromium, for the UI checks" in done.stderr
    assert "installs none here (DOCS_SYSTEM_PACKAGES=check)" in done.stderr
    commands = [line.strip() for line in done.stderr.splitlines() if "apt-get" in line]
    assert commands == ["apt-get update && apt-get install -y --no-install-recommends chromium"]


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("runuser") or not os.access(SYSTEM_PYTHON, os.X_OK),
    reason="needs root (to run as another user) and Debian's python3",
)
def test_a_user_who_may_not_install_gets_the_command_as_root():
    done = run("docs", env={"DOCS_CHROMIUM": "/nonexistent/chromium"}, user="nobody")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "not root, and no sudo without a password" in done.stderr
    assert "sudo apt-get install -y --no-install-recommends chromium" in done.stderr


def test_npm_is_asked_for_only_where_node_js_does_not_bring_its_own():
    """Debian's nodejs has no npm of its own: both. (NodeSource's provides npm and
    conflicts with Debian's npm: nodejs alone; nodejs_brings_npm reads that from apt.)"""
    if system_packages.nodejs_brings_npm():
        assert system_packages.packages([system_packages.NODE, system_packages.NPM]) == ["nodejs"]
    else:
        assert system_packages.packages([system_packages.NODE, system_packages.NPM]) == [
            "nodejs",
            "npm",
        ]
    assert system_packages.packages([system_packages.NPM]) == ["npm"]
