"""What the troubleshooting page says about wrong addresses, proven on loopback.

The page cannot run its wrong-address example (it names the lab's host on a wrong
port, and tests may not leave loopback): the same happens here against a loopback
port with nothing listening.
"""

import time

import mlflow
import pytest
from mlflow.environment_variables import (
    MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR,
    MLFLOW_HTTP_REQUEST_MAX_RETRIES,
)
from mlflow.exceptions import MlflowException

from tests.throwaway_server import free_port


@pytest.fixture
def closed_port_uri():
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    yield uri
    mlflow.set_tracking_uri(None)


def test_without_retries_a_wrong_address_fails_in_seconds(closed_port_uri, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    mlflow.set_tracking_uri(closed_port_uri)
    started = time.monotonic()
    with pytest.raises(MlflowException) as raised:
        mlflow.set_experiment("anything")
    assert time.monotonic() - started < 5
    message = str(raised.value)
    assert message.startswith(
        f"API request to {closed_port_uri}/api/2.0/mlflow/experiments/get-by-name failed with exception"
    )
    assert "Max retries exceeded" in message and "Connection refused" in message


def test_default_retries_add_up_to_about_four_minutes(monkeypatch):
    """7 retries, backoff factor 2, each pause capped by urllib3: about 4 minutes."""
    from urllib3.util.retry import Retry

    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    retries = MLFLOW_HTTP_REQUEST_MAX_RETRIES.get()
    factor = MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR.get()
    assert (retries, factor) == (7, 2)
    pauses = [min(Retry.DEFAULT_BACKOFF_MAX, factor * 2 ** (n - 1)) for n in range(2, retries + 1)]
    assert 200 <= sum(pauses) <= 300  # the page says "about 4 minutes"; 246 s were measured
