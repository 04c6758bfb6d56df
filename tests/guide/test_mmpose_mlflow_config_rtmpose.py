"""examples/mmpose_mlflow_config.py with the real MMPose: an RTMPose training, validated.

The MMPose page tells lab members to add examples/mmpose_mlflow_config.py to the config
they train with, for example MMPose's RTMPose-m on COCO. Here that is done for real, as
``tools/train.py`` does it: a config file that inherits the RTMPose-m COCO config shipped
inside the mmpose package, shrinks it to a few fake COCO images (two epochs, on the CPU, no
pretrained weights: no network; tests/lib/rtmpose_training.py writes both), and ends with
the page's lines; loaded with
``Config.fromfile``, trained and validated by MMEngine's ``Runner`` with MMPose's own
``PoseLocalVisualizer``, ``CocoMetric`` and ``PoseVisualizationHook``. Then the throwaway
server (the lab's URL reaches it during the tests) is asked what arrived.

The same config without the page's fix (MMEngine's plain ``MLflowVisBackend``) is then
shown to crash, at the first validation, with the errors the page quotes.

Needs the real MMPose stack: ``nox -s mmpose`` installs it (with mmcv's compiled ops and
xtcocotools, built once) and sets DOCS_REQUIRE_MMPOSE=1, under which a missing mmpose is
an error. Elsewhere (``nox -s doctest``) this module is skipped.
"""

# ruff: noqa: E402 (the skip below comes before the heavy imports)
from __future__ import annotations

import importlib.util
import os

import pytest

REQUIRE_MMPOSE = "DOCS_REQUIRE_MMPOSE"  # set by nox -s mmpose

# Asked before anything heavy is imported (torch, MLflow): elsewhere this module costs nothing.
if importlib.util.find_spec("mmpose") is None and os.environ.get(REQUIRE_MMPOSE) != "1":
    pytest.skip(
        "mmpose is not installed: `nox -s mmpose` runs this test with the real MMPose stack",
        allow_module_level=True,
    )

import getpass
import re
import runpy
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import RestException

from labdocs.lab import LAB_TRACKING_URI
from labdocs.plugin.sandbox import within_sandbox

try:
    from tests.lib.rtmpose_training import (
        AUTOCAST_DEPRECATED,
        BATCH,
        EPOCHS,
        ITERATIONS,
        MMPOSE_TOOLS,
        VAL_IMAGES,
        Config,
        Runner,
        mmpose,
        torch,
        write_member_config,
    )
except ImportError:
    if os.environ.get(REQUIRE_MMPOSE) == "1":
        raise  # nox -s mmpose promised the real stack: a missing piece is a failure
    pytest.skip(
        "mmpose is not installed: `nox -s mmpose` runs this test with the real MMPose stack",
        allow_module_level=True,
    )
from mmengine.registry import VISBACKENDS  # mmengine: only with mmpose

# Warnings of the OpenMMLab stack while it trains, facts of its code, not the page's.
pytestmark = [
    # mmdet's CSPNeXt channel attention (se_layer.py) calls torch.cuda.amp.autocast.
    pytest.mark.filterwarnings(f"ignore:{AUTOCAST_DEPRECATED}"),
]

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "examples" / "mmpose_mlflow_config.py"
BACKEND_MODULE = ROOT / "examples" / "mindgarage_mlflow.py"  # the config imports it by name
BACKEND = "MLflowAcceptedNamesVisBackend"
RUN_NAME = re.compile(r"^\d{8}_\d{6}$")
# CocoMetric's results, as MMPose names them, and as the page's backend sends them to MLflow.
COCO_NAMES = {
    "coco/AP": "coco/AP", "coco/AP .5": "coco/AP .5", "coco/AP .75": "coco/AP .75",
    "coco/AP (M)": "coco/AP_M", "coco/AP (L)": "coco/AP_L", "coco/AR": "coco/AR",
    "coco/AR .5": "coco/AR .5", "coco/AR .75": "coco/AR .75", "coco/AR (M)": "coco/AR_M",
    "coco/AR (L)": "coco/AR_L",
}  # fmt: skip
# The two crashes without the fix, as MLflow and PIL word them (troubleshooting quotes them).
METRIC_NAME_ERROR = (
    """INVALID_PARAMETER_VALUE: Invalid value "coco/AP (M)" for parameter 'metrics[3].name' """
    "supplied: Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), "
    "spaces ( ), colon(:) and slashes (/)."
)
IMAGE_ERROR = "unknown file extension: "
PAGES = [ROOT / "docs/guides/mlflow/mmpose.rst", ROOT / "docs/guides/mlflow/troubleshooting.rst"]


