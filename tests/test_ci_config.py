"""CI, the workflows and pre-commit call the nox sessions that exist, nothing else."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
NOX_CALL = re.compile(r"\bnox\s+-s\s+([\w-]+)")


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
    assert called, f"{path.name} runs no nox session"
    assert called <= nox_sessions(), f"{path.name} calls unknown sessions {called - nox_sessions()}"


def test_workflows_cover_the_promised_checks():
    calls = {
        path.name: {
            n for r in run_steps(yaml.safe_load(path.read_text())) for n in NOX_CALL.findall(r)
        }
        for path in WORKFLOWS
    }
    assert {"lint", "doctest", "docs"} <= calls["ci.yml"]
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
