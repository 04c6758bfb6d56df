"""Kill a doctest run in the ways a developer or CI does, and print what was left.

    nox -s kill-drill        (or: python -m tools.kill_drill; nox must be importable)

Each case starts ``nox -s doctest -- <one page>`` in a session of its own, as a terminal
would, and then:

- ``kill -9 nox``: the shell's prompt is back at once; pytest and both servers must follow;
- Ctrl-C (SIGINT to the whole foreground group): pytest stops and prints what ran;
- the server killed before it is ready / after it is ready: the run stops at once, with
  one message that names the server and how it ended.

For each: nox's exit code, seconds until it ended, lines it printed, and what was left:
processes of the run (any process whose environment names the run's temporary folder)
and run folders. Exits 1 if anything was left or a case did not end as it should.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labdocs.services.session import SESSION_FOLDER_PREFIX  # standard library only, as this script

ROOT = Path(__file__).resolve().parents[1]

# Several examples, one slow (log_model), and their member runs; a page about signing in;
# and the admin page: the run boots the lab's deployment (PostgreSQL, MLflow, nginx:
# deployment_fixtures.py; with two workers, one each) at the end of collection, and it must go
# as well.
PAGES = [
    "docs/guides/mlflow/logging.rst",
    "docs/guides/mlflow/signing-in.md",
    "docs/admin/tracking-server.md",
]
# Each case twice: as a page named on the command line runs (one process), and as the
# whole suite runs (two workers, each with its servers). -v: the log names each example.
MODES = {"one process": [], "two workers": ["-n", "2", "--dist", "loadfile"]}
# --all: the drill kills a run that runs, not one that passes from the cache.
NOX = [sys.executable, "-m", "nox", "--no-install", "-s", "doctest", "--", "--all"]
SETTLE = 15.0  # seconds the leftovers get to end after the run has ended


def run_processes(tag: str) -> list[str]:
    """Processes of a run: their environment names its run folder (``tag``)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            environ = (proc / "environ").read_bytes()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if tag.encode() in environ and int(proc.name) != os.getpid():
            found.append(f"{proc.name} {cmdline[:100]}")
    return found


def run_folders(tag: str) -> list[str]:
    return sorted(str(p) for p in Path(tempfile.gettempdir()).glob(f"{tag}*"))


def leftovers(tag: str, deadline: float) -> tuple[list[str], list[str]]:
    while time.monotonic() < deadline and (run_processes(tag) or run_folders(tag)):
        time.sleep(0.2)
    return run_processes(tag), run_folders(tag)


def pytest_of(nox: subprocess.Popen) -> int | None:
    """The pytest that nox started (the controller of its workers): its folder is
    docs-run-<its pid>-..., and its workers' folders are inside."""
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if parent_of(int(proc.name)) == nox.pid:
                return int(proc.name)
        except (OSError, ValueError):
            continue
    return None


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def server_group(nox: subprocess.Popen) -> int | None:
    """The process group of a throwaway server of this run: its watchdog is a worker's child."""
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            owner = parent_of(int(proc.name))  # pytest, or a worker of pytest's
            ours = nox.pid in (parent_of(owner), parent_of(parent_of(owner)))
            if ours and "processes.py" in cmdline and "--backend-store-uri" in cmdline:
                return os.getpgid(int(proc.name))
        except (OSError, ValueError):
            continue
    return None


def healthy(output: Path) -> bool:
    """An example of the logging page passed (serial -v: "id PASSED"; parallel: "PASSED id")."""
    text = output.read_text(errors="replace")
    return bool(re.search(r"logging\.rst::\S+ PASSED|PASSED docs/guides/mlflow/logging\.rst", text))


def case(name: str, mode: list[str], act, expect) -> bool:
    """Start the run, ``act`` on it, then report; ``expect(code, text)`` says if it ended well."""
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as output:
        log = Path(output.name)
        started = time.monotonic()
        nox = subprocess.Popen(
            [*NOX, *mode, "-v", *PAGES],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: pytest_of(nox) is not None or nox.poll() is not None)
        tag = f"{SESSION_FOLDER_PREFIX}{pytest_of(nox)}-"  # this run's, not another's
        act(nox, log)
        try:
            code = nox.wait(timeout=300)
        except subprocess.TimeoutExpired:
            os.killpg(nox.pid, signal.SIGKILL)
            code = nox.wait()
        ended = time.monotonic() - started
        processes, folders = leftovers(tag, time.monotonic() + SETTLE)
        text = log.read_text(errors="replace")
    good = expect(code, text) and not processes and not folders
    print(f"\n== {name}: {'ok' if good else 'FAILED'}")
    print(
        f"   nox exit code {code}, ended after {ended:.1f} s, printed {len(text.splitlines())} lines"
    )
    print(f"   left running: {processes or 'nothing'}")
    print(f"   left on disk: {folders or 'nothing'}")
    said = [line for line in text.splitlines() if "the throwaway MLflow server at" in line]
    print(f"   it said: {said[0] if said else '-'}")
    if not good:
        print("   --- last lines ---\n   " + "\n   ".join(text.splitlines()[-25:]))
    return good


def wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def kill_nox(nox, log) -> None:
    wait_for(lambda: healthy(log))
    time.sleep(2)
    nox.send_signal(signal.SIGKILL)  # the nox process alone, as `kill -9 <nox>` would


def ctrl_c(nox, log) -> None:
    wait_for(lambda: healthy(log))
    time.sleep(2)
    os.killpg(nox.pid, signal.SIGINT)  # the terminal sends it to the whole foreground group


def kill_server_before_ready(nox, log) -> None:
    wait_for(lambda: server_group(nox) is not None)
    os.killpg(server_group(nox), signal.SIGKILL)


def kill_server_after_ready(nox, log) -> None:
    wait_for(lambda: healthy(log))
    os.killpg(server_group(nox), signal.SIGKILL)


CASES = [
    ("kill -9 nox", kill_nox, lambda code, text: code == -signal.SIGKILL),
    (
        "Ctrl-C",
        ctrl_c,
        lambda code, text: "KeyboardInterrupt" in text and "examples on 2 pages" in text,
    ),
    (
        "server killed before it was ready",
        kill_server_before_ready,
        lambda code, text: (
            code != 0
            and text.count("exited before it was ready (killed by SIGKILL)") == 1
            and "Connection refused" not in text
        ),
    ),
    (
        "server killed after it was ready",
        kill_server_after_ready,
        lambda code, text: (
            code != 0
            and text.count("died during the run (killed by SIGKILL)") == 1
            and "Connection refused" not in text
        ),
    ),
]


def main() -> int:
    results = [
        case(f"{name} ({mode})", MODES[mode], act, expect)
        for mode in MODES
        for name, act, expect in CASES
    ]
    print(f"\n{sum(results)} of {len(results)} cases ended cleanly")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
