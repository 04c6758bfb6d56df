import os

import mlflow

# Setup: see Getting started
mlflow.set_tracking_uri("http://mindgarage07.cs.uni-kl.de:8001")
sweep = mlflow.get_run(os.environ["SWEEP_RUN_ID"])  # the parent run

with mlflow.start_run(
    run_name="lr=0.2", experiment_id=sweep.info.experiment_id, parent_run_id=sweep.info.run_id
) as trial:
    mlflow.log_param("lr", 0.2)
    for epoch in range(5):
        mlflow.log_metric("val_loss", 1 / (1 + 0.2 * 10 * (epoch + 1)), step=epoch)
