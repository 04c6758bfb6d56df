"""The test session's own folder and environment.

The developer's ``MLFLOW_*`` variables and ``~/.mlflow/credentials`` are never used; client
retries are bounded; no usage data is sent; HOME, TMPDIR and pytest's temporary folders are
one folder of the session, removed at its end (and by the next session, if this one was
killed). Standard library only: tools/kill_drill.py reads the folder's name from here.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path

# Variables of the developer's shell that would change what the examples do.
SCRUBBED_PREFIXES = ("MLFLOW_", "_MLFLOW_")
# What every process of ours runs with: no usage data sent to MLflow's telemetry host.
NO_TELEMETRY = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
TEST_ENVIRONMENT = {
    # A failure must show in seconds: no retry loop of minutes against a dead address. Two
    # immediate retries stay: uvicorn closes a connection idle for 5 s, and a request sent
    # on it just then fails with "Connection reset by peer" (seen in long trainings).
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
    **NO_TELEMETRY,
}
SESSION_FOLDER_PREFIX = "docs-run-"
ENV_SYSTEM_TMP = "DOCS_SYSTEM_TMPDIR"


def clean_environment(environ: MutableMapping[str, str]) -> None:
    """Drop the shell's MLflow settings (tracking URI, experiment, credentials...)."""
    for name in [n for n in environ if n.startswith(SCRUBBED_PREFIXES)]:
        del environ[name]
    environ.update(TEST_ENVIRONMENT)


@contextmanager
def changed_environment(changes: dict[str, str | None]) -> Iterator[None]:
    """``os.environ`` with ``changes`` (None removes a variable) inside the block; those
    variables as they were before after it, whatever the block set them to."""
    saved = {name: os.environ.get(name) for name in changes}
    try:
        _put(changes)
        yield
    finally:
        _put(saved)


def _put(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


class SessionFolder:
    """One temporary folder for the whole session: HOME, TMPDIR, pytest's tmp_path, servers."""

    def __init__(self) -> None:
        remove_leftovers()
        # The machine's temporary folder (a worker of a parallel session inherits its
        # controller's session folder as TMPDIR: the machine's is handed down by name).
        self.system_tmp = os.environ.get(ENV_SYSTEM_TMP) or tempfile.gettempdir()
        self.path = Path(tempfile.mkdtemp(prefix=f"{SESSION_FOLDER_PREFIX}{os.getpid()}-"))
        self.home = self.path / "home"  # ~/.mlflow/credentials would sign examples in
        self.tmp = self.path / "tmp"  # MLflow's model folders, servers' folders
        self.pytest = self.path / "pytest"
        for folder in (self.home, self.tmp):
            folder.mkdir()

    def enter(self) -> None:
        os.environ[ENV_SYSTEM_TMP] = self.system_tmp
        os.environ["HOME"] = str(self.home)
        os.environ["TMPDIR"] = str(self.tmp)
        tempfile.tempdir = str(self.tmp)  # gettempdir() caches its answer

    def remove(self) -> None:
        tempfile.tempdir = self.system_tmp
        shutil.rmtree(self.path, ignore_errors=True)


def remove_leftovers() -> None:
    """Remove the folders of earlier sessions that were killed before they could."""
    pattern = re.compile(rf"{SESSION_FOLDER_PREFIX}(\d+)-")
    for folder in Path(tempfile.gettempdir()).glob(f"{SESSION_FOLDER_PREFIX}*"):
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
