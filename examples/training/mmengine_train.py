"""An MMEngine training logged to the lab's MLflow server, resumable into the same run.

    python mmengine_train.py    # trains; started again, goes on from the last checkpoint

``resume=True`` makes MMEngine's Runner go on from the last checkpoint in ``work_dir``, if
there is one. MMEngine's MLflowVisBackend, though, starts a new MLflow run at every start:
this script keeps the run's ID in every checkpoint, and hands it to MLflow
(``MLFLOW_RUN_ID``) before the Runner starts logging.
"""

import getpass
import os

import mlflow
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, HOOKS, MODELS
from mmengine.runner import Runner, find_latest_checkpoint

WORK_DIR = "work_dirs/regression"
# MMEngine 0.10.7 loads checkpoints with torch.load's default, which PyTorch 2.6 made
# weights_only=True: resuming then fails with "UnpicklingError: Weights only load failed"
# (MMEngine's checkpoints hold more than weights). Your own checkpoints: load them whole.
os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"


@MODELS.register_module()
class Regression(BaseModel):
    """Your model: here one linear layer, learning y = sum(x)."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(8, 1)

    def forward(self, inputs, targets=None, mode="tensor"):
        outputs = self.linear(inputs)
        if mode == "loss":
            return {"loss": torch.nn.functional.mse_loss(outputs, targets)}
        return outputs


@DATASETS.register_module()
class Samples(torch.utils.data.Dataset):
    def __init__(self):
        self.inputs = torch.randn(64, 8, generator=torch.Generator().manual_seed(0))

    def __len__(self):
        return len(self.inputs)

    def __getitem__(self, index):
        x = self.inputs[index]
        return {"inputs": x, "targets": x.sum(dim=0, keepdim=True)}


@HOOKS.register_module()
class MLflowRunIdHook(Hook):
    """Keeps the MLflow run's ID in every checkpoint MMEngine saves."""

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint["meta"]["mlflow_run_id"] = mlflow.active_run().info.run_id


def run_id_of_last_checkpoint(work_dir):
    """The MLflow run of the checkpoint that ``resume=True`` goes on from (None: none)."""
    checkpoint = find_latest_checkpoint(work_dir)
    if checkpoint is None:
        return None
    # Your own file: weights_only=False is safe here.
    meta = torch.load(checkpoint, map_location="cpu", weights_only=False)["meta"]
    return meta.get("mlflow_run_id")


def main():
    run_id = run_id_of_last_checkpoint(WORK_DIR)
    if run_id is not None:
        os.environ["MLFLOW_RUN_ID"] = run_id  # MLflow goes on in this run, not a new one

    member = os.environ.get("MLFLOW_TRACKING_USERNAME") or getpass.getuser()
    # What a config file holds (Runner.from_cfg is what MMEngine's tools/train.py calls).
    cfg = Config(
        dict(
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
                logger=dict(type="LoggerHook", interval=1),  # a point of loss per iteration
                checkpoint=dict(type="CheckpointHook", interval=1),  # every epoch
            ),
            custom_hooks=[dict(type="MLflowRunIdHook")],
            resume=True,  # from the last checkpoint in work_dir, if there is one
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
    )
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == "__main__":
    main()
