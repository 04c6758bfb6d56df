"""tests/lib/other_mlflow.py: an unsupported version is refused at once, saying why; an
environment already built is found without pip."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.lib.other_mlflow import NoEnvironment, server_mlflow
from tools import mlflow_envs


def test_an_unsupported_version_is_refused_saying_why():
    with pytest.raises(NoEnvironment, match=r"no MLflow 3\.0\.1 environment: .*not supported"):
        server_mlflow("3.0.1")


def test_a_built_environment_is_its_mlflow():
    built = [
        folder for folder in mlflow_envs.ENVS.glob("mlflow-server-*")
        if (folder / ".installed").is_file()
    ]  # fmt: skip
    if not built:
        pytest.skip("no MLflow server environment built yet (the drills build one)")
    version = built[0].name.removeprefix("mlflow-server-")
    mlflow = server_mlflow(version)
    assert Path(mlflow) == built[0] / "bin" / "mlflow"
    shown = subprocess.run([mlflow, "--version"], capture_output=True, text=True, timeout=120)
    assert version in shown.stdout
