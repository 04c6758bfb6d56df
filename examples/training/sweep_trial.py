"""One trial of a sweep, in a process of its own (a Slurm array job, one job per setting).

    SWEEP_RUN_ID=<the parent run's ID> python sweep_trial.py

Nothing of the sweep's script is in this process: it names the lab's server itself, and
logs into the sweep's experiment, which it learns from the parent run.
"""

import os

import mlflow

mlflow.set_tracking_uri("http://mindgarage07.cs.uni-kl.de:8001")
sweep = mlflow.get_run(os.environ["SWEEP_RUN_ID"])  # the parent run, on the lab's server


def train(lr, epochs):
    """Stands in for your training: the validation loss after each epoch."""
    return [1.0 / (1 + lr * 10 * (epoch + 1)) for epoch in range(epochs)]


with mlflow.start_run(
    run_name="lr=0.2",
    experiment_id=sweep.info.experiment_id,  # the sweep's experiment, not Default
    parent_run_id=sweep.info.run_id,
) as trial:
    mlflow.log_params({"lr": 0.2, "epochs": 5})
    for epoch, val_loss in enumerate(train(0.2, epochs=5)):
        mlflow.log_metric("val_loss", val_loss, step=epoch)
