"""examples/mmpose_mlflow_config.py, the MMPose page's config, proven by a real MMEngine
training against the tracking server.

docs/guides/mlflow/mmpose.rst shows examples/mmpose_mlflow_config.py and says what it does.
Here that very file is loaded with MMEngine's ``Config.fromfile``, as MMPose's
``tools/train.py`` loads a config, completed with a tiny model and data set, and trained
by MMEngine's ``Runner`` on the CPU. Then the throwaway server (which the lab's URL
reaches during the tests, see labdocs/services/network.py) is asked what arrived.

In the quick loop (``nox -s doctest``) mmpose is not installed: building its compiled
ops takes about 20 minutes. ``PoseLocalVisualizer`` is a subclass of MMEngine's
``Visualizer`` that adds pose drawing; everything about ``vis_backends``, and so about
MLflow, lives in MMEngine. So where mmpose is missing, the tests stand MMEngine's
``Visualizer`` in for ``PoseLocalVisualizer``, and change nothing else in the config.
``nox -s mmpose`` runs these tests with the real ``PoseLocalVisualizer``, and
test_mmpose_mlflow_config_rtmpose.py with a real RTMPose training.
"""

from __future__ import annotations

import getpass
import os
import re
import sys
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from labdocs.lab import LAB_TRACKING_URI, ROOT
from tests.lib.mmengine_stand_in import (
    BACKEND_MODULE_FOLDER,
    EPOCHS,
    ITERATIONS_PER_EPOCH,
    RECIPE,
    VISUALIZERS,
    Config,
    Runner,
    add_training,
    load_recipe,
)
from tests.lib.training import new_member, runs_of, training_environment

PAGE = RECIPE.parents[1] / "docs" / "guides" / "mlflow" / "mmpose.rst"
RUN_NAME = re.compile(r"^\d{8}_\d{6}$")  # the page's time.strftime('%Y%m%d_%H%M%S')


def experiment_of(config_name: str) -> str:
    """The experiment the config names: ``<config file>/<member>``, the lab's rule (no
    MLFLOW_TRACKING_USERNAME here: the member is the login name)."""
    return f"{config_name}/{getpass.getuser()}"


# -- each test in its own world (the `sandbox` fixture) ------------------------------


@pytest.fixture
def server(mlflow_server) -> MlflowClient:
    return MlflowClient(mlflow_server.url)  # asks the throwaway server directly


def only_run(server: MlflowClient, experiment_name: str):
    experiment = server.get_experiment_by_name(experiment_name)
    assert experiment is not None, f"no experiment {experiment_name!r} on the server"
    runs = server.search_runs([experiment.experiment_id])
    assert len(runs) == 1, [r.info.run_name for r in runs]
    return runs[0]


# -- the recipe, trained -------------------------------------------------------------


def test_the_recipe_trains_and_logs_to_the_lab_server(sandbox: Path, server: MlflowClient):
    cfg = add_training(load_recipe(), sandbox / "work_dirs" / "mmpose_mlflow_config")
    runner = Runner.from_cfg(cfg)
    runner.train()

    # The experiment: the config file's name ('{{fileBasenameNoExtension}}'), then the member.
    run = only_run(server, experiment_of("mmpose_mlflow_config"))
    assert run.info.status == "FINISHED"
    # The run is named after the time the config was loaded.
    assert RUN_NAME.match(run.info.run_name), run.info.run_name
    assert run.info.run_name == cfg.run_name
    assert not [tag for tag in run.data.tags if tag.startswith("slurm.")]  # outside Slurm
    run_id = run.info.run_id

    # Scalars, with the iteration as their step: one value per logged iteration.
    iterations = list(range(1, EPOCHS * ITERATIONS_PER_EPOCH + 1))
    for name in ("loss", "lr"):
        history = server.get_metric_history(run_id, name)
        assert [m.step for m in history] == iterations, (name, history)
    assert {m.value for m in server.get_metric_history(run_id, "lr")} == {0.01}
    assert {"epoch", "iter"} <= set(run.data.metrics)
    # Validation results, with the epoch as their step.
    history = server.get_metric_history(run_id, "tiny/mae")
    assert [m.step for m in history] == list(range(1, EPOCHS + 1)), history

    # The whole config, flattened into parameters, and as config.py.
    params = run.data.params
    assert params["exp_name"] == experiment_of("mmpose_mlflow_config")
    assert params["MINDGARAGE_MLFLOW_TRACKING_URI"] == LAB_TRACKING_URI
    assert params["vis_backends.1.type"] == "MLflowAcceptedNamesVisBackend"  # the page's fix
    assert params["vis_backends.1.tracking_uri"] == LAB_TRACKING_URI
    assert params["visualizer.vis_backends.1.exp_name"] == experiment_of("mmpose_mlflow_config")
    assert params["visualizer.vis_backends.1.run_name"] == run.info.run_name
    assert params["optim_wrapper.optimizer.lr"] == "0.01"
    config_py = mlflow.artifacts.load_text(f"runs:/{run_id}/config.py")
    assert f"exp_name = '{experiment_of('mmpose_mlflow_config')}'" in config_py

    # At the end, the files of the work_dir: the config, the log, the scalars.
    timestamp = runner.timestamp
    uploaded = {
        f"{timestamp}/{timestamp}.log",
        f"{timestamp}/vis_data/scalars.json",
        "mmpose_mlflow_config.py",
    }
    listed = {a.path for a in server.list_artifacts(run_id)}
    listed |= {a.path for a in server.list_artifacts(run_id, timestamp)}
    listed |= {a.path for a in server.list_artifacts(run_id, f"{timestamp}/vis_data")}
    assert uploaded <= listed, listed

    # (a) The backend set MLflow's tracking URI for the whole process, and left it so:
    # any MLflow call after the training, in the same process, goes to the lab's server.
    assert mlflow.active_run() is None
    assert mlflow.get_tracking_uri() == LAB_TRACKING_URI
    assert os.environ["MLFLOW_TRACKING_URI"] == LAB_TRACKING_URI  # and child processes


