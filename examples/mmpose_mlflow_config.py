# Send an MMPose training to the lab's MLflow tracking server.
# Add these lines to the config file you train with (not to a _base_ file).
import time

MINDGARAGE_MLFLOW_TRACKING_URI = "http://mindgarage07.cs.uni-kl.de:8001"

# Experiment: <project>/<member>, the lab's rule. The project is this config file's name,
# filled in by MMEngine when it loads it; the member is you, as you sign in to the server,
# or else your login name. __import__, not an import statement: MMEngine reads a config
# file that imports anything but the few modules built into Python (time, sys) as a
# new-style config.
mlflow_member = __import__("os").environ.get("MLFLOW_TRACKING_USERNAME") or (
    __import__("getpass").getuser()
)
exp_name = "{{fileBasenameNoExtension}}/" + mlflow_member
# Run: the time the training started, such as 20250131_142501.
run_name = time.strftime("%Y%m%d_%H%M%S", time.localtime())

# The backend, MLflowAcceptedNamesVisBackend: from mindgarage_mlflow.py, which MMEngine
# imports when it loads this config, and again when it loads the copy in the work_dir.
custom_imports = dict(imports=["mindgarage_mlflow"], allow_failed_imports=False)

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
