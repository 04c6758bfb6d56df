# Send an MMPose training to the lab's MLflow tracking server.
# Add these lines to the config file you train with (not to a _base_ file).
import time

MINDGARAGE_MLFLOW_TRACKING_URI = "http://mindgarage07.cs.uni-kl.de:8001"

# Experiment: <project>/<member>, the lab's rule. The project is this config file's name,
# filled in by MMEngine when it loads it; the member is you, as you sign in to the server,
# or else your login name. (__import__: see register_mlflow_backend_with_accepted_names.)
mlflow_member = __import__("os").environ.get("MLFLOW_TRACKING_USERNAME") or (
    __import__("getpass").getuser()
)
exp_name = "{{fileBasenameNoExtension}}/" + mlflow_member
# Run: the time the training started, such as 20250131_142501.
run_name = time.strftime("%Y%m%d_%H%M%S", time.localtime())


def register_mlflow_backend_with_accepted_names():
    """Register MMEngine's MLflowVisBackend, with names that MLflow accepts.

    MLflow refuses metric names with parentheses, and MMPose's CocoMetric reports
    'coco/AP (M)', 'coco/AR (L)', ...: the training would stop at its first validation.
    PoseVisualizationHook names its images 'val_img', with no file extension, which
    mlflow.log_image cannot save. This backend sends 'coco/AP (M)' as 'coco/AP_M', and
    each image as a step of the image 'val_img'. Everything else is MMEngine's own.
    """
    # __import__, not an import statement: MMEngine reads a config file that imports
    # anything but the few modules built into Python (time, sys) as a new-style config.
    visualization = __import__("mmengine.visualization", fromlist=["_"])
    registry = __import__("mmengine.registry", fromlist=["_"])

    def accepted(name):
        """'coco/AP (M)' -> 'coco/AP_M': only characters that MLflow accepts."""
        name = name.replace(" (", "_").replace("(", "_").replace(")", "")
        return "".join(c if is_accepted(c) else "_" for c in name)

    def is_accepted(character):
        return character.isascii() and (character.isalnum() or character in "_-./ ")

    @registry.VISBACKENDS.register_module(force=True)
    class MLflowAcceptedNamesVisBackend(visualization.MLflowVisBackend):
        def add_scalar(self, name, value, step=0, **kwargs):
            super().add_scalar(accepted(name), value, step, **kwargs)

        def add_scalars(self, scalar_dict, step=0, file_path=None, **kwargs):
            scalars = {accepted(name): value for name, value in scalar_dict.items()}
            super().add_scalars(scalars, step, file_path, **kwargs)

        def add_image(self, name, image, step=0, **kwargs):
            self.experiment.log_image(image, key=accepted(name), step=step)


register_mlflow_backend_with_accepted_names()

vis_backends = [
    dict(type="LocalVisBackend"),
    dict(
        type="MLflowAcceptedNamesVisBackend",
        exp_name=exp_name,
        run_name=run_name,
        tracking_uri=MINDGARAGE_MLFLOW_TRACKING_URI,
    ),
]
visualizer = dict(type="PoseLocalVisualizer", vis_backends=vis_backends, name="visualizer")
