"""Sessions of the MindGarage lab guides.

nox -s docs              build the site into build/html (strict: a warning is an error)
nox -s doctest           run every example on the site against a throwaway MLflow server
nox -s doctest-other-state
                         the pages with the lab's server in the state SERVER_STATE does not name
nox -s deployment-drills the admin page's move, backups, restarts and upgrade, on throwaway
                         deployments (nginx, PostgreSQL, MLflow) of examples/deploy/
nox -s lint              ruff, the pages' static checks (no server), sphinx-lint, zizmor
nox -s docs-live         preview the site, rebuilt on every save
nox -s docs-published    the site as GitHub Actions publishes it, with its edit links
nox -s linkcheck         check the external links
nox -s mmpose            the MMPose page's tests with the real MMPose
nox -s screenshots       retake the pictures of the MLflow UI that the pages show
nox -s kill-drill        kill doctest sessions as people and CI do; print what was left
nox -s compatibility     the pages for other MLflow clients and servers; the site's table
nox -s bench             the speed and memory figures of the README
nox -s load              requests per second of the lab's deployment, 1 and 4 members
nox -s mlflow-inventory  remake the offline MLflow API inventory after changing the pin
nox -s lock              lock requirements/*.in into hash-locked requirements/*.txt

The DOCS_* variables that change what they do are listed on docs/contributing.md.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
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
# The whole suite runs across the machine's cores (pytest-xdist), a worker per core, at
# most four (each worker holds a server, the lab's deployment, an MLflow client and
# perhaps Chromium: about 1.5 GB): a file's tests in one worker, in order, and a member page's runs together
# (the plugin's scheduler, labdocs/plugin/). A page or test named on the command line runs in one
# process, which starts sooner; `-n 0` runs everything in one.
# (loadfile, not loadgroup: pytest 9.2's node ids lose xdist's group marks, xdist#1386.)
PARALLEL = ["-n", str(min(os.cpu_count() or 1, 4)), "--dist", "loadfile"]
# The one set of sphinx-build arguments (tools/benchmark.py times the same build).
SPHINX_ARGS = ["-c", ".", "-n", "-W", "--keep-going", "-j", "auto"]


def install(session: nox.Session, lockfile: str, *upgrades: str) -> None:
    """Install a lock, requirements/<name>.txt, with --require-hashes (then ``upgrades``),
    skipping pip if nothing changed.

    A lock pins every package with its hashes (``nox -s lock`` writes it from
    requirements/<name>.in): pip installs those files or fails. ``upgrades`` go beyond the
    lock on purpose (the drift run's newest MLflow), resolved by pip without hashes. A warm
    run then costs nothing here: pip alone takes seconds to confirm that a satisfied
    MLflow + torch environment is satisfied.
    """
    installed = Installed(session, lockfile, *upgrades)
    if installed.current:
        return
    session.install("--require-hashes", "-r", str(installed.lock))
    remove_what_the_lock_dropped(session, installed.lock)
    if upgrades:
        session.install("--upgrade", *upgrades)
    installed.done()


def remove_what_the_lock_dropped(session: nox.Session, lock: Path) -> None:
    """Uninstall what the environment holds and ``lock`` no longer pins (tools/unlocked.py),
    so that a reused environment holds what a fresh one would.

    What another lock installed into the same environment (the MMPose session's wheels) may
    go too: every lock's record of its install goes with it, so each installs again.
    """
    removed = session.run("python", "-m", "tools.unlocked", str(lock), silent=True)
    if removed.strip():
        session.log(f"removed what {lock.name} no longer pins: {' '.join(removed.split())}")
        for stamp in Path(session.virtualenv.location).glob(".installed-*"):
            stamp.unlink()


class Installed:
    """What an environment last installed from a lock (and ``extra``), written when the
    install ended: a warm run skips pip, which takes seconds even to find nothing to do."""

    def __init__(self, session: nox.Session, lockfile: str, *extra: str) -> None:
        self.lock = REQUIREMENTS / lockfile
        digest = hashlib.sha256(self.lock.read_bytes() + repr(extra).encode())
        self.digest = digest.hexdigest()
        self.stamp = Path(session.virtualenv.location) / f".installed-{lockfile}"
        self.current = self.stamp.exists() and self.stamp.read_text() == self.digest
        if self.current:
            session.log(f"{lockfile} unchanged since the last install: skipping pip")
        else:
            self.stamp.unlink(missing_ok=True)

    def done(self) -> None:
        self.stamp.write_text(self.digest)


def mlflow_under_test() -> tuple[str, ...]:
    """The MLflow client to test the examples with: the pin, unless DOCS_MLFLOW_CLIENT says
    otherwise.

    ``DOCS_MLFLOW_CLIENT=latest nox -s doctest`` tests the newest release (the weekly drift
    run); ``DOCS_MLFLOW_CLIENT=3.18.0`` a given one. The server is DOCS_MLFLOW_SERVER's.
    """
    wanted = os.environ.get("DOCS_MLFLOW_CLIENT", "pinned")
    if wanted == "pinned":
        return ()
    return ("mlflow[auth]" if wanted == "latest" else f"mlflow[auth]=={wanted}",)


def server_under_test(session: nox.Session) -> dict[str, str]:
    """The throwaway server's ``mlflow``, from an environment of its own version.

    DOCS_MLFLOW_SERVER: a version, ``lab`` (the default: labdocs.lab.LAB_SERVER_MLFLOW_VERSION) or
    ``newest``. Built once under .nox/ and reused (tools/mlflow_envs.py); the plugin
    (labdocs/services/server_versions.py) starts the server from DOCS_MLFLOW_SERVER_BIN.
    """
    found = session.run("python", "-m", *server_environment(), silent=True)
    return {"DOCS_MLFLOW_SERVER_BIN": found.strip().splitlines()[-1]}


def server_environment() -> tuple[str, ...]:
    """The tool that builds the throwaway server's environment (and prints its mlflow)."""
    return ("tools.mlflow_envs", "server", os.environ.get("DOCS_MLFLOW_SERVER", "lab"))


def system_packages(session: nox.Session, name: str) -> None:
    """What the session needs of Debian's packages: found, else installed with apt-get
    where nox may (root, or passwordless sudo), else the session stops at once with the
    one command that would (tools/system_packages.py, which .ci/run and CI use too)."""
    found = subprocess.run([sys.executable, "-m", "tools.system_packages", name], cwd=HERE)
    if found.returncode != 0:
        session.error("Debian packages are missing: the command that installs them is above")


class BuiltBeside:
    """Environments that tools build, each in a process of its own, while the session
    installs its own: ``with BuiltBeside(session, tool, ...) as built:`` starts them, and
    leaving the block waits for them; then ``built[tool]`` is the last line the tool
    printed (the path of what it built). They run in the session's Python before anything
    is installed into it: the tools need the standard library only. What they say of their
    progress goes to the terminal as they say it."""

    def __init__(self, session: nox.Session, *tools: tuple[str, ...]) -> None:
        self.session = session
        self.tools = tools
        self.built: dict[tuple[str, ...], str] = {}

    def __enter__(self) -> dict[tuple[str, ...], str]:
        python = str(Path(self.session.virtualenv.location, "bin", "python"))
        self.running = {
            tool: subprocess.Popen([python, "-m", *tool], cwd=HERE, stdout=subprocess.PIPE, text=True)
            for tool in self.tools
        }  # fmt: skip
        return self.built

    def __exit__(self, kind, error, traceback) -> None:
        if kind is not None:  # the session's own install failed, or Ctrl-C: stop them all
            for process in self.running.values():
                process.terminate()
        printed = {tool: process.communicate()[0] for tool, process in self.running.items()}
        if kind is not None:
            return
        for tool, process in self.running.items():  # each has ended: none is left running
            if process.returncode != 0:
                self.session.error(f"python -m {' '.join(tool)} failed: its output is above")
            self.built[tool] = printed[tool].strip().rpartition("\n")[2]


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the site into build/html, for the lab's server as it is (labdocs/lab.py
    SERVER_STATE, or DOCS_SERVER_STATE); then into build/html-<state> for its other state,
    so that the admins' last step of the move, which flips it, cannot break a page."""
    system_packages(session, "docs")
    install(session, "docs.txt")
    session.run("sphinx-build", "-b", "html", *SPHINX_ARGS, "docs", "build/html", *session.posargs)
    session.run("python", "-m", "tools.check_built_site", "build/html")  # as a reader meets it
    check_accessible(session, "build/html")
    # How much a member reads: over the word budgets, the build fails.
    session.run("python", "-m", "tools.count_words", "--enforce", "build/html")
    other = other_server_state()
    (state,) = other.values()
    site = f"build/html-{state}"
    session.run("sphinx-build", "-b", "html", *SPHINX_ARGS, "docs", site, env=other)
    session.run("python", "-m", "tools.check_built_site", site, env=other)
    session.run("python", "-m", "tools.check_html", site)  # the browser's checks: the state's
    session.run("python", "-m", "tools.count_words", "--enforce", site)


def other_server_state() -> dict[str, str]:
    """The environment that sets the state of the lab's server the site is not built for
    (labdocs/lab.py, which needs the standard library alone)."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from labdocs.lab import ENV_SERVER_STATE, SERVER, SERVER_STATES

    (other,) = set(SERVER_STATES) - {SERVER.name}
    return {ENV_SERVER_STATE: other}


def check_accessible(session: nox.Session, site: str) -> None:
    """html-validate over every page; in Chromium, axe-core over every page at two widths
    and every shell block's copy button clicked.

    axe-core and html-validate come from npm, locked (requirements/site-checks), installed
    once outside the repository. What the browser saw on a page is remembered in
    build/checked/ until the page or a file it loads changes: a warm build is not audited
    again, an edit audits the pages it changed.
    """
    remember = f"build/checked/{Path(site).name}"
    session.run("python", "-m", "tools.check_html", site)
    session.run("python", "-m", "labdocs.browser.chromium", silent=True)  # no Chromium: say so now
    session.run(
        "python", "-m", "tools.check_accessibility", site, "--remember", f"{remember}/axe.json"
    )
    session.run(
        "python", "-m", "tools.check_copied_commands", site, "--remember", f"{remember}/copied.json"
    )


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
# runs them; `nox -s doctest` does only when named (`nox -s doctest -- tests/admin/test_move.py`).
DEPLOYMENT_DRILLS = [
    "tests/admin/test_move.py",
    "tests/admin/test_backup.py",
    "tests/admin/test_upgrade.py",
]


@nox.session(python=PYTHON)
def doctest(session: nox.Session) -> None:
    """Run every example on the site against a throwaway MLflow server (labdocs/)."""
    system_packages(session, "doctest")
    # The other environments the tests use are built while this one installs (a first
    # run's wait; a later run finds each unchanged in a moment): the server's; the locked
    # axe-core of tests/site/test_accessible_html.py; what pages tell members to install, alone
    # (tests/guide/member_machine/, tests/guide/test_lightning_train.py).
    server = server_environment()
    site_checkers = ("tools.site_checkers",)
    members = [("tools.member_env", name) for name in ("signing-in", "quick-start", "lightning")]
    with BuiltBeside(session, server, site_checkers, *members) as built:
        install(session, "doctest.txt", *mlflow_under_test())
    env = {"DOCS_MLFLOW_SERVER_BIN": built[server], "DOCS_SITE_CHECKS": built[site_checkers]}
    # No browser for the UI checks: fail now, saying how to get one, not minutes in.
    session.run("python", "-m", "labdocs.browser.chromium", silent=True)
    # On Ctrl-C, pytest gets the time to stop its servers and print what ran (nox's
    # default gives it 0.3 s, then kills it).
    session.run(
        "pytest", *pytest_args(session.posargs), env=env, interrupt_timeout=30,
        terminate_timeout=10,
    )  # fmt: skip


def pytest_args(posargs: list[str]) -> list[str]:
    """The whole suite in parallel, without the deployment drills (their own session);
    what names files, or sets the workers, as it says."""
    named = any(Path(a.split("::")[0]).exists() for a in posargs if not a.startswith("-"))
    if named:
        return posargs
    workers = any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in posargs)
    ignored = [f"--ignore={drill}" for drill in DEPLOYMENT_DRILLS]
    return [*([] if workers else PARALLEL), *ignored, *posargs]


@nox.session(name="doctest-other-state", python=False)
def doctest_other_state(session: nox.Session) -> None:
    """The site's pages with the lab's server in the other state than SERVER_STATE's
    (labdocs/lab.py), so that flipping it cannot break a page: the doctest session, in
    parallel, on docs/ (``-- <pytest arguments>`` adds to them). Secured, readers sign in:
    every page runs as the pages' reader on the lab's deployment. The member runs are left
    out: they read the pages as the secured server in either state, and doctest runs them."""
    env = {**other_server_state(), "DOCS_MEMBER_RUNS": "off"}
    doctest = [sys.executable, "-m", "nox", "-s", "doctest", "--"]
    session.run(*doctest, *PARALLEL, "docs", *session.posargs, env=env)


@nox.session(name="deployment-drills", python=False)
def deployment_drills(session: nox.Session) -> None:
    """The admin page's move, backup and restore, restarts, upgrade and rollback, each on
    throwaway deployments of examples/deploy/ (labdocs/services/deployment.py): the doctest session,
    its environment and servers, on those tests (``-- <pytest arguments>`` adds to them)."""
    system_packages(session, "deployment-drills")
    doctest = [sys.executable, "-m", "nox", "-s", "doctest", "--"]
    session.run(*doctest, *DEPLOYMENT_DRILLS, *session.posargs)


@nox.session(name="kill-drill", python=False)
def kill_drill(session: nox.Session) -> None:
    """Kill doctest runs as people and CI do (kill -9, Ctrl-C, a dying server); print what
    was left (tools/kill_drill.py). Runs in nox's own Python: it starts nox."""
    system_packages(session, "kill-drill")
    session.run(sys.executable, "-m", "tools.kill_drill")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Print the speed and memory figures of doctest and docs (tools/benchmark.py)."""
    system_packages(session, "bench")
    install(session, "bench.txt")  # the doctest environment, and nox: the benchmark runs it
    session.run("python", "-m", "tools.benchmark", *session.posargs)


@nox.session(python=PYTHON)
def load(session: nox.Session) -> None:
    """Print the requests per second of the lab's deployment as the admin page configures
    it, for 1 and 4 members (tools/benchmark_deployment.py). ``-- --help`` for its options."""
    system_packages(session, "load")
    install(session, "doctest.txt")
    session.run(
        "python", "-m", "tools.benchmark_deployment", *session.posargs,
        env=server_under_test(session),
    )  # fmt: skip


@nox.session(python=PYTHON, name="mlflow-inventory")
def mlflow_inventory(session: nox.Session) -> None:
    """Remake docs/_inventories/mlflow.inv from the pinned MLflow (after changing the pin)."""
    install(session, "doctest.txt")
    session.run("python", "-m", "tools.make_mlflow_inventory", "docs/_inventories/mlflow.inv")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (check and format) on the Python files and the pages' examples; sphinx-lint;
    zizmor on the workflows."""
    install(session, "lint.txt")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("python", "-m", "tools.check_import_rules")  # the import rules still bite
    session.run("python", "-m", "tools.lint_pages")  # the pages, as the doctests read them
    session.run("sphinx-lint", "docs")
    # Offline: the audits that need GitHub's API (known-vulnerable action versions, impostor
    # commits) cannot run here. Any finding fails.
    session.run("zizmor", "--offline", ".github/workflows")


@nox.session(python=PYTHON)
def lock(session: nox.Session) -> None:
    """Lock requirements/*.in into requirements/*.txt, every package pinned with its hashes
    (tools/lock.py). ``nox -s lock -- --upgrade`` takes the newest releases the inputs allow
    (the weekly drift run proposes that); ``nox -s lock -- doctest`` locks one input."""
    install(session, "lock.txt")
    session.run("python", "-m", "tools.lock", *session.posargs)


# -- the site as GitHub Actions publishes it ----------------------------------------------


@nox.session(name="docs-published", python=PYTHON)
def docs_published(session: nox.Session) -> None:
    """Build the site with GitHub Actions' variables, and check its edit and report links.

    ``nox -s docs`` checks the local build, which must have no such link; this checks the
    other way. The repository is a stand-in: the build only writes it into links.
    """
    system_packages(session, "docs-published")
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
    check_accessible(session, out)  # the edit and report links too


# -- the MMPose page with the real MMPose ------------------------------------------------

MMPOSE_TESTS = [
    "docs/guides/mlflow/mmpose.rst",
    "tests/guide/test_mmpose_mlflow_config.py",  # the page's config, with PoseLocalVisualizer
    "tests/guide/test_mmpose_mlflow_config_rtmpose.py",  # the same in an RTMPose training
    "tests/lib/test_rtmpose_training.py",  # the fake COCO set that training reads
]


@nox.session(python=PYTHON)
def mmpose(session: nox.Session) -> None:
    """The MMPose page's tests with the real MMPose: an RTMPose training, CocoMetric, MLflow.

    mmcv (with its compiled ops) and xtcocotools are built from source once, about 17
    minutes on 2 cores, and kept outside the repository (tools/build_mmpose_wheels.py).
    """
    system_packages(session, "mmpose")
    install(session, "mmpose.txt", *mlflow_under_test())  # drift: DOCS_MLFLOW_CLIENT=latest
    wheels = session.run(
        "python", "-m", "tools.build_mmpose_wheels", silent=True, stderr=None
    ).splitlines()  # its stdout: a line per wheel, path and hash; its progress goes to stderr
    install_without_dependencies(session, "mmpose-no-deps.txt", *wheels)
    # The servers run from their own environment, as in the doctest session: the lab's
    # deployment of the member runs needs its PostgreSQL driver, which the client lacks.
    env = {**server_under_test(session), "DOCS_REQUIRE_MMPOSE": "1"}  # missing mmpose fails
    session.run(
        "pytest", *(session.posargs or MMPOSE_TESTS), env=env,
        interrupt_timeout=30, terminate_timeout=10,
    )  # fmt: skip


def install_without_dependencies(session: nox.Session, lockfile: str, *wheels: str) -> None:
    """``pip install --no-deps --require-hashes`` a lock and locally built wheels, skipping
    pip if unchanged.

    ``wheels`` are pip requirement lines, ``<path> --hash=sha256:<hex>``, as
    tools/build_mmpose_wheels.py prints them: the hash its build recorded, which pip checks.
    """
    installed = Installed(session, lockfile, *wheels)
    if installed.current:
        return
    built = Path(session.virtualenv.location) / "built-wheels.txt"
    built.write_text("".join(f"{wheel}\n" for wheel in wheels))
    session.install("--no-deps", "--require-hashes", "-r", str(installed.lock), "-r", str(built))
    installed.done()


# -- the MLflow UI's pictures -------------------------------------------------------------


# Pages with a picture of an MMPose training, which nox -s screenshots takes with MMPose.
RTMPOSE_PICTURE_PAGES = ["docs/guides/mlflow/viewing-results.rst"]


@nox.session(python=False)
def screenshots(session: nox.Session) -> None:
    """Retake the pictures of the MLflow UI that the pages show (docs/**/ui/*.png).

    The doctest session, on the pages only, with pictures written: the pictures show the
    runs the pages' examples log. ``nox -s screenshots -- docs/x.rst`` retakes one page's.
    The pages of RTMPOSE_PICTURE_PAGES are then run again in the mmpose session, whose
    real MMPose stack trains the RTMPose config that their picture shows.
    """
    system_packages(session, "screenshots")
    pages = session.posargs or ["docs"]
    doctest = [sys.executable, "-m", "nox", "-s", "doctest", "--", *pages]
    session.run(*doctest, env={"DOCS_SCREENSHOTS": "write"})
    # An RTMPose training on the CPU (about 2 minutes measured on a loaded machine) comes
    # near an example's hang bound: the run's bound is raised for it.
    rtmpose = [page for page in RTMPOSE_PICTURE_PAGES if page.startswith(tuple(pages))]
    if rtmpose:
        mmpose_run = [sys.executable, "-m", "nox", "-s", "mmpose", "--", "--timeout=900"]
        session.run(*mmpose_run, *rtmpose, env={"DOCS_SCREENSHOTS": "write"})


# -- MLflow clients against MLflow servers of other versions ------------------------------


@nox.session(python=PYTHON)
def compatibility(session: nox.Session) -> None:
    """Run the guide's pages for each pair of MLflow client and server versions; write the
    results to docs/_data/compatibility.json, which the site shows as a table.

    Each version's environment is built once under .nox/ and reused (tools/mlflow_envs.py);
    pairs run two at a time. DOCS_COMPAT_CLIENTS / DOCS_COMPAT_SERVERS choose the versions.
    """
    system_packages(session, "compatibility")
    session.run("python", "-m", "tools.compatibility", *session.posargs)
