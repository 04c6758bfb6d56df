"""Start, await and stop a real, throwaway ``mlflow server`` on loopback.

The one place that starts servers, and that decides which ``Host`` headers they allow:
their own loopback address and the lab's host:port, which the tests redirect to them
(network.py). Standard library only. Which ``mlflow`` and of which version: server_versions.py.

Each server runs under a watchdog (processes.py) in a process group of its own: ``mlflow
server`` spawns uvicorn, which outlives a parent killed alone; the watchdog ends the whole
group, and removes the server's folder, when its owner dies, however it dies (SIGKILL
included). ``stop()`` ends it the ordinary way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from labdocs.lab import LAB_HOST, LAB_TRACKING_URI
from labdocs.services import network, processes
from labdocs.services.lab_address import UI_ORIGIN, allowed_hosts
from labdocs.services.server_versions import ServerError, supports
from labdocs.services.session import NO_TELEMETRY
from labdocs.services.waiting import log_tail, wait_until

READY_TIMEOUT = float(os.environ.get("DOCS_MLFLOW_READY_TIMEOUT", "90"))
LOG_TAIL_LINES = 40

# What every server we start runs with: no background job runner and its huey consumers
# (the docs need none), and no usage data sent to MLflow's telemetry host.
SERVER_ENVIRONMENT = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **NO_TELEMETRY}

# A command builder: given the server's folder and port, its argv and extra environment.
Command = Callable[[Path, int], tuple[list[str], dict[str, str]]]


# The request that readiness makes after /health: an API route, which (unlike /health)
# the host check guards, with the Host header that every reader's request carries.
LAB_HOST_PROBE = "/api/2.0/mlflow/experiments/search?max_results=1"


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


def plain_server_command(mlflow: str, *extra_args: str) -> Command:
    """A plain ``mlflow server``: sqlite and an artifact folder in its folder, one worker.

    Options this server's version lacks are left out (``OPTION_SINCE``), with their value:
    ``extra_args`` are ``--option value`` pairs or single flags.
    """
    # The lab's URL, as the browser's origin: the UI opened there sends its requests with it
    # (MLflow >= 3.5 refuses other origins: 403).
    origins = ["--cors-allowed-origins", UI_ORIGIN]
    options = ["--allowed-hosts", "{allowed_hosts}", *origins, *extra_args]
    kept: list[str] = []
    for i, arg in enumerate(options):
        option = arg if arg.startswith("--") else options[i - 1]
        if supports(mlflow, option):
            kept.append(arg)

    def command(folder: Path, port: int) -> tuple[list[str], dict[str, str]]:
        return [
            mlflow, "server",
            "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination", str(folder / "artifacts"),
            "--host", "127.0.0.1",
            "--port", str(port),
            "--workers", "1",
            *(allowed_hosts(port) if arg == "{allowed_hosts}" else arg for arg in kept),
        ], {}  # fmt: skip

    return command


def launch(
    name: str,
    argv: list,
    folder: Path,
    *,
    port: int = 0,
    env: dict | None = None,
    inherit: bool = True,
) -> ThrowawayServer:
    """Run ``argv`` under the watchdog (processes.py), in a process group of its own, its
    log in ``folder``: with this process's environment, ``SERVER_ENVIRONMENT``, ``TMPDIR``
    in ``folder`` and ``env``, or (not ``inherit``) ``env`` alone. In ``env``, None removes
    a variable. The watchdog removes ``folder`` when its owner ends; ``stop()`` ends the
    group, then removes it."""
    inherited = {**os.environ, **SERVER_ENVIRONMENT} if inherit else {}
    server_env = {**inherited, "TMPDIR": str(folder), **(env or {})}
    server_env = {key: value for key, value in server_env.items() if value is not None}
    process = processes.watched(folder, argv, folder / "server.log", server_env)
    return ThrowawayServer(name, port, folder, process)


class ThrowawayServer:
    """One throwaway server: its name, where it listens, its folder, log and process."""

    def __init__(self, name: str, port: int, folder: Path, process: subprocess.Popen) -> None:
        self.name = name
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.folder = folder
        self.log_path = folder / "server.log"
        self.process = process  # the watchdog, leader of the server's process group
        self.started_at = time.monotonic()
        self.ready = False

    @classmethod
    def start(
        cls,
        command: Command,
        *,
        name: str = "throwaway MLflow server",
        port: int | None = None,
        env: dict[str, str | None] | None = None,
        copy_in: tuple[Path, ...] = (),
    ) -> ThrowawayServer:
        """Launch the server in the background and return at once (see ``wait_ready``).

        ``copy_in`` files are copied into the server's fresh temporary folder first. In
        ``env``, a value of None removes that variable from the server's environment.
        """
        port = port or free_port()
        if port_is_busy(port):
            raise ServerError(f"port {port} on 127.0.0.1 is busy: choose another one")
        network.allow_port(port)  # the tests may talk to it (and to no other loopback port)
        folder = Path(tempfile.mkdtemp(prefix="server-"))
        for path in copy_in:
            shutil.copyfile(path, folder / Path(path).name)
        argv, command_env = command(folder, port)
        tmp = folder / "tmp"  # what MLflow writes to temporary files goes away with the folder
        tmp.mkdir()
        return launch(
            name, argv, folder, port=port, env={"TMPDIR": str(tmp), **(env or {}), **command_env}
        )

    # -- waiting ------------------------------------------------------------------

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return log_tail(self.log_path, lines)

    def exit_status(self) -> str | None:
        """None while the server runs; once it has ended, how (its exit code or signal)."""
        code = self.process.poll()
        if code is None:
            return None
        # The watchdog exits as the server did: 128 + N when signal N killed it.
        if code > 128 and code - 128 in signal.valid_signals():
            return f"killed by {signal.Signals(code - 128).name}"
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def died(self, when: str) -> ServerError:
        return ServerError(
            f"the {self.name} at {self.url} {when} ({self.exit_status()}).\n"
            f"--- {self.log_path} (last lines) ---\n{self.log_tail()}"
        )

    def is_healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> float:
        """Poll ``/health`` until it answers, then make one API request as a reader's
        would reach it (``answers_the_lab_host``); fail at once, with the log, if it cannot."""

        def healthy() -> bool:
            if self.is_healthy():
                return True
            if self.exit_status() is not None:
                raise self.died("exited before it was ready")
            return False

        wait_until(healthy, timeout=timeout, every=0.05, failure=lambda: ServerError(
            f"the {self.name} at {self.url} was not ready after {timeout:.0f} s.\n"
            f"--- {self.log_path} (last lines) ---\n{self.log_tail()}"
        ))  # fmt: skip
        self.answers_the_lab_host()
        self.ready = True
        return time.monotonic() - self.started_at

    def answers_the_lab_host(self) -> None:
        """One API request with the lab's Host header, as every reader's request carries it.

        ``/health`` answers whatever the Host header; API routes refuse (403) a host the
        server does not allow. 200, or 401 from a server with sign-in, means it let us in.
        """
        request = urllib.request.Request(self.url + LAB_HOST_PROBE, headers={"Host": LAB_HOST})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, body = response.status, b""
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            raise self.died(f"did not answer an API request ({error})") from error
        if status not in (200, 401):
            raise ServerError(
                f"the {self.name} at {self.url} answers GET {LAB_HOST_PROBE} with the lab's "
                f"Host header ({LAB_HOST}, as from {LAB_TRACKING_URI}) with {status}: "
                f"{body[:300].decode(errors='replace')}\n"
                f"--- {self.log_path} (last lines) ---\n{self.log_tail()}"
            )

    # -- stopping -----------------------------------------------------------------

    def ask_to_stop(self) -> None:
        """SIGTERM the server's group, without waiting (``stop`` waits): to stop several."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self, grace: float = 5.0) -> None:
        """End the server's whole process group, then remove its folder."""
        processes.end_group(self.process.pid, grace)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        shutil.rmtree(self.folder, ignore_errors=True)
