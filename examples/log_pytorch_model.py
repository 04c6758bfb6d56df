"""Log a PyTorch model to the lab's tracking server, then load it back."""

import getpass
import os

import mlflow
import numpy as np
import torch
from torch import nn

mlflow.set_tracking_uri("http://mindgarage07.cs.uni-kl.de:8001")
member = os.environ.get("MLFLOW_TRACKING_USERNAME") or getpass.getuser()
mlflow.set_experiment(f"mlflow-guide-logging/{member}")  # <project>/<member>

net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))

# More than one row: with a single row, the saved model takes batches of one only.
input_example = np.random.default_rng(0).random((8, 4), dtype=np.float32)

with mlflow.start_run(run_name="pytorch-model") as run:
    model_info = mlflow.pytorch.log_model(net, name="model", input_example=input_example)

print("Logged", model_info.model_uri)  # models:/m-...

loaded = mlflow.pytorch.load_model(model_info.model_uri)
predictions = loaded(torch.from_numpy(input_example))
print(predictions.shape)  # torch.Size([8, 3])
