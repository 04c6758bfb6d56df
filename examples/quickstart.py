import csv
from getpass import getuser

import mlflow
import torch
from mlflow.utils.credentials import read_mlflow_creds
from torch import nn

# Setup: see Getting started
mlflow.set_tracking_uri("http://mindgarage07.cs.uni-kl.de:8001")
member = read_mlflow_creds().username or getuser()
mlflow.set_experiment(f"mlflow-guide-quickstart/{member}")

params = {"learning_rate": 0.05, "epochs": 5, "batch_size": 32, "hidden_units": 16}

torch.manual_seed(0)  # made-up data: 256 samples of 4 features
features = torch.randn(256, 4)
targets = features @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1 * torch.randn(256, 1)

model = nn.Sequential(
    nn.Linear(4, params["hidden_units"]), nn.ReLU(), nn.Linear(params["hidden_units"], 1)
)
optimizer = torch.optim.SGD(model.parameters(), lr=params["learning_rate"])
loss_fn = nn.MSELoss()

with mlflow.start_run(run_name="quickstart") as run:
    mlflow.log_params(params)

    losses = []
    for epoch in range(params["epochs"]):
        for start in range(0, len(features), params["batch_size"]):
            batch = slice(start, start + params["batch_size"])
            loss = loss_fn(model(features[batch]), targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            epoch_loss = loss_fn(model(features), targets).item()
        mlflow.log_metric("train_loss", epoch_loss, step=epoch)
        losses.append(epoch_loss)
        print(f"epoch {epoch}: train_loss {epoch_loss:.3f}")

    with open("losses.csv", "w", newline="") as file:
        csv.writer(file).writerows([("epoch", "train_loss"), *enumerate(losses)])
    mlflow.log_artifact("losses.csv")

    mlflow.pytorch.log_model(model, name="model", input_example=features[:8].numpy())

print("Run ID:", run.info.run_id)