def test_after_training_plain_mlflow_calls_go_to_the_lab_server(
    sandbox: Path, server: MlflowClient
):
    """(a), as a reader meets it: evaluation code after the training logs to the lab."""
    # The recipe under another file name, so that this test has its own experiment.
    config = sandbox / "mmpose_after_training.py"
    config.write_text(RECIPE.read_text())
    cfg = load_recipe(config)
    cfg.work_dir = str(sandbox / "work_dirs")
    visualizer = VISUALIZERS.build({**cfg.visualizer, "save_dir": cfg.work_dir})
    # What the Runner does with the visualizer: config first, scalars, close at the end.
    visualizer.add_config(cfg)
    visualizer.add_scalars({"loss": 0.5}, step=1)
    visualizer.close()

    # No set_tracking_uri in this code: the backend's is still in force.
    with mlflow.start_run(run_name="evaluation") as evaluation:
        mlflow.log_metric("accuracy", 0.9)

    assert mlflow.get_tracking_uri() == LAB_TRACKING_URI
    on_server = server.get_run(evaluation.info.run_id)
    assert on_server.data.metrics == {"accuracy": 0.9}
    # ... and in the training's experiment, which stays the active one, too.
    experiment = server.get_experiment_by_name(experiment_of("mmpose_after_training"))
    assert experiment is not None
    assert on_server.info.experiment_id == experiment.experiment_id
    assert os.environ["MLFLOW_EXPERIMENT_ID"] == experiment.experiment_id  # child processes
    runs = server.search_runs([experiment.experiment_id])
    assert sorted(r.info.run_name for r in runs) == sorted([cfg.run_name, "evaluation"])


# -- the backend's module, imported by name ---------------------------------------------

# What MMEngine says when the config's custom_imports cannot be imported (the page quotes it).
IMPORT_ERROR = (
    "Failed to import custom modules from {'imports': ['mindgarage_mlflow'], "
    "'allow_failed_imports': False}, the current sys.path is: "
)


def test_without_the_backend_module_on_the_path_the_config_stops_at_once(monkeypatch):
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(BACKEND_MODULE_FOLDER)])
    monkeypatch.delitem(sys.modules, "mindgarage_mlflow", raising=False)
    with pytest.raises(ImportError) as raised:
        Config.fromfile(str(RECIPE))
    assert str(raised.value).startswith(IMPORT_ERROR), str(raised.value)
    page = " ".join(PAGE.read_text().split())  # the page wraps long messages
    assert f"ImportError: {IMPORT_ERROR.rstrip()} [...]" in page


# -- (b) no tracking_uri ----------------------------------------------------------------


