"""A training on several processes (torchrun) that makes one MLflow run.

    export MLFLOW_TRACKING_URI=http://mindgarage07.cs.uni-kl.de:8001
    torchrun --standalone --nproc_per_node=2 ddp_train.py

Every process trains; only rank 0 talks to MLflow. The loss it logs is the mean over all
ranks, so the one run describes the whole training.
"""

import contextlib
import getpass
import os

import mlflow
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

STEPS = 20
PARAMS = {"lr": 0.05, "batch_size": 32, "steps": STEPS}


def main() -> None:
    # GPUs: "nccl", and each rank on its own GPU. On the CPU: "gloo".
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    rank, world_size = dist.get_rank(), dist.get_world_size()
    device = torch.device(
        f"cuda:{rank % torch.cuda.device_count()}" if backend == "nccl" else "cpu"
    )

    torch.manual_seed(rank)  # each rank its own data
    model = DistributedDataParallel(torch.nn.Linear(8, 1).to(device))
    optimizer = torch.optim.SGD(model.parameters(), lr=PARAMS["lr"])

    # One run for the whole training: only rank 0 starts it (and ends it, FAILED if the
    # training raises); the other ranks run the same code without a run.
    if rank == 0:
        member = os.environ.get("MLFLOW_TRACKING_USERNAME") or getpass.getuser()
        mlflow.set_experiment(f"mlflow-guide-ddp/{member}")
    with mlflow.start_run() if rank == 0 else contextlib.nullcontext():
        if rank == 0:
            mlflow.log_params({**PARAMS, "world_size": world_size})
        for step in range(STEPS):
            x = torch.randn(PARAMS["batch_size"], 8, device=device)
            loss = torch.nn.functional.mse_loss(model(x), x.sum(dim=1, keepdim=True))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

            # Every rank takes part in the all_reduce; only rank 0 logs its result.
            mean_loss = loss.detach().clone()
            dist.all_reduce(mean_loss)  # the sum over the ranks
            if rank == 0:
                mlflow.log_metric("loss", mean_loss.item() / world_size, step=step)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
