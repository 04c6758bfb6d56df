"""Log a PyTorch model to the lab's tracking server, then load it back."""

from getpass import getuser

import mlflow
import numpy as np
import torch
from mlflow.utils.credentials import read_mlflow_creds
from torch import nn

# Setup: see Getting started
mlflow.set_tracking_uri("http://mindgarage07.cs.uni-kl.de:8001")
member = read_mlflow_creds().username or getuser()
mlflow.set_experiment(f"mlflow-guide-logging/{member}")

net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))

# More than one row: with a single row, the saved model takes batches of one only.
input_example = np.random.default_rng(0).random((8, 4), dtype=np.float32)

with mlflow.start_run(run_name="pytorch-model") as run:
    model_info = mlflow.pytorch.log_model(net, name="model", input_example=input_example)

print("Logged", model_info.model_uri)  # models:/m-...

loaded = mlflow.pytorch.load_model(model_info.model_uri)
predictions = loaded(torch.from_numpy(input_example))
print(predictions.shape)  # torch.Size([8, 3])
