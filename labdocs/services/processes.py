"""Process life: process groups, the watchdog each server runs under, and dying with a parent.

Run as a script, this is the watchdog::

    python processes.py OWNER_PID FOLDER [--also-under FOLDER] -- COMMAND...

servers.py starts every throwaway server (and every daemon the tests need) through it, as
the leader of a new process group. It runs COMMAND in that group and waits:

- COMMAND exits (the server died, or would not start): the watchdog ends what is left of
  the group (uvicorn outlives ``mlflow server``) and exits as COMMAND did (128 + N for
  signal N), leaving FOLDER and its log for the owner to report.
- The owner stops the server (SIGTERM to the group): the group ends, FOLDER is removed.
- The owner dies, even by SIGKILL, which it cannot catch: the kernel tells the watchdog
  (PR_SET_PDEATHSIG; polled as well, for the time before it was set), which ends the
  group and removes FOLDER. Nothing is left running, whoever killed the owner.

``--also-under FOLDER``: processes that left the group are ended with it too if they work
in FOLDER (or below it), or carry an environment variable whose value is FOLDER (slurm.py:
Slurm's job steps and their jobs run in sessions of their own).

Standard library only: the watchdog runs outside anything of the tests.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1
GRACE = 5.0  # seconds a group gets to end after SIGTERM, before SIGKILL


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """Ask the kernel to send ``signum`` to this process when its parent dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: callers also poll
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)


def group_members(pgid: int, also_under: tuple[str, ...] = ()) -> set[int]:
    """The live processes (not zombies) of a process group, and those that belong to one of
    the ``also_under`` folders (``belongs``)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z":
            continue
        if int(fields[2]) == pgid or any(belongs(stat.parent, f) for f in also_under):
            found.add(int(stat.parent.name))
    return found


def belongs(process: Path, folder: str) -> bool:
    """Whether a process (its /proc folder) works under ``folder`` or names it in its
    environment (as the value of a variable)."""
    try:
        cwd = os.readlink(process / "cwd").removesuffix(" (deleted)")
        environ = process.joinpath("environ").read_bytes()
    except OSError:
        return False
    if cwd == folder or cwd.startswith(folder.rstrip("/") + "/"):
        return True
    values = (v.decode(errors="replace").partition("=")[2] for v in environ.split(b"\0"))
    return any(value == folder for value in values)


def end_group(
    pgid: int, grace: float = GRACE, *, sparing: int | None = None, also_under: tuple = ()
) -> None:
    """SIGTERM a process group, then SIGKILL what is left of it after ``grace`` seconds.

    ``sparing``: a member that stays (the watchdog ending the rest of its own group).
    """
    for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 1.0)):
        members = group_members(pgid, also_under) - {sparing}
        if not members:
            return
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)
        deadline = time.monotonic() + wait
        while group_members(pgid, also_under) - {sparing} and time.monotonic() < deadline:
            _reap_children()
            time.sleep(0.05)
        _reap_children()


def _reap_children() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def watched(
    folder: Path, argv: list, log: Path, env: dict[str, str], also_under: tuple = ()
) -> subprocess.Popen:
    """Start ``argv`` under a watchdog (this file, run as a script) owned by this process,
    as the leader of a new process group; its output goes to ``log``."""
    also = [arg for path in also_under for arg in ("--also-under", str(path))]
    command = [sys.executable, __file__, str(os.getpid()), str(folder), *also, "--", *argv]
    with open(log, "wb") as output:
        return subprocess.Popen(
            list(map(str, command)),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env=env,
            start_new_session=True,  # its own process group: ending it ends all of it
        )


def watchdog(owner: int, folder: str, command: list[str], also_under: tuple = ()) -> int:
    die_with_parent()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    if os.getppid() != owner:
        stopping.append(True)
    try:
        server = subprocess.Popen(command)
    except OSError as error:
        print(f"watchdog: cannot start {command[0]}: {error}", flush=True)
        return 127
    while not stopping:
        try:
            code = server.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            if os.getppid() != owner:
                stopping.append(True)
            continue
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # What the server left (its uvicorn, say).
        end_group(os.getpgid(0), sparing=os.getpid(), also_under=also_under)
        return 128 - code if code < 0 else code  # as a shell reports it: 128 + N for signal N
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    end_group(os.getpgid(0), sparing=os.getpid(), also_under=also_under)
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    options, command = sys.argv[3 : sys.argv.index("--")], sys.argv[sys.argv.index("--") + 1 :]
    also = tuple(v for o, v in itertools.pairwise(options) if o == "--also-under")
    sys.exit(watchdog(int(sys.argv[1]), sys.argv[2], command, also))
