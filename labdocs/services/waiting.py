"""Waiting for something to happen, with a bound: the one poll-until-deadline loop.

Standard library only: the services (servers, the deployment, Slurm), the trainings and
the browser's tab all wait with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    answer: Callable[[], T | None],
    *,
    timeout: float,
    failure: Callable[[], BaseException],
    every: float = 0.1,
    sleep: Callable[[float], object] = time.sleep,
) -> T:
    """Ask ``answer()`` every ``every`` seconds until it returns something (not None, not
    False); raise ``failure()`` once ``timeout`` seconds have passed without.

    ``answer`` raises itself for what makes waiting vain (a process that died), at once.
    ``sleep``: how to pause (a browser's tab pauses with its own, to go on serving events).
    """
    deadline = time.monotonic() + timeout
    while True:
        found = answer()
        if found is not None and found is not False:
            return found
        if time.monotonic() > deadline:
            raise failure()
        sleep(every)


def log_tail(path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, or why there are none: for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        return f"(no log: {error})"
    return "\n".join(text.splitlines()[-lines:])
