"""Waiting for a process while it makes progress: a hang, not a busy machine, ends the wait.

A process that imports torch and logs a model takes 20 s on an idle machine and minutes
beside other work: a wall-clock bound either fails it on a busy machine or waits minutes
for a hung one. ``run_while_progressing`` waits as long as the process, or any process of
its group (MLflow's requirement inference runs in a child), uses CPU time or writes
output; it ends the group and fails once none of that happened for ``idle_s``: the process
then waits on something that does not come (a server that does not answer, input, a lock).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

from labdocs.services.processes import end_group, group_members

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Hung(AssertionError):
    """The process did nothing for ``idle_s``: no CPU time used, no output written."""


def cpu_seconds(pids: set[int]) -> float:
    """CPU time used by ``pids``, with their children that ended (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile: its time is its parent's cutime now
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / CLOCK_TICKS


def run_while_progressing(
    argv: list[str], *, idle_s: float, input: str | None = None, **popen
) -> subprocess.CompletedProcess:
    """``subprocess.run(argv, capture_output=True, text=True)``, waited for while the
    process progresses; ``Hung`` (its output so far in the message) once it has used no
    CPU time and written nothing for ``idle_s``."""
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        **popen,
    )  # fmt: skip
    written = {"stdout": [], "stderr": []}
    last_output = [time.monotonic()]

    def read(stream, into: list[str]) -> None:
        for line in stream:
            into.append(line)
            last_output[0] = time.monotonic()

    readers = [
        threading.Thread(target=read, args=(process.stdout, written["stdout"]), daemon=True),
        threading.Thread(target=read, args=(process.stderr, written["stderr"]), daemon=True),
    ]
    for reader in readers:
        reader.start()
    if input is not None:
        process.stdin.write(input)
        process.stdin.close()
    used, progressed = 0.0, time.monotonic()
    try:
        while process.poll() is None:
            now_used = cpu_seconds(group_members(process.pid))
            if now_used > used + 0.05:  # more than the clock's grain
                used, progressed = now_used, time.monotonic()
            progressed = max(progressed, last_output[0])
            if time.monotonic() - progressed > idle_s:
                raise Hung(
                    f"{argv[0]} hung: no CPU time used and nothing written for {idle_s:.0f} s "
                    f"(after {used:.1f} CPU seconds). Its output:\n"
                    f"{''.join(written['stdout'])[-2000:]}{''.join(written['stderr'])[-3000:]}"
                )
            time.sleep(0.5)
    finally:  # done, hung, Ctrl-C or the test's own timeout: nothing is left running
        if process.poll() is None:
            end_group(process.pid, grace=2.0)
            process.wait()
        for reader in readers:
            reader.join(timeout=5)
        process.stdout.close()
        process.stderr.close()
    return subprocess.CompletedProcess(
        argv, process.returncode, "".join(written["stdout"]), "".join(written["stderr"])
    )
