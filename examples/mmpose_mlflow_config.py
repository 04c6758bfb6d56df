# Add these lines to the config file you train (not to a _base_ file).
import time

MINDGARAGE_MLFLOW_TRACKING_URI = "http://mindgarage07.cs.uni-kl.de:8001"

# Setup: see Getting started. __import__, as an import statement of a module beyond the
# standard library would make MMEngine read this as a new-style config.
mlflow_member = (
    __import__("mlflow.utils.credentials", fromlist=["*"]).read_mlflow_creds().username
    or __import__("getpass").getuser()
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
