"""Which ``mlflow`` runs the throwaway servers, and which MLflow version that is.

The server runs from an environment of the server's MLflow version (nox builds it,
tools/mlflow_envs.py), the examples in the client's: nox names the server's ``mlflow`` in
DOCS_MLFLOW_SERVER_BIN. Older servers lack some options of ``mlflow server``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path


class ServerError(RuntimeError):
    """A throwaway server could not be started, did not become ready, or died."""


ENV_SERVER_MLFLOW = "DOCS_MLFLOW_SERVER_BIN"
# Options of `mlflow server` that older servers lack (they refuse to start with them): the
# first version that has each. Before 3.5.0 a server accepts any Host header anyway.
OPTION_SINCE = {"--allowed-hosts": (3, 5, 0), "--cors-allowed-origins": (3, 5, 0)}


def find_mlflow() -> str:
    """The server's ``mlflow``: the one nox names (DOCS_MLFLOW_SERVER_BIN), else the test
    environment's (beside this Python), else any on PATH."""
    named = os.environ.get(ENV_SERVER_MLFLOW)
    if named:
        if not Path(named).is_file():
            raise ServerError(f"{ENV_SERVER_MLFLOW}={named}: no such file")
        return str(Path(named).absolute())  # the server runs in a folder of its own
    beside_python = Path(sys.executable).with_name("mlflow")
    found = str(beside_python) if beside_python.is_file() else shutil.which("mlflow")
    if not found:
        raise ServerError(
            f"the mlflow executable was not found ({beside_python}, nor on PATH): install "
            "requirements/doctest.txt, or run the tests through `nox -s doctest`"
        )
    return found


@functools.cache
def mlflow_version(mlflow: str) -> tuple[int, ...] | None:
    """The MLflow version an ``mlflow`` executable runs, asked once; None if unknown.

    Asked of the Python named in its first line (pip's scripts name their environment's),
    through package metadata: 0.1 s, where ``mlflow --version`` imports MLflow (3 s).
    """
    try:
        with open(mlflow, "rb") as script:
            first = script.readline(500).decode(errors="replace")
    except OSError:
        return None
    python = first[2:].strip().split()[0] if first.startswith("#!") and "python" in first else ""
    if not python:
        return None
    asked = subprocess.run(
        [python, "-c", "from importlib.metadata import version; print(version('mlflow'))"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    parts = asked.stdout.strip().split(".")
    if asked.returncode != 0 or not all(p.isdigit() for p in parts[:3]):
        return None
    return tuple(int(p) for p in parts[:3])


def supports(mlflow: str, option: str) -> bool:
    """Whether this server has ``option`` (an unknown version is taken to be current)."""
    version = mlflow_version(mlflow)
    return version is None or version >= OPTION_SINCE.get(option, (0,))