def build_runner(config: Path, work_dir: Path, fixed: bool = True) -> Runner:
    """What MMPose's tools/train.py does with a config file, on one CPU.

    ``fixed=False``: the page's config as it was before its fix, with MMEngine's own
    ``MLflowVisBackend`` in place of the page's.
    """
    cfg = Config.fromfile(str(config))
    cfg.work_dir = str(work_dir)
    cfg.launcher = "none"
    if not fixed:
        backend = cfg.visualizer.vis_backends[1]
        assert backend.type == BACKEND, f"not the page's: {backend}"
        backend.type = "MLflowVisBackend"
    return Runner.from_cfg(cfg)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Train with one thread: this machine's 2 cores are shared (the MLflow server, other
    jobs), and torch's two threads then wait on each other: 15 to 17 s per iteration were
    measured under load, against 2 to 3 s with one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def server(mlflow_server) -> MlflowClient:
    return MlflowClient(mlflow_server.url)  # asks the throwaway server directly


@pytest.fixture(autouse=True)
def backend_module_on_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's mindgarage_mlflow.py where Python finds it, as a member's PYTHONPATH."""
    monkeypatch.syspath_prepend(str(BACKEND_MODULE.parent))


# -- the page's config, in a real RTMPose training ------------------------------------


def test_rtmpose_training_with_the_page_config_reaches_mlflow(sandbox: Path, server):
    name = "rtmpose-m_1xb2-2e_fakecoco-256x192"
    runner = build_runner(write_member_config(sandbox, name, RECIPE.read_text()), sandbox / "w")
    # MMPose's own: no stand-in.
    assert type(runner.visualizer).__module__.startswith("mmpose.visualization")
    assert type(runner.visualizer).__name__ == "PoseLocalVisualizer"
    [metric] = runner.val_evaluator.metrics
    assert type(metric).__module__.startswith("mmpose.evaluation")
    assert type(metric).__name__ == "CocoMetric"
    runner.train()

    # The experiment: the config file's name, then the member (the lab's rule); the run:
    # the time it started.
    experiment_name = f"{name}/{getpass.getuser()}"
    experiment = server.get_experiment_by_name(experiment_name)
    assert experiment is not None, f"no experiment {experiment_name!r} on the server"
    [run] = server.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert RUN_NAME.match(run.info.run_name), run.info.run_name
    assert run.info.run_name == runner.cfg.run_name
    run_id = run.info.run_id

    # Losses and learning rate, with the iteration as their step (RTMPose's lr warms up).
    for metric_name in ("loss", "loss_kpt", "acc_pose", "lr"):
        history = server.get_metric_history(run_id, metric_name)
        assert [m.step for m in history] == list(range(1, ITERATIONS + 1)), history
    lrs = [m.value for m in server.get_metric_history(run_id, "lr")]
    assert lrs == sorted(lrs) and lrs[0] < lrs[-1], lrs

    # CocoMetric's ten results, with the epoch as their step, under names MLflow accepts;
    # every one computed (COCOeval reports -1 for what it cannot compute).
    for accepted in COCO_NAMES.values():
        history = server.get_metric_history(run_id, accepted)
        assert [m.step for m in history] == list(range(1, EPOCHS + 1)), (accepted, history)
        assert all(0 <= m.value <= 1 for m in history), (accepted, history)
    assert {m for m in run.data.metrics if m.startswith("coco/")} == set(COCO_NAMES.values())
    # MMEngine itself keeps MMPose's names: its own log, and the best checkpoint's choice.
    scalars = (sandbox / "w" / runner.timestamp / "vis_data" / "scalars.json").read_text()
    assert all(f'"{original}"' in scalars for original in COCO_NAMES)
    assert list((sandbox / "w").glob("best_coco_AP_epoch_*.pth"))

    # The validation images that PoseVisualizationHook draws, as steps of 'val_img'.
    images = [a.path for a in server.list_artifacts(run_id, "images")]
    drawn = [p for p in images if p.startswith("images/val_img+step+") and p.endswith(".png")]
    assert len(drawn) == EPOCHS * VAL_IMAGES // BATCH, images

    # The config, as parameters and as config.py; the work_dir's files at the end.
    params = run.data.params
    assert params["exp_name"] == experiment_name
    assert params["visualizer.type"] == "PoseLocalVisualizer"
    assert params["visualizer.vis_backends.1.tracking_uri"] == LAB_TRACKING_URI
    assert params["model.backbone.type"] == "CSPNeXt"
    assert params["model.head.type"] == "RTMCCHead"
    assert params["val_evaluator.type"] == "CocoMetric"
    config_py = mlflow.artifacts.load_text(f"runs:/{run_id}/config.py")
    assert f"exp_name = '{experiment_name}'" in config_py
    assert f"type='{BACKEND}'" in config_py
    assert f"{name}.py" in {a.path for a in server.list_artifacts(run_id)}


# -- without the fix: the crashes the page warns about --------------------------------


def crash_at_first_validation(sandbox: Path, server, name: str, draw: bool):
    """Train the config without the page's fix: the error, and the run as the crash left it."""
    config = write_member_config(sandbox, name, RECIPE.read_text(), draw)
    runner = build_runner(config, sandbox / "w", fixed=False)
    with pytest.raises(Exception) as raised:
        runner.train()
    # The first epoch was trained and logged; the crash came at its validation.
    assert runner.epoch == 1
    run = mlflow.active_run()
    assert run is not None, "MLflowVisBackend ends its run only when the training ends"
    # Nothing ends the run after the crash: on the server it stays RUNNING.
    assert server.get_run(run.info.run_id).info.status == "RUNNING"
    mlflow.end_run(status="FAILED")  # for the sandbox, which fails a test leaving one open
    assert [m.step for m in server.get_metric_history(run.info.run_id, "loss")] == [1, 2]
    on_server = server.get_run(run.info.run_id)
    assert not [m for m in on_server.data.metrics if m.startswith("coco/")]
    return raised.value


