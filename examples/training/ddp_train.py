import contextlib
import os
from getpass import getuser

import mlflow
import torch
import torch.distributed as dist
from mlflow.utils.credentials import read_mlflow_creds
from torch.nn.parallel import DistributedDataParallel

PARAMS = {"lr": 0.05, "batch_size": 32, "steps": 20}
SLURM_TAGS = {
    "slurm.job_id": "SLURM_JOB_ID",
    "slurm.array_task_id": "SLURM_ARRAY_TASK_ID",
    "slurm.node": "SLURMD_NODENAME",
    "slurm.gpus": "SLURM_GPUS_ON_NODE",
}

on_gpus = torch.cuda.is_available()
dist.init_process_group("nccl" if on_gpus else "gloo")
rank, world_size = dist.get_rank(), dist.get_world_size()
device = torch.device("cuda", int(os.environ["LOCAL_RANK"])) if on_gpus else None
model = DistributedDataParallel(torch.nn.Linear(8, 1).to(device))
optimizer = torch.optim.SGD(model.parameters(), lr=PARAMS["lr"])

if rank == 0:
    # Setup: see Getting started
    member = read_mlflow_creds().username or getuser()
    mlflow.set_experiment(f"mlflow-guide-ddp/{member}")
job_tags = {tag: os.environ[var] for tag, var in SLURM_TAGS.items() if var in os.environ}
with mlflow.start_run(tags=job_tags) if rank == 0 else contextlib.nullcontext():
    if rank == 0:
        mlflow.log_params({**PARAMS, "world_size": world_size})
    for step in range(PARAMS["steps"]):
        loss = model(torch.randn(PARAMS["batch_size"], 8, device=device)).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        mean_loss = loss.detach().clone()
        dist.all_reduce(mean_loss)  # the sum
        if rank == 0:
            mlflow.log_metric("loss", mean_loss.item() / world_size, step=step)
dist.destroy_process_group()
