"""The supply chain: every environment installs a lock that pins every package with its
hashes and agrees with its input; every workflow runs actions pinned by commit, with no
more permissions than its jobs need; CI installs with --require-hashes.

A lock is stale when its input changed since `nox -s lock` wrote it: its first lines hold
the digest of the input's requirements (tools/lock.py), and every pin of the input must be
the lock's.
"""

import re
from pathlib import Path

import pytest
import yaml

from tools import lock

ROOT = Path(__file__).resolve().parents[2]
INPUTS = lock.inputs()
LOCKS = [lock.lock_of(source) for source in INPUTS]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
HASH = r"--hash=sha256:[0-9a-f]{64}"
LOCKED_ENTRY = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._-]*==\S+( {HASH})+$")
# owner/repo[/path]@<full commit> # <tag>
PINNED_ACTION = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
ids = {"ids": lambda path: str(path.relative_to(ROOT))}


def entries(text: str) -> list[str]:
    """A requirements file's entries, continuation lines joined, comment lines dropped."""
    lines = (line.strip() for line in re.sub(r"\s*\\\n\s*", " ", text).splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def test_every_input_has_a_lock_and_every_lock_an_input():
    assert INPUTS, "requirements/ has no inputs"
    assert ROOT / "requirements.txt" in LOCKS  # what `pip install -r requirements.txt` finds
    missing = [str(path.relative_to(ROOT)) for path in LOCKS if not path.is_file()]
    assert not missing, f"inputs without a lock (run `nox -s lock`): {missing}"
    orphans = set((ROOT / "requirements").glob("*.txt")) - set(LOCKS)
    assert not orphans, f"locks without an input: {sorted(map(str, orphans))}"


@pytest.mark.parametrize("path", LOCKS, **ids)
def test_every_entry_of_a_lock_is_pinned_with_hashes(path):
    found = entries(path.read_text())
    assert found, f"{path.name} locks nothing"
    unhashed = [entry for entry in found if not LOCKED_ENTRY.match(entry)]
    assert not unhashed, f"{path.name}: not pinned (==) with sha256 hashes: {unhashed[:5]}"


@pytest.mark.parametrize("source", INPUTS, **ids)
def test_every_lock_is_fresh_against_its_input(source):
    locked = lock.lock_of(source).read_text()
    written = lock.DIGEST_LINE.search(locked)
    assert written, f"{lock.lock_of(source).name} has no digest line: lock it with `nox -s lock`"
    assert written[1] == lock.digest(source), (
        f"{source.name} changed since {lock.lock_of(source).name} was locked: run "
        f"`nox -s lock -- {source.stem}`"
    )
    wanted = lock.pins(lock.input_text(source))
    have = lock.pins(locked)
    differ = {name: (version, have.get(name)) for name, version in wanted.items()}
    differ = {name: pair for name, pair in differ.items() if not matches(*pair)}
    assert not differ, f"{source.name} pins (input, lock): {differ}"


def matches(wanted: str, locked: str | None) -> bool:
    """``torch==2.13.0`` is locked as the local CPU build ``2.13.0+cpu``, which it allows."""
    return locked is not None and locked.split("+", 1)[0] == wanted


@pytest.mark.parametrize("source", [s for s in INPUTS if "-c " in s.read_text()], **ids)
def test_a_constrained_lock_agrees_with_its_constraint(source):
    """browser.txt's Playwright is the doctest lock's (the workflows install both)."""
    for line in source.read_text().splitlines():
        if line.startswith("-c "):
            constraint = lock.pins((source.parent / line[3:].strip()).read_text())
            for name, version in lock.pins(lock.lock_of(source).read_text()).items():
                assert constraint.get(name, version) == version, (source.name, name)


def test_the_lab_facts_come_from_the_doctest_lock():
    from labdocs import lab

    locked = lock.pins((ROOT / "requirements" / "doctest.txt").read_text())
    assert locked["mlflow"] == lab.MLFLOW_VERSION
    assert locked["mmengine"] == lab.MMENGINE_VERSION


# -- CI installs with the locks ----------------------------------------------------------------


def pip_installs(text: str) -> list[str]:
    """Every ``pip install`` command (continuation lines joined), comments left out."""
    lines = re.sub(r"\\\n\s*", " ", text).splitlines()
    commands = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    return re.findall(r"pip install[^\n]*", commands)


@pytest.mark.parametrize("path", [*WORKFLOWS, ROOT / ".ci" / "run"], **ids)
def test_ci_installs_only_locks_with_hashes(path):
    text = path.read_text()
    installs = pip_installs(text)
    # A workflow that runs .ci/run installs what that script does (checked as .ci/run).
    assert installs or "bash .ci/run" in text, f"{path.name} installs nothing"
    for command in installs:
        assert re.search(r"--require-hashes -r \S*requirements/[\w.-]+\.txt", command), command


# -- the workflows: actions pinned by commit, least permissions --------------------------------


def uses_lines(text: str) -> list[tuple[str, str]]:
    """(action, comment) of every ``uses:`` line."""
    return re.findall(r"^\s*(?:-\s+)?uses:\s*(\S+)\s*(#.*)?$", text, re.MULTILINE)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_with_its_tag_said(path):
    used = uses_lines(path.read_text())
    assert used, f"{path.name} uses no action"
    for action, comment in used:
        if action.startswith("./"):
            continue  # the repository's own
        assert PINNED_ACTION.match(action), f"{path.name}: {action} is not pinned by commit"
        assert re.match(r"# v\d+\.\d+\.\d+$", comment), f"{path.name}: {action} says no tag"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_gets_only_the_permissions_it_declares(path):
    workflow = yaml.safe_load(path.read_text())
    assert workflow["permissions"] == {}, f"{path.name}: the workflow grants permissions"
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} inherits permissions"
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, (
                    f"{path.name}: job {name} keeps the checkout's credentials"
                )