def test_without_the_fix_coco_metric_names_crash_the_first_validation(sandbox: Path, server):
    # MMPose's default: PoseVisualizationHook draws nothing (or its crash would come first).
    error = crash_at_first_validation(sandbox, server, "rtmpose_unfixed_names", draw=False)
    assert type(error) is RestException, repr(error)
    assert str(error) == METRIC_NAME_ERROR


def test_without_the_fix_drawing_validation_images_crashes(sandbox: Path, server):
    error = crash_at_first_validation(sandbox, server, "rtmpose_unfixed_images", draw=True)
    assert type(error) is ValueError, repr(error)
    assert str(error) == IMAGE_ERROR
    assert isinstance(error.__cause__, KeyError)  # PIL found no format for 'val_img'


def test_the_troubleshooting_page_quotes_the_real_errors():
    page = PAGES[1]  # the MMPose page links to it
    text = " ".join(page.read_text().split())  # the page wraps long messages
    assert f"RestException: {METRIC_NAME_ERROR}" in text, page
    assert f"ValueError: {IMAGE_ERROR.strip()}" in text, page
    assert "troubleshooting-mmpose-first-validation" in PAGES[0].read_text()


# -- the copy of the config in the work_dir: testing and resuming from it ---------------


@contextmanager
def process_of_its_own(env: dict[str, str]) -> Iterator[list[str]]:
    """What ``python tools/...`` in a new shell starts from: the backend not registered,
    its module not imported, MLflow and MMEngine as new (the sandbox's reset, nested),
    ``env`` in the environment. Yields the names of the runs the tool left open."""
    VISBACKENDS._module_dict.pop(BACKEND, None)  # no public way to unregister
    sys.modules.pop(BACKEND_MODULE.stem, None)
    left_open: list[str] = []
    with within_sandbox(Path.cwd(), left_open):
        os.environ.update(env)
        yield left_open


def mmpose_tool(tool: str, *args: str, env: dict[str, str] | None = None) -> list[str]:
    """``python tools/<tool>.py <args>`` in an MMPose clone, as the page says, in this
    process (the lab's URL reaches the throwaway server only here, labdocs/services/network.py).
    Returns the runs it left open: a crashed tool's, which its process's end would end."""
    argv = sys.argv
    sys.argv = [str(MMPOSE_TOOLS / f"{tool}.py"), *args]
    try:
        with process_of_its_own(env or {}) as left_open:
            runpy.run_path(sys.argv[0], run_name="__main__")
    finally:
        sys.argv = argv
    return left_open


