"""The Debian packages each nox session needs: found, installed, or asked for in one line.

``python -m tools.system_packages SESSION...`` (noxfile.py runs it at each session's start;
.ci/run and the workflows run the sessions) looks for what the sessions need. What is
missing is installed with ``apt-get`` where this process may (root, or passwordless sudo;
apt-get there); where it may not, or ``DOCS_SYSTEM_PACKAGES=check`` says not to, it stops
at once with the one command that would, and exits 1. ``--list`` prints the packages the
sessions need, found or not.

Side effects of Debian's packages, which the tests neither use nor collide with: installing
``nginx`` starts Debian's nginx on port 80, and ``postgresql`` its cluster on port 5432;
the tests start their own, on ports of their own, from their own folders. On a machine
where they are unwanted: ``systemctl disable --now nginx postgresql``.

Standard library only: it runs in nox's Python, before any environment exists.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

ENV_MODE = "DOCS_SYSTEM_PACKAGES"  # "install" (the default) or "check": never install
# Debian keeps daemons in sbin, which a user's PATH may lack.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


@dataclass(frozen=True)
class Need:
    """Something a session uses, how it is found, and the Debian package that brings it."""

    what: str  # said to people
    package: str
    commands: tuple[str, ...] = ()  # each on PATH (or in sbin)
    paths: tuple[str, ...] = ()  # a glob: one match is enough
    finder: Callable[[], bool] | None = None  # instead of commands and paths

    def found(self) -> bool:
        if self.finder is not None:
            return self.finder()
        commands = all(shutil.which(c, path=SEARCH_PATH) for c in self.commands)
        return commands and all(glob.glob(pattern) for pattern in self.paths)


def _a_chromium() -> bool:
    """The one the tests would drive (labdocs/browser/chromium.py): DOCS_CHROMIUM, on PATH, or
    Playwright's own."""
    from labdocs.browser.chromium import NoBrowser, find_chromium

    try:
        find_chromium()
    except NoBrowser:
        return False
    return True


CHROMIUM = Need("Chromium, for the UI checks and the built site's", "chromium", finder=_a_chromium)
NODE = Need("Node.js, for the built site's checkers (axe-core, html-validate)", "nodejs", ("node",))
NPM = Need("npm, which installs those checkers", "npm", ("npm",))
SLURM = Need(
    "a Slurm, for the training pages' jobs", "slurm-wlm", ("slurmctld", "slurmd", "sbatch")
)
MUNGE = Need("munge, Slurm's authentication", "munge", ("munged",))
NGINX = Need("nginx, the lab deployment's TLS front", "nginx", ("nginx",))
# Debian's PostgreSQL of its release (15 on Debian 12): the deployment finds its version.
POSTGRESQL = Need("PostgreSQL, the lab deployment's database", "postgresql", paths=("/usr/lib/postgresql/*/bin/initdb",))  # fmt: skip
OPENSSL = Need("openssl, the deployment's throwaway CA", "openssl", ("openssl",))
TCPDUMP = Need("tcpdump, which checks that no password crosses the network in clear", "tcpdump", ("tcpdump",))  # fmt: skip
CURL = Need("curl, as the admin page uses it", "curl", ("curl",))
SYSTEMD = Need(
    "systemd-analyze, which rates the admin page's unit", "systemd", ("systemd-analyze",)
)
PNGQUANT = Need("pngquant, which writes the UI's pictures light", "pngquant", ("pngquant",))

SITE = [CHROMIUM, NODE, NPM]
DEPLOYMENT = [NGINX, POSTGRESQL, OPENSSL, TCPDUMP, CURL]
DOCTEST = [*SITE, SLURM, MUNGE, *DEPLOYMENT, SYSTEMD]  # systemd-analyze rates the unit
# What each session needs. Sessions not named need nothing of Debian's (lint, lock, ...);
# those that start nox again (deployment-drills, kill-drill, screenshots) name what their
# nox runs need, so that they stop before starting it.
SESSIONS: dict[str, list[Need]] = {
    "docs": SITE,
    "docs-published": SITE,
    "doctest": DOCTEST,
    "deployment-drills": DOCTEST,
    "kill-drill": DOCTEST,
    "mmpose": DOCTEST,
    "screenshots": [*DOCTEST, PNGQUANT],
    "compatibility": DOCTEST,
    "bench": DOCTEST,
    "load": DEPLOYMENT,
}


