"""A training that Slurm may stop at any time, and that goes on as the same MLflow run.

    sbatch train.sbatch

Slurm sends SIGTERM when a more urgent job preempts this one, or when the job is requeued,
and the signal that ``--signal`` asks for (USR1 here) a while before the time limit. Each
makes the training save a checkpoint (with the MLflow run's ID in it), end its run as
KILLED and stop; the requeued job starts again from that checkpoint, in the same run.
"""

# First, before anything slow: catch the signals. Importing torch and MLflow takes seconds,
# and a signal that arrives meanwhile would kill the job, which Slurm then does not requeue.
import signal

stop_signals = []  # the training loop looks at it between two steps


def ask_to_stop(signum, frame):
    stop_signals.append(signal.Signals(signum).name)


signal.signal(signal.SIGTERM, ask_to_stop)
signal.signal(signal.SIGUSR1, ask_to_stop)

import argparse  # noqa: E402 (after the handlers, on purpose)
import getpass  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import mlflow  # noqa: E402
import torch  # noqa: E402

# One checkpoint per job: a requeued job keeps its SLURM_JOB_ID, a new job starts afresh.
CHECKPOINT = Path(f"checkpoint-{os.environ.get('SLURM_JOB_ID', 'local')}.pt")


def save_checkpoint(model, optimizer, next_step, run_id):
    """Write the checkpoint whole or not at all: a job killed while saving keeps the last."""
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "next_step": next_step,
        "run_id": run_id,
    }
    torch.save(state, CHECKPOINT.with_suffix(".tmp"))
    os.replace(CHECKPOINT.with_suffix(".tmp"), CHECKPOINT)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--checkpoint-every", type=int, default=20)
    args = parser.parse_args()

    model = torch.nn.Linear(8, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    first_step, run_id = 0, None
    if CHECKPOINT.exists():  # a requeued job: go on where the last one stopped
        saved = torch.load(CHECKPOINT)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        first_step, run_id = saved["next_step"], saved["run_id"]

    member = os.environ.get("MLFLOW_TRACKING_USERNAME") or getpass.getuser()
    mlflow.set_experiment(f"mlflow-guide-slurm/{member}")
    # run_id=None starts a new run; the checkpoint's ID resumes that run (RUNNING again).
    with mlflow.start_run(run_id=run_id) as run:
        if run_id is None:
            mlflow.log_params(vars(args))
        for step in range(first_step, args.steps):
            if stop_signals:
                # Save first: the next job starts from here, without repeating a step.
                save_checkpoint(model, optimizer, step, run.info.run_id)
                mlflow.end_run(status="KILLED")
                if "SIGUSR1" in stop_signals and "SLURM_JOB_ID" in os.environ:
                    # The time limit is near: Slurm would end the job, not requeue it.
                    subprocess.run(["scontrol", "requeue", os.environ["SLURM_JOB_ID"]], check=True)
                return

            x = torch.randn(32, 8)
            loss = torch.nn.functional.mse_loss(model(x), x.sum(dim=1, keepdim=True))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            time.sleep(0.2)  # stands in for the seconds a real step takes
            mlflow.log_metric("loss", loss.item(), step=step)
            if (step + 1) % args.checkpoint_every == 0:  # in case the node dies
                save_checkpoint(model, optimizer, step + 1, run.info.run_id)
    CHECKPOINT.unlink(missing_ok=True)  # done: a new job with this ID would start afresh


if __name__ == "__main__":
    main()
