"""Speed and memory of the site's two commands, as medians over a few runs.

    nox -s bench              (or: python -m tools.benchmark --runs 3)

Prints: the cache of passed pages at work in a scratch clone (its first run, then with
nothing changed, after a one-sentence edit of logging.rst, and that page alone; ``--cache-only``
stops there); time until the throwaway server is ready; wall time of a warm ``nox -s doctest``
of the plain pages and its floor (server ready + the pages' examples run as one plain
script against a running server, no pytest, no checks); the whole suite serially and
across the cores, and their ratio; one page alone; time per page; with --fresh-clone, a
fresh clone's first run; what a page added costs the suite across the cores (a copy of
logging.rst in a scratch clone); cold and warm ``nox -s docs``, and after editing one page; peak
memory of the doctest run. Run it on an idle machine: anything else skews the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from labdocs import pages
from labdocs.lab import LAB_TRACKING_URI
from labdocs.page_facts import is_auth_page
from labdocs.services.servers import ThrowawayServer, plain_server_command
from labdocs.services.session import clean_environment

ROOT = pages.ROOT
NOX = [sys.executable, "-m", "nox"]
PARALLEL = ["-n", "auto", "--dist", "loadfile"]  # the suite across the cores
DOCTEST_BIN = ROOT / ".nox" / "doctest" / "bin"


def timed(command: list[str], cwd: Path = ROOT, **kwargs) -> float:
    started = time.monotonic()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(command)[:200]}\n{(done.stdout + done.stderr)[-3000:]}")
    return time.monotonic() - started


def median(label: str, samples: list[float], target: str = "") -> float:
    value = statistics.median(samples)
    runs = ", ".join(f"{s:.1f}" for s in samples)
    print(f"{label:<44} {value:7.1f} s   (runs: {runs}){'   target ' + target if target else ''}")
    return value


def server_ready(runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        server = ThrowawayServer.start(plain_server_command(str(DOCTEST_BIN / "mlflow")))
        try:
            samples.append(server.wait_ready())
        finally:
            server.stop()
    return samples


# The pages' examples as one plain script: every visible Python block and included
# example file, page by page, in one process; no pytest, no hidden checks, no browser.
PLAIN_SCRIPT = """
import os, tempfile
from unittest import SkipTest
from pathlib import Path
from labdocs import pages
from labdocs.services import network
network.install_guard()
network.allow_port({port})
network.redirect({lab!r}, {url!r})
import mlflow
for page in {pages!r}:
    document = pages.parse(pages.ROOT / page)  # the script changes folder per page
    os.chdir(tempfile.mkdtemp())
    mlflow.set_tracking_uri(None)
    for example in document.examples():
        if example.region.label in ("hidden checks", "unrunnable blocks",
                                    "UI instructions", "UI pictures"):  # no checks, no browser
            continue
        try:
            example.evaluate()
        except SkipTest:
            pass
        except Exception as error:  # the page needs what a hidden block does: not floorable
            print(f"cut short: {{page}}:{{example.line}}: {{type(error).__name__}}", flush=True)
            break
"""


def floor_script(runs: int, ready: float, selected: list[str]) -> list[float]:
    return [ready + plain_script(selected)[0] for _ in range(runs)]


def plain_script(selected: list[str]) -> tuple[float, list[str]]:
    """The pages' shown examples as one script on a fresh server: seconds, and the pages cut
    short (an example needed what only a hidden block does: a shell step, say)."""
    server = ThrowawayServer.start(plain_server_command(str(DOCTEST_BIN / "mlflow")))
    try:
        server.wait_ready()
        script = PLAIN_SCRIPT.format(
            port=server.port, lab=LAB_TRACKING_URI, url=server.url, pages=selected
        )
        env = dict(os.environ)
        clean_environment(env)
        # Its pages' folders, and what MLflow and torch write to temporary files, go away.
        with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
            env["TMPDIR"] = tmp
            started = time.monotonic()
            done = subprocess.run(
                [str(DOCTEST_BIN / "python"), "-c", script],
                cwd=ROOT, env=env, capture_output=True, text=True,
            )  # fmt: skip
            seconds = time.monotonic() - started
        if done.returncode != 0:
            sys.exit(f"the plain script failed:\n{(done.stdout + done.stderr)[-3000:]}")
        return seconds, [line for line in done.stdout.splitlines() if line.startswith("cut short")]
    finally:
        server.stop()


def floorable(candidates: list[str]) -> list[str]:
    """The pages whose shown examples run on their own, without the hidden checks; the
    others are left out of both sides of the floor's comparison, and named."""
    _, cut_short = plain_script(candidates)
    for line in cut_short:
        print(f"left out of the floor's comparison: {line.removeprefix('cut short: ')}")
    left_out = {line.split(": ", 1)[1].rsplit(":", 2)[0] for line in cut_short}
    return [page for page in candidates if page not in left_out]


