"""The admin page's upgrade and rollback: back up, upgrade MLflow (the database migrates),
find the old version refused, restore the backup, and the old version serves again.

The older version is 3.10.1 (requirements/server-3.10.1.txt): the deployment's start script
needs an MLflow of 3.5 or later (--allowed-hosts). The newer one is the lab's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from labdocs.lab import LAB_HTTPS_TRACKING_URI
from labdocs.plugin.deployment_fixtures import DRILL_READY_TIMEOUT
from labdocs.services.auth import Credentials, new_password, signed_in
from labdocs.services.deployment import AUTH_CONFIG, Deployment, readable_by_the_server
from labdocs.services.server_versions import ServerError, find_mlflow
from tests.lib import store_summary
from tests.lib.other_mlflow import server_mlflow

OLDER = "3.10.1"
ROOT = Path(__file__).resolve().parents[2]
URL = LAB_HTTPS_TRACKING_URI
UPGRADES = ROOT / "docs" / "admin" / "tracking-server.md"


def _log_runs(deployment: Deployment, who, experiment: str, count: int) -> None:
    with signed_in(who):
        client = MlflowClient(URL)
        found = client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else client.create_experiment(experiment)
        for step in range(count):
            run = client.create_run(experiment_id)
            client.log_metric(run.info.run_id, "loss", 1.0 / (step + 1), step=step)
            client.set_terminated(run.info.run_id)


def _switch(deployment: Deployment, mlflow: str) -> None:
    """As the page: stop the server, install another version, start it."""
    deployment.stop_mlflow()
    deployment.mlflow = mlflow
    deployment.start_mlflow_again()


@pytest.mark.timeout(900)  # three server starts of two versions, a backup and a restore
def test_an_upgrade_is_rolled_back_by_restoring_the_backup(fresh_deployment, tmp_path):
    older, newer = server_mlflow(OLDER), find_mlflow()
    # MLflow 3.10 reads the admin's first password from the file only (the lab's version
    # also from MLFLOW_AUTH_ADMIN_PASSWORD): a copy of the admin's file, with it.
    admin = Credentials("admin", new_password())
    config = tmp_path / "basic_auth.ini"
    config.write_text(AUTH_CONFIG.read_text() + f"admin_password = {admin.password}\n")
    readable_by_the_server(config)  # as the page installs basic_auth.ini
    deployment: Deployment = fresh_deployment(
        mlflow=older, admin=admin, env={"LAB_MLFLOW_AUTH_CONFIG": str(config)}
    )
    with deployment.routed():
        member = deployment.create_user("jdoe")
        _log_runs(deployment, member, "before-upgrade", 3)
        with signed_in(deployment.admin):
            before = store_summary.summary(URL)
        deployment.run_script("backup.sh", str(tmp_path / "before-upgrade"))

        _switch(deployment, newer)  # the upgrade: the newer server migrates the tables
        deployment.wait_ready(timeout=DRILL_READY_TIMEOUT)
        _log_runs(deployment, member, "after-upgrade", 2)  # lost by the rollback, as the page says

        _switch(deployment, older)  # the older version alone refuses the migrated tables
        with pytest.raises(ServerError) as refused:
            deployment.wait_ready(timeout=DRILL_READY_TIMEOUT)
        # The older version finds the newer tables and calls them out of date, as the page warns.
        assert "Detected out-of-date database schema (found version" in str(refused.value)

        deployment.stop_mlflow()
        deployment.run_script("restore.sh", str(tmp_path / "before-upgrade"))
        deployment.start_mlflow_again()
        deployment.wait_ready(timeout=DRILL_READY_TIMEOUT)
        with signed_in(deployment.admin):
            after = store_summary.summary(URL)
        with signed_in(member):  # the member's account came back too
            MlflowClient(URL).search_experiments(max_results=1)
    assert after == before
    page = " ".join(UPGRADES.read_text().split())  # its lines wrapped
    assert "Detected out-of-date database schema (found version" in page
    print(
        f"rollback: before {store_summary.counts(before)}, restored {store_summary.counts(after)}"
    )