def test_without_tracking_uri_mlflow_refuses_mmengines_file_store(
    sandbox: Path, server: MlflowClient
):
    config = sandbox / "mmpose_no_tracking_uri.py"
    config.write_text(RECIPE.read_text())
    cfg = add_training(load_recipe(config), sandbox / "work_dirs")
    del cfg.visualizer.vis_backends[1]["tracking_uri"]
    # Not even the environment variable helps: MMEngine sets a file URI in code.
    os.environ["MLFLOW_TRACKING_URI"] = LAB_TRACKING_URI

    with pytest.raises(
        MlflowException,
        match=re.escape(
            "The filesystem tracking backend (e.g., './mlruns') is in maintenance mode"
        ),
    ):
        Runner.from_cfg(cfg)  # the config is logged when the runner is built

    # MMEngine pointed MLflow at the visualizer's folder: <work_dir>/<timestamp>/vis_data.
    work_dir = re.escape(str(sandbox / "work_dirs"))
    assert re.fullmatch(rf"file://{work_dir}/\d{{8}}_\d{{6}}/vis_data", mlflow.get_tracking_uri())
    assert server.get_experiment_by_name(experiment_of("mmpose_no_tracking_uri")) is None


# -- (c) the old text's trailing commas ----------------------------------------------

# The two name lines with the trailing commas the page warns of.
TRAILING_COMMAS = """\
import time
exp_name='rtmpose-m_8xb256-420e_coco-256x192',
run_name=time.strftime("%Y%m%d_%H%M%S", time.localtime()),
"""


def test_the_page_quotes_the_trailing_commas_error():
    page = " ".join(PAGE.read_text().split())
    assert "``TypeError: bad argument type for built-in operation``" in page


def test_trailing_commas_make_tuples_that_crash_the_backend(sandbox: Path, server: MlflowClient):
    # The recipe, with its two name lines written as in the old text.
    recipe = RECIPE.read_text()
    old_lines = TRAILING_COMMAS.splitlines()[1:]
    text, replaced = re.subn(r"^exp_name = .*$", lambda _: old_lines[0], recipe, flags=re.M)
    text, replaced_too = re.subn(r"^run_name = .*$", lambda _: old_lines[1], text, flags=re.M)
    assert replaced == replaced_too == 1
    config = sandbox / "rtmpose-m_8xb256-420e_coco-256x192.py"
    config.write_text(text)

    cfg = add_training(load_recipe(config), sandbox / "work_dirs")
    assert cfg.exp_name == ("rtmpose-m_8xb256-420e_coco-256x192",)  # a tuple, not a str
    assert isinstance(cfg.run_name, tuple)

    with pytest.raises(TypeError, match=r"^bad argument type for built-in operation$"):
        Runner.from_cfg(cfg)
    assert server.get_experiment_by_name("rtmpose-m_8xb256-420e_coco-256x192") is None


# -- the Slurm job's tags -----------------------------------------------------------------

# The training a member's ``tools/train.py`` starts, in a process of its own: the recipe,
# completed with the tiny model and data (argv: the config, the work_dir).
TRAIN = """\
import sys
from pathlib import Path

from tests.lib.mmengine_stand_in import Runner, add_training, load_recipe

Runner.from_cfg(add_training(load_recipe(Path(sys.argv[1])), Path(sys.argv[2]))).train()
"""


def test_a_training_in_a_slurm_job_carries_the_jobs_tags(
    sandbox: Path, mlflow_server, slurm_cluster
):
    # The job reaches the throwaway server on loopback: the config names it for the lab's.
    config = sandbox / "mmpose_slurm_job.py"
    config.write_text(RECIPE.read_text().replace(LAB_TRACKING_URI, mlflow_server.url))
    (sandbox / "train.py").write_text(TRAIN)
    member = new_member()
    environment = training_environment(mlflow_server.url, member)
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(BACKEND_MODULE_FOLDER)])

    job = slurm_cluster.sbatch(
        "--gres=gpu:1", f"--output={sandbox}/job-%j.log",
        f"--wrap=python train.py {config.name} work_dirs", cwd=sandbox, env=environment,
    )  # fmt: skip
    done = lambda fields: fields["JobState"] in ("COMPLETED", "FAILED", "CANCELLED")  # noqa: E731
    fields = slurm_cluster.wait_for(job, done, "ended", timeout=300)
    assert fields["JobState"] == "COMPLETED", (sandbox / f"job-{job}.log").read_text()

    (run,) = runs_of(mlflow_server.url, f"mmpose_slurm_job/{member}")
    tags = {tag: value for tag, value in run.data.tags.items() if tag.startswith("slurm.")}
    assert tags == {"slurm.job_id": str(job), "slurm.node": "localhost", "slurm.gpus": "1"}
    # Not in the config: its copy in the work_dir would give a later job this job's tags.
    assert not [param for param in run.data.params if "slurm" in param.lower()]
