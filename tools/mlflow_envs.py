"""Virtual environments of one MLflow version each: servers (no torch) and clients.

The throwaway server runs from an environment of the server's version, the examples from
the client's: so any pair can be tested (``DOCS_MLFLOW_SERVER=2.22.5 nox -s doctest``,
``nox -s compatibility``). Each environment is built once, under ``.nox/``, and reused
while its requirements stay the same (a stamp, as noxfile.install() does).

  python -m tools.mlflow_envs server 3.17.2   prints the path of that server's ``mlflow``
  python -m tools.mlflow_envs client 3.1.4    prints the path of that client's ``python``
  python -m tools.mlflow_envs newest          prints the newest MLflow that installs

A version is a number, or ``lab`` (labdocs.lab.LAB_SERVER_MLFLOW_VERSION), ``pinned`` (the pin in
requirements/doctest.in) or ``newest``. A server gets the lock ``requirements/server-<version>.txt``
if there is one (older servers need pins of their own), else ``mlflow[auth]==<version>``
and PostgreSQL's driver (the lab's deployment), from 3.10 on; the pinned client gets the
doctest lock, another client the lock ``requirements/client-<version>.txt`` if there is one (``nox -s lock`` makes it from
``doctest.in`` with that MLflow, plus ``client-<version>.in``), else that same input, unlocked.
A lock installs with ``--require-hashes``; a version without one (the newest, which the drift
run measures) installs what pip resolves today. Unsupported versions fail at once, saying why.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements"
ENVS = ROOT / ".nox"  # beside nox's own environments, ignored by git and by ruff
PYTHON = "3.11"  # the CPU torch wheel is for 3.11 (noxfile.PYTHON)
MLFLOW_PIN = re.compile(r"^mlflow(\[[^\]]*\])?==\S+", re.MULTILINE)
VERSION = re.compile(r"^\d+\.\d+\.\d+$")


class EnvError(RuntimeError):
    """An environment cannot be made for this version (unsupported, or pip failed)."""


# Fresh installs of 2.22.5 and 3.1.4 resolve SQLAlchemy 2.1, and their sqlite server dies on
# import; 3.10.1 was measured to work with it. Versions in between were not measured.
GENERIC_SERVER_SINCE = (3, 10, 0)
# PostgreSQL's driver, as requirements/server-<version>.in pin it.
POSTGRES_DRIVER = "psycopg2-binary==2.9.13"


def version_of(name: str) -> str:
    """A version number for a number or a name (lab, pinned, newest)."""
    if name == "newest":
        return newest()
    if name in ("lab", "pinned"):
        from labdocs import lab

        return lab.LAB_SERVER_MLFLOW_VERSION if name == "lab" else lab.MLFLOW_VERSION
    if not VERSION.match(name):
        raise EnvError(f"{name!r} is no MLflow version (x.y.z, lab, pinned or newest)")
    return name


def server_requirements(version: str) -> str:
    lock = REQUIREMENTS / f"server-{version}.txt"
    if lock.is_file():
        return lock.read_text()
    if tuple(map(int, version.split("."))) >= GENERIC_SERVER_SINCE:
        # psycopg2: the lab's deployment (examples/deploy/) keeps its runs in PostgreSQL.
        return f"mlflow[auth]=={version}\n{POSTGRES_DRIVER}\n"
    raise EnvError(
        f"MLflow server {version} is not supported here: there is no {lock.relative_to(ROOT)}, "
        "and servers before 3.10 need pins of their own (2.22.5's and 3.1.4's sqlite store "
        "dies with SQLAlchemy 2.1). To add it, write requirements/server-<version>.in (see "
        "requirements/server-2.22.5.in) and lock it: nox -s lock."
    )


def client_input(version: str) -> str:
    """doctest.in with this MLflow instead of the pin, plus client-<version>.in if any."""
    if not VERSION.match(version) or int(version.split(".")[0]) < 3:
        raise EnvError(
            f"MLflow client {version!r} is not supported: the guide's examples are written for "
            "MLflow 3 (name=, LoggedModel, pt2); give a 3.x.y version"
        )
    doctest = (REQUIREMENTS / "doctest.in").read_text()
    text = MLFLOW_PIN.sub(f"mlflow[auth]=={version}", doctest, count=1)
    extra = REQUIREMENTS / f"client-{version}.in"
    return text + ("\n" + extra.read_text() if extra.is_file() else "")


def client_requirements(version: str) -> str:
    """The client's lock if it has one (the pin's is the doctest lock), else its input."""
    text = client_input(version)  # unsupported versions fail here, lock or not
    from labdocs import lab

    lock = REQUIREMENTS / (
        "doctest.txt" if version == lab.MLFLOW_VERSION else f"client-{version}.txt"
    )
    return lock.read_text() if lock.is_file() else text


def build(kind: str, version: str) -> Path:
    """The environment for ``kind`` ("server" or "client") of ``version``, built if needed."""
    requirements = (
        server_requirements(version) if kind == "server" else client_requirements(version)
    )
    folder = ENVS / f"mlflow-{kind}-{version}"
    stamp = folder / ".installed"
    digest = hashlib.sha256(requirements.encode()).hexdigest()
    if stamp.is_file() and stamp.read_text() == digest:
        return folder
    stamp.unlink(missing_ok=True)
    if not (folder / "bin" / "python").is_file():
        venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    listed = folder / "requirements.txt"  # what was installed, for whoever looks
    listed.write_text(requirements)
    print(f"installing MLflow {kind} {version} into {folder} ...", file=sys.stderr, flush=True)
    pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", str(listed)]
    if "--hash=" in requirements:
        pip.append("--require-hashes")  # a lock: every file pip installs is the one it hashed
    else:
        print(f"MLflow {kind} {version} has no lock: pip resolves it anew", file=sys.stderr)
    result = subprocess.run(pip, stdout=sys.stderr, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise EnvError(f"pip could not install MLflow {kind} {version}:\n{result.stderr[-3000:]}")
    stamp.write_text(digest)
    return folder


def server_mlflow(version: str) -> Path:
    return build("server", version) / "bin" / "mlflow"


def client_python(version: str) -> Path:
    return build("client", version) / "bin" / "python"


def newest() -> str:
    """The newest MLflow that installs, as pip's resolver finds it (not the newest listed:
    3.18.0 is listed, but its mlflow-skinny is not served yet)."""
    report = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--report", "-", "mlflow"],
        capture_output=True, text=True,
    )  # fmt: skip
    if report.returncode != 0:
        raise EnvError(f"pip could not resolve the newest MLflow:\n{report.stderr[-2000:]}")
    for item in json.loads(report.stdout)["install"]:
        if item["metadata"]["name"].lower() == "mlflow":
            return item["metadata"]["version"]
    raise EnvError("pip's report lists no mlflow")


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["newest"]:
            print(newest())
        elif len(argv) == 2 and argv[0] == "server":
            print(server_mlflow(version_of(argv[1])))
        elif len(argv) == 2 and argv[0] == "client":
            print(client_python(version_of(argv[1])))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except EnvError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
