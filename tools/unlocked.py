"""Uninstall from this Python's environment what a lock no longer pins.

pip installs, it never removes: an environment that nox reuses after a lock dropped a
package would still hold it, and pass where a fresh clone's environment fails. noxfile.py
runs this after each install of a lock.

  python -m tools.unlocked LOCK    uninstalls the rest; prints each name it removed
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

# What every environment starts with, whether or not a lock pins it.
BOOTSTRAP = {"pip", "setuptools", "wheel"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==", re.MULTILINE)


def names(text: str) -> set[str]:
    """The distributions pinned (``name==version``) in a lock or a freeze, normalized."""
    return {re.sub(r"[-_.]+", "-", name).lower() for name in PIN.findall(text)}


def held() -> set[str]:
    """What this environment holds, as pip sees it."""
    pip = [sys.executable, "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"]
    return names(subprocess.run(pip, capture_output=True, text=True, check=True).stdout)


def remove_unlocked(lock: Path) -> list[str]:
    """Uninstall what the environment holds beyond ``lock`` (and pip's own); their names."""
    dropped = sorted(held() - names(lock.read_text()) - BOOTSTRAP)
    if dropped:
        pip = [sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", *dropped]
        subprocess.run(pip, check=True)
    return dropped


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tools.unlocked LOCK")
    for name in remove_unlocked(Path(sys.argv[1])):
        print(name)
