"""The throwaway servers (labdocs/services/servers.py, processes.py) fail fast and clearly,
and leave nothing behind."""

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labdocs.lab import LAB_TRACKING_URI
from labdocs.services import processes, servers
from labdocs.services.server_versions import (
    ENV_SERVER_MLFLOW,
    ServerError,
    find_mlflow,
    mlflow_version,
)
from labdocs.services.servers import (
    LAB_HOST_PROBE,
    ThrowawayServer,
    free_port,
    plain_server_command,
)


@pytest.fixture
def fake_mlflow(tmp_path):
    """An "mlflow" that never serves and leaves a child behind, as uvicorn does."""
    script = tmp_path / "mlflow"
    script.write_text("#!/bin/sh\nsleep 300 &\necho fake server starting\nexec sleep 300\n")
    script.chmod(0o755)
    return str(script)


def test_a_missing_mlflow_executable_is_named(monkeypatch):
    monkeypatch.delenv(ENV_SERVER_MLFLOW, raising=False)  # as when pytest runs without nox
    monkeypatch.setattr(sys, "executable", "/nonexistent/bin/python")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ServerError, match="mlflow executable was not found"):
        find_mlflow()


def test_a_busy_port_is_named():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ServerError, match=f"port {port} on 127.0.0.1 is busy"):
            ThrowawayServer.start(plain_server_command(find_mlflow()), port=port)


def test_a_server_that_dies_fails_at_once_with_its_log():
    command = plain_server_command(find_mlflow(), "--backend-store-uri", "nosuchscheme://x")
    server = ThrowawayServer.start(command)
    started = time.monotonic()
    try:
        with pytest.raises(ServerError, match="exited before it was ready") as raised:
            server.wait_ready(timeout=120)
    finally:
        server.stop()
    assert time.monotonic() - started < 30  # its own exit, not the deadline
    assert "(exit code 1)" in str(raised.value)  # how it ended
    assert "nosuchscheme" in str(raised.value)  # the log's tail is in the message


def test_a_deadline_fails_with_the_log(fake_mlflow):
    server = ThrowawayServer.start(plain_server_command(fake_mlflow))
    try:
        with pytest.raises(ServerError, match=r"not ready after 0 s\.\n--- .*server\.log"):
            server.wait_ready(timeout=0)
    finally:
        server.stop()


def test_stop_ends_the_whole_process_group_and_removes_the_folder(fake_mlflow):
    server = ThrowawayServer.start(plain_server_command(fake_mlflow))
    time.sleep(0.5)  # the fake server and its child are running
    assert processes.group_members(server.process.pid)
    server.stop()
    assert not processes.group_members(server.process.pid)
    assert not server.folder.exists()


def test_a_killed_server_says_how_it_ended(fake_mlflow):
    server = ThrowawayServer.start(plain_server_command(fake_mlflow))
    try:
        time.sleep(0.5)
        sleeper = processes.group_members(server.process.pid) - {server.process.pid}
        for pid in sleeper:  # the fake "mlflow" (exec'd sleep) and its child
            subprocess.run(["kill", "-KILL", str(pid)], check=False)
        deadline = time.monotonic() + 10
        while server.exit_status() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.exit_status() == "killed by SIGKILL"
        assert not processes.group_members(server.process.pid)  # the watchdog ended the rest
        message = str(server.died("died during the run"))
        assert message.startswith(f"the throwaway MLflow server at {server.url} died during")
        assert "fake server starting" in message  # with its log
    finally:
        server.stop()


def test_the_watchdog_ends_the_server_when_its_owner_is_killed(fake_mlflow, tmp_path):
    """SIGKILL of the process that started a server: the server goes too, folder and all."""
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER.format(mlflow=fake_mlflow, out=str(tmp_path / "server"))],
        cwd=Path(__file__).resolve().parents[2],
    )
    written = tmp_path / "server"
    try:
        deadline = time.monotonic() + 60  # a hang, not a slow start on a busy machine
        while not written.exists() and owner.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert written.exists(), f"the owner (exit code {owner.poll()}) started no server"
        pgid, folder = written.read_text().split()
        assert processes.group_members(int(pgid))
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        deadline = time.monotonic() + 30
        while processes.group_members(int(pgid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not processes.group_members(int(pgid))
        assert not Path(folder).exists()
    finally:
        owner.kill()
        owner.wait()  # reaped here: not a ResourceWarning in whichever test runs next


OWNER = """
import time
from pathlib import Path
from labdocs.services.servers import ThrowawayServer, plain_server_command
server = ThrowawayServer.start(plain_server_command({mlflow!r}))
time.sleep(0.3)
# Written whole, then renamed into place: the test never reads it half written.
Path({out!r} + ".part").write_text(f"{{server.process.pid}} {{server.folder}}")
Path({out!r} + ".part").rename({out!r})
time.sleep(300)
"""


def test_free_port_is_on_loopback_and_free():
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


# -- servers of other MLflow versions ---------------------------------------------------


def mlflow_of_version(folder: Path, version: str) -> str:
    """An ``mlflow`` script whose Python says it is MLflow ``version``: only the command is
    built from it, nothing is started."""
    python = folder / f"python-{version}"
    python.write_text(f"#!/bin/sh\necho {version}\n")
    python.chmod(0o755)
    mlflow = folder / f"mlflow-{version}"
    mlflow.write_text(f"#!{python}\n# pip's entry-point script\n")
    mlflow.chmod(0o755)
    return str(mlflow)


@pytest.mark.parametrize(
    ("version", "has_host_options"), [("2.22.5", False), ("3.4.0", False), ("3.5.0", True)]
)
def test_options_an_older_server_lacks_are_left_out(tmp_path, version, has_host_options):
    mlflow = mlflow_of_version(tmp_path, version)
    assert mlflow_version(mlflow) == tuple(map(int, version.split(".")))
    argv, _ = plain_server_command(mlflow, "--workers", "1")(tmp_path, 5000)
    assert ("--allowed-hosts" in argv) is has_host_options
    assert ("--cors-allowed-origins" in argv) is has_host_options
    assert (LAB_TRACKING_URI in argv) is has_host_options  # the option's value goes with it
    assert argv[-2:] == ["--workers", "1"]  # an option every version has stays


def test_the_server_nox_names_is_used(monkeypatch, tmp_path):
    mlflow = mlflow_of_version(tmp_path, "2.22.5")
    monkeypatch.setenv(ENV_SERVER_MLFLOW, mlflow)
    assert find_mlflow() == mlflow
    monkeypatch.setenv(ENV_SERVER_MLFLOW, str(tmp_path / "missing"))
    with pytest.raises(ServerError, match=f"{ENV_SERVER_MLFLOW}=.*missing: no such file"):
        find_mlflow()


def test_readiness_fails_if_the_server_refuses_the_lab_host(mlflow_server, monkeypatch):
    """/health answers whatever the Host header; readiness asks an API route as readers do.

    Asked of the run's own server, as if the lab's host were one it does not allow.
    """
    if mlflow_version(find_mlflow()) < (3, 5, 0):
        pytest.skip("servers before 3.5.0 accept any Host header")
    mlflow_server.answers_the_lab_host()  # the lab's host: let in
    monkeypatch.setattr(servers, "LAB_HOST", "elsewhere.example:8001")
    with pytest.raises(ServerError, match=r"Host header \(elsewhere.example:8001.*403"):
        mlflow_server.answers_the_lab_host()
    assert LAB_HOST_PROBE.startswith("/api/")  # a route the host check guards
