"""What the troubleshooting page says about wrong addresses, proven on loopback.

The page cannot run its wrong-address example (it names the lab's host on a wrong port,
and tests may not leave loopback). The same happens here against two kinds of dead
loopback address:

- refused: a closed port, nothing listens. The connection fails at once, and only
  MLflow's pauses between retries take time.
- dropped: a listening socket whose accept queue is full. Linux then drops every new SYN,
  so the client hears nothing at all, exactly as when a firewall or a missing VPN drops
  the packets: each attempt waits out the connect timeout. (A server that accepts and
  never answers would model a hung server instead: a read timeout, after the connection.)

Small timeouts and retry counts keep the measurements short; the defaults' totals are
then derived from MLflow's own defaults.
"""

import re
import socket
import time
from pathlib import Path

import mlflow
import pytest
from mlflow.environment_variables import (
    MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR,
    MLFLOW_HTTP_REQUEST_BACKOFF_JITTER,
    MLFLOW_HTTP_REQUEST_MAX_RETRIES,
    MLFLOW_HTTP_REQUEST_TIMEOUT,
)
from mlflow.exceptions import MlflowException
from urllib3.util.retry import Retry

from labdocs.services.network import allowed_port
from labdocs.services.servers import free_port

PAGE = Path(__file__).parents[2] / "docs" / "guides" / "mlflow" / "troubleshooting.rst"


@pytest.fixture
def closed_port_uri():
    with allowed_port(free_port()) as port:  # nothing listens there
        yield f"http://127.0.0.1:{port}"
    mlflow.set_tracking_uri(None)


@pytest.fixture
def dropping_uri():
    """A loopback address that never answers: a listener whose accept queue is full."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)  # room for one connection, which nobody accepts
        with (
            allowed_port(listener.getsockname()[1]) as port,
            socket.create_connection(("127.0.0.1", port), timeout=2),  # fills the queue
        ):
            _assert_silent(port)
            yield f"http://127.0.0.1:{port}"
    mlflow.set_tracking_uri(None)


def _assert_silent(port: int) -> None:
    """The queue is full: a new connection gets no answer (not a refusal) within a timeout."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(0.3)
    try:
        with pytest.raises(TimeoutError):
            probe.connect(("127.0.0.1", port))
    finally:
        probe.close()


def _time_a_call(uri: str) -> tuple[float, str]:
    mlflow.set_tracking_uri(uri)
    started = time.monotonic()
    with pytest.raises(MlflowException) as raised:
        mlflow.set_experiment("anything")
    return time.monotonic() - started, str(raised.value)


def _default_pauses() -> list[float]:
    """MLflow's pauses between its default retries, without jitter (urllib3's backoff)."""
    retries = MLFLOW_HTTP_REQUEST_MAX_RETRIES.default
    factor = MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR.default
    # urllib3 waits nothing after the first failure, then factor * 2 ** (n - 1) after the
    # n-th consecutive one, capped at Retry.DEFAULT_BACKOFF_MAX.
    return [
        min(Retry.DEFAULT_BACKOFF_MAX, factor * 2 ** (n - 1)) if n > 1 else 0
        for n in range(1, retries + 1)
    ]


def _page_says(text: str) -> None:
    page = re.sub(r"\s+", " ", PAGE.read_text())
    assert text in page, f"{PAGE.name} no longer says {text!r}: update this test with it"


# -- refused --------------------------------------------------------------------------------


def test_without_retries_a_refused_address_fails_in_seconds(closed_port_uri, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    took, message = _time_a_call(closed_port_uri)
    assert took < 5
    assert message.startswith(
        f"API request to {closed_port_uri}/api/2.0/mlflow/experiments/get-by-name failed with exception"
    )
    assert "Max retries exceeded" in message and "Connection refused" in message


def test_default_retries_on_a_refused_address_add_up_to_about_four_minutes():
    """7 retries, backoff factor 2, each pause capped by urllib3: about 4 minutes."""
    assert (
        MLFLOW_HTTP_REQUEST_MAX_RETRIES.default,
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR.default,
    ) == (7, 2)
    pauses = _default_pauses()
    jitter = MLFLOW_HTTP_REQUEST_BACKOFF_JITTER.default * len(pauses)  # up to 1 s each
    assert sum(pauses) >= 230
    assert sum(pauses) + jitter <= 260  # 244 s + up to 7 s of jitter; 248 s measured
    _page_says("about 4 minutes")


# -- dropped ---------------------------------------------------------------------------------


def test_each_attempt_on_a_silent_address_waits_out_the_timeout(dropping_uri, monkeypatch):
    """3 attempts (2 retries) of 1 s each, no pauses: 3 s."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0")
    took, message = _time_a_call(dropping_uri)
    assert 2.9 <= took < 4.5, took
    assert "failed with timeout exception" in message and "ConnectTimeoutError" in message


def test_the_fail_fast_variables_bound_a_silent_address(dropping_uri, monkeypatch):
    """The page's two variables: one attempt, cut off after the timeout (1 s here)."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")
    took, message = _time_a_call(dropping_uri)
    assert 0.9 <= took < 2.5, took
    assert "failed with timeout exception" in message
    _page_says("export MLFLOW_HTTP_REQUEST_MAX_RETRIES=0 export MLFLOW_HTTP_REQUEST_TIMEOUT=10")
    _page_says("after 10 seconds when nothing answers")


def test_default_retries_on_a_silent_address_add_up_to_about_twenty_minutes():
    """8 attempts of 120 s each, plus the pauses between them: about 20 minutes."""
    attempts = MLFLOW_HTTP_REQUEST_MAX_RETRIES.default + 1
    timeout = MLFLOW_HTTP_REQUEST_TIMEOUT.default
    assert (attempts, timeout) == (8, 120)
    total = attempts * timeout + sum(_default_pauses())
    assert 18 * 60 <= total <= 22 * 60, total  # 1204 s
    _page_says("about 20 minutes")
