"""Sessions of the MindGarage lab guides.

nox -s docs        build the site into build/html (strict: a warning is an error)
nox -s doctest     run every example on the site against a throwaway MLflow server
nox -s docs-live   preview the site, rebuilt on every save
nox -s linkcheck   check the external links
nox -s lint        ruff and sphinx-lint
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import nox

HERE = Path(__file__).parent
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["lint", "doctest", "docs"]

PYTHON = "3.11"  # the CPU torch wheel on the lab machines is for 3.11
REQUIREMENTS = HERE / "requirements"
# The one set of sphinx-build arguments (tools/benchmark.py times the same build).
SPHINX_ARGS = ["-c", ".", "-n", "-W", "--keep-going", "-j", "auto"]


def install(session: nox.Session, requirements: str, *upgrades: str) -> None:
    """Install a requirements file (then ``upgrades``), skipping pip if nothing changed.

    A warm run then costs nothing here: pip alone takes seconds to confirm that a
    satisfied MLflow + torch environment is satisfied.
    """
    files = [REQUIREMENTS / requirements, *(REQUIREMENTS / f for f in _included(requirements))]
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files) + repr(upgrades).encode())
    stamp = Path(session.virtualenv.location) / f".installed-{requirements}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        session.log(f"{requirements} unchanged since the last install: skipping pip")
        return
    stamp.unlink(missing_ok=True)
    session.install("-r", str(REQUIREMENTS / requirements))
    if upgrades:
        session.install("--upgrade", *upgrades)
    stamp.write_text(digest.hexdigest())


def mlflow_under_test() -> tuple[str, ...]:
    """The MLflow client to test the examples with: the pin, unless DOCS_MLFLOW_CLIENT (or
    its old name DOCS_MLFLOW) says otherwise.

    ``DOCS_MLFLOW_CLIENT=latest nox -s doctest`` tests the newest release (the weekly drift
    run); ``DOCS_MLFLOW_CLIENT=3.18.0`` a given one. The server is DOCS_MLFLOW_SERVER's.
    """
    wanted = os.environ.get("DOCS_MLFLOW_CLIENT") or os.environ.get("DOCS_MLFLOW", "pinned")
    if wanted == "pinned":
        return ()
    return ("mlflow[auth]" if wanted == "latest" else f"mlflow[auth]=={wanted}",)


def server_under_test(session: nox.Session) -> dict[str, str]:
    """Issue 12: the throwaway server's ``mlflow``, from an environment of its own version.

    DOCS_MLFLOW_SERVER: a version, ``lab`` (the default: labdocs.lab.LAB_SERVER_MLFLOW_VERSION) or
    ``newest``. Built once under .nox/ and reused (tools/mlflow_envs.py); the plugin
    (labdocs/servers.py) starts the server from DOCS_MLFLOW_SERVER_BIN.
    """
    wanted = os.environ.get("DOCS_MLFLOW_SERVER", "lab")
    found = session.run("python", "-m", "tools.mlflow_envs", "server", wanted, silent=True)
    return {"DOCS_MLFLOW_SERVER_BIN": found.strip().splitlines()[-1]}


def _included(requirements: str) -> list[str]:
    lines = (REQUIREMENTS / requirements).read_text().splitlines()
    names = [line.split(None, 1)[1] for line in lines if line.startswith("-r ")]
    return names + [n for name in names for n in _included(name)]


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the site into build/html."""
    install(session, "docs.txt")
    session.run("sphinx-build", "-b", "html", *SPHINX_ARGS, "docs", "build/html", *session.posargs)
    session.run("python", "-m", "tools.check_built_site", "build/html")  # as a reader meets it


@nox.session(name="docs-live", python=PYTHON)
def docs_live(session: nox.Session) -> None:
    """Serve the site on http://127.0.0.1:8000, rebuilt whenever a page changes."""
    install(session, "docs-live.txt")
    session.run(
        "sphinx-autobuild", *SPHINX_ARGS, "--host", "127.0.0.1", "--port", "8000",
        "--watch", "examples", "--watch", "conf.py", "docs", "build/live", *session.posargs,
    )  # fmt: skip


