"""The throwaway server and the network guard fail fast and clearly, and leave nothing."""

import socket
import time
from pathlib import Path

import pytest

from tests import lab_network
from tests.doctest_plugin import clean_environment
from tests.throwaway_server import ServerError, ThrowawayServer, _group_has_members, free_port


def test_a_missing_mlflow_executable_is_named():
    with pytest.raises(ServerError, match="mlflow executable was not found"):
        ThrowawayServer.start("/nonexistent/bin/mlflow")


def test_a_busy_port_is_named():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ServerError, match=f"port {port} on 127.0.0.1 is busy"):
            ThrowawayServer.start(port=port)


def test_a_server_that_dies_fails_at_once_with_its_log():
    server = ThrowawayServer.start(extra_args=["--backend-store-uri", "nosuchscheme://x"])
    started = time.monotonic()
    try:
        with pytest.raises(ServerError, match="exited before it was ready") as raised:
            server.wait_ready(timeout=120)
    finally:
        server.stop()
    assert time.monotonic() - started < 30  # its own exit, not the deadline
    assert "nosuchscheme" in str(raised.value)  # the log's tail is in the message


@pytest.fixture
def fake_mlflow(tmp_path):
    """An "mlflow" that never serves and leaves a child behind, as uvicorn and huey do."""
    script = tmp_path / "mlflow"
    script.write_text("#!/bin/sh\nsleep 300 &\necho fake server starting\nexec sleep 300\n")
    script.chmod(0o755)
    return str(script)


def test_a_deadline_fails_with_the_log(fake_mlflow):
    server = ThrowawayServer.start(fake_mlflow)
    try:
        with pytest.raises(ServerError, match=r"not ready after 0 s\.\n--- .*server\.log"):
            server.wait_ready(timeout=0)
    finally:
        server.stop()


def test_stop_ends_the_whole_process_group_and_removes_the_folder(fake_mlflow):
    server = ThrowawayServer.start(fake_mlflow)
    time.sleep(0.2)  # the child is running
    assert _group_has_members(server.pid)
    server.stop()
    assert not _group_has_members(server.pid)
    assert not Path(server.folder).exists()


def test_the_guard_refuses_non_loopback_connections_at_once():
    with socket.socket() as sock, pytest.raises(lab_network.NetworkGuardError, match="loopback"):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: refused before any packet leaves
    with pytest.raises(lab_network.NetworkGuardError, match=r"resolving example\.org"):
        socket.getaddrinfo("example.org", 443)


def test_the_lab_url_resolves_to_the_throwaway_server(mlflow_server):
    from conf import LAB_TRACKING_URI

    host, port = LAB_TRACKING_URI.split("://")[1].split(":")
    resolved = {info[4] for info in socket.getaddrinfo(host, int(port), socket.AF_INET)}
    assert resolved == {("127.0.0.1", int(mlflow_server.url.rsplit(":", 1)[1]))}


def test_the_shell_s_mlflow_settings_are_not_used():
    shell = {
        "MLFLOW_TRACKING_URI": "http://example.org",
        "MLFLOW_EXPERIMENT_NAME": "someone-elses",
        "MLFLOW_TRACKING_PASSWORD": "<from the shell>",
        "PATH": "/usr/bin",
    }
    clean_environment(shell)
    assert shell == {
        "PATH": "/usr/bin",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
    }


def test_free_port_is_on_loopback_and_free():
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
