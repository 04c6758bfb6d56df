"""A page's (or a test's) sandbox: its own world inside the session (session.py).

A fresh working folder, the environment restored after, and the process-wide state of
MLflow and MMEngine reset. A run left open is a failure of the page: readers' runs end, in
a ``with`` block, and so must the page's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


class LeftOpenRun(AssertionError):
    """A page or test ended with an MLflow run still open."""


@contextmanager
def within_sandbox(folder: Path, left_open: list[str]) -> Iterator[Path]:
    """Run a page or a test in ``folder`` with a clean MLflow and MMEngine, restored after.

    Runs still open at the end are ended as FAILED, and their names put in ``left_open``:
    the caller fails the page with ``left_open_error`` unless it failed already.
    """
    import mlflow

    mmengine_before = _mmengine_instances()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        saved_env = dict(os.environ)  # restored whole: pages export what they like
        _reset_mlflow(mlflow)
        try:
            yield folder
        finally:
            while (run := mlflow.active_run()) is not None:
                left_open.append(run.info.run_name)
                mlflow.end_run(status="FAILED")
            _reset_mlflow(mlflow)
            _drop_mmengine_instances(mmengine_before)
            os.environ.clear()
            os.environ.update(saved_env)


@contextmanager
def checked_sandbox(session, folder: Path, where: str) -> Iterator[Path]:
    """``within_sandbox``, failing ``where`` ("this page") for a run it left open, unless
    a test of the session failed meanwhile (that failure says more)."""
    failed_before = session.testsfailed
    left_open: list[str] = []
    with within_sandbox(folder, left_open):
        yield folder
    if left_open and session.testsfailed == failed_before:
        raise left_open_error(where, left_open)


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
