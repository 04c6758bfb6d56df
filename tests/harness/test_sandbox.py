"""The run's folder and each page's sandbox (labdocs/plugin/sandbox.py)."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import mlflow
import pytest

from labdocs.plugin.sandbox import LeftOpenRun, left_open_error, within_sandbox
from labdocs.services.session import SESSION_FOLDER_PREFIX, remove_leftovers


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid  # ended, and reaped: no process has it now


def test_a_later_run_removes_what_a_killed_run_left():
    tmp = Path(tempfile.gettempdir())
    killed = tmp / f"{SESSION_FOLDER_PREFIX}{dead_pid()}-left"
    (killed / "home").mkdir(parents=True)
    alive = tmp / f"{SESSION_FOLDER_PREFIX}{os.getpid()}-running"
    alive.mkdir()
    try:
        remove_leftovers()
        assert not killed.exists()
        assert alive.exists()  # a run still going keeps its folder
    finally:
        alive.rmdir()


def test_a_run_left_open_is_ended_and_named(mlflow_server, tmp_path):
    left_open: list[str] = []
    with within_sandbox(tmp_path, left_open):
        mlflow.set_tracking_uri(mlflow_server.url)
        mlflow.set_experiment("test-sandbox-left-open")
        run = mlflow.start_run(run_name="forgotten")
    assert left_open == ["forgotten"]
    assert mlflow.active_run() is None
    status = mlflow.MlflowClient(mlflow_server.url).get_run(run.info.run_id).info.status
    assert status == "FAILED"


def test_the_sandbox_restores_the_environment_and_folder(tmp_path):
    before, cwd = dict(os.environ), os.getcwd()
    with within_sandbox(tmp_path, []):
        os.environ["MLFLOW_TRACKING_URI"] = "http://elsewhere"
        assert os.getcwd() == str(tmp_path)
    assert dict(os.environ) == before
    assert os.getcwd() == cwd


def test_left_open_error_names_the_runs():
    error = left_open_error("this page", ["a", "b"])
    assert isinstance(error, LeftOpenRun)
    with pytest.raises(LeftOpenRun, match="this page left the run 'a', 'b' open"):
        raise error
