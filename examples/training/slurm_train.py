import signal

stop_signals = []
for stop_signal in (signal.SIGTERM, signal.SIGUSR1):
    signal.signal(stop_signal, lambda signum, frame: stop_signals.append(signum))

import argparse
import os
import subprocess
import time
from getpass import getuser
from pathlib import Path

import mlflow
import torch
from mlflow.utils.credentials import read_mlflow_creds

CHECKPOINT = Path(f"checkpoint-{os.environ.get('SLURM_JOB_ID', 'local')}.pt")
SLURM_TAGS = {
    "slurm.job_id": "SLURM_JOB_ID",
    "slurm.array_task_id": "SLURM_ARRAY_TASK_ID",
    "slurm.node": "SLURMD_NODENAME",
    "slurm.gpus": "SLURM_GPUS_ON_NODE",
}

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=100)
steps = parser.parse_args().steps

model = torch.nn.Linear(8, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
first_step, run_id = 0, None
if CHECKPOINT.exists():
    saved = torch.load(CHECKPOINT)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    first_step, run_id = saved["next_step"], saved["run_id"]


def save_checkpoint(next_step):
    partial = CHECKPOINT.with_suffix(".partial")  # killed while saving: the last one stays whole
    torch.save(
        dict(
            model=model.state_dict(),
            optimizer=optimizer.state_dict(),
            next_step=next_step,
            run_id=run.info.run_id,
        ),
        partial,
    )
    partial.replace(CHECKPOINT)


# Setup: see Getting started
member = read_mlflow_creds().username or getuser()
mlflow.set_experiment(f"mlflow-guide-slurm/{member}")
job_tags = {tag: os.environ[var] for tag, var in SLURM_TAGS.items() if var in os.environ}
with mlflow.start_run(run_id=run_id, tags=job_tags) as run:
    for step in range(first_step, steps):
        if stop_signals:
            save_checkpoint(step)
            mlflow.end_run(status="KILLED")
            if signal.SIGUSR1 in stop_signals and "SLURM_JOB_ID" in os.environ:
                subprocess.run(["scontrol", "requeue", os.environ["SLURM_JOB_ID"]], check=True)
            break
        loss = model(torch.randn(32, 8)).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        time.sleep(0.2)  # your step's work
        mlflow.log_metric("loss", loss.item(), step=step)
        if (step + 1) % 10 == 0:  # in case the node dies
            save_checkpoint(step + 1)
    else:
        CHECKPOINT.unlink(missing_ok=True)
