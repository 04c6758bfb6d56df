"""Where a build of the site is published from, as GitHub Actions tells it."""

from __future__ import annotations

from collections.abc import Mapping


def published_from(environ: Mapping[str, str]) -> dict[str, str]:
    """The repository (and branch) this build is published from.

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
