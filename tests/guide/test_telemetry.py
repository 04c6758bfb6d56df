"""No server of the tests looks up MLflow's telemetry host (or any host beyond loopback).

The network guard (labdocs/services/network.py) sees only the pytest process. The servers are
other processes: here each runs with a ``sitecustomize`` that records every name lookup
and every connection of every Python process of the server (the ``mlflow`` command, its
uvicorn) and answers none beyond loopback, so nothing leaves the machine even when the
test fails. The control, a server with telemetry left on, shows that the recorder sees
what MLflow's telemetry does; without it, "nothing recorded" would prove nothing.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

from labdocs.services.server_versions import find_mlflow
from labdocs.services.servers import ThrowawayServer, plain_server_command

RECORDER = """
import ipaddress, os, socket
_record = os.environ["DOCS_RECORD_LOOKUPS"]
_getaddrinfo, _connect = socket.getaddrinfo, socket.socket.connect

def _loopback(host):
    if host in (None, "localhost", b"localhost"):
        return True
    try:
        return ipaddress.ip_address(host.decode() if isinstance(host, bytes) else host).is_loopback
    except ValueError:
        return False

def _write(what):
    with open(_record, "a") as f:
        f.write(f"{os.getpid()} {what}\\n")

def getaddrinfo(host, port, *args, **kwargs):
    if not _loopback(host):
        _write(f"lookup {host}")
        raise socket.gaierror(socket.EAI_NONAME, "recorded by the test, not resolved")
    return _getaddrinfo(host, port, *args, **kwargs)

def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
        _write(f"connect {address[0]}")
        raise ConnectionRefusedError("recorded by the test, not connected")
    return _connect(self, address)

socket.getaddrinfo, socket.socket.connect = getaddrinfo, connect
"""
# What hides MLflow's telemetry besides its own switches: a CI, or a running pytest. The
# proof must not lean on them, so neither server has them.
HIDING = ["CI", "GITHUB_ACTIONS", "PYTEST_CURRENT_TEST", "PYTEST_VERSION"]


def recorded_server(tmp_path: Path, name: str, **env: str | None) -> tuple[ThrowawayServer, Path]:
    recorder = tmp_path / name
    recorder.mkdir()
    (recorder / "sitecustomize.py").write_text(RECORDER)
    record = recorder / "lookups.txt"
    record.touch()
    server = ThrowawayServer.start(
        plain_server_command(find_mlflow()),
        env={
            "PYTHONPATH": str(recorder),
            "DOCS_RECORD_LOOKUPS": str(record),
            **dict.fromkeys(HIDING),
            **env,
        },
    )
    return server, record


def test_the_servers_look_up_no_host_beyond_loopback(tmp_path: Path):
    ours, ours_record = recorded_server(tmp_path, "ours")
    control, control_record = recorded_server(
        tmp_path, "telemetry-on", MLFLOW_DISABLE_TELEMETRY=None, DO_NOT_TRACK=None
    )
    try:
        for server in (ours, control):
            server.wait_ready()
            with urllib.request.urlopen(
                f"{server.url}/api/2.0/mlflow/experiments/search?max_results=1", timeout=10
            ):
                pass  # a request, as a page's would be
        deadline = time.monotonic() + 40
        while "mlflow-telemetry.io" not in control_record.read_text():
            assert time.monotonic() < deadline, (
                "the control server (telemetry on) looked up nothing in 40 s: the recorder "
                f"does not see what it should.\n{control_record.read_text()}"
            )
            time.sleep(0.2)
        time.sleep(2)  # as long again, and a margin, for ours
        assert ours_record.read_text() == ""
    finally:
        ours.stop()
        control.stop()