@nox.session(python=PYTHON)
def linkcheck(session: nox.Session) -> None:
    """Check the site's external links (bounded: see linkcheck_* in conf.py)."""
    install(session, "docs.txt")
    session.run(
        "sphinx-build", "-b", "linkcheck", *SPHINX_ARGS, "docs", "build/linkcheck",
        success_codes=[0, 1],  # the report below says what failed, and whether we were offline
    )  # fmt: skip
    session.run("python", "-m", "tools.linkcheck_report", "build/linkcheck/output.json")


# The admin page's procedures on whole throwaway deployments, minutes each: the move from
# the old server, backup and restore, restarts, upgrade and rollback. `nox -s deployment-drills`
# runs them; `nox -s doctest` does only when named (`nox -s doctest -- tests/test_move.py`).
DEPLOYMENT_DRILLS = ["tests/test_move.py", "tests/test_backup.py", "tests/test_upgrade.py"]


@nox.session(python=PYTHON)
def doctest(session: nox.Session) -> None:
    """Run every example on the site against a throwaway MLflow server (labdocs/)."""
    install(session, "doctest.txt", *mlflow_under_test())
    # On Ctrl-C, pytest gets the time to stop its servers and print what ran (nox's
    # default gives it 0.3 s, then kills it).
    env = {ENV_CHROMIUM: chromium(session)}  # issue 13: fail now if there is no browser
    env |= server_under_test(session)  # issue 12
    args = session.posargs or [f"--ignore={drill}" for drill in DEPLOYMENT_DRILLS]
    session.run("pytest", *args, env=env, interrupt_timeout=30, terminate_timeout=10)


@nox.session(name="deployment-drills", python=PYTHON)
def deployment_drills(session: nox.Session) -> None:
    """The admin page's move, backup and restore, restarts, upgrade and rollback, each on
    throwaway deployments (labdocs/deployment.py)."""
    install(session, "doctest.txt")
    env = server_under_test(session)
    session.run(
        "pytest", *(session.posargs or DEPLOYMENT_DRILLS), env=env,
        interrupt_timeout=30, terminate_timeout=10,
    )  # fmt: skip


@nox.session(name="kill-drill", python=False)
def kill_drill(session: nox.Session) -> None:
    """Kill doctest runs as people and CI do (kill -9, Ctrl-C, a dying server); print what
    was left (tools/kill_drill.py). Runs in nox's own Python: it starts nox."""
    session.run(sys.executable, "-m", "tools.kill_drill")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Print the speed and memory figures of doctest and docs (tools/benchmark.py)."""
    install(session, "doctest.txt", "nox==2026.10.20")
    session.run("python", "-m", "tools.benchmark", *session.posargs)


@nox.session(python=PYTHON, name="mlflow-inventory")
def mlflow_inventory(session: nox.Session) -> None:
    """Remake docs/_inventories/mlflow.inv from the pinned MLflow (after changing the pin)."""
    install(session, "doctest.txt")
    session.run("python", "-m", "tools.make_mlflow_inventory", "docs/_inventories/mlflow.inv")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (check and format) on the Python files and the pages' examples; sphinx-lint."""
    install(session, "lint.txt")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("python", "-m", "tools.lint_examples")  # the Python blocks inside the pages
    session.run("sphinx-lint", "docs")


# -- Issue 15: the site as GitHub Actions builds it (added by the reader's-pass worker) --------


@nox.session(name="docs-published", python=PYTHON)
def docs_published(session: nox.Session) -> None:
    """Build the site with GitHub Actions' variables, and check its edit and report links.

    ``nox -s docs`` checks the local build, which must have no such link; this checks the
    other way. The repository is a stand-in: the build only writes it into links.
    """
    install(session, "docs.txt")
    github = {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "stand-in/lab-guides",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_REF_NAME": "main",
    }
    out = "build/published"
    session.run("sphinx-build", "-b", "html", *SPHINX_ARGS, "docs", out, env=github)
    session.run("python", "-m", "tools.check_built_site", out, env=github)


