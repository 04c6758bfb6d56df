"""A real RTMPose training, shrunk: MMPose's RTMPose-m COCO config on a few fake images.

The MMPose page tells lab members to add its lines (examples/mmpose_mlflow_config.py) to
the config they train, for example MMPose's RTMPose-m on COCO. This module writes such a
member's config: one that inherits the RTMPose-m COCO config shipped inside the mmpose
package, shrunk to a few fake COCO images made here (two epochs, on the CPU, no pretrained
weights: no network), and ends with the page's lines. Used by
tests/guide/test_mmpose_mlflow_config_rtmpose.py, and by the UI page's MMEngine training where
mmpose is installed (``nox -s mmpose``, ``nox -s screenshots``): its pictures show RTMPose.

Importing it needs the real MMPose stack; without it, it raises ImportError.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np

from tests.lib.mmengine_stand_in import BACKEND_MODULE_FOLDER

with warnings.catch_warnings():
    # What the OpenMMLab stack says when imported, facts of its code, not the page's:
    # torch 2.13 deprecates torch.jit (used by torch.distributed.optim, which mmengine
    # imports); mmengine imports pkg_resources (hence setuptools<81); torchvision 0.16.2
    # beside torch 2.13 has no compiled image ops (MMPose uses none); mmcv warns about
    # a class it moved, on mmpose's import of the old place.
    warnings.filterwarnings("ignore", r"`torch\.jit\.\w+` is deprecated")
    warnings.filterwarnings("ignore", "pkg_resources is deprecated as an API")
    warnings.filterwarnings("ignore", "Failed to load image Python extension")
    warnings.filterwarnings("ignore", "``MultiScaleDeformableAttention`` has been moved")
    import mmpose
    import torch
    from mmengine.config import Config
    from mmengine.runner import Runner
    from mmpose.utils import register_all_modules

    # MMPose's modules, and the three parts of MMDetection that the RTMPose config uses
    # (its backbone, a transform, a hook): imported here, under these filters, rather than
    # by the Runner's registries during a training (tools/train.py leaves it to them).
    register_all_modules(init_default_scope=False)
    import mmdet.datasets.transforms
    import mmdet.engine.hooks
    import mmdet.models  # noqa: F401

# The config the page names, as it ships inside the mmpose package.
MMPOSE_CONFIGS = Path(mmpose.__file__).parent / ".mim" / "configs"
RTMPOSE = MMPOSE_CONFIGS / "body_2d_keypoint/rtmpose/coco/rtmpose-m_8xb256-420e_coco-256x192.py"
# MMPose's tools/train.py and tools/test.py, as they ship inside the mmpose package.
MMPOSE_TOOLS = Path(mmpose.__file__).parent / ".mim" / "tools"
# mmdet's CSPNeXt channel attention (se_layer.py) calls torch.cuda.amp.autocast, which
# torch deprecates: said at every iteration of RTMPose's backbone.
AUTOCAST_DEPRECATED = r"`torch\.cuda\.amp\.autocast\(args...\)` is deprecated"

TRAIN_IMAGES, VAL_IMAGES, BATCH = 4, 2, 2
EPOCHS = 2
ITERATIONS = EPOCHS * TRAIN_IMAGES // BATCH

# A member's config: RTMPose-m on COCO, shrunk to the fake images. The page's lines follow.
SHRUNK_RTMPOSE = """\
_base_ = [{rtmpose!r}]

max_epochs = {epochs}
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
# No pretrained backbone: its checkpoint is a download, and the tests have no network.
model = dict(backbone=dict(init_cfg=None))
# Albumentation needs albumentations, an optional dependency of MMPose not installed here;
# its blur and dropout change pixels, nothing of what reaches MLflow.
train_pipeline = [t for t in _base_.train_pipeline if t.type != "Albumentation"]
data_root = {data!r}
# The keypoints' names and sigmas, from MMPose's configs (a member trains in a clone of
# MMPose, where this path is relative; here the package's copy).
metainfo = dict(from_file={metainfo!r})
train_dataloader = dict(
    batch_size={batch}, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file="train.json", data_prefix=dict(img="images/"),
                 metainfo=metainfo, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size={batch}, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file="val.json", data_prefix=dict(img="images/"),
                 metainfo=metainfo))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + "val.json")
test_evaluator = val_evaluator
# Log every iteration (MMPose: every 50); draw every validation image (MMPose: off); keep
# the best checkpoint (RTMPose keeps it by 'coco/AP'), and the last one only if asked.
default_hooks = dict(
    logger=dict(interval=1), visualization=dict(enable={draw}, interval=1),
    checkpoint=dict(save_last={save_last}))
