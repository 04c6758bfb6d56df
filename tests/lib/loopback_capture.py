"""What crosses loopback, as an eavesdropper on this machine would see it: a tcpdump
capture of some ports during a block, read afterwards. The checks that no password crosses
the network in clear use it (Debian's tcpdump; the tests run as root)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def captured(folder: Path, *ports: int) -> Iterator[Callable[[int], str]]:
    """A capture of ``ports`` on loopback during the block, into ``folder``; yields a
    function giving the text of one port's packets (call it after the block)."""
    capture = folder / "lo.pcap"
    tcpdump = subprocess.Popen(
        ["tcpdump", "-i", "lo", "-U", "-s", "0", "-w", str(capture),
         " or ".join(f"tcp port {port}" for port in ports)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip

    def packets(port: int) -> str:
        dumped = subprocess.run(
            ["tcpdump", "-r", str(capture), "-A", f"tcp port {port}"],
            capture_output=True, timeout=30, check=True,
        )  # fmt: skip
        return dumped.stdout.decode(errors="replace")

    try:
        assert b"listening on lo" in tcpdump.stderr.readline()
        yield packets
        # tcpdump writes what the kernel queued for it at its own pace (slow on a busy
        # machine), and drops what is still queued when interrupted: wait until it is done.
        size, deadline = -1, time.monotonic() + 30
        while size != capture.stat().st_size and time.monotonic() < deadline:
            size = capture.stat().st_size
            time.sleep(2)
    finally:
        os.killpg(tcpdump.pid, signal.SIGINT)
        tcpdump.wait(timeout=10)
        tcpdump.stderr.close()
