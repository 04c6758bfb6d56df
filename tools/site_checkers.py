"""The built site's checkers from npm: axe-core and html-validate, installed once, locked.

    python -m tools.site_checkers        # prints the node_modules folder (installs if needed)

requirements/site-checks/package.json pins them, its package-lock.json pins every file by
hash; ``npm ci`` installs exactly that into a folder named after the lock's hash, outside
the repository, and never again while the lock is unchanged. No install scripts run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCKED = ROOT / "requirements" / "site-checks"
CACHE = Path.home() / ".cache" / "mindgarage-docs"
HOW_TO_GET = "Node.js and npm are needed: `apt-get install -y nodejs npm` (Debian, Ubuntu)."
# Set by nox for pytest, whose HOME is a folder of its own: the node_modules installed here.
ENV_SITE_CHECKS = "DOCS_SITE_CHECKS"


class NoNode(RuntimeError):
    """npm is not installed."""


def node_modules() -> Path:
    """The folder holding the locked axe-core and html-validate; installs them if absent."""
    if os.environ.get(ENV_SITE_CHECKS):
        return Path(os.environ[ENV_SITE_CHECKS])
    files = [LOCKED / "package.json", LOCKED / "package-lock.json"]
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]
    home = CACHE / f"site-checks-{digest}"
    stamp = home / ".installed"
    if stamp.exists():
        return home / "node_modules"
    npm = shutil.which("npm")
    if npm is None:
        raise NoNode(HOW_TO_GET)
    partial = home.with_name(home.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for file in files:
        shutil.copy2(file, partial / file.name)
    command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    done = subprocess.run(command, cwd=partial, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise RuntimeError(f"npm ci failed in {partial}:\n{done.stdout}{done.stderr}")
    shutil.rmtree(home, ignore_errors=True)
    partial.rename(home)
    stamp.write_text(digest)
    return home / "node_modules"


def axe_script() -> str:
    """axe-core's browser build, to inject into a page."""
    return (node_modules() / "axe-core" / "axe.min.js").read_text()


def html_validate() -> list[str]:
    """The command that runs html-validate."""
    return [str(node_modules() / ".bin" / "html-validate")]


if __name__ == "__main__":
    try:
        print(node_modules())
    except NoNode as error:
        sys.exit(f"error: {error}")
