"""Run a server, and end it with its owner, however the owner ends.

    python watchdog.py OWNER_PID FOLDER [--also-under FOLDER] -- COMMAND...

servers.py starts every throwaway server through this script, as the leader of a new
process group. It runs COMMAND in that group and waits:

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

Standard library only: it runs before, and outside, anything of the tests.
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
GRACE = 5.0  # seconds the server gets to end after SIGTERM, before SIGKILL


def ask_kernel_for_parent_death_signal() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the poll below still notices the owner's death within a second


def owner_alive(owner: int) -> bool:
    return os.getppid() == owner


ALSO_UNDER: list[str] = []  # --also-under FOLDER


def others_in_group() -> list[int]:
    """The live processes of this process group (or marked), but this one."""
    me, group, found = os.getpid(), os.getpgid(0), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        if pid == me or fields[0] == "Z":
            continue
        if int(fields[2]) == group or any(belongs(stat.parent, f) for f in ALSO_UNDER):
            found.append(pid)
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
    return any(
        value == folder
        for _, _, value in (v.decode(errors="replace").partition("=") for v in environ.split(b"\0"))
    )


def end_the_others() -> None:
    """SIGTERM the rest of the group; SIGKILL what is left of it after GRACE seconds."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for signum, wait in ((signal.SIGTERM, GRACE), (signal.SIGKILL, 1.0)):
        for pid in others_in_group():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)
        deadline = time.monotonic() + wait
        while others_in_group() and time.monotonic() < deadline:
            reap_children()
            time.sleep(0.05)
        reap_children()


def reap_children() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def main() -> int:
    owner, folder = int(sys.argv[1]), sys.argv[2]
    options, command = sys.argv[3 : sys.argv.index("--")], sys.argv[sys.argv.index("--") + 1 :]
    ALSO_UNDER.extend(v for o, v in itertools.pairwise(options) if o == "--also-under")
    ask_kernel_for_parent_death_signal()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    if not owner_alive(owner):
        stopping.append(True)
    try:
        server = subprocess.Popen(command, start_new_session=False)
    except OSError as error:
        print(f"watchdog: cannot start {command[0]}: {error}", flush=True)
        return 127
    while not stopping:
        try:
            code = server.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            if not owner_alive(owner):
                stopping.append(True)
            continue
        end_the_others()  # what the server left behind (its uvicorn, say)
        return 128 - code if code < 0 else code  # as a shell reports it: 128 + N for signal N
    end_the_others()
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
