"""MMEngine's MLflowVisBackend, with the names MLflow accepts: MLflowAcceptedNamesVisBackend.

Save this file as mindgarage_mlflow.py in the folder you start MMPose's tools from (your
MMPose clone). The config imports it by name (custom_imports), and so does the copy of the
config that MMEngine saves in the work_dir: testing or resuming from that copy works too.

MLflow refuses metric names with parentheses, and MMPose's CocoMetric reports
'coco/AP (M)', 'coco/AR (L)', ...: the training would stop at its first validation.
PoseVisualizationHook names its images 'val_img', with no file extension, which
mlflow.log_image cannot save. This backend sends 'coco/AP (M)' as 'coco/AP_M', and each
image as a step of the image 'val_img'. Everything else is MMEngine's own.
"""

from mmengine.registry import VISBACKENDS
from mmengine.visualization import MLflowVisBackend


def accepted(name):
    """'coco/AP (M)' -> 'coco/AP_M': only characters that MLflow accepts."""
    name = name.replace(" (", "_").replace("(", "_").replace(")", "")
    return "".join(c if is_accepted(c) else "_" for c in name)


def is_accepted(character):
    return character.isascii() and (character.isalnum() or character in "_-./ ")


# force=True: importing this file a second time (a notebook, a test) registers it again.
@VISBACKENDS.register_module(force=True)
class MLflowAcceptedNamesVisBackend(MLflowVisBackend):
    def add_scalar(self, name, value, step=0, **kwargs):
        super().add_scalar(accepted(name), value, step, **kwargs)

    def add_scalars(self, scalar_dict, step=0, file_path=None, **kwargs):
        scalars = {accepted(name): value for name, value in scalar_dict.items()}
        super().add_scalars(scalars, step, file_path, **kwargs)

    def add_image(self, name, image, step=0, **kwargs):
        self.experiment.log_image(image, key=accepted(name), step=step)
