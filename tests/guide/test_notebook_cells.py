"""The notebook page's cells as a reader of the open server runs them: in one kernel (a
Python process of its own), every cell but the one that asks for a username and password,
which the page lets them skip. tests/guide/member_machine/test_notebooks.py runs them signed in by the
credentials file, on the lab's deployment.
"""

from __future__ import annotations

import sys

from labdocs.lab import LAB_HTTPS_TRACKING_URI, LAB_TRACKING_URI
from labdocs.pages import DOCS, shown_python
from tests.lib.training import new_member, run_training, runs_of, training_environment

NOTEBOOKS = DOCS / "guides" / "mlflow" / "notebooks.md"
CREDENTIALS_CELL = 'input("MLflow username: ")'


def test_the_cells_run_without_the_credentials_cell(mlflow_server, sandbox):
    cells = shown_python(NOTEBOOKS, skipping=CREDENTIALS_CELL)
    for address in (LAB_TRACKING_URI, LAB_HTTPS_TRACKING_URI):  # the kernel's own server
        cells = cells.replace(address, mlflow_server.url)
    (sandbox / "kernel.py").write_text(cells)
    member = new_member()
    env = training_environment(mlflow_server.url, member)
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        env.pop(name, None)  # the notebook sets the address; the server asks for no one
    done = run_training([sys.executable, "kernel.py"], env=env, cwd=sandbox)
    assert done.returncode == 0, done.stderr[-3000:]

    runs = sorted(
        runs_of(mlflow_server.url, f"mlflow-guide-notebooks/{member}"),
        key=lambda run: run.info.start_time,
    )
    assert [r.info.run_name for r in runs] == ["notebook", "first"]
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert runs[0].data.metrics == {"val_acc": 0.81}
