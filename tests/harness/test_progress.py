"""Waiting while a process progresses (labdocs/services/progress.py): a busy process is waited
for however long it takes; a stuck one fails once it has done nothing for the bound."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from labdocs.services.progress import Hung, run_while_progressing

BUSY = "import time\nend = time.monotonic() + 4\nwhile time.monotonic() < end: pass\nprint('done')"


def test_a_busy_silent_process_is_waited_for_beyond_the_idle_bound():
    """Four seconds of CPU work, nothing written: not a hang at an idle bound of 1.5 s."""
    done = run_while_progressing([sys.executable, "-c", BUSY], idle_s=1.5)
    assert done.returncode == 0 and done.stdout == "done\n"


def test_a_process_busy_in_a_child_is_waited_for():
    """MLflow's requirement inference works in a child process: its CPU time counts."""
    code = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {BUSY!r}])"
    done = run_while_progressing([sys.executable, "-c", code], idle_s=1.5)
    assert done.stdout == "done\n"


def test_a_process_that_writes_is_waited_for():
    code = "import time\nfor i in range(5):\n    print(i, flush=True); time.sleep(0.8)"
    assert run_while_progressing([sys.executable, "-c", code], idle_s=1.5).returncode == 0


def test_a_stuck_process_fails_once_idle_and_leaves_nothing():
    code = "import subprocess, time\nprint('waiting', flush=True)\n"
    code += "subprocess.Popen(['sleep', '599.25'])\ntime.sleep(600)"
    started = time.monotonic()
    with pytest.raises(Hung, match=r"no CPU time used and nothing written for 2 s") as failure:
        run_while_progressing([sys.executable, "-c", code], idle_s=2)
    assert time.monotonic() - started < 30
    assert "waiting" in str(failure.value)
    assert not [p for p in Path("/proc").glob("[0-9]*") if _command(p) == "sleep 599.25 "]


def test_input_reaches_the_process():
    code = "print(input()[::-1])"
    assert (
        run_while_progressing([sys.executable, "-c", code], idle_s=5, input="abc\n").stdout
        == "cba\n"
    )


def _command(process: Path) -> str:
    try:
        return (process / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
