"""Start, use and stop a real, throwaway single-node Slurm cluster on loopback.

Debian's ``slurm-wlm`` and ``munge`` (installed by .ci/run), run as root with everything
under one temporary folder: the munge key and socket, ``slurm.conf``, the state, the logs.
Nothing in /etc is read: ``SLURM_CONF`` names the folder's ``slurm.conf``, and munge's
socket is given to Slurm with ``AuthInfo``. Ports are free ones, so two runs never meet.

The three daemons (munged, slurmctld, slurmd) run in the foreground under the watchdog
(processes.py) in one process group of their own, and end with their owner however it
ends. Jobs run under ``slurmstepd``, which leaves that group (Slurm keeps steps alive
across a restart of slurmd on purpose): every process started for this cluster carries
``DOCS_SLURM_CLUSTER=<folder>`` in its environment, and ``stop`` (and the watchdog, when
the owner dies) ends those too (``MARK``). Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from labdocs.services.processes import belongs, end_group, watched
from labdocs.services.servers import free_port
from labdocs.services.waiting import log_tail, wait_until

READY_TIMEOUT = 30.0
MARK = "DOCS_SLURM_CLUSTER"  # in the environment of every process of one cluster
LOG_TAIL_LINES = 30

# Where this cluster differs from the lab's: the lab's nodes have GPUs, this one has none.
# The batch scripts ask for GPUs (--gres=gpu:1, gpu:2) as on the lab's cluster, so the node
# offers two GPUs that Slurm only accounts for: GRES "gpu" whose device files are /dev/null
# and /dev/zero (GRES_CONF). Slurm 22.05 refuses a GPU count without a device file per GPU
# ("gres/gpu count reported lower than configured", the node INVAL); with no cgroups
# (TaskPlugin=task/none) nothing opens the files. Jobs get their GPUs
# (CUDA_VISIBLE_DEVICES=0,1, SLURM_GPUS_ON_NODE=2) and train on the CPU.
#
# Two partitions: "low" for trainings, "urgent" for the jobs that preempt them. With
# partition_prio preemption and PreemptMode=REQUEUE, a job of the higher tier sends the
# lower job SIGTERM (KillWait seconds before SIGKILL) and puts it back into the queue.
SLURM_CONF = """\
ClusterName=docs
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
AuthInfo=socket={folder}/munge/run/munge.socket
CredType=cred/munge
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool/%n
SlurmctldPidFile={folder}/run/slurmctld.pid
SlurmdPidFile={folder}/run/slurmd-%n.pid
SlurmctldLogFile={folder}/log/slurmctld.log
SlurmdLogFile={folder}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=300
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=4000 Gres=gpu:2 State=UNKNOWN
PartitionName=low Nodes=localhost Default=YES MaxTime=INFINITE State=UP PriorityTier=1
PartitionName=urgent Nodes=localhost MaxTime=INFINITE State=UP PriorityTier=10
"""

# Beside slurm.conf, where Slurm looks for it. AutoDetect=off: no NVIDIA library to ask.
GRES_CONF = """\
AutoDetect=off
Name=gpu File=/dev/null
Name=gpu File=/dev/zero
"""

# munged first (Slurm cannot authenticate without it), then the two Slurm daemons; the
# first one that ends ends the script, and the watchdog then the rest of the group.
LAUNCHER = """\
set -u
munged -F --key-file=munge/etc/munge.key --socket=munge/run/munge.socket \
  --pid-file=munge/run/munged.pid --seed-file=munge/lib/munged.seed \
  --log-file=munge/log/munged.log &
