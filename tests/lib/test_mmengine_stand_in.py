"""tests/lib/mmengine_stand_in.py: the MMPose page's config, completed by the stand-in,
trains with MMEngine's Runner and logs a loss for each iteration, as a member's training."""

from __future__ import annotations

import os

from tests.lib.mmengine_stand_in import (
    EPOCHS,
    ITERATIONS_PER_EPOCH,
    Runner,
    add_training,
    load_recipe,
)
from tests.lib.training import logged_steps, new_member, runs_by


def test_the_page_s_config_trains_and_logs_every_iteration(mlflow_server, sandbox, monkeypatch):
    member = new_member()
    monkeypatch.setitem(os.environ, "LOGNAME", member)  # the experiment's and the run's user
    runner = Runner.from_cfg(add_training(load_recipe(), sandbox / "work_dirs"))
    runner.train()
    [run] = runs_by(mlflow_server.url, member)
    assert run.info.status == "FINISHED"
    steps = logged_steps(mlflow_server.url, run.info.run_id, "loss")
    assert steps == list(range(1, EPOCHS * ITERATIONS_PER_EPOCH + 1))
