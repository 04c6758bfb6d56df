"""The stand-in training of the MMPose page's config: MMEngine's Runner, a tiny model.

The MMPose page's config (examples/mmpose_mlflow_config.py) is loaded as MMPose's
``tools/train.py`` loads a config, completed with a one-layer model and an eight-sample
data set, and trained on the CPU in about a second: enough for MMEngine's
``MLflowVisBackend`` to log what it logs in a real training. Without mmpose installed (the
quick loop), MMEngine's ``Visualizer`` stands in for its subclass ``PoseLocalVisualizer``.
Used by tests/guide/test_mmpose_mlflow_config.py and by the UI page's MMEngine training.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import torch

from labdocs.lab import ROOT

with warnings.catch_warnings():
    # mmengine.optim imports torch.distributed.optim, whose optimizers use
    # @torch.jit.script and @torch.jit.interface, which torch 2.13 deprecates: torch's
    # own code, run on import.
    warnings.filterwarnings(
        "ignore", r"`torch\.jit\.\w+` is deprecated", category=DeprecationWarning
    )
    from mmengine.config import Config
    from mmengine.evaluator import BaseMetric
    from mmengine.model import BaseModel
    from mmengine.registry import DATASETS, METRICS, MODELS, VISUALIZERS
    from mmengine.runner import Runner

# For the tests and the pages that train: imported above, under the warnings filter.
__all__ = ["BACKEND_MODULE_FOLDER", "EPOCHS", "ITERATIONS_PER_EPOCH", "RECIPE", "VISUALIZERS",
           "Config", "Runner", "add_training", "load_recipe"]  # fmt: skip

RECIPE = ROOT / "examples" / "mmpose_mlflow_config.py"
# The config imports the backend's module, examples/mindgarage_mlflow.py, by name
# (custom_imports): members keep it in a folder on their PYTHONPATH, the tests here.
BACKEND_MODULE_FOLDER = ROOT / "examples"

try:
    import mmpose  # noqa: F401
except ImportError:
    HAVE_MMPOSE = False
else:
    HAVE_MMPOSE = True


# -- a tiny model and data set, enough for MMEngine to train and log ---------------


class TinyRegressor(BaseModel):
    """One linear layer: a few iterations on the CPU take milliseconds."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        outputs = self.linear(inputs)
        if mode == "loss":
            return {"loss": torch.nn.functional.mse_loss(outputs, data_samples)}
        if mode == "predict":
            return [{"pred": p, "target": t} for p, t in zip(outputs, data_samples, strict=True)]
        return outputs


class TinyDataset(torch.utils.data.Dataset):
    """Eight samples of y = sum(x)."""

    def __init__(self) -> None:
        generator = torch.Generator().manual_seed(0)
        self.inputs = torch.rand(8, 4, generator=generator)
        self.targets = self.inputs.sum(dim=1, keepdim=True)

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index):
        return {"inputs": self.inputs[index], "data_samples": self.targets[index]}


class TinyError(BaseMetric):
    """Mean absolute error, reported as ``tiny/mae`` (MMPose's reads ``coco/AP``)."""

    default_prefix = "tiny"

    def process(self, data_batch, data_samples) -> None:
        self.results.extend(float((s["pred"] - s["target"]).abs()) for s in data_samples)

    def compute_metrics(self, results) -> dict:
        return {"mae": sum(results) / len(results)}


# Registered by name, as an MMPose config names its model and data set (force: the module
# may be imported twice by a test runner).
MODELS.register_module(name="RecipeTinyRegressor", module=TinyRegressor, force=True)
DATASETS.register_module(name="RecipeTinyDataset", module=TinyDataset, force=True)
METRICS.register_module(name="RecipeTinyError", module=TinyError, force=True)

ITERATIONS_PER_EPOCH = 4  # 8 samples, batch size 2
EPOCHS = 2


def load_recipe(path: Path = RECIPE) -> Config:
    """The config as MMPose's tools/train.py gets it, with the visualizer stand-in."""
    if str(BACKEND_MODULE_FOLDER) not in sys.path:
        sys.path.append(str(BACKEND_MODULE_FOLDER))  # as a member's PYTHONPATH
    cfg = Config.fromfile(str(path))
    if HAVE_MMPOSE:
        from mmpose.utils import register_all_modules

        # The default scope 'mmpose' too, as the Runner sets it: a visualizer built
        # outside a Runner then finds PoseLocalVisualizer in MMPose's registry.
        with warnings.catch_warnings():
            # Importing MMPose's models: mmcv warns that mmpose imports a class from the
            # place it moved it from; torchvision 0.16.2 beside torch 2.13 (requirements/
            # mmpose-no-deps.txt) has no compiled image ops, which MMPose does not use;
            # mmengine looks up mmpose's files with pkg_resources (hence setuptools<81).
            warnings.filterwarnings("ignore", "``MultiScaleDeformableAttention`` has been moved")
            warnings.filterwarnings("ignore", "Failed to load image Python extension")
            warnings.filterwarnings("ignore", "pkg_resources is deprecated as an API")
            register_all_modules(init_default_scope=True)
        cfg.default_scope = "mmpose"  # as MMPose's configs/_base_/default_runtime.py sets it
    else:
        # Without mmpose, MMEngine's Visualizer stands in for its subclass
        # PoseLocalVisualizer: the vis_backends, all that matters here, are MMEngine's.
        assert cfg.visualizer.type == "PoseLocalVisualizer"
        cfg.visualizer.type = "Visualizer"
    return cfg


def add_training(cfg: Config, work_dir: Path) -> Config:
    """What the rest of a real config and tools/train.py add: model, data, schedule."""
    dataloader = {
        "batch_size": 2,
        "num_workers": 0,
        "dataset": {"type": "RecipeTinyDataset"},
        "sampler": {"type": "DefaultSampler", "shuffle": False},
        "collate_fn": {"type": "default_collate"},
    }
    cfg.merge_from_dict(
        {
            "work_dir": str(work_dir),
            "model": {"type": "RecipeTinyRegressor"},
            "train_dataloader": dataloader,
            "val_dataloader": dataloader,
            "val_evaluator": {"type": "RecipeTinyError"},
            "train_cfg": {"by_epoch": True, "max_epochs": EPOCHS, "val_interval": 1},
            "val_cfg": {},
            "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.01}},
            # Log every iteration (MMPose logs every 50), and average over one iteration.
            "default_hooks": {"logger": {"type": "LoggerHook", "interval": 1}},
            "log_processor": {"window_size": 1, "by_epoch": True},
            "randomness": {"seed": 0},
        }
    )
    return cfg