def plain_pages() -> list[str]:
    """The pages that run against the plain server (the sign-in pages need the deployment)."""
    return [str(p.relative_to(ROOT)) for p in pages.pages() if not is_auth_page(p)]


def doctest_runs(
    runs: int, junit: Path, *select: str, env: dict | None = None, cwd: Path = ROOT
) -> list[float]:
    # --all: the figures are of runs, not of pages passed from cache.
    command = [*NOX, "-s", "doctest", "--", "--all", "-q", f"--junitxml={junit}", *select]
    return [timed(command, cwd=cwd, env={**os.environ, **(env or {})}) for _ in range(runs)]


def per_page(junit: Path) -> dict[str, float]:
    pages: dict[str, float] = {}
    for case in ET.parse(junit).iter("testcase"):
        where = case.get("file") or case.get("classname", "")
        name = case.get("name", "")
        key = where if where.startswith("docs") else name.split("::")[0] if "::" in name else where
        pages[key] = pages.get(key, 0.0) + float(case.get("time", 0))
    return pages


# The page a contributor adds, in the bench: a copy of this one, with its experiment and
# its example files renamed as a page of its own would have them (tests/site/test_site.py
# wants each page in its own experiment).
ADDED_LIKE = "docs/guides/mlflow/logging.rst"
RENAMED = {
    "mlflow-guide-logging": "mlflow-guide-logging-copy",
    "examples/log_pytorch_model": "examples/copy_of_log_pytorch_model",
}


def with_a_page_added(runs: int, junit: Path) -> list[float]:
    """The whole suite across the cores in a scratch clone of the committed tree with a
    copy of ADDED_LIKE added (and the files it includes, renamed); the environments are
    this tree's, warm, as a contributor's are."""
    with tempfile.TemporaryDirectory(prefix="bench-added-page-") as tmp:
        clone = Path(tmp, "clone")
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        (clone / ".nox").symlink_to(ROOT / ".nox")
        shown = [p.relative_to(ROOT) for p in pages.included_files(ROOT / ADDED_LIKE)]
        for original in [ADDED_LIKE, *map(str, shown)]:
            copy = renamed_page(renamed(original))
            (clone / copy).write_text(renamed((ROOT / original).read_text()))
        # Every page of the guide is run against other MLflow versions or says why not
        # (tests/guide/test_compatibility.py); the copy says why not, as its author would.
        listing = clone / "tools" / "compatibility.py"
        if "\nNOT_RUN = {\n" not in listing.read_text():
            sys.exit("tools/compatibility.py has no NOT_RUN as the bench expects")
        listing.write_text(
            listing.read_text().replace(
                "\nNOT_RUN = {\n",
                f'\nNOT_RUN = {{\n    "{renamed_page(ADDED_LIKE)}": "the bench\'s copy of a page",\n',
            )
        )
        return doctest_runs(runs, junit, *PARALLEL, cwd=clone)


def renamed_page(text: str) -> str:
    return text.replace("logging.rst", "logging-copy.rst")


def renamed(text: str) -> str:
    for old, new in RENAMED.items():
        text = text.replace(old, new)
    return text


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy since boot (/proc/stat): every process,
    the servers and browsers a run starts among them."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def the_cache_at_work(runs: int) -> tuple[list[float], list[float], list[float], list[float]]:
    """In a scratch clone of the committed tree (environments warm, as a contributor's):
    its first `nox -s doctest` (a clean clone runs everything), the same with nothing
    changed, after a one-sentence edit of logging.rst, and that page alone."""
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        clone = Path(tmp, "clone")
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        (clone / ".nox").symlink_to(ROOT / ".nox")
        doctest = [*NOX, "-s", "doctest"]
        busy = busy_cpu_seconds()
        first = [timed(doctest, cwd=clone)]
        cpu = busy_cpu_seconds() - busy
        cores = os.cpu_count() or 1
        print(
            f"{'  the first run kept the cores busy for':<44} {cpu:7.1f} CPU s: at least "
            f"{cpu / cores:.0f} s on {cores} cores, however the work is split"
        )
        nothing = [timed(doctest, cwd=clone) for _ in range(runs)]
        page = clone / EDITED
        text = page.read_text()
        if EDITED_SENTENCE not in text:
            sys.exit(f"{EDITED} no longer says {EDITED_SENTENCE!r}: give the bench another")
        edited = []
        for run in range(runs):
            page.write_text(
                text.replace(EDITED_SENTENCE, f"{EDITED_SENTENCE} The bench's sentence {run}.", 1)
            )
            edited.append(timed(doctest, cwd=clone))
        alone = [timed([*doctest, "--", "--all", EDITED], cwd=clone) for _ in range(runs)]
        return first, nothing, edited, alone


# The edit of a page a contributor makes: one sentence of its text.
EDITED = "docs/guides/mlflow/logging.rst"
EDITED_SENTENCE = "(There is no ``run.log_metric()``.)"


