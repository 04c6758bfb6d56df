# Add these lines to the config file you train (not to a _base_ file).
import time

MINDGARAGE_MLFLOW_TRACKING_URI = "http://mindgarage07.cs.uni-kl.de:8001"

# __import__: a config with import statements would be read as a new-style config.
mlflow_member = __import__("os").environ.get("MLFLOW_TRACKING_USERNAME") or (
    __import__("getpass").getuser()
)
exp_name = "{{fileBasenameNoExtension}}/" + mlflow_member
run_name = time.strftime("%Y%m%d_%H%M%S", time.localtime())

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
