"""Hash locks for every environment: requirements/<name>.in, edited by people, locked into
requirements/<name>.txt, which every install reads with ``pip install --require-hashes``.

  python -m tools.lock [--upgrade] [NAME ...]     (nox -s lock; needs pip-tools: lock.txt)

``--upgrade`` moves every package the inputs do not pin to its newest release (the weekly
drift run proposes the result); without it, pip-compile keeps every pin it can keep. NAMEs
(``doctest``, ``server-2.22.5``) lock only those inputs.

A lock pins every package of its environment, transitive ones included, with the sha256 of
each file of that version on the index. pip-tools drives pip's own finder, so pip's
configuration applies as it does to installs: on the lab machines that includes the local
CPU torch wheel (``torch==2.13.0+cpu``, hashed from that file). The locks are resolved for
Linux x86_64 and CPython 3.11, where the project runs (environment markers are evaluated for
it). Each lock's header holds the digest of its input's requirements (includes followed), so
a test sees a stale lock (tests/project/test_supply_chain.py).

Three kinds of input:

- most are resolved by pip-compile, dependencies included; ``contributor.in`` is locked into
  the top-level ``requirements.txt``;
- ``client-<version>.in`` holds what MLflow client <version>'s environment adds to
  ``doctest.in``, whose MLflow pin it replaces (``tools.mlflow_envs.client_input``);
- the inputs in ``WITHOUT_DEPENDENCIES`` are installed (or downloaded) with ``--no-deps``,
  because their own dependency lists cannot install here: their pins are hashed as they
  stand, without resolving.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements"
# Locked into the top-level requirements.txt: what `pip install -r requirements.txt` finds.
CONTRIBUTOR = "contributor"
# Installed with --no-deps (noxfile.mmpose) or downloaded so (tools/build_mmpose_wheels.py).
WITHOUT_DEPENDENCIES = {"mmpose-no-deps", "mmpose-sources"}
COMMAND = "nox -s lock"
DIGEST_LINE = re.compile(r"^# requirements sha256: ([0-9a-f]{64})$", re.MULTILINE)
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def inputs() -> list[Path]:
    return sorted(REQUIREMENTS.glob("*.in"))


def lock_of(source: Path) -> Path:
    if source.stem == CONTRIBUTOR:
        return ROOT / "requirements.txt"
    return source.with_suffix(".txt")


def input_text(source: Path) -> str:
    """What pip-compile reads for ``source``: a client's input is doctest.in with that
    client's MLflow, plus the file's own lines."""
    if source.stem.startswith("client-"):
        from tools.mlflow_envs import client_input

        return client_input(source.stem.removeprefix("client-"))
    return source.read_text()


def requirement_lines(text: str, folder: Path = REQUIREMENTS) -> list[str]:
    """The requirements a text says, without comments, includes (``-r``) read in place and
    constraints (``-c``, a lock) as that lock's pins."""
    found = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "-c ")):
            included = folder / line[3:].strip()
            if line.startswith("-r "):
                found += requirement_lines(included.read_text(), included.parent)
            else:
                pinned = pins(included.read_text())
                found += [f"-c {name}=={version}" for name, version in sorted(pinned.items())]
            continue
        found.append(line)
    return found


def digest(source: Path) -> str:
    lines = requirement_lines(input_text(source), source.parent)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    """{package: version} of every ``name==version`` line (extras dropped, names normalized)."""
    return {normalized(m[1]): m[3] for m in PIN.finditer(text)}


def header(source: Path) -> str:
    return (
        f"# Locked from {source.relative_to(ROOT)} by `{COMMAND}` (tools/lock.py); install with\n"
        f"# pip install --require-hashes. Its requirements' digest (a test compares it):\n"
        f"# requirements sha256: {digest(source)}\n"
    )


def compile_lock(source: Path, upgrade: bool) -> None:
    """pip-compile ``source`` into its lock, every dependency pinned and hashed."""
    lock = lock_of(source)
    command = [
        sys.executable, "-m", "piptools", "compile", "--quiet", "--generate-hashes",
        # setuptools and pip are pinned and hashed too (mmpose.in pins setuptools).
        "--allow-unsafe",
        # The lock pins packages; the extras that pulled them in are said by the input.
        "--strip-extras",
        # Where pip finds packages is pip's configuration (this machine's, or CI's
        # PIP_EXTRA_INDEX_URL), not the lock's.
        "--no-emit-index-url", "--no-emit-find-links",
        "--output-file", str(lock.relative_to(ROOT)),
    ]  # fmt: skip
    if upgrade:
        command.append("--upgrade")
    client = source.stem.startswith("client-")
    command.append("-" if client else str(source.relative_to(ROOT)))
    subprocess.run(
        command,
        input=input_text(source) if client else None,
        text=True,
        cwd=ROOT,
        env={**os.environ, "CUSTOM_COMPILE_COMMAND": COMMAND},
        check=True,
    )
    lock.write_text(header(source) + lock.read_text())


def hash_lock(source: Path) -> None:
    """Hash each pin of ``source`` as it stands, without resolving its dependencies."""
    from pip._internal.req.constructors import install_req_from_line
    from piptools.locations import CACHE_DIR
    from piptools.repositories import PyPIRepository

    repository = PyPIRepository([], cache_dir=CACHE_DIR)
    out = [
        header(source),
        "# Not resolved: these pins are installed with --no-deps, as they stand; each with the\n"
        "# sha256 of every file of its version that pip could install here.\n",
    ]
    for line in requirement_lines(source.read_text()):
        hashes = sorted(repository.get_hashes(install_req_from_line(line)))
        if not hashes:
            raise SystemExit(f"{source.name}: pip finds no file to hash for {line}")
        out.append(" \\\n".join([line, *(f"    --hash={h}" for h in hashes)]) + "\n")
    lock_of(source).write_text("".join(out))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="nox -s lock --", description=__doc__.split("\n")[0])
    parser.add_argument("--upgrade", action="store_true", help="newest releases of the unpinned")
    parser.add_argument("names", nargs="*", help="inputs to lock (default: all)")
    args = parser.parse_args(argv)
    chosen = [s for s in inputs() if not args.names or s.stem in args.names]
    unknown = set(args.names) - {s.stem for s in inputs()}
    if unknown:
        parser.error(f"no requirements/<name>.in for {', '.join(sorted(unknown))}")
    # An input constrained by another's lock (-c doctest.txt) is locked after that lock.
    chosen.sort(key=lambda s: "-c " in s.read_text())
    for source in chosen:
        print(f"locking {source.relative_to(ROOT)} -> {lock_of(source).relative_to(ROOT)}")
        if source.stem in WITHOUT_DEPENDENCIES:
            hash_lock(source)
        else:
            compile_lock(source, args.upgrade)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