def first_run_of_a_clone() -> float:
    """Clone the committed tree, run `nox -s doctest` there as a newcomer would, time it."""
    with tempfile.TemporaryDirectory(prefix="bench-clone-") as tmp:
        clone = Path(tmp, "clone")
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        started = time.monotonic()
        done = subprocess.run([*NOX, "-s", "doctest"], cwd=clone, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"the fresh clone's doctest failed:\n{(done.stdout + done.stderr)[-3000:]}")
        return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--fresh-clone", action="store_true",
        help="also time a fresh clone's first `nox -s doctest` (new environments; pip's cache "
        "and the machine's packages as they are)",
    )  # fmt: skip
    parser.add_argument(
        "--cache-only", action="store_true",
        help="only what the cache of passed pages changes: a scratch clone's first run, "
        "then with nothing changed, after an edit, and the edited page alone",
    )  # fmt: skip
    arguments = parser.parse_args()
    runs, fresh_clone = arguments.runs, arguments.fresh_clone
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {runs} runs each\n"
    )

    # Both environments exist before anything is timed: the runs below are "warm".
    for warm_up in (["doctest", "--", "--co", "-q"], ["docs"]):
        timed([*NOX, "-s", *warm_up])

    first, nothing, edited, alone = the_cache_at_work(runs)
    median("a scratch clone's first `nox -s doctest` (all)", first, "<= 300 s")
    median("`nox -s doctest` again, nothing changed", nothing, "<= 30 s")
    edit = median("the same after a one-sentence edit of logging.rst", edited)
    own = median("`nox -s doctest -- --all logging.rst` alone", alone, "<= 40 s")
    print(f"{'  = the edit / the page alone':<44} {edit / own:7.2f}   target <= 1.20")
    if arguments.cache_only:
        return

    ready = median("throwaway server ready (/health answers)", server_ready(runs), "<= 8 s")
    selected = floorable(plain_pages())
    floor = median(
        "floor: server ready + examples as a script", floor_script(runs, ready, selected)
    )
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp, "junit.xml")
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        same = median(
            "warm `nox -s doctest -- <those pages>`",
            # The pages' own runs, as the floor runs them: not their members' runs again.
            doctest_runs(runs, junit, *selected, env={"DOCS_MEMBER_RUNS": "off"}),
            f"<= {1.25 * floor:.1f} s (1.25 x floor)",
        )
        print(f"{'  = x floor':<44} {same / floor:7.2f}")
        serial = median(
            "warm `nox -s doctest` (everything), serially", doctest_runs(runs, junit, "-n", "0")
        )
        parallel = median(
            f"warm `nox -s doctest` (everything), {os.cpu_count()} workers",
            doctest_runs(runs, junit, *PARALLEL),
            "<= 300 s",
        )
        print(f"{'  = x serially':<44} {parallel / serial:7.2f}   target <= 0.60")
        scopes = per_page(junit)
        own = scopes.get(ADDED_LIKE.replace("/", "."), 0.0)  # its reader's run
        added = median("the same with a copy of logging.rst added", with_a_page_added(runs, junit))
        workers = os.cpu_count() or 1  # -n auto
        print(
            f"{'  = the added page costs':<44} {added - parallel:7.1f} s   target <= "
            f"{own / workers:.1f} s (its own {own:.1f} s / {workers} workers)"
        )
        median(
            "warm `nox -s doctest -- <logging.rst>` alone",
            doctest_runs(runs, junit, "docs/guides/mlflow/logging.rst"),
            "<= 40 s",
        )
        peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        print(f"{'peak memory of one process in the run':<44} {peak / 1024:7.0f} MiB")
        print("\ntime per page / test module (the run across the cores, summed per scope):")
        for page, seconds in sorted(scopes.items(), key=lambda kv: -kv[1]):
            print(f"  {page:<58} {seconds:6.1f} s")
    print()
    if fresh_clone:
        median("a fresh clone's first `nox -s doctest`", [first_run_of_a_clone()], "<= 480 s")

    cold = []
    for _ in range(runs):
        shutil.rmtree(ROOT / ".nox" / "docs", ignore_errors=True)
        shutil.rmtree(ROOT / "build" / "html", ignore_errors=True)
        cold.append(timed([*NOX, "-s", "docs"]))
    median("cold `nox -s docs` (new venv, empty build)", cold, "<= 60 s")
    median(
        "warm `nox -s docs` (nothing changed)",
        [timed([*NOX, "-s", "docs"]) for _ in range(runs)],
        "<= 10 s",
    )

    page = ROOT / "docs" / "guides" / "mlflow" / "logging.rst"
    text = page.read_bytes()
    incremental = []
    try:
        for run in range(runs):
            # A sentence a reader sees: Sphinx writes the page anew, the browser checks it.
            page.write_bytes(text + f"\nThe bench's edit {run}.\n".encode())
            incremental.append(timed([*NOX, "-s", "docs"]))
    finally:
        page.write_bytes(text)
    median("`nox -s docs` after editing one page", incremental, "<= 10 s")


if __name__ == "__main__":
    main()
