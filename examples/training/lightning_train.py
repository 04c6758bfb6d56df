"""A PyTorch Lightning training logged to the lab's MLflow server, resumable into the same run.

    python lightning_train.py --epochs 3    # a run: parameters, metrics, checkpoints
    python lightning_train.py --epochs 5    # later: on from the last checkpoint, same run

Under Slurm (sbatch lightning.sbatch), Lightning's auto-requeue saves a checkpoint when the
job is warned of its time limit and requeues the job; the requeued job goes on from that
checkpoint. The MLflow run's ID travels in every checkpoint, so that it goes on in the
same run too.
"""

import argparse
import getpass
import os
import time
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import MLFlowLogger
from torch.utils.data import DataLoader, TensorDataset

# One folder per Slurm job (a requeued job keeps its SLURM_JOB_ID): checkpoints, and the
# checkpoint Lightning saves when Slurm warns the job (hpc_ckpt_<n>.ckpt).
FOLDER = Path(f"lightning-{os.environ.get('SLURM_JOB_ID', 'local')}")


class Regression(L.LightningModule):
    def __init__(self, lr: float = 0.05):
        super().__init__()
        self.save_hyperparameters()  # the logger logs them as the run's parameters
        self.layer = torch.nn.Linear(8, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss)  # a point per step (log_every_n_steps below)
        time.sleep(0.05)  # stands in for the time a real step takes
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    def on_save_checkpoint(self, checkpoint):
        # The run's ID in every checkpoint: whoever resumes from it resumes the run.
        checkpoint["mlflow_run_id"] = self.logger.run_id


class MLFlowLoggerEachStepOnce(MLFlowLogger):
    """Lightning's MLFlowLogger, going on in a run without logging any of its steps again.

    Lightning saves its checkpoint on Slurm's warning in the middle of a step, and trains
    on until Slurm stops the job: the resumed training repeats the steps after the
    checkpoint, which the run already holds. Those are not logged a second time. And the
    run, which Lightning ended as FAILED when Slurm stopped the job, is RUNNING again.
    """

    def __init__(self, run_id=None, **kwargs):
        super().__init__(run_id=run_id, **kwargs)
        self.steps_logged_before = -1  # the last step the run holds (-1: a new run)
        if run_id is not None:
            for key in self.experiment.get_run(run_id).data.metrics:
                for point in self.experiment.get_metric_history(run_id, key):
                    self.steps_logged_before = max(self.steps_logged_before, point.step)
            # Lightning ended it as FAILED when Slurm stopped the job: it runs again.
            self.experiment.update_run(run_id, status="RUNNING")

    def log_metrics(self, metrics, step=None):
        if step is None or step > self.steps_logged_before:
            super().log_metrics(metrics, step)


def newest_checkpoint() -> Path | None:
    """The checkpoint saved last: Lightning's on a Slurm warning, or the last epoch's."""
    found = sorted(FOLDER.glob("**/*.ckpt"), key=lambda path: path.stat().st_mtime)
    return found[-1] if found else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args()

    checkpoint = newest_checkpoint()
    run_id = None
    if checkpoint is not None:  # your own file: weights_only=False is safe here
        run_id = torch.load(checkpoint, weights_only=False)["mlflow_run_id"]

    member = os.environ.get("MLFLOW_TRACKING_USERNAME") or getpass.getuser()
    logger = MLFlowLoggerEachStepOnce(
        experiment_name=f"mlflow-guide-lightning/{member}",
        tracking_uri=os.environ["MLFLOW_TRACKING_URI"],
        run_id=run_id,  # None: a new run; the checkpoint's: that run, going on
        log_model=True,  # the checkpoints, as the run's artifacts, when the training ends
    )
    trainer = L.Trainer(
        max_epochs=args.epochs,
        logger=logger,
        callbacks=[ModelCheckpoint(dirpath=FOLDER / "checkpoints", save_last=True)],
        default_root_dir=FOLDER,
        log_every_n_steps=1,
        enable_progress_bar=False,
    )
    features = torch.randn(256, 8)
    data = DataLoader(TensorDataset(features, features.sum(dim=1, keepdim=True)), batch_size=16)
    trainer.fit(Regression(lr=args.lr), data, ckpt_path=checkpoint)


if __name__ == "__main__":
    main()