def needs(sessions: list[str]) -> list[Need]:
    unknown = [s for s in sessions if s not in SESSIONS]
    if unknown:
        raise SystemExit(f"system_packages: no such session needs packages: {unknown}")
    return list(dict.fromkeys(need for s in sessions for need in SESSIONS[s]))


def missing(wanted: list[Need]) -> list[Need]:
    return [need for need in wanted if not need.found()]


def packages(lacking: list[Need]) -> list[str]:
    """The packages to install for what is lacking. npm only where Node.js does not bring
    its own: a nodejs that ships npm (NodeSource's) conflicts with Debian's npm package."""
    names = list(dict.fromkeys(need.package for need in lacking))
    if "npm" in names and "nodejs" in names and nodejs_brings_npm():
        names.remove("npm")
    return names


def nodejs_brings_npm() -> bool:
    """Whether the nodejs apt would install provides npm itself (or conflicts with it)."""
    if not shutil.which("apt-cache"):
        return False
    shown = subprocess.run(
        ["apt-cache", "show", "--no-all-versions", "nodejs"],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    fields = [line for line in shown.splitlines() if line.startswith(("Provides:", "Conflicts:"))]
    return any("npm" in line.replace(",", " ").split() for line in fields)


def apt_command(names: list[str]) -> str:
    """The one line that installs them (sudo where the user is not root)."""
    sudo = "sudo " if os.geteuid() != 0 else ""
    return f"{sudo}apt-get update && {sudo}apt-get install -y --no-install-recommends {' '.join(names)}"


def may_install() -> str | None:
    """None if this process may install with apt-get; else why not."""
    if os.environ.get(ENV_MODE, "install") == "check":
        return f"{ENV_MODE}=check"
    if not shutil.which("apt-get", path=SEARCH_PATH):
        return "no apt-get here"
    if os.geteuid() == 0:
        return None
    if (
        shutil.which("sudo")
        and subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode == 0
    ):
        return None
    return "not root, and no sudo without a password"


def install(names: list[str]) -> None:
    sudo = ["sudo", "-n"] if os.geteuid() != 0 else []
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        [*sudo, "apt-get", "update"],
        [*sudo, "apt-get", "install", "-y", "--no-install-recommends", *names],
    ):
        print("system_packages:", " ".join(argv), flush=True)
        subprocess.run(argv, check=True, env=env)


def ensure(sessions: list[str]) -> int:
    """Find, else install, else name the command; the exit status of the script."""
    lacking = missing(needs(sessions))
    if not lacking:
        return 0
    names = packages(lacking)
    said = "; ".join(need.what for need in lacking)
    why_not = may_install()
    if why_not is not None:
        print(
            f"nox -s {' '.join(sessions)} needs Debian's {', '.join(names)} ({said}), and "
            f"installs none here ({why_not}). Install them with:\n\n    {apt_command(names)}\n",
            file=sys.stderr,
        )
        return 1
    print(f"system_packages: installing {', '.join(names)} ({said})", flush=True)
    install([n for n in names if n != "npm"])
    if "npm" in names and not NPM.found():  # the nodejs just installed may have brought it
        install(["npm"])
    still = missing(lacking)
    if still:
        print(
            f"system_packages: still missing after apt-get: {[n.what for n in still]}",
            file=sys.stderr,
        )
        return 1
    if NGINX in lacking or POSTGRESQL in lacking:
        print(
            "system_packages: Debian starts the nginx and PostgreSQL it installs (ports 80 "
            "and 5432); the tests use neither (`systemctl disable --now nginx postgresql`)."
        )
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--list"]:
        print(" ".join(dict.fromkeys(need.package for need in needs(argv[1:]))))
        return 0
    return ensure(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
