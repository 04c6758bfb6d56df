# Send an MMPose training to the lab's MLflow tracking server.
# Add these lines to the config file you train with (not to a _base_ file).
import time

MINDGARAGE_MLFLOW_TRACKING_URI = "http://mindgarage07.cs.uni-kl.de:8001"

# Experiment: the name of this config file, filled in by MMEngine when it loads it.
exp_name = "{{fileBasenameNoExtension}}"
# Run: the time the training started, such as 20250131_142501.
run_name = time.strftime("%Y%m%d_%H%M%S", time.localtime())

vis_backends = [
    dict(type="LocalVisBackend"),
    dict(
        type="MLflowVisBackend",
        exp_name=exp_name,
        run_name=run_name,
        tracking_uri=MINDGARAGE_MLFLOW_TRACKING_URI,
    ),
]
visualizer = dict(type="PoseLocalVisualizer", vis_backends=vis_backends, name="visualizer")
