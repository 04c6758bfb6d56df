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
    """The MLflow to test the examples with: the pin, unless DOCS_MLFLOW says otherwise.

    ``DOCS_MLFLOW=latest nox -s doctest`` tests the newest release (the weekly drift
    run); ``DOCS_MLFLOW=3.18.0`` a given one.
    """
    wanted = os.environ.get("DOCS_MLFLOW", "pinned")
    if wanted == "pinned":
        return ()
    return ("mlflow[auth]" if wanted == "latest" else f"mlflow[auth]=={wanted}",)


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
    session.run("sphinx-build", "-b", "linkcheck", *SPHINX_ARGS, "docs", "build/linkcheck")


@nox.session(python=PYTHON)
def doctest(session: nox.Session) -> None:
    """Run every example on the site against a throwaway MLflow server (tests/harness/)."""
    install(session, "doctest.txt", *mlflow_under_test())
    # On Ctrl-C, pytest gets the time to stop its servers and print what ran (nox's
    # default gives it 0.3 s, then kills it).
    session.run("pytest", *session.posargs, interrupt_timeout=30, terminate_timeout=10)


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
