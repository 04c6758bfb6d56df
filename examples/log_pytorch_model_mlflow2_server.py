"""Log a PyTorch model with an MLflow 3 client to an MLflow 2 server, then load it back.

An MLflow 2 server has no logged-models API, which log_model needs: save the model into a
folder and upload the folder as the run's artifacts instead.
"""

import tempfile
from getpass import getuser

import mlflow
import numpy as np
from mlflow.utils.credentials import read_mlflow_creds
from torch import nn

# Setup: see Getting started
mlflow.set_tracking_uri("http://mindgarage07.cs.uni-kl.de:8001")
member = read_mlflow_creds().username or getuser()
mlflow.set_experiment(f"mlflow-guide-compatibility/{member}")

net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
input_example = np.random.default_rng(0).random((8, 4), dtype=np.float32)

with (
    mlflow.start_run(run_name="pytorch-model-mlflow2-server") as run,
    tempfile.TemporaryDirectory() as folder,
):
    mlflow.pytorch.save_model(net, folder, input_example=input_example)
    mlflow.log_artifacts(folder, artifact_path="model")

loaded = mlflow.pytorch.load_model(f"runs:/{run.info.run_id}/model")
