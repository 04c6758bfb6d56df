"""The lab's experiment names: ``<project>/<member>`` on every page, never a name two
members would share by accident (getting-started.rst, "Naming experiments")."""

from __future__ import annotations

import re
from pathlib import Path

from labdocs.page_facts import MEMBER_PAGES
from labdocs.pages import ROOT, SYNTAX, included_files, pages

MEMBER_RULE = 'os.environ.get("MLFLOW_TRACKING_USERNAME") or getpass.getuser()'
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
    member_pages = [
        ROOT / f"{p}{s}" for p in MEMBER_PAGES for s in SYNTAX if (ROOT / f"{p}{s}").exists()
    ]
    training_pages = [p for p in pages() if "examples/training/" in p.read_text()]
    for page, text in page_texts(member_pages + training_pages).items():
        if "set_experiment(" in text or "experiment_name=" in text:
            assert MEMBER_RULE in text or "or getuser()" in text, page


def test_the_mmpose_config_names_its_experiment_after_the_config_and_the_member():
    config = (ROOT / "examples" / "mmpose_mlflow_config.py").read_text()
    assert 'exp_name = "{{fileBasenameNoExtension}}/" + mlflow_member' in config
    # The rule, with __import__ (an import statement would make it a new-style config).
    assert '__import__("os").environ.get("MLFLOW_TRACKING_USERNAME") or (' in config
    assert '__import__("getpass").getuser()' in config
