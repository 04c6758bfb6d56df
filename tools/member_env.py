"""The Python environments of members who follow a page: what the page tells members to
install, locked in requirements/member-<name>.txt, and nothing else: no pytest, none of the
site's machinery. Each is built once under ``.nox/member-<name>`` and reused while its lock
stays the same.

- ``signing-in``: ``pip install "mlflow[auth]==..."``, as the signing-in page says;
- ``quick-start``: ``pip install mlflow torch``, as the quick start says (the logging page
  follows it);
- ``lightning``: the quick start's, then ``pip install lightning==...``, as the Lightning
  page says.

  python -m tools.member_env NAME ...    builds them; prints the path of each ``python``
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("signing-in", "quick-start", "lightning")


def lock(name: str) -> Path:
    return ROOT / "requirements" / f"member-{name}.txt"


def folder(name: str) -> Path:
    return ROOT / ".nox" / f"member-{name}"  # beside nox's own, ignored by git and ruff


def python(name: str) -> Path:
    """The environment's python, after installing its lock into it if the lock changed."""
    stamp = folder(name) / ".installed"
    digest = hashlib.sha256(lock(name).read_bytes()).hexdigest()
    found = folder(name) / "bin" / "python"
    if stamp.is_file() and stamp.read_text() == digest:
        return found
    stamp.unlink(missing_ok=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(folder(name))  # nothing left of before
    print(
        f"installing {lock(name).name} into {folder(name)}: once, while the lock stays ...",
        file=sys.stderr,
        flush=True,
    )
    pip = [str(found), "-m", "pip", "install", "--quiet", "--require-hashes", "-r", str(lock(name))]
    result = subprocess.run(pip, stdout=sys.stderr, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"pip could not install {lock(name).name}:\n{result.stderr[-3000:]}")
    stamp.write_text(digest)
    return found


if __name__ == "__main__":
    unknown = set(sys.argv[1:]) - set(NAMES)
    if unknown or not sys.argv[1:]:
        sys.exit(f"usage: python -m tools.member_env NAME ... (NAME: {', '.join(NAMES)})")
    for name in sys.argv[1:]:
        print(python(name))
