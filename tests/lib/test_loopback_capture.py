"""tests/lib/loopback_capture.py: what crosses a loopback port during the block is read
back afterwards, and another port's traffic is not in it."""

from __future__ import annotations

import shutil
import socket
import threading

import pytest

from labdocs.services.network import allowed_port
from labdocs.services.servers import free_port
from tests.lib.loopback_capture import captured

pytestmark = pytest.mark.skipif(
    shutil.which("tcpdump") is None, reason="needs Debian's tcpdump (the deployment's tests do)"
)


def _echo_once(server: socket.socket) -> None:
    connection, _ = server.accept()
    with connection:
        connection.sendall(connection.recv(1024))


def _send(port: int, text: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(text)
        return client.recv(1024)


@pytest.mark.timeout(120)  # tcpdump's start and its unhurried writing, on a busy machine
def test_a_port_s_packets_are_read_back_and_only_that_port_s(tmp_path):
    watched, other = free_port(), free_port()
    servers = []
    for port in (watched, other):
        server = socket.create_server(("127.0.0.1", port))
        threading.Thread(target=_echo_once, args=(server,), daemon=True).start()
        servers.append(server)
    try:
        with allowed_port(watched), allowed_port(other), captured(tmp_path, watched) as packets:
            assert _send(watched, b"password=in-clear-here") == b"password=in-clear-here"
            assert _send(other, b"elsewhere-entirely") == b"elsewhere-entirely"
        seen = packets(watched)
    finally:
        for server in servers:
            server.close()
    assert "password=in-clear-here" in seen
    assert "elsewhere-entirely" not in seen
