"""The lab's experiment names on the member pages: ``<project>/<member>``, never a name two
members would share by accident (getting-started.rst, "Naming experiments")."""

from __future__ import annotations

import re

from labdocs.members import MEMBER_PAGES
from labdocs.pages import ROOT, SYNTAX, included_files

MEMBER_RULE = 'os.environ.get("MLFLOW_TRACKING_USERNAME") or getpass.getuser()'
SET_EXPERIMENT = re.compile(r"set_experiment\(\s*(?P<name>f?[\"'][^\"']*[\"'])")


def member_page_texts() -> dict[str, str]:
    texts = {}
    for page in MEMBER_PAGES:
        [path] = [
            ROOT / f"{page}{suffix}" for suffix in SYNTAX if (ROOT / f"{page}{suffix}").exists()
        ]
        shown = [f for f in included_files(path) if f.suffix == ".py"]
        texts[page] = path.read_text() + "".join(f.read_text() for f in shown)
    return texts


def test_every_experiment_of_a_member_page_ends_in_the_member():
    for page, text in member_page_texts().items():
        for name in SET_EXPERIMENT.findall(text):
            if name == '"Default"':  # signing-in.md: what a script without experiment meets
                continue
            assert name.startswith('f"') and name.endswith('/{member}"'), (page, name)


def test_the_member_is_found_the_same_way_everywhere():
    for page, text in member_page_texts().items():
        if "set_experiment(" in text:
            assert MEMBER_RULE in text or "or getuser()" in text, page


def test_the_mmpose_config_names_its_experiment_after_the_config_and_the_member():
    config = (ROOT / "examples" / "mmpose_mlflow_config.py").read_text()
    assert 'exp_name = "{{fileBasenameNoExtension}}/" + mlflow_member' in config
    # The rule, with __import__ (an import statement would make it a new-style config).
    assert '__import__("os").environ.get("MLFLOW_TRACKING_USERNAME") or (' in config
    assert '__import__("getpass").getuser()' in config
