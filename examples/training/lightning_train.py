import os
import sys
import time
from getpass import getuser
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import MLFlowLogger
from mlflow.utils.credentials import read_mlflow_creds

FOLDER = Path(f"lightning-{os.environ.get('SLURM_JOB_ID', 'local')}")
SLURM_TAGS = {
    "slurm.job_id": "SLURM_JOB_ID",
    "slurm.array_task_id": "SLURM_ARRAY_TASK_ID",
    "slurm.node": "SLURMD_NODENAME",
    "slurm.gpus": "SLURM_GPUS_ON_NODE",
}


class Regression(L.LightningModule):
    def __init__(self, lr=0.05):
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(8, 1)

    def training_step(self, batch, batch_idx):
        loss = self.layer(batch).pow(2).mean()
        self.log("train_loss", loss)
        time.sleep(0.05)  # your step's work
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    def on_save_checkpoint(self, checkpoint):
        checkpoint["mlflow_run_id"] = self.logger.run_id


class MLFlowLoggerEachStepOnce(MLFlowLogger):
    def __init__(self, run_id=None, **kwargs):
        super().__init__(run_id=run_id, **kwargs)
        self.last_step = -1
        if run_id:
            self.experiment.update_run(run_id, status="RUNNING")
            history = self.experiment.get_metric_history(run_id, "train_loss")
            self.last_step = max(point.step for point in history)

    def log_metrics(self, metrics, step=None):
        if step is None or step > self.last_step:
            super().log_metrics(metrics, step)


checkpoint = max(FOLDER.glob("**/*.ckpt"), key=os.path.getmtime, default=None)
run_id = checkpoint and torch.load(checkpoint, weights_only=False)["mlflow_run_id"]

# Setup: see Getting started
member = read_mlflow_creds().username or getuser()
job_tags = {tag: os.environ[var] for tag, var in SLURM_TAGS.items() if var in os.environ}
logger = MLFlowLoggerEachStepOnce(
    experiment_name=f"mlflow-guide-lightning/{member}",
    run_id=run_id,
    tags=job_tags,
    log_model=True,
)
trainer = L.Trainer(
    max_epochs=int(sys.argv[1]),
    logger=logger,
    default_root_dir=FOLDER,
    log_every_n_steps=1,
)
data = torch.utils.data.DataLoader(torch.randn(256, 8), batch_size=16)
trainer.fit(Regression(), data, ckpt_path=checkpoint)
