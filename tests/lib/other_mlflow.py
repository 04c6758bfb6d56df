"""An MLflow server of another version than the lab's, for the drills that move from an old
server or upgrade one: its environment is built by ``tools.mlflow_envs``, a script the tests
may run and the product code may not."""

from __future__ import annotations

import subprocess
from pathlib import Path

from labdocs.services.deployment import registry_environment

ROOT = Path(__file__).resolve().parents[2]


class NoEnvironment(RuntimeError):
    """No environment of that MLflow version could be found or built."""


def server_mlflow(version: str) -> str:
    """The ``mlflow`` of a server environment of ``version``, built once from the package
    registry (so without the throwaway CA, whose certificates pip would refuse)."""
    found = subprocess.run(
        ["python3", "-m", "tools.mlflow_envs", "server", version],
        cwd=ROOT, env=registry_environment(), capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    if found.returncode != 0:
        raise NoEnvironment(f"no MLflow {version} environment: {found.stderr}")
    return found.stdout.strip().splitlines()[-1]
