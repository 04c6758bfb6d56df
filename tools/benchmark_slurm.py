"""Print how long the throwaway Slurm (labdocs/services/slurm.py) takes to start and to stop.

    python -m tools.benchmark_slurm [--runs N]

Start: until its node is idle (it takes jobs); a job: submitted until completed; stop:
its jobs and daemons ended, its folder gone. The figures of the README's Slurm line.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from labdocs.services.slurm import ThrowawaySlurm


def measure_once() -> tuple[float, float, float]:
    began = time.monotonic()
    cluster = ThrowawaySlurm.start(Path(tempfile.gettempdir()))
    try:
        cluster.wait_ready()
        ready = time.monotonic() - began
        with tempfile.TemporaryDirectory() as folder:
            job = cluster.sbatch("--output=/dev/null", "--wrap=true", cwd=Path(folder))
            cluster.wait_for(job, lambda f: f["JobState"] == "COMPLETED", "completed")
        first_job = time.monotonic() - began
    finally:
        stopping = time.monotonic()
        cluster.stop()
    return ready, first_job, time.monotonic() - stopping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = [measure_once() for _ in range(parser.parse_args().runs)]
    for i, name in enumerate(("ready (node idle)", "first job completed", "stopped")):
        print(f"throwaway Slurm {name}: {statistics.median(r[i] for r in runs):.1f} s")


if __name__ == "__main__":
    main()
