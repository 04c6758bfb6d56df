"""The provenance page's code as a reader runs it: the page's Python as one script,
``train.py``, committed in a git clone of its own and run there in a fresh process (as
``python train.py``, and as a Slurm array task asking for a GPU), then changed without a
commit, copied without ``.git``, and run by a program started from outside the clone as
Jupyter's kernel is. Asked of the server: the commit MLflow records and what it records of
uncommitted changes (nothing; the page's own lines tag them and keep the diff), the two
splits the run read, and the Slurm job's tags.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Run

from labdocs.lab import LAB_TRACKING_URI
from labdocs.pages import DOCS, shown_python
from tests.lib.training import new_member, run_training, runs_of, training_environment

PAGE = DOCS / "guides" / "mlflow" / "provenance.rst"
SPLITS = ("train", "val")  # the page's annotation files, tiny ones
# A program started from outside the clone that runs the page's code, as Jupyter's kernel
# (ipykernel_launcher.py, in the Python environment) runs a notebook's cells.
KERNEL = "exec(compile(open('train.py').read(), 'cell', 'exec'))\n"


def git(*argv: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=jdoe", "-c", "user.email=jdoe@example.org", *argv],
        cwd=cwd, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


class Clone:
    """A member's clone holding the page's script and the splits' annotation files."""

    def __init__(self, folder: Path, server_url: str) -> None:
        self.folder, self.server_url, self.member = folder, server_url, new_member()
        folder.mkdir()
        git("init", "-q", "-b", "main", cwd=folder)
        script = shown_python(PAGE)
        assert script.count(LAB_TRACKING_URI) == 1, "the page names the lab's server once"
        (folder / "train.py").write_text(script.replace(LAB_TRACKING_URI, server_url))
        for split in SPLITS:
            annotations = folder / f"coco/annotations/person_keypoints_{split}2017.json"
            annotations.parent.mkdir(parents=True, exist_ok=True)
            annotations.write_text(f'{{"split": "{split}", "images": [], "annotations": []}}')
        git("add", ".", cwd=folder)
        git("commit", "-q", "-m", "training", cwd=folder)
        self.commit = git("rev-parse", "HEAD", cwd=folder)

    def environment(self) -> dict[str, str]:
        return training_environment(self.server_url, self.member)

    def run(self, argv: list[str], cwd: Path | None = None) -> Run:
        """Run ``argv`` in the clone (or ``cwd``) in a fresh process; the run it made."""
        done = run_training(argv, env=self.environment(), cwd=cwd or self.folder)
        assert done.returncode == 0, done.stderr[-3000:]
        return self.last_run()

    def last_run(self) -> Run:
        runs = runs_of(self.server_url, f"mlflow-guide-provenance/{self.member}")
        newest = max(runs, key=lambda run: run.info.start_time)
        return MlflowClient(self.server_url).get_run(newest.info.run_id)


def splits_read(run: Run) -> set[tuple[str, str, str]]:
    """(name, digest, context) of each data set the run logged as an input."""
    return {
        (i.dataset.name, i.dataset.digest, tag.value)
        for i in run.inputs.dataset_inputs
        for tag in i.tags
        if tag.key == "mlflow.data.context"
    }


def git_tags(run: Run) -> dict[str, str]:
    return {k: v for k, v in run.data.tags.items() if k.startswith(("mlflow.source.git", "git."))}


def test_a_script_run_from_a_clone_records_its_commit_and_the_splits(mlflow_server, sandbox):
    clone = Clone(sandbox / "clone", mlflow_server.url)
    run = clone.run([sys.executable, "train.py"])

    assert git_tags(run) == {"mlflow.source.git.commit": clone.commit,
                             "mlflow.source.git.branch": "main"}  # fmt: skip
    assert splits_read(run) == {
        ("person_keypoints_train2017", "9ae916ff7e93", "training"),
        ("person_keypoints_val2017", "ac3f2b924cc0", "validation"),
    }
    assert not [tag for tag in run.data.tags if tag.startswith("slurm.")]  # not in a job


def test_uncommitted_changes_are_kept_by_the_pages_lines_not_by_mlflow(mlflow_server, sandbox):
    clone = Clone(sandbox / "clone", mlflow_server.url)
    with (clone.folder / "train.py").open("a") as script:
        script.write("# lr 0.1, not yet committed\n")
    run = clone.run([sys.executable, "train.py"])

    # MLflow: the commit checked out, and nothing of the change (no "dirty" tag of its own).
    assert git_tags(run) == {"mlflow.source.git.commit": clone.commit,
                             "mlflow.source.git.branch": "main", "git.dirty": "true"}  # fmt: skip
    diff = MlflowClient(mlflow_server.url).download_artifacts(
        run.info.run_id, "uncommitted.diff", str(sandbox)
    )
    assert "+# lr 0.1, not yet committed" in Path(diff).read_text()


def test_a_copy_without_git_and_a_kernel_record_no_commit(mlflow_server, sandbox):
    clone = Clone(sandbox / "clone", mlflow_server.url)
    copy = sandbox / "copy"
    shutil.copytree(clone.folder, copy, ignore=shutil.ignore_patterns(".git"))
    run = clone.run([sys.executable, "train.py"], cwd=copy)
    assert git_tags(run) == {}
    assert len(splits_read(run)) == 2  # the data is still recorded

    # Started from outside the clone, working in it: MLflow asks the started file's folder.
    kernel = sandbox / "kernel" / "kernel_launcher.py"
    kernel.parent.mkdir()
    kernel.write_text(KERNEL)
    run = clone.run([sys.executable, str(kernel)])
    assert git_tags(run) == {}


def test_a_slurm_job_started_from_the_clone_carries_the_job(mlflow_server, sandbox, slurm_cluster):
    clone = Clone(sandbox / "clone", mlflow_server.url)
    job = slurm_cluster.sbatch(
        "--array=3", "--gres=gpu:1", "--output=job-%A_%a.log", "--wrap=python train.py",
        cwd=clone.folder, env=clone.environment(),
    )  # fmt: skip
    fields = slurm_cluster.wait_for(
        job, lambda f: f["JobState"] in ("COMPLETED", "FAILED", "CANCELLED"), "done",
        timeout=120,
    )  # fmt: skip
    log = clone.folder / f"job-{job}_3.log"
    assert fields["JobState"] == "COMPLETED", log.read_text() if log.exists() else fields
    run = clone.last_run()

    slurm = {k: v for k, v in run.data.tags.items() if k.startswith("slurm.")}
    assert slurm == {"slurm.job_id": str(job), "slurm.array_task_id": "3",
                     "slurm.node": "localhost", "slurm.gpus": "1"}  # fmt: skip
    assert run.data.tags["mlflow.source.git.commit"] == clone.commit
