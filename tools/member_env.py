"""The Python environment of a member who follows the signing-in page: what the page tells
members to install (``pip install "mlflow[auth]==..."``, locked in
requirements/member-signing-in.txt), and nothing else: no pytest, no torch, none of the
site's machinery. Built once under ``.nox/`` and reused while the lock stays the same.

  python -m tools.member_env    prints the path of its ``python``
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "member-signing-in.txt"
FOLDER = ROOT / ".nox" / "member-signing-in"  # beside nox's own, ignored by git and ruff


def python() -> Path:
    """The environment's python, after installing the lock into it if it changed."""
    stamp = FOLDER / ".installed"
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    found = FOLDER / "bin" / "python"
    if stamp.is_file() and stamp.read_text() == digest:
        return found
    stamp.unlink(missing_ok=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(FOLDER)  # nothing left of before
    print(f"installing {LOCK.name} into {FOLDER} ...", file=sys.stderr, flush=True)
    pip = [str(found), "-m", "pip", "install", "--quiet", "--require-hashes", "-r", str(LOCK)]
    result = subprocess.run(pip, stdout=sys.stderr, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"pip could not install {LOCK.name}:\n{result.stderr[-3000:]}")
    stamp.write_text(digest)
    return found


if __name__ == "__main__":
    print(python())
