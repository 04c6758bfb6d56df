"""Promises about the site as a whole, beyond what each page's examples show.

What can be known without MLflow (spellings, included files, skips, pictures) is checked by
the lint of the pages (tools/lint_pages.py, tested in test_lint_pages.py).
"""

import os
import re
import zlib
from importlib import import_module
from pathlib import Path

import mlflow
import pytest

from labdocs.lab import MLFLOW_VERSION
from labdocs.pages import DOCS, included_files, pages

PAGES = pages()
SHOWN = {page: included_files(page) for page in PAGES}


@pytest.mark.skipif(
    # The drift run's switch (noxfile.mlflow_under_test).
    os.environ.get("DOCS_MLFLOW_CLIENT", "pinned") != "pinned",
    reason="drift run: testing another MLflow than the pinned one on purpose",
)
def test_the_site_states_the_mlflow_version_it_is_tested_with():
    """labdocs/lab.py reads the pin; the tests must be running that very version."""
    assert mlflow.__version__ == MLFLOW_VERSION


def test_the_mlflow_api_inventory_matches_the_pinned_mlflow():
    """Every MLflow name the site can link to exists in the MLflow the tests run."""
    # Inventory format 2: four header lines, then zlib lines "name domain:role prio uri disp".
    raw = (DOCS / "_inventories" / "mlflow.inv").read_bytes().split(b"\n", 4)[4]
    entries = [line.split()[:2] for line in zlib.decompress(raw).decode().splitlines()]
    assert len(entries) > 500, "the inventory looks truncated"
    missing = [f"{role} {name}" for name, role in entries if not _resolves(name)]
    assert not missing, f"{len(missing)} names no longer in MLflow: {missing[:10]}"


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attr in parts[split:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def test_each_page_works_in_its_own_experiment():
    """Pages share one throwaway server: two pages in one experiment would mix their runs."""
    owner: dict[str, Path] = {}
    for page, files in SHOWN.items():
        # An included example logs for the page that includes it.
        text = page.read_text() + "".join(f.read_text() for f in files if f.suffix == ".py")
        for name in set(re.findall(r"set_experiment\(\s*f?[\"']([^\"']+)[\"']", text)):
            assert name not in owner, f"{page} and {owner[name]} both log to experiment {name!r}"
            owner[name] = page