# MMEngine 0.10.7 loads its checkpoints with torch.load's default, which torch 2.6 made
# weights_only=True; its checkpoints hold more than weights. The page's way out:
OWN_CHECKPOINTS = {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
WEIGHTS_ONLY_ERROR = (
    "Weights only load failed. This file can still be loaded, to do so you have two options,"
)


@pytest.mark.timeout(600)  # four RTMPose starts: a minute alone, several under load
# What torch says of the way out, each time it loads a checkpoint (the page says so too).
@pytest.mark.filterwarnings("ignore:Environment variable TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD detected")
def test_the_saved_copy_tests_and_resumes_the_training(sandbox: Path, server):
    name = "rtmpose_saved_copy"  # an experiment of its own on the session's server
    config = write_member_config(sandbox, name, RECIPE.read_text(), draw=False, save_last=True)
    mmpose_tool("train", str(config))  # work_dir: MMPose's default, work_dirs/<config name>
    work_dir = sandbox / "work_dirs" / name
    saved = work_dir / f"{name}.py"
    # The copy: plain values, no _base_, no code; the backend's module named by custom_imports.
    copy_text = saved.read_text()
    assert "_base_ = " not in copy_text and "def " not in copy_text
    assert Config.fromfile(str(saved)).custom_imports == {
        "imports": [BACKEND_MODULE.stem], "allow_failed_imports": False
    }  # fmt: skip
    experiment = server.get_experiment_by_name(f"{name}/{getpass.getuser()}")
    [training] = server.search_runs([experiment.experiment_id])
    assert training.info.status == "FINISHED"

    # Test the best checkpoint with the copy, as members do next.
    [best] = work_dir.glob("best_coco_AP_epoch_*.pth")
    with pytest.raises(Exception) as raised:  # torch >= 2.6 and MMEngine 0.10.7
        mmpose_tool("test", str(saved), str(best))
    assert type(raised.value).__name__ == "UnpicklingError", repr(raised.value)
    assert str(raised.value).startswith(WEIGHTS_ONLY_ERROR), str(raised.value)
    assert mmpose_tool("test", str(saved), str(best), env=OWN_CHECKPOINTS) == []
    [test_log] = [p for p in work_dir.glob("*/*.log") if "Epoch(test)" in p.read_text()]
    assert re.search(r"Epoch\(test\) \[\d+/\d+\] +coco/AP: \d", test_log.read_text())

    # Resume with the copy: one epoch more, from the last checkpoint.
    resume = ["--resume", "--cfg-options", "train_cfg.max_epochs=3"]
    assert mmpose_tool("train", str(saved), *resume, env=OWN_CHECKPOINTS) == []
    assert (work_dir / "epoch_3.pth").exists()
    resumed_log = max(work_dir.glob("*/*.log"))  # the newest start's
    assert f"resumed epoch: {EPOCHS}, iter: {ITERATIONS}" in resumed_log.read_text()

    # On the server: the training, then each start from the copy, as runs of their own in
    # the training's experiment.
    runs = server.search_runs([experiment.experiment_id], order_by=["attributes.start_time"])
    training, _stopped, test, resumed = runs  # _stopped: the start without the export
    assert [r.info.status for r in (training, test, resumed)] == ["FINISHED"] * 3
    assert test.data.params["load_from"] == str(best)
    assert f"{name}.py" in {a.path for a in server.list_artifacts(test.info.run_id)}
    assert {r.info.run_name for r in runs} == {training.info.run_name}  # the copy's name
    assert not [m for m in test.data.metrics if m.startswith("coco/")], test.data.metrics
    assert [m.step for m in server.get_metric_history(resumed.info.run_id, "loss")] == [
        ITERATIONS + 1, ITERATIONS + 2
    ]  # fmt: skip
    assert [m.step for m in server.get_metric_history(resumed.info.run_id, "coco/AP_M")] == [3]


def test_the_page_shows_the_backend_module_the_tests_import():
    page = PAGES[0].read_text()
    assert f"literalinclude:: ../../../examples/{BACKEND_MODULE.name}" in page
    assert f'custom_imports = dict(imports=["{BACKEND_MODULE.stem}"]' in RECIPE.read_text()


def test_the_page_names_the_tested_mmpose():
    pins = (ROOT / "requirements" / "mmpose-no-deps.in").read_text()
    assert f"mmpose=={mmpose.__version__}\n" in pins
    assert f"MMPose {mmpose.__version__}" in " ".join(PAGES[0].read_text().split())
