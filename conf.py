"""Sphinx configuration for the MindGarage lab guides (sources in docs/).

Build with ``nox -s docs``; it runs ``sphinx-build -c . docs build/html``.
"""

import os
import re
import sys
from pathlib import Path

# The project's own package (labdocs/): the lab's facts and the site's Sphinx extension.
sys.path.insert(0, str(Path(__file__).parent))

from labdocs.lab import (
    LAB_HTTPS_TRACKING_URI,
    LAB_SERVER_MLFLOW_VERSION,
    LAB_TRACKING_URI,
    MLFLOW_VERSION,
    MMENGINE_VERSION,
    SERVER,
)
from labdocs.site.published import published_from

project = "MindGarage lab guides"
author = "MindGarage lab"
copyright = "MindGarage lab"

extensions = [
    "myst_parser",
    "sphinx.ext.intersphinx",
    "sphinx_copybutton",
    # Substitutions inside code blocks (``:substitutions:``), which copy as one command.
    "sphinx_substitution_extensions",
    # The compatibility table, from docs/_data/compatibility.json (written by
    # `nox -s compatibility`): the build renders it and runs nothing.
    "labdocs.site.compatibility_table",
    # The lab's server as it is (labdocs/lab.py SERVER_STATE, or DOCS_SERVER_STATE): its
    # tag for `only` blocks, its address wherever a page shows the open server's.
    "labdocs.site.server_state",
    # Keyboard- and screen-reader-usable HTML where Sphinx writes otherwise (axe-checked).
    "labdocs.site.accessible_html",
    # The reading paths on the landing page and the "Where next" that ends every page.
    "labdocs.site.reading_paths",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_inventories", "_data"]
root_doc = "index"

# Strict: every cross-reference must resolve (with -W in nox, a miss fails the build).
nitpicky = True
default_role = "literal"

# The state of the lab's server the site is built for. Pages fork on its tag:
# `.. only:: server_open` / `server_secured` (MyST: a {only} block).
lab_server_state = SERVER.name
lab_as_written = ["contributing"]  # it tells writers which address to write

# Values the pages use. rst: |mlflow_version|; MyST: {{ mlflow_version }}.
# (Not named `substitutions`: sphinx_substitution_extensions has a setting of that name.)
lab_values = {
    "mlflow_version": MLFLOW_VERSION,
    "mmengine_version": MMENGINE_VERSION,
    "lab_tracking_uri": SERVER.tracking_uri,  # the address members use now
    "lab_https_tracking_uri": LAB_HTTPS_TRACKING_URI,  # the secured server's, in either state
    "lab_server_mlflow_version": LAB_SERVER_MLFLOW_VERSION,
}
rst_prolog = "\n".join(f".. |{name}| replace:: {value}" for name, value in lab_values.items())
myst_enable_extensions = ["substitution", "colon_fence", "deflist"]
myst_substitutions = lab_values
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


PUBLISHED_FROM = published_from(os.environ)
# No pencil button at the top: furo puts it outside every landmark, where a screen reader's
# landmark navigation never finds it (axe: region). The link under each page does its job.
html_theme_options = {"top_of_page_buttons": []}
if "branch" in PUBLISHED_FROM:  # the link under each page (docs/_templates/page.html)
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
    re.escape(LAB_HTTPS_TRACKING_URI) + r".*",
]
linkcheck_anchors = False
