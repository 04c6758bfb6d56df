"""Ctrl-C, or the death of whoever started pytest: stop at once, cleanly.

Both become a KeyboardInterrupt, so that pytest stops as on Ctrl-C: summary, then
pytest_unconfigure stops the servers. The kernel sends the SIGTERM when the parent dies
(processes.die_with_parent).

A KeyboardInterrupt can land where Python swallows it (a weakref callback of MLflow's
thread pools, say), and the example goes on. So, while an example runs, the interruption
is repeated every two seconds; and no next example starts.
"""

from __future__ import annotations

import _thread
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from labdocs.services.processes import die_with_parent


class Interruptions:
    def __init__(self) -> None:
        self.signals: list[str] = []  # the signals that asked this session to stop
        self._stopping = threading.Event()  # pytest caught the interruption, or ended
        self._in_example = threading.Event()  # the main thread runs a test's call

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._interrupt)
        signal.signal(signal.SIGINT, self._interrupt)
        die_with_parent(signal.SIGTERM)

    def _interrupt(self, signum, frame):
        if not self.signals:
            sys.unraisablehook = _ignoring_interruptions(sys.unraisablehook)
            threading.Thread(target=self._insist, daemon=True).start()
        self.signals.append(signal.Signals(signum).name)
        raise KeyboardInterrupt(f"pytest got {self.signals[0]}")

    def _insist(self) -> None:
        while not self._stopping.wait(2.0):
            if self._in_example.is_set():
                _thread.interrupt_main(signal.SIGINT)  # runs _interrupt again, in the main thread

    @contextmanager
    def during_example(self) -> Iterator[None]:
        self._in_example.set()
        try:
            yield
        finally:
            self._in_example.clear()

    def stop(self) -> None:
        self._stopping.set()


def _ignoring_interruptions(hook):
    """An interruption swallowed as "Exception ignored in ..." is ours, not an error."""

    def unraisablehook(unraisable):
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            hook(unraisable)

    return unraisablehook
