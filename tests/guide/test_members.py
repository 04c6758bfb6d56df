"""The lab's experiment names: ``<project>/<member>`` on every page, never a name two
members would share by accident (getting-started.rst, "Naming experiments")."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from labdocs.page_facts import MEMBER_PAGES
from labdocs.pages import DOCS, ROOT, SYNTAX, included_files, pages

SIGNING_IN = DOCS / "guides" / "mlflow" / "signing-in.md"
# Ways to find a member: where one appears, it is the rule.
OTHER_WAYS = (
    "getuser()",
    'environ.get("MLFLOW_TRACKING_USERNAME") or',
    "MLFLOW_TRACKING_USERNAME:-",
)

# The member as MLflow finds the user it records with a run (its run context): the username
# of the variables or of ~/.mlflow/credentials, else the login name.
MEMBER_RULE = "read_mlflow_creds().username or getuser()"
MEMBER_IMPORTS = (
    "from getpass import getuser",
    "from mlflow.utils.credentials import read_mlflow_creds",
)
# The MMPose config's own spelling of the rule: an MMEngine config imports by __import__.
CONFIG_MEMBER_RULE = (
    '__import__("mlflow.utils.credentials", fromlist=["*"]).read_mlflow_creds().username',
    'or __import__("getpass").getuser()',
)
# An experiment's name where a page sets it: set_experiment, Lightning's experiment_name,
# MMEngine's exp_name.
EXPERIMENT_NAME = re.compile(
    r"(?:set_experiment\(|experiment_name=|exp_name=)\s*(?P<name>f?[\"'][^\"']*[\"'])"
)
# The names that are not a member's experiment, each for its reason.
NOT_A_MEMBERS_EXPERIMENT = {
    '"Default"',  # signing-in: what a script without an experiment meets
    '"local-test"',  # troubleshooting: a local file store, no server
    "'rtmpose-m_8xb256-420e_coco-256x192'",  # mmpose: the trailing comma, as MMPose names it
    '"rtmpose-hand/jdoe"',  # the admin page: experiments from before sign-in get owners
}


def page_texts(selected: list[Path]) -> dict[Path, str]:
    """Each page with the Python files it shows."""
    texts = {}
    for path in selected:
        shown = [f for f in included_files(path) if f.suffix == ".py"]
        texts[path] = path.read_text() + "".join(f.read_text() for f in shown)
    return texts


def test_every_experiment_on_the_site_ends_in_the_member():
    named = 0
    for page, text in page_texts(pages()).items():
        for name in EXPERIMENT_NAME.findall(text):
            named += 1
            if name in NOT_A_MEMBERS_EXPERIMENT:
                continue
            assert name.startswith('f"'), (page, name)
            assert name.endswith(('/{member}"', '/{lab_member.name}"')), (page, name)
    assert named > 20  # the pattern finds the pages' experiments


def test_the_member_is_found_the_same_way_everywhere():
    """One rule on every page and in every file a page shows, hidden checks included: any
    other way to find the member (the variable alone, the login alone) fails here."""
    member_pages = [
        ROOT / f"{p}{s}" for p in MEMBER_PAGES for s in SYNTAX if (ROOT / f"{p}{s}").exists()
    ]
    training_pages = [p for p in pages() if "examples/training/" in p.read_text()]
    for page, text in page_texts(member_pages + training_pages).items():
        if "set_experiment(" in text or "experiment_name=" in text:
            assert MEMBER_RULE in text, page
            assert all(line in text for line in MEMBER_IMPORTS), page
    for page, text in page_texts(pages()).items():
        for line in text.splitlines():
            if any(way in line for way in OTHER_WAYS):
                assert MEMBER_RULE in line or line.strip() in CONFIG_MEMBER_RULE, (page, line)


def test_the_mmpose_config_names_its_experiment_after_the_config_and_the_member():
    config = (ROOT / "examples" / "mmpose_mlflow_config.py").read_text()
    assert 'exp_name = "{{fileBasenameNoExtension}}/" + mlflow_member' in config
    # The rule, with __import__ (an import statement would make it a new-style config).
    assert all(f"    {part}" in config for part in CONFIG_MEMBER_RULE)


def test_the_rule_finds_the_sign_in_name_of_the_credentials_file(tmp_path: Path):
    """The rule as a reader's script runs it: a fresh Python whose HOME holds only the
    credentials file the signing-in page shows; then the variable, which wins over the file;
    then neither, and the login name."""
    (shown,) = re.findall(r"```ini\n(.*?)```", SIGNING_IN.read_text(), re.DOTALL)
    (tmp_path / ".mlflow").mkdir()
    (tmp_path / ".mlflow" / "credentials").write_text(
        shown.replace("<your username>", "jdoe").replace("<your password>", "not-used")
    )
    script = "\n".join([*MEMBER_IMPORTS, f"print({MEMBER_RULE})"])
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING_")}

    def member(home: Path, **env: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", script], env={**clean, "HOME": str(home), "LOGNAME": "login",
            "USER": "login", **env}, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        return done.stdout.strip()

    assert member(tmp_path) == "jdoe"
    assert member(tmp_path, MLFLOW_TRACKING_USERNAME="asmith") == "asmith"
    assert member(tmp_path / "elsewhere") == "login"