log_processor = dict(window_size=1)
"""


# -- a few fake COCO images, with one person each ------------------------------------

KEYPOINTS = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
]  # fmt: skip
# Where each keypoint sits in its person's box, as (x, y) fractions: a person standing.
POSE = [
    (0.5, 0.08), (0.45, 0.06), (0.55, 0.06), (0.4, 0.08), (0.6, 0.08), (0.3, 0.22),
    (0.7, 0.22), (0.2, 0.4), (0.8, 0.4), (0.15, 0.55), (0.85, 0.55), (0.38, 0.55),
    (0.62, 0.55), (0.38, 0.75), (0.62, 0.75), (0.38, 0.95), (0.62, 0.95),
]  # fmt: skip


def write_fake_coco(folder: Path, train_images: int = TRAIN_IMAGES) -> None:
    """COCO-style train.json, val.json and images/: one person per image.

    The validation persons are one medium and one large (COCO's areas), so that every
    one of CocoMetric's ten results is computed.
    """
    import cv2

    rng = np.random.default_rng(0)
    (folder / "images").mkdir(parents=True)
    category = {"id": 1, "name": "person", "supercategory": "person", "keypoints": KEYPOINTS}
    boxes = {  # image size, person box (x, y, w, h)
        "train": [((320, 256), (100, 20, 120, 220))] * train_images,
        "val": [((320, 256), (130, 60, 60, 120)), ((320, 256), (90, 10, 140, 240))],
    }
    next_id = 1
    for split, people in boxes.items():
        images, annotations = [], []
        for (width, height), (x, y, w, h) in people:
            name = f"{split}_{next_id:03d}.jpg"
            pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
            keypoints = []
            for fx, fy in POSE:
                px, py = x + fx * w, y + fy * h
                cv2.circle(pixels, (int(px), int(py)), 4, (255, 255, 255), -1)
                keypoints += [round(px, 1), round(py, 1), 2]
            cv2.imwrite(str(folder / "images" / name), pixels)
            images.append({"id": next_id, "file_name": name, "width": width, "height": height})
            annotations.append(
                {
                    "id": next_id, "image_id": next_id, "category_id": 1,
                    "bbox": [x, y, w, h], "area": float(w * h), "iscrowd": 0,
                    "num_keypoints": len(POSE), "keypoints": keypoints,
                }
            )  # fmt: skip
            next_id += 1
        coco = {"images": images, "annotations": annotations, "categories": [category]}
        (folder / f"{split}.json").write_text(json.dumps(coco))


def write_member_config(
    folder: Path,
    name: str,
    recipe: str,
    draw: bool = True,
    save_last: bool = False,
    train_images: int = TRAIN_IMAGES,
) -> Path:
    """The config a member trains: shrunk RTMPose, then the page's lines (``recipe``).

    ``draw``: whether PoseVisualizationHook draws the validation images; ``save_last``:
    whether the last epoch's checkpoint is kept (MMEngine's default), to resume from;
    ``train_images``: how many (one iteration per two images and epoch).
    """
    data = folder / "coco"
    if not data.exists():
        write_fake_coco(data, train_images)
    shrunk = SHRUNK_RTMPOSE.format(
        rtmpose=str(RTMPOSE), epochs=EPOCHS, data=str(data) + "/", batch=BATCH,
        metainfo=str(MMPOSE_CONFIGS / "_base_/datasets/coco.py"), draw=draw,
        save_last=save_last,
    )  # fmt: skip
    config = folder / f"{name}.py"
    config.write_text(f"{shrunk}\n{recipe}")
    return config


def train(config: Path, work_dir: Path) -> Config:
    """Train a member's config as MMPose's tools/train.py does, on one CPU thread.

    One thread: the machine's cores are shared (the MLflow server, other jobs), and torch's
    threads then wait on each other (15 to 17 s per iteration were measured under load,
    against 2 to 3 s with one thread). Returns the config as loaded (its ``run_name``).
    """
    if str(BACKEND_MODULE_FOLDER) not in sys.path:
        sys.path.append(str(BACKEND_MODULE_FOLDER))  # the config imports the page's backend
    cfg = Config.fromfile(str(config))
    cfg.work_dir = str(work_dir)
    cfg.launcher = "none"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", AUTOCAST_DEPRECATED)
            Runner.from_cfg(cfg).train()
    finally:
        torch.set_num_threads(threads)
    return cfg
