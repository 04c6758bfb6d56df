"""tests/lib/member_files.py: the run is finished in its new experiment and holds the file."""

from __future__ import annotations

from mlflow import MlflowClient

from labdocs.lab import LAB_HTTPS_TRACKING_URI
from labdocs.services.auth import signed_in
from tests.lib.member_files import logged_file


def test_the_member_s_run_holds_the_file_and_is_deleted_when_asked(deployment, tmp_path):
    (tmp_path / "notes.txt").write_text("kept")
    kept = logged_file(deployment, "test-lib-member-files", tmp_path / "notes.txt")
    gone = logged_file(
        deployment, "test-lib-member-files-deleted", tmp_path / "notes.txt", deleted=True
    )
    with signed_in(deployment.member):
        client = MlflowClient(LAB_HTTPS_TRACKING_URI)
        for (experiment_id, run_id), stage in [(kept, "active"), (gone, "deleted")]:
            run = client.get_run(run_id)
            assert run.info.experiment_id == experiment_id and run.info.status == "FINISHED"
            assert run.info.lifecycle_stage == stage
            assert [a.path for a in client.list_artifacts(run_id)] == ["notes.txt"]
