"""Facts about the pages and who runs them, written once: which pages sign in, which the
lab's members run again, and the names of the reader and of the members. Standard library
only: the tests, the lint of pages and the deployment read them.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

from labdocs.lab import ROOT

# Pages about signing in run against the lab's deployment (deployment.py), not the plain
# server. Without suffix: they may be reST or MyST. Relative to the repository.
AUTH_PAGES = ["docs/guides/mlflow/signing-in", "docs/admin/*"]
# The pages lab members follow, each of which logs runs: run again by two lab members,
# signed in to the lab's deployment (members.py). Relative, without suffix.
MEMBER_PAGES = [
    "docs/guides/mlflow/quick-start",
    "docs/guides/mlflow/getting-started",
    "docs/guides/mlflow/logging",
    "docs/guides/mlflow/common-tasks",
    "docs/guides/mlflow/provenance",
    "docs/guides/mlflow/finding-runs",
    "docs/guides/mlflow/model-registry",
    "docs/guides/mlflow/viewing-results",
    "docs/guides/mlflow/mmpose",
    "docs/guides/mlflow/notebooks",
    "docs/guides/mlflow/signing-in",
]

# The name the pages show for the reader (``mlflow-guide-results/jdoe``): the login name
# of the plain runs' reader.
READER = "jdoe"
# The reader's account once the lab's server is secured: not READER, whom the admin page
# creates as its example of a new member on the same deployment.
READER_ACCOUNT = "reader"
# The deployment's lab member (what '<your username>' becomes), and the second member,
# who runs the member pages after them.
MEMBER_USERNAME = "lab-member"
SECOND_MEMBER_USERNAME = "second-member"


def _name(page: Path) -> str | None:
    """A page's name as the lists write it; None for a page of a test's own, outside the site."""
    page = page.resolve()
    return str(page.relative_to(ROOT).with_suffix("")) if page.is_relative_to(ROOT) else None


def is_auth_page(page: Path) -> bool:
    name = _name(page)
    return name is not None and any(fnmatch(name, pattern) for pattern in AUTH_PAGES)


def is_member_page(page: Path) -> bool:
    return _name(page) in MEMBER_PAGES
