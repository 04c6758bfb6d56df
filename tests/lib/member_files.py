"""A lab member's run holding a file, logged through the lab's deployment: what the admin's
tests then look for on the server's disk."""

from __future__ import annotations

from pathlib import Path

from mlflow import MlflowClient

from labdocs.lab import LAB_HTTPS_TRACKING_URI
from labdocs.services.auth import signed_in
from labdocs.services.deployment import Deployment


def logged_file(
    deployment: Deployment, experiment: str, file: Path, *, deleted: bool = False
) -> tuple[str, str]:
    """The member's new experiment and finished run (deleted, if asked) holding ``file``:
    (experiment id, run id)."""
    with signed_in(deployment.member):
        client = MlflowClient(LAB_HTTPS_TRACKING_URI)
        experiment_id = client.create_experiment(experiment)
        run_id = client.create_run(experiment_id).info.run_id
        client.log_artifact(run_id, str(file))
        client.set_terminated(run_id)
        if deleted:
            client.delete_run(run_id)
    return experiment_id, run_id
