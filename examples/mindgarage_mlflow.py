"""MMEngine's MLflowVisBackend, with names MLflow accepts and the Slurm job's tags."""

import os

from mmengine.registry import VISBACKENDS
from mmengine.visualization import MLflowVisBackend

SLURM_TAGS = {
    "slurm.job_id": "SLURM_JOB_ID",
    "slurm.array_task_id": "SLURM_ARRAY_TASK_ID",
    "slurm.node": "SLURMD_NODENAME",
    "slurm.gpus": "SLURM_GPUS_ON_NODE",
}


def accepted(name):
    name = name.replace(" (", "_").replace("(", "_").replace(")", "")
    return "".join(c if c.isascii() and (c.isalnum() or c in "_-./ ") else "_" for c in name)


@VISBACKENDS.register_module(force=True)
class MLflowAcceptedNamesVisBackend(MLflowVisBackend):
    def __init__(self, *args, **kwargs):
        # At each start: the config's copy in the work_dir would keep the first job's.
        job_tags = {tag: os.environ[var] for tag, var in SLURM_TAGS.items() if var in os.environ}
        super().__init__(*args, tags=job_tags, **kwargs)

    def add_scalar(self, name, value, step=0, **kwargs):
        super().add_scalar(accepted(name), value, step, **kwargs)

    def add_scalars(self, scalar_dict, step=0, file_path=None, **kwargs):
        scalars = {accepted(name): value for name, value in scalar_dict.items()}
        super().add_scalars(scalars, step, file_path, **kwargs)

    def add_image(self, name, image, step=0, **kwargs):
        self.experiment.log_image(image, key=accepted(name), step=step)