for _ in $(seq 100); do [ -S munge/run/munge.socket ] && break; sleep 0.05; done
slurmctld -D -c -f "$PWD/slurm.conf" &
slurmd -D -N localhost -f "$PWD/slurm.conf" &
wait -n
echo "a Slurm daemon ended (exit status $?); see log/ and munge/log/"
exit 1
"""


class SlurmError(RuntimeError):
    """The throwaway Slurm could not start, died, or a job did not do what was awaited."""


def installed() -> str | None:
    """None if munged, slurmctld, slurmd and sbatch are all on PATH; else what is missing."""
    missing = [n for n in ("munged", "slurmctld", "slurmd", "sbatch") if not shutil.which(n)]
    if not missing:
        return None
    return (
        f"{', '.join(missing)} not found: install Debian's Slurm and munge "
        "(apt-get install --no-install-recommends slurm-wlm munge; .ci/run does)"
    )


class ThrowawaySlurm:
    """One single-node cluster: its folder, its environment, its daemons' watchdog."""

    def __init__(self, folder: Path, process: subprocess.Popen) -> None:
        self.folder = folder
        self.process = process  # the watchdog, leader of the daemons' process group
        self.env = {"SLURM_CONF": str(folder / "slurm.conf"), MARK: str(folder)}

    @classmethod
    def start(cls, parent: Path | None = None) -> ThrowawaySlurm:
        """Write the cluster's folder (in ``parent``) and launch its daemons; return at once.

        munged refuses a socket below a folder that not everyone may enter: ``parent`` and
        the folders above it must be (the run's own folder is private; /tmp is not).
        """
        problem = installed()
        if problem:
            raise SlurmError(problem)
        folder = Path(tempfile.mkdtemp(prefix="slurm-", dir=parent))
        folder.chmod(0o755)  # munged refuses a key or socket under a folder others may write
        for sub in ("state", "spool", "run", "log", "jobs", "munge/run", "munge/lib"):
            (folder / sub).mkdir(parents=True)
        (folder / "munge").chmod(0o755)
        for private in ("munge/etc", "munge/log"):
            (folder / private).mkdir(mode=0o700)
        key = folder / "munge/etc/munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        conf = SLURM_CONF.format(
            folder=folder, user=pwd.getpwuid(os.getuid()).pw_name,
            ctld_port=free_port(), slurmd_port=free_port(),
        )  # fmt: skip
        (folder / "slurm.conf").write_text(conf)
        (folder / "gres.conf").write_text(GRES_CONF)
        env = {**os.environ, "SLURM_CONF": str(folder / "slurm.conf"), MARK: str(folder)}
        log = folder / "log" / "daemons.log"
        process = watched(folder, ["bash", "-c", LAUNCHER], log, env, also_under=(folder,))
        return cls(folder, process)

    # -- asking Slurm ------------------------------------------------------------------

    def run(self, *argv: str, check: bool = True, env: dict | None = None) -> str:
        """Run a Slurm command (sbatch, scontrol...) against this cluster; its stdout."""
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=30,
            env={**os.environ, **(env or {}), **self.env},
        )  # fmt: skip
        if check and done.returncode != 0:
            raise SlurmError(
                f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}\n"
                f"{self.log_tail()}"
            )
        return done.stdout

    def sbatch(self, *argv: str | Path, cwd: Path, env: dict | None = None) -> int:
        """Submit a job (sbatch's options, the script, its arguments) from ``cwd``, with
        ``env`` added to ours; the job's ID."""
        argv = ["sbatch", "--parsable", *map(str, argv)]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=30, cwd=cwd,
            env={**os.environ, **(env or {}), **self.env},
        )  # fmt: skip
        if done.returncode != 0:
            raise SlurmError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
        return int(done.stdout.strip().split(";")[0])

    def job(self, job_id: int) -> dict[str, str]:
        """``scontrol show job``'s fields of a job (JobState, Reason, Restarts, ExitCode...)."""
        out = self.run("scontrol", "show", "job", "--oneliner", str(job_id))
        return dict(re.findall(r"(\w+)=(\S*)", out))

    def wait_for(self, job_id: int, test, what: str, timeout: float = 60.0) -> dict[str, str]:
        """Poll the job until ``test(fields)`` holds; fail after ``timeout``, saying ``what``."""
        last: dict[str, str] = {}

        def done() -> dict[str, str] | None:
            self.check_alive()
            last.update(fields := self.job(job_id))
            return fields if test(fields) else None

        return wait_until(done, timeout=timeout, every=0.2, failure=lambda: SlurmError(
            f"job {job_id}: not {what} after {timeout:.0f} s; it is "
            f"{last.get('JobState')} ({last.get('Reason')})\n{self.log_tail()}"
        ))  # fmt: skip

    def start_now_if_held_back(self, job_id: int) -> None:
        """A requeued job waits for its BeginTime (about two minutes): start it now.

        For the tests only: a member's requeued job simply starts a little later.
        """
        fields = self.job(job_id)
        if fields.get("JobState") == "PENDING" and fields.get("Reason") == "BeginTime":
            self.run("scontrol", "update", f"jobid={job_id}", "StartTime=now")

    # -- health ----------------------------------------------------------------------

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        logs = [
            self.folder / name
            for name in ("log/daemons.log", "log/slurmctld.log", "log/slurmd.log")
        ]
        return "\n".join(
            f"--- {log} (last lines) ---\n{log_tail(log, lines)}" for log in logs if log.exists()
        )

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise SlurmError(f"the throwaway Slurm died (exit code {code}).\n{self.log_tail()}")

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> float:
        """Wait until the node is idle (it takes jobs); fail at once, with the logs, if not."""
        started, state = time.monotonic(), [""]

        def idle() -> bool:
            self.check_alive()
            state[0] = self.run("sinfo", "--noheader", "--format=%T", check=False).strip()
            return state[0] == "idle"

        wait_until(idle, timeout=timeout, failure=lambda: SlurmError(
            f"the throwaway Slurm's node is {state[0] or 'unknown'!r}, not idle, after "
            f"{timeout:.0f} s.\n{self.log_tail()}"
        ))  # fmt: skip
        return time.monotonic() - started

    # -- stopping ---------------------------------------------------------------------

    def stop(self, grace: float = 5.0) -> None:
        """End the jobs, the daemons' group and whatever else carries the mark; remove
        the folder."""
        with contextlib.suppress(OSError, subprocess.SubprocessError, SlurmError):
            self.run("scancel", "--full", "--user=root", check=False)
        end_group(self.process.pid, grace)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        # Jobs' slurmstepd and their trainings, outside the group: their fate is the test's.
        for pid in cluster_processes(self.folder):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.folder, ignore_errors=True)


def cluster_processes(folder: Path) -> list[int]:
    """This cluster's processes outside its daemons' group: job steps (they work in the
    folder) and jobs (they carry ``MARK``)."""
    return [
        int(proc.name)
        for proc in Path("/proc").glob("[0-9]*")
        if int(proc.name) != os.getpid() and belongs(proc, str(folder))
    ]
