"""Sphinx configuration for the MindGarage lab guides (sources in docs/).

Build with ``nox -s docs``; it runs ``sphinx-build -c . docs build/html``.
"""

import importlib.util
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).parent

# The lab's tracking server, written down once for the whole project: pages show it
# literally (readers copy it), the tests redirect it to their throwaway server, and
# tests/test_site.py fails if a page spells the lab host any other way.
LAB_TRACKING_URI = "http://mindgarage07.cs.uni-kl.de:8001"
# Its host:port, the Host header every request to it carries: a server standing in for
# the lab's must allow it (mlflow server --allowed-hosts).
LAB_HOST = urlsplit(LAB_TRACKING_URI).netloc
# The MLflow version of the lab's tracking server, written down once (issue 12). Nobody
# knows what the server runs today: it predates this site, and the lab's first guide (about
# 2023) suggests an MLflow 2. This is the version the admin page installs, and the version
# the tests' throwaway server runs (requirements/server-<version>.txt; nox -s doctest). It
# is an assumption until an admin confirms it with `curl <LAB_TRACKING_URI>/version` (the
# command docs/guides/mlflow/compatibility.rst shows members) and writes the answer here;
# the compatibility table says what works if the answer is a 2.x.
LAB_SERVER_MLFLOW_VERSION = "3.17.2"


def pinned_version(package: str) -> str:
    """The version requirements/doctest.txt pins: the one the examples are tested with."""
    text = (HERE / "requirements" / "doctest.txt").read_text()
    match = re.search(rf"^{re.escape(package)}(\[[^\]]*\])?==(\S+)", text, re.MULTILINE)
    if match is None:
        raise ValueError(f"requirements/doctest.txt pins no version of {package}")
    return match.group(2)


MLFLOW_VERSION = pinned_version("mlflow")
MMENGINE_VERSION = pinned_version("mmengine")

project = "MindGarage lab guides"
author = "MindGarage lab"
copyright = "MindGarage lab"

extensions = [
    "myst_parser",
    "sphinx.ext.intersphinx",
    "sphinx_copybutton",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_inventories"]
root_doc = "index"

# Strict: every cross-reference must resolve (with -W in nox, a miss fails the build).
nitpicky = True
default_role = "literal"

# Values the pages use. rst: |mlflow_version|; MyST: {{ mlflow_version }}.
substitutions = {
    "mlflow_version": MLFLOW_VERSION,
    "mmengine_version": MMENGINE_VERSION,
    "lab_tracking_uri": LAB_TRACKING_URI,
    "lab_server_mlflow_version": LAB_SERVER_MLFLOW_VERSION,
}
rst_epilog = "\n".join(f".. |{name}| replace:: {value}" for name, value in substitutions.items())
myst_enable_extensions = ["substitution", "colon_fence", "deflist"]
myst_substitutions = substitutions
myst_heading_anchors = 3

# MLflow's API reference, resolved offline from an inventory made from the pinned
# MLflow (tools/make_mlflow_inventory.py): no network needed to build.
intersphinx_mapping = {
    "mlflow": ("https://mlflow.org/docs/latest/api_reference/", "_inventories/mlflow.inv"),
}
intersphinx_timeout = 5

# Copy buttons copy the command, not the prompt or the output.
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = True

html_theme = "furo"
html_title = "MindGarage lab guides"
# Paths relative to this file (the configuration directory), not to docs/.
html_static_path = ["docs/_static"]
html_css_files = ["code-blocks.css"]
templates_path = ["docs/_templates"]
# The general index would be an empty page: the site defines no index entries.
html_use_index = False
html_domain_indices = False


def published_from(environ) -> dict[str, str]:
    """The repository (and branch) this build is published from, as GitHub Actions says.

    A local build has none: its pages then carry no "Edit this page" or "Report a problem"
    link rather than a broken one. Edit links also need a branch: a pull request's build
    runs on a merge ref (``refs/pull/<n>/merge``), where no page can be edited.
    """
    server, repository = environ.get("GITHUB_SERVER_URL"), environ.get("GITHUB_REPOSITORY")
    if not (server and repository):
        return {}
    where = {"repository_url": f"{server.rstrip('/')}/{repository}"}
    if environ.get("GITHUB_REF", "").startswith("refs/heads/") and environ.get("GITHUB_REF_NAME"):
        where["branch"] = environ["GITHUB_REF_NAME"]
    return where


PUBLISHED_FROM = published_from(os.environ)
html_theme_options = {"top_of_page_buttons": ["edit"] if "branch" in PUBLISHED_FROM else []}
if "branch" in PUBLISHED_FROM:  # furo's pencil button, and the link under each page
    html_theme_options |= {
        "source_repository": PUBLISHED_FROM["repository_url"] + "/",
        "source_branch": PUBLISHED_FROM["branch"],
        "source_directory": "docs/",
    }
# docs/_templates/page.html shows these under each page, when set.
html_context = {
    "repository_url": PUBLISHED_FROM.get("repository_url", ""),
    "report_problem_url": (
        PUBLISHED_FROM["repository_url"] + "/issues/new" if PUBLISHED_FROM else ""
    ),
    "source_branch": PUBLISHED_FROM.get("branch", ""),
}

# linkcheck: bounded, and never the throwaway servers or the lab's own host.
linkcheck_timeout = 10
linkcheck_retries = 1
linkcheck_workers = 4
linkcheck_ignore = [
    r"https?://(127\.0\.0\.1|localhost)(:\d+)?(/.*)?",
    re.escape(LAB_TRACKING_URI) + r".*",
]
linkcheck_anchors = False


# Issue 12: the compatibility table (docs/_data/compatibility.json, written by
# `nox -s compatibility`), rendered by the build, which runs nothing itself.
COMPATIBILITY_DATA = HERE / "docs" / "_data" / "compatibility.json"
exclude_patterns += ["_data"]


def setup(app):
    # Loaded by path: sphinx-build does not put this folder on sys.path.
    spec = importlib.util.spec_from_file_location(
        "compatibility_table", HERE / "tools" / "compatibility_table.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app.add_directive("compatibility-table", module.table_directive(COMPATIBILITY_DATA))