# -- Issue 14: the MMPose page with the real MMPose (added by the MMPose worker) -----------

MMPOSE_TESTS = [
    "docs/guides/mlflow/mmpose.rst",
    "tests/test_mmpose_mlflow_config.py",  # the page's config, with PoseLocalVisualizer
    "tests/test_mmpose_mlflow_config_rtmpose.py",  # the same in an RTMPose training
]


@nox.session(python=PYTHON)
def mmpose(session: nox.Session) -> None:
    """The MMPose page's tests with the real MMPose: an RTMPose training, CocoMetric, MLflow.

    mmcv (with its compiled ops) and xtcocotools are built from source once, about 17
    minutes on 2 cores, and kept outside the repository (tools/build_mmpose_wheels.py).
    """
    install(session, "mmpose.txt", *mlflow_under_test())  # drift: DOCS_MLFLOW_CLIENT=latest
    wheels = session.run(
        "python", "-m", "tools.build_mmpose_wheels", silent=True, stderr=None
    ).split()  # its stdout: the wheels' paths; its progress goes to stderr
    install_without_dependencies(session, "mmpose-no-deps.txt", *wheels)
    session.run(
        "pytest", *(session.posargs or MMPOSE_TESTS),
        env={"DOCS_REQUIRE_MMPOSE": "1"},  # a missing mmpose fails the tests, not skips them
        interrupt_timeout=30, terminate_timeout=10,
    )  # fmt: skip


def install_without_dependencies(session: nox.Session, requirements: str, *wheels: str) -> None:
    """``pip install --no-deps`` a requirements file and wheels, skipping pip if unchanged."""
    file = REQUIREMENTS / requirements
    digest = hashlib.sha256(file.read_bytes() + repr(wheels).encode()).hexdigest()
    stamp = Path(session.virtualenv.location) / f".installed-{requirements}"
    if stamp.exists() and stamp.read_text() == digest:
        session.log(f"{requirements} and the wheels unchanged since the last install: skipping pip")
        return
    stamp.unlink(missing_ok=True)
    session.install("--no-deps", "-r", str(file), *wheels)
    stamp.write_text(digest)


# -- Issue 13: the MLflow UI in a browser (added by the UI worker) ---------------------------

ENV_CHROMIUM = "DOCS_CHROMIUM"  # labdocs/browser.py: the browser the UI checks drive


def chromium(session: nox.Session) -> str:
    """The Chromium to use; fails the session at once, saying how to get one, if none.

    Found here, with the real HOME (Playwright's own browsers live under it), and handed
    to pytest, whose HOME is a folder of its own.
    """
    found = session.run("python", "-m", "labdocs.browser", silent=True)
    return found.strip().splitlines()[-1]


@nox.session(python=False)
def screenshots(session: nox.Session) -> None:
    """Retake the pictures of the MLflow UI that the pages show (docs/**/ui/*.png).

    The doctest session, on the pages only, with pictures written: the pictures show the
    runs the pages' examples log. ``nox -s screenshots -- docs/x.rst`` retakes one page's.
    """
    pages = session.posargs or ["docs"]
    doctest = [sys.executable, "-m", "nox", "-s", "doctest", "--", *pages]
    session.run(*doctest, env={"DOCS_SCREENSHOTS": "write"})


# -- Issue 12: MLflow clients against MLflow servers of other versions (versions worker) -----


@nox.session(python=PYTHON)
def compatibility(session: nox.Session) -> None:
    """Run the guide's pages for each pair of MLflow client and server versions; write the
    results to docs/_data/compatibility.json, which the site shows as a table.

    Each version's environment is built once under .nox/ and reused (tools/mlflow_envs.py);
    pairs run two at a time. DOCS_COMPAT_CLIENTS / DOCS_COMPAT_SERVERS choose the versions.
    """
    session.run("python", "-m", "tools.compatibility", *session.posargs)
