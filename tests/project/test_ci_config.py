"""CI, the workflows and pre-commit call the nox sessions that exist, nothing else; the
workflows run what .ci/run runs, set up as .ci/run sets it up: by the sessions themselves."""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
NOX_CALL = re.compile(r"\bnox\s+-s\s+([\w-]+)")
CI_SCRIPT = ROOT / ".ci" / "run"
# Installing system packages or browsers outside tools/system_packages.py.
OWN_SETUP = re.compile(r"\bapt-get\b|\bapt\s+install\b|playwright\s+install|\bnpm\s+install\b")
# As .ci/run runs, as root (sudo), with the job's Python on PATH.
AS_ROOT = re.compile(r"^sudo env \"PATH=\$PATH\" \"HOME=\$HOME\" CI=true ")


def nox_sessions() -> set[str]:
    """Session names declared in noxfile.py (nox itself is not in the test environment)."""
    source = (ROOT / "noxfile.py").read_text()
    sessions = set()
    for decorator, function in re.findall(r"@nox\.session\(([^)]*)\)\s*\ndef (\w+)", source):
        named = re.search(r'name="([\w-]+)"', decorator)
        sessions.add(named.group(1) if named else function)
    return sessions


def run_steps(workflow: dict) -> list[str]:
    return [
        step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step
    ]


def test_noxfile_declares_the_readme_sessions():
    assert {"docs", "doctest", "docs-live", "linkcheck", "lint"} <= nox_sessions()


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_valid_and_calls_existing_sessions(path):
    workflow = yaml.safe_load(path.read_text())
    assert workflow["jobs"], f"{path.name} has no jobs"
    called = {name for run in run_steps(workflow) for name in NOX_CALL.findall(run)}
    if any(".ci/run" in run for run in run_steps(workflow)):
        called |= set(NOX_CALL.findall(CI_SCRIPT.read_text()))
    assert called, f"{path.name} runs no nox session"
    assert called <= nox_sessions(), f"{path.name} calls unknown sessions {called - nox_sessions()}"


def test_workflows_cover_the_promised_checks():
    calls = {
        path.name: {
            n for r in run_steps(yaml.safe_load(path.read_text())) for n in NOX_CALL.findall(r)
        }
        for path in WORKFLOWS
    }
    assert calls["ci.yml"] == set(), "ci.yml runs .ci/run, whose sessions are CI's"
    assert "docs" in calls["pages.yml"]
    assert {"linkcheck", "doctest", "compatibility"} <= calls["drift.yml"]
    assert "latest" in (ROOT / ".github" / "workflows" / "drift.yml").read_text()


def test_ci_script_runs_the_readme_commands():
    script = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    for session in ("doctest", "docs"):
        assert f"nox -s {session}" in readme
        assert re.search(rf"nox -s {session}\b", script)
    assert "nox -s lint" in script
    # The real MMPose; killed runs leave nothing (a script, run by CI); the admin page's
    # procedures on throwaway deployments.
    for session in ("mmpose", "kill-drill", "deployment-drills"):
        assert re.search(rf"nox -s {session}\b", script)
        assert session in nox_sessions()


def test_pre_commit_config_is_valid_yaml():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [hook["id"] for repo in config["repos"] for hook in repo["hooks"]]
    assert {"ruff-check", "ruff-format", "sphinx-lint", "ruff-page-examples"} <= set(hooks)


def test_ci_workflow_runs_the_ci_script_as_the_lab_s_ci_does():
    """CI on GitHub is .ci/run, as root, as on the lab's machine: the same setup and the
    same sessions, which cannot drift apart."""
    runs = run_steps(yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text()))
    ci = [run for run in runs if "nox" in run or ".ci/run" in run]
    assert len(ci) == 1 and AS_ROOT.match(ci[0]) and ci[0].endswith(" bash .ci/run"), ci


@pytest.mark.parametrize("path", [*WORKFLOWS, CI_SCRIPT], ids=lambda p: p.name)
def test_setup_is_the_sessions_own(path):
    """No workflow, and not .ci/run, installs Debian packages or browsers itself: each
    session does (tools/system_packages.py), wherever it runs."""
    text = path.read_text()
    steps = [text] if path == CI_SCRIPT else run_steps(yaml.safe_load(text))
    lines = [line for step in steps for line in step.splitlines()]
    own = [line for line in lines if OWN_SETUP.search(line) and not line.lstrip().startswith("#")]
    assert own == [], f"{path.name} sets up packages itself"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_run_the_sessions_that_need_debian_s_packages_as_ci_does(path):
    """As root, as .ci/run runs them: the deployment's PostgreSQL and the packages' install
    need it, and a session run otherwise would be tested in a world CI never sees."""
    from tools.system_packages import SESSIONS

    for run in run_steps(yaml.safe_load(path.read_text())):
        if set(NOX_CALL.findall(run)) & SESSIONS.keys():
            assert AS_ROOT.match(run), f"{path.name}: {run}"


def test_ci_stops_at_once_on_a_disk_too_full_for_a_run(tmp_path):
    """A disk without room for the environments stops CI before anything is installed, with
    the free space named, not minutes later at pip's "No space left on device"."""
    copy = tmp_path / ".ci" / "run"
    copy.parent.mkdir()
    copy.write_text(CI_SCRIPT.read_text())
    done = subprocess.run(
        ["bash", str(copy)],
        env={**os.environ, "DOCS_CI_NEEDED_GB": str(10**9)},
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert re.search(
        r"\d+ GB free on the disk of .*; a full run needs about 1000000000 GB", done.stderr
    )
    assert not (tmp_path / ".nox").exists(), "the script went on to install"
