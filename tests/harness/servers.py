"""Start, await and stop a real, throwaway ``mlflow server`` on loopback.

Standard library only: the noxfile imports this module (in nox's own Python) to start
the server before pytest, and the pytest fixtures import it to attach to that server or
to start one themselves when pytest is run directly.

The server is the real one of the pinned MLflow: sqlite backend and local artifact
store in a fresh temporary folder, one worker, no job runner. It runs in its own
process group (session), because ``mlflow server`` spawns uvicorn (and, with jobs on,
huey consumers) that outlive a parent killed alone; ``stop()`` ends the whole group.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

# How a running server is handed from the nox session to pytest.
ENV_HANDOVER = "DOCS_MLFLOW_SERVER"
READY_TIMEOUT = float(os.environ.get("DOCS_MLFLOW_READY_TIMEOUT", "90"))
LOG_TAIL_LINES = 40
_children: dict[int, subprocess.Popen] = {}  # servers this process started, by pid


class ServerError(RuntimeError):
    """The throwaway server could not be started or did not become ready."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_busy(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def server_command(
    mlflow: str, folder: Path, port: int, allowed_hosts: list[str], extra_args: list[str]
) -> list[str]:
    """The ``mlflow server`` command line of a throwaway server."""
    hosts = [f"127.0.0.1:{port}", f"localhost:{port}", *allowed_hosts]
    return [
        mlflow,
        "server",
        "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
        "--artifacts-destination", str(folder / "artifacts"),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", "1",
        "--allowed-hosts", ",".join(hosts),
        *extra_args,
    ]  # fmt: skip


def script_command(
    mlflow: str, script: Path, folder: Path, port: int, allowed_hosts: list[str]
) -> tuple[list[str], dict[str, str]]:
    """The command and environment that run a server script (examples/lab_server.sh).

    The script is run as it is; only the values it takes from the environment change:
    its data folder, host, port and allowed hosts, and the ``mlflow`` it finds on PATH.
    """
    hosts = [f"127.0.0.1:{port}", f"localhost:{port}", *allowed_hosts]
    return ["bash", str(script)], {
        "LAB_MLFLOW_DIR": str(folder),
        "LAB_MLFLOW_HOST": "127.0.0.1",
        "LAB_MLFLOW_PORT": str(port),
        "LAB_MLFLOW_ALLOWED_HOSTS": ",".join(hosts),
        "PATH": os.pathsep.join([str(Path(mlflow).parent), os.environ.get("PATH", "")]),
    }


@dataclass
class ThrowawayServer:
    """One throwaway server: where it listens, its folder, its log and its process."""

    url: str
    folder: str
    log_path: str
    pid: int
    started_at: float = field(default_factory=time.monotonic)

    # -- starting ---------------------------------------------------------------

    @classmethod
    def start(
        cls,
        mlflow: str | None = None,
        *,
        port: int | None = None,
        allowed_hosts: list[str] = (),
        extra_args: list[str] = (),
        env: dict[str, str] | None = None,
        script: Path | None = None,
        copy_in: list[Path] = (),
    ) -> ThrowawayServer:
        """Launch the server in the background and return at once (see ``wait_ready``).

        With ``script``, the server is that script's command (``script_command``), not
        ``server_command``; ``copy_in`` files are copied into the server's folder first.
        """
        if mlflow is None:  # the test environment's mlflow first, then any on PATH
            beside_python = Path(sys.executable).with_name("mlflow")
            found = beside_python.is_file() and str(beside_python)
            mlflow = found or shutil.which("mlflow") or str(beside_python)
        if not Path(mlflow).is_file():
            raise ServerError(
                f"the mlflow executable was not found ({mlflow}): install "
                "requirements/doctest.txt, or run the tests through `nox -s doctest`"
            )
        port = port or free_port()
        if port_is_busy(port):
            raise ServerError(f"port {port} on 127.0.0.1 is busy: choose another one")
        folder = Path(tempfile.mkdtemp(prefix="docs-mlflow-"))
        log_path = folder / "server.log"
        server_env = {
            **os.environ,
            # No background job runner and its huey consumers: the docs need none.
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            **(env or {}),
        }
        for path in copy_in:
            shutil.copyfile(path, folder / Path(path).name)
        if script is None:
            command = server_command(mlflow, folder, port, list(allowed_hosts), list(extra_args))
        else:
            command, script_env = script_command(mlflow, script, folder, port, list(allowed_hosts))
            server_env.update(script_env)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=folder,
                env=server_env,
                start_new_session=True,  # its own process group: stop() ends all of it
            )
        _children[process.pid] = process
        return cls(f"http://127.0.0.1:{port}", str(folder), str(log_path), process.pid)

    # -- handing over from nox to pytest -----------------------------------------

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, value: str) -> ThrowawayServer:
        return cls(**json.loads(value))

    # -- waiting ------------------------------------------------------------------

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = Path(self.log_path).read_text(errors="replace")
        except OSError as error:
            return f"(no log: {error})"
        return "\n".join(text.splitlines()[-lines:])

    def is_running(self) -> bool:
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except FileNotFoundError:
            return False
        except OSError:  # not Linux: ask the kernel the portable way
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return False
            return True
        return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited

    def is_healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> float:
        """Poll ``/health`` until it answers; fail at once, with the log, if it cannot."""
        deadline = time.monotonic() + timeout
        while not self.is_healthy():
            if not self.is_running():
                raise ServerError(
                    f"the throwaway MLflow server exited before it was ready.\n"
                    f"--- {self.log_path} (last lines) ---\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise ServerError(
                    f"the throwaway MLflow server at {self.url} was not ready after "
                    f"{timeout:.0f} s.\n--- {self.log_path} (last lines) ---\n{self.log_tail()}"
                )
            time.sleep(0.05)
        return time.monotonic() - self.started_at

    # -- stopping -----------------------------------------------------------------

    def stop(self, grace: float = 5.0) -> None:
        """End the server's whole process group, then remove its folder."""
        try:
            os.killpg(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        else:
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and self._group_alive():
                time.sleep(0.05)
            if self._group_alive():
                os.killpg(self.pid, signal.SIGKILL)
        child = _children.pop(self.pid, None)
        if child is not None:  # reap it if this process started it
            child.wait(timeout=grace)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _group_alive(self) -> bool:
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        return self.is_running() or _group_has_members(self.pid)


def _group_has_members(pgid: int) -> bool:
    """Whether any live process other than a zombie leader is in the group."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
