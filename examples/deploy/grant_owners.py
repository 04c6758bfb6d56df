"""Give each experiment moved from the old server its owner: MANAGE, as if they had made it.

    python grant_owners.py owners.csv

owners.csv has one line per experiment, ``experiment name,username``, written by the
admins (the old server knew no users). Run it signed in as the admin
(MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD). A name it cannot find stops it.
"""

import csv
import sys

import mlflow
from mlflow.server import get_app_client

LAB_TRACKING_URI = "https://mindgarage07.cs.uni-kl.de"


def grant_owners(path: str) -> dict[str, str]:
    mlflow.set_tracking_uri(LAB_TRACKING_URI)
    auth = get_app_client("basic-auth", tracking_uri=LAB_TRACKING_URI)
    granted = {}
    with open(path, newline="") as owners:
        for name, username in csv.reader(owners):
            experiment = mlflow.get_experiment_by_name(name)
            if experiment is None:
                sys.exit(f"{path}: no experiment named {name!r} on the server")
            auth.grant_user_permission(username, "experiment", experiment.experiment_id, "MANAGE")
            granted[name] = username
            print(f"{name}: {username} (MANAGE)")
    return granted


if __name__ == "__main__":
    grant_owners(sys.argv[1])
