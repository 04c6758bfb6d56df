"""Promises about the site as a whole, beyond what each page's examples show."""

import os
import re
import zlib
from importlib import import_module
from pathlib import Path

import mlflow
import pytest

from labdocs.lab import LAB_HTTPS_TRACKING_URI, LAB_TRACKING_URI, MLFLOW_VERSION
from labdocs.pages import DOCS, EXAMPLES, ROOT, included_files, pages

PAGES = pages()
SHOWN = {page: included_files(page) for page in PAGES}
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.py"))


@pytest.mark.skipif(
    # The drift run's switch (noxfile.mlflow_under_test reads both names).
    (os.environ.get("DOCS_MLFLOW_CLIENT") or os.environ.get("DOCS_MLFLOW", "pinned")) != "pinned",
    reason="drift run: testing another MLflow than the pinned one on purpose",
)
def test_the_site_states_the_mlflow_version_it_is_tested_with():
    """labdocs/lab.py reads the pin; the tests must be running that very version."""
    assert mlflow.__version__ == MLFLOW_VERSION


@pytest.mark.parametrize(
    "example", sorted(p for p in EXAMPLES.iterdir() if p.is_file()), ids=lambda p: p.name
)
def test_every_example_file_is_shown_on_a_page(example):
    """An example file no page includes would be neither read nor run."""
    shown_on = [page for page, files in SHOWN.items() if example in files]
    assert shown_on, f"no page shows examples/{example.name} with literalinclude"


LAB_URLS = re.compile(r"https?://mindgarage07[^\s\"'`<>)]*")
# The troubleshooting page's deliberate mistake: the lab's host on the wrong port.
WRONG_PORT = LAB_TRACKING_URI.replace(":8001", ":8002")


@pytest.mark.parametrize("path", PAGES + EXAMPLE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_lab_url_is_spelled_one_way(path):
    """Tests redirect exactly labdocs.lab.LAB_TRACKING_URI and LAB_HTTPS_TRACKING_URI (the
    secured server's); any other spelling would escape them."""
    known = (LAB_TRACKING_URI, WRONG_PORT, LAB_HTTPS_TRACKING_URI)
    for number, line in enumerate(path.read_text().splitlines(), 1):
        for url in LAB_URLS.findall(line):
            assert url.startswith(known), f"{path}:{number}: {url}"
            assert not url.startswith(f"{LAB_HTTPS_TRACKING_URI}:"), f"{path}:{number}: {url}"


@pytest.mark.parametrize("page", [p for p in PAGES if p.suffix == ".rst"], ids=lambda p: p.name)
def test_rst_pages_have_no_markdown_links(page):
    """[text](url) renders as literal brackets in reStructuredText."""
    for number, line in enumerate(page.read_text().splitlines(), 1):
        assert not re.search(r"\[[^\]]+\]\(https?://", line), f"{page}:{number}: {line.strip()}"


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
        for name in set(re.findall(r"set_experiment\(\s*[\"']([^\"']+)[\"']", text)):
            assert name not in owner, f"{page} and {owner[name]} both log to experiment {name!r}"
            owner[name] = page
