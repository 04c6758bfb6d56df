"""The world a test runs in: the run's own, and each page's (or test's) own.

For the whole run (``RunFolder`` and ``clean_environment``): the developer's ``MLFLOW_*``
variables and ``~/.mlflow/credentials`` are never used; client retries are bounded; no
usage data is sent; HOME, TMPDIR and pytest's temporary folders are one folder of the run,
removed at its end (and by the next run, if this one was killed).

For each page or test (``sandboxed``): a fresh working folder, the environment restored
after, and the process-wide state of MLflow and MMEngine reset. A run left open is a
failure of the page: readers' runs end, in a ``with`` block, and so must the page's.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path

# Variables of the developer's shell that would change what the examples do.
SCRUBBED_PREFIXES = ("MLFLOW_", "_MLFLOW_")
TEST_ENVIRONMENT = {
    # A failure must show in seconds: no retry loop of minutes against a dead address. Two
    # immediate retries stay: uvicorn closes a connection idle for 5 s, and a request sent
    # on it just then fails with "Connection reset by peer" (seen in long trainings).
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
    # No usage data: MLflow's client would look up its telemetry host.
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
}
RUN_FOLDER_PREFIX = "docs-run-"


class LeftOpenRun(AssertionError):
    """A page or test ended with an MLflow run still open."""


def clean_environment(environ: MutableMapping[str, str]) -> None:
    """Drop the shell's MLflow settings (tracking URI, experiment, credentials...)."""
    for name in [n for n in environ if n.startswith(SCRUBBED_PREFIXES)]:
        del environ[name]
    environ.update(TEST_ENVIRONMENT)


class RunFolder:
    """One temporary folder for the whole run: HOME, TMPDIR, pytest's tmp_path, servers."""

    def __init__(self) -> None:
        remove_leftovers()
        system_tmp = tempfile.gettempdir()
        self.path = Path(tempfile.mkdtemp(prefix=f"{RUN_FOLDER_PREFIX}{os.getpid()}-"))
        self.home = self.path / "home"  # ~/.mlflow/credentials would sign examples in
        self.tmp = self.path / "tmp"  # MLflow's model folders, servers' folders
        self.pytest = self.path / "pytest"
        for folder in (self.home, self.tmp):
            folder.mkdir()
        self.system_tmp = system_tmp

    def enter(self) -> None:
        os.environ["HOME"] = str(self.home)
        os.environ["TMPDIR"] = str(self.tmp)
        tempfile.tempdir = str(self.tmp)  # gettempdir() caches its answer

    def remove(self) -> None:
        tempfile.tempdir = self.system_tmp
        shutil.rmtree(self.path, ignore_errors=True)


def remove_leftovers() -> None:
    """Remove the run folders of earlier runs that were killed before they could."""
    pattern = re.compile(rf"{RUN_FOLDER_PREFIX}(\d+)-")
    for folder in Path(tempfile.gettempdir()).glob(f"{RUN_FOLDER_PREFIX}*"):
        match = pattern.match(folder.name)
        if match and not _alive(int(match[1])):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def sandboxed(folder: Path, left_open: list[str]) -> Iterator[Path]:
    """Run a page or a test in ``folder`` with a clean MLflow and MMEngine, restored after.

    Runs still open at the end are ended as FAILED, and their names put in ``left_open``:
    the caller fails the page with ``left_open_error`` unless it failed already.
    """
    import mlflow

    saved_env = dict(os.environ)
    old_cwd = os.getcwd()
    mmengine_before = _mmengine_instances()
    os.chdir(folder)
    _reset_mlflow(mlflow)
    try:
        yield folder
    finally:
        while (run := mlflow.active_run()) is not None:
            left_open.append(run.info.run_name)
            mlflow.end_run(status="FAILED")
        _reset_mlflow(mlflow)
        _drop_mmengine_instances(mmengine_before)
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def left_open_error(where: str, runs: list[str]) -> LeftOpenRun:
    return LeftOpenRun(
        f"{where} left the run {', '.join(map(repr, runs))} open (MLflow ended it as "
        "FAILED): end every run, with `with mlflow.start_run():` or mlflow.end_run()"
    )


def _reset_mlflow(mlflow) -> None:
    mlflow.set_tracking_uri(None)  # also unsets MLFLOW_TRACKING_URI
    import mlflow.tracking.fluent as fluent

    fluent._active_experiment_id = None  # set by set_experiment(); no public reset


def _mmengine_instances() -> dict[type, set[str]]:
    """MMEngine's named, process-wide instances (visualizers, loggers...), by class.

    A second ``Runner`` asking for the config's ``name='visualizer'`` would get the first
    one back (and warn): the instances a test creates are dropped after it. Only looked at
    when MMEngine is already imported: pages that do not use it do not pay for it.
    """
    if "mmengine.utils" not in sys.modules:
        return {}
    from mmengine.utils import ManagerMixin

    found, classes = {}, [ManagerMixin]
    while classes:
        cls = classes.pop()
        found[cls] = set(cls._instance_dict)  # each class keeps its own; no public listing
        classes.extend(cls.__subclasses__())
    return found


def _drop_mmengine_instances(before: dict[type, set[str]]) -> None:
    if "mmengine.logging" not in sys.modules:
        return
    from mmengine.logging import MMLogger

    for cls, names in _mmengine_instances().items():
        for name in names - before.get(cls, set()):
            instance = cls._instance_dict.pop(name)  # no public way to drop one
            if isinstance(instance, MMLogger):  # close its log file in the test's folder
                for handler in list(instance.handlers):
                    handler.close()
                    instance.removeHandler(handler)
