"""What the "server away" page says about a training whose server restarts, measured on a
throwaway server of this test's own (the run's shared server is left alone): a training
logs a point every 0.2 s while the server is stopped and started again (as the lab's
service manager restarts it), and goes on for 10 points after; then the server is asked
how many points arrived. (A server killed outright, SIGKILL, while it answers a call makes
that call raise even with the defaults: "Connection broken: IncompleteRead".)

- MLflow's defaults: the call that meets the outage waits for the server; nothing lost.
- Asynchronous logging: no call waits; everything arrives, sent after the restart.
- MLFLOW_HTTP_REQUEST_MAX_RETRIES=0 (fail fast): every call during the outage raises.
- Both: no call raises, and the points of the outage are lost without a word.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from labdocs.services.processes import group_members
from labdocs.services.server_versions import find_mlflow
from labdocs.services.servers import ThrowawayServer, plain_server_command

PERIOD = 0.2  # seconds between two points
AFTER = 10  # points logged once the server is back
# The settings the tests run under (sandbox.py) are not the readers': back to MLflow's own.
TEST_RETRY_SETTINGS = (
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER",
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
)


def restarting(command):
    """The server's command, started again whenever it ends (as systemd's Restart=always):
    same port, same database."""

    def looped(folder: Path, port: int):
        argv, env = command(folder, port)
        return ["bash", "-c", 'while true; do "$@"; sleep 0.2; done', "server", *argv], env

    return looped


@pytest.fixture(scope="module")
def own_server():
    server = ThrowawayServer.start(
        restarting(plain_server_command(find_mlflow())), name="MLflow server restarted by the test"
    )
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def restart(server: ThrowawayServer) -> float:
    """Stop the MLflow server (not its loop) as a service manager does, with SIGTERM, and
    wait until it answers again; seconds away."""
    loop = {server.process.pid}
    loop |= {p for p in group_members(server.process.pid) if _cmdline(p).startswith("bash")}
    for pid in group_members(server.process.pid) - loop:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    started = time.monotonic()
    while server.is_healthy():
        time.sleep(0.05)
    while not server.is_healthy():
        assert server.exit_status() is None, server.log_tail()
        assert time.monotonic() - started < 120, server.log_tail()
        time.sleep(0.1)
    return time.monotonic() - started


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@dataclass
class Training:
    sent: int = 0  # log_metric calls that returned
    raised: int = 0  # log_metric calls that raised
    longest: float = 0.0  # the longest log_metric call, in seconds
    away: float = 0.0  # how long the server was away
    steps: int = 0  # points the training meant to log
    received: int = 0  # points on the server afterwards
    errors: list[str] = field(default_factory=list)


def train_through_a_restart(server: ThrowawayServer, experiment: str) -> Training:
    """Log a point every PERIOD s; kill the server at the 5th; go on until AFTER more
    points were logged after its return. Then count what the server holds."""
    mlflow.set_tracking_uri(server.url)
    mlflow.set_experiment(experiment)
    training, back = Training(), threading.Event()

    def restart_in_background():
        training.away = restart(server)
        back.set()

    restarter = threading.Thread(target=restart_in_background, daemon=True)
    with mlflow.start_run() as run:
        step, points_after = 0, 0
        while points_after < AFTER:
            if step == 5:
                restarter.start()
            began = time.monotonic()
            try:
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
                training.sent += 1
            except MlflowException as error:
                training.raised += 1
                training.errors.append(str(error)[:200])
            training.longest = max(training.longest, time.monotonic() - began)
            points_after += back.is_set()
            step += 1
            time.sleep(PERIOD)
    restarter.join(timeout=10)
    history = MlflowClient(server.url).get_metric_history(run.info.run_id, "loss")
    training.received = len(history)
    training.steps = step
    print(f"\n{experiment}: {training}")  # the figures the report quotes (pytest -s)
    return training


@pytest.fixture
def mlflow_defaults(sandbox):
    for name in TEST_RETRY_SETTINGS:
        os.environ.pop(name, None)
    yield
    mlflow.config.enable_async_logging(False)


def test_defaults_wait_for_the_server_and_lose_nothing(own_server, mlflow_defaults):
    training = train_through_a_restart(own_server, "defaults")
    assert training.raised == 0
    assert training.received == training.sent == training.steps
    assert training.longest > training.away / 2  # one call waited out the outage


def test_async_logging_never_waits_and_loses_nothing(own_server, mlflow_defaults):
    mlflow.config.enable_async_logging(True)
    training = train_through_a_restart(own_server, "async")
    assert training.raised == 0
    assert training.received == training.sent == training.steps
    assert training.longest < 1.0


def test_no_retries_raise_while_the_server_is_away(own_server, mlflow_defaults):
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    training = train_through_a_restart(own_server, "no-retries")
    assert training.raised > 0
    assert training.received == training.sent < training.steps


def test_no_retries_with_async_logging_lose_points_silently(own_server, mlflow_defaults):
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    mlflow.config.enable_async_logging(True)
    training = train_through_a_restart(own_server, "no-retries-async")
    assert training.raised == 0
    assert training.received < training.sent == training.steps
