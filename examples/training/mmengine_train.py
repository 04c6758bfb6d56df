"""An MMEngine training that goes on in the same MLflow run when started again."""

import os
from getpass import getuser

import mlflow
import torch
from mlflow.utils.credentials import read_mlflow_creds
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, HOOKS, MODELS
from mmengine.runner import Runner, find_latest_checkpoint

WORK_DIR = "work_dirs/regression"
# PyTorch 2.6+ loads weights only; MMEngine's checkpoints hold more. Trust your own only.
os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"


@MODELS.register_module()
class Regression(BaseModel):  # your model
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(8, 1)

    def forward(self, inputs, targets=None, mode="tensor"):
        outputs = self.linear(inputs)
        if mode == "loss":
            return {"loss": torch.nn.functional.mse_loss(outputs, targets)}
        return outputs


@DATASETS.register_module()
class Samples(torch.utils.data.Dataset):  # your data
    def __init__(self):
        self.inputs = torch.randn(64, 8, generator=torch.Generator().manual_seed(0))

    def __len__(self):
        return len(self.inputs)

    def __getitem__(self, index):
        x = self.inputs[index]
        return {"inputs": x, "targets": x.sum(dim=0, keepdim=True)}


# Setup: see Getting started
member = read_mlflow_creds().username or getuser()
CONFIG = dict(
    model=dict(type="Regression"),
    work_dir=WORK_DIR,
    train_dataloader=dict(
        dataset=dict(type="Samples"),
        sampler=dict(type="DefaultSampler", shuffle=True),
        collate_fn=dict(type="default_collate"),
        batch_size=8,
    ),
    train_cfg=dict(by_epoch=True, max_epochs=4),
    optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
    default_hooks=dict(
        logger=dict(type="LoggerHook", interval=1),
        checkpoint=dict(type="CheckpointHook", interval=1),
    ),
    custom_hooks=[dict(type="MLflowRunIdHook")],
    resume=True,
    visualizer=dict(
        type="Visualizer",
        vis_backends=[
            dict(
                type="MLflowVisBackend",
                exp_name=f"mlflow-guide-mmengine/{member}",
                run_name="regression",
                tracking_uri=os.environ["MLFLOW_TRACKING_URI"],
            )
        ],
    ),
    randomness=dict(seed=0),
)

SLURM_TAGS = {
    "slurm.job_id": "SLURM_JOB_ID",
    "slurm.array_task_id": "SLURM_ARRAY_TASK_ID",
    "slurm.node": "SLURMD_NODENAME",
    "slurm.gpus": "SLURM_GPUS_ON_NODE",
}
job_tags = {tag: os.environ[var] for tag, var in SLURM_TAGS.items() if var in os.environ}


@HOOKS.register_module()
class MLflowRunIdHook(Hook):
    def before_run(self, runner):
        # This start's job, as tags: in the config, a new job's values would stop the resume.
        mlflow.set_tags(job_tags)

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint["meta"]["mlflow_run_id"] = mlflow.active_run().info.run_id


def run_id_of_last_checkpoint(work_dir):
    checkpoint = find_latest_checkpoint(work_dir)
    if checkpoint is None:
        return None
    meta = torch.load(checkpoint, map_location="cpu", weights_only=False)["meta"]
    return meta.get("mlflow_run_id")


def main():
    run_id = run_id_of_last_checkpoint(WORK_DIR)
    if run_id is not None:
        os.environ["MLFLOW_RUN_ID"] = run_id  # MLflow goes on in this run
    Runner.from_cfg(Config(CONFIG)).train()


if __name__ == "__main__":
    main()
