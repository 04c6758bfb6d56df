"""Which MLflow clients work with which MLflow servers: run the guide's pages for each pair
and write the results to docs/_data/compatibility.json, which the site renders as a table
(labdocs/site/compatibility_table.py).

  python -m tools.compatibility [--clients 3.1.4,pinned,newest] [--servers lab,2.22.5,newest]
                                [--jobs 2] [--out docs/_data/compatibility.json]

Versions: a version number, ``pinned`` (requirements/doctest.txt), ``lab`` (labdocs/lab.py's
LAB_SERVER_MLFLOW_VERSION) or ``newest`` (the newest that installs, as pip resolves it).
Each version's environment is built once and reused (tools/mlflow_envs.py). The examples
run in the client's environment (pytest, the test harness), against a throwaway server
from the server's (DOCS_MLFLOW_SERVER_BIN). A failing example is a result, recorded with
its page, line, section and error; the run fails only if it cannot measure (an unsupported
version fails at once, before anything is built).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from labdocs.lab import LAB_SERVER_MLFLOW_VERSION, MLFLOW_VERSION
from tools import mlflow_envs

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "_data" / "compatibility.json"
# The guide's pages whose examples only need a tracking server: they run for every pair.
PAGES = [
    "docs/guides/mlflow/quick-start.rst",
    "docs/guides/mlflow/getting-started.rst",
    "docs/guides/mlflow/logging.rst",
    "docs/guides/mlflow/common-tasks.rst",
    "docs/guides/mlflow/troubleshooting.rst",
    "docs/guides/mlflow/compatibility.rst",  # the way to log a model to an MLflow 2 server
]
# The guide's other pages, and why they are not part of the table.
NOT_RUN = {
    "docs/guides/mlflow/signing-in.md": "needs the lab's deployment, started from the admin "
    "page's files, which are for the lab's version (before 3.5 MLflow lacks --allowed-hosts)",
    "docs/guides/mlflow/notebooks.md": "signs in, as signing-in.md",
    "docs/admin/tracking-server.md": "the admin's setup of the lab's version itself",
    "docs/guides/mlflow/viewing-results.rst": "the web UI belongs to the server: the same "
    "page, clicked, in every client column would measure only the server",
    "docs/guides/mlflow/mmpose.rst": "its MMEngine logging uses the same client calls as "
    "the logging page (params, metrics, artifacts), and needs MMEngine in every client",
    "docs/guides/mlflow/several-processes.rst": "its training runs under torchrun, in "
    "tests/guide/test_ddp_training.py, with the pinned client",
    "docs/guides/mlflow/slurm.rst": "its training runs as a Slurm job, in "
    "tests/guide/test_slurm_training.py, with the pinned client",
    "docs/guides/mlflow/server-away.rst": "needs mlflow-export-import in every client; its "
    "outages are measured by tests/guide/test_server_outage.py with the pinned client",
    "docs/guides/mlflow/lightning.rst": "its training runs as a script and a Slurm job, in "
    "tests/guide/test_lightning_train.py, with the pinned client",
    "docs/guides/mlflow/mmengine-resume.rst": "its training runs as a script, in "
    "tests/guide/test_mmengine_train.py, with the pinned client",
    "docs/guides/mlflow/sweeps.rst": "the client calls of the logging page, nested",
    "docs/guides/mlflow/training-habits.rst": "the client calls of the logging page; its "
    "figures are the pinned client's (tools/benchmark_logging.py)",
    "docs/guides/mlflow/provenance.rst": "written after the table was last measured: run "
    "with the pinned client only, until nox -s compatibility adds it",
    "docs/guides/mlflow/finding-runs.rst": "written after the table was last measured: run "
    "with the pinned client only, until nox -s compatibility adds it",
    "docs/guides/mlflow/model-registry.rst": "written after the table was last measured: run "
    "with the pinned client only, until nox -s compatibility adds it",
}
CLIENTS = "oldest,pinned,newest"
SERVERS = "lab,2.22.5,newest"
OLDEST_CLIENT = "3.1.4"  # the oldest MLflow 3 the guide claims (getting-started.rst)
ALIASES = {
    "pinned": (MLFLOW_VERSION, "pinned"),
    "lab": (LAB_SERVER_MLFLOW_VERSION, "the lab's"),
    "oldest": (OLDEST_CLIENT, "oldest claimed"),
}
EXAMPLE_TIMEOUT = 300  # seconds, for one example: a hang's bound, as pyproject.toml's
PAIR_TIMEOUT = 1800  # seconds: a pair's pages take about a minute; a hang is a result too
# How labdocs/plugin/ reports MLflow log records of level WARNING.
MLFLOW_WARNED = "MLflow logged warnings while this example ran:"
SECTION_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+])\1{2,}\s*$")


@dataclass
class Version:
    number: str
    roles: list[str] = field(default_factory=list)

    def as_data(self) -> dict:
        return {"version": self.number, "roles": self.roles}


def resolve(names: str, kind: str) -> list[Version]:
    """Version numbers for the names given, each once, with the roles it plays."""
    found: dict[str, Version] = {}
    for name in filter(None, (n.strip() for n in names.split(","))):
        if name == "newest":
            number, role = mlflow_envs.newest(), "newest"
        elif name in ALIASES:
            number, role = ALIASES[name]
        else:
            number, role = name, ""
        found.setdefault(number, Version(number)).roles += [role] if role else []
    for version in found.values():  # unsupported: fail now, before anything is built
        if kind == "client":
            mlflow_envs.client_requirements(version.number)
        else:
            mlflow_envs.server_requirements(version.number)
    return list(found.values())


def section_at(page: Path, line: int) -> str:
    """The title of the section that a page's line is in."""
    lines = page.read_text().splitlines()[:line]
    for i in range(len(lines) - 1, 0, -1):
        if page.suffix == ".md" and lines[i].startswith("#"):
            return lines[i].lstrip("#").strip()
        title = lines[i - 1]
        if (
            SECTION_UNDERLINE.match(lines[i])
            and title.strip()
            and not SECTION_UNDERLINE.match(title)
        ):
            return title.strip()
    return "(page start)"


def kind_at(page: Path, line: int) -> str:
    """Whether a page's line is a hidden check (what the tests ask the server) or not."""
    text = page.read_text().splitlines()[line - 1]
    return "check" if "invisible-code-block" in text else "example"


def results_of(junit: Path) -> list[dict]:
    """Each example of the pages: where it is, its section, and how it went."""
    results = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        match = re.search(r"line:(\d+)", case.get("name", ""))
        classname = case.get("classname", "")
        page = next((p for p in PAGES if Path(p).stem in classname.replace(".", "/")), None)
        if page is None or match is None:
            continue  # not an example of the pages (none expected)
        line = int(match[1])
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        outcome = "skipped" if case.find("skipped") is not None else "passed"
        error = ""
        if failure is not None:
            outcome = "failed"
            raw = failure.text or failure.get("message", "")
            error = exception_line(failure.text or failure.get("message", ""))
            if MLFLOW_WARNED in raw:  # the example ran to its end, and MLflow warned
                outcome, error = "warned", warnings_in(raw)
        results.append(
            {
                "page": page,
                "line": line,
                "operation": section_at(ROOT / page, line),
                "kind": kind_at(ROOT / page, line),
                "outcome": outcome,
                "error": error,
            }
        )
    return results


def exception_line(text: str) -> str:
    """The error a reader would see: pytest's ``E`` lines of the last failure, joined; for
    a bare ``AssertionError``, with the statement that failed (pytest's ``>`` line)."""
    lines = text.splitlines()
    marked = [i for i, line in enumerate(lines) if line.startswith("E ")]
    if not marked:
        found = [line.strip() for line in lines if line.strip()]
        return found[-1] if found else "(no message)"
    end = marked[-1]
    start = end
    while start > 0 and lines[start - 1].startswith("E "):
        start -= 1
    block = [lines[i][1:].strip() for i in range(start, end + 1)]
    error = " ".join(line for line in block if line)[:1000]
    statement = [line[1:].strip() for line in lines[:start] if line.startswith(">")]
    if error.startswith("AssertionError") and statement:
        error = f"{statement[-1]}: {error}"
    return error


def warnings_in(text: str) -> str:
    """The warnings that labdocs/plugin/ lists after ``MLFLOW_WARNED``, joined."""
    after = text.split(MLFLOW_WARNED, 1)[1].splitlines()
    listed = []
    for line in after:
        line = re.sub(r"^E(\s+|$)", "", line.strip()).strip()  # pytest's error prefix
        if not line and listed:
            break
        if line:
            listed.append(line)
    return " ".join(dict.fromkeys(listed))[:1000]  # each warning once


def run_pair(client: Version, server: Version) -> dict:
    python = mlflow_envs.client_python(client.number)
    mlflow = mlflow_envs.server_mlflow(server.number)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="compatibility-") as folder:
        junit = Path(folder) / "results.xml"
        env = {**os.environ, "DOCS_MLFLOW_SERVER_BIN": str(mlflow), "DOCS_MEMBER_RUNS": "off"}
        command = [
            str(python), "-m", "pytest", *PAGES, "-q", f"--junitxml={junit}",
            "--all",  # a cell is a run against its pair, never a page passed from cache
            "--every-example",  # each example measured, also after one failed
            # What a reader meets: a Python warning is shown, not an error as in the site's
            # own tests (pyproject.toml). MLflow's logged warnings are results ("warned").
            "-W", "always",
            # Two pairs share the cores: log_model's requirement inference, 6 s alone, took
            # over 45 s under that load. A cell measures versions, not load.
            "-o", f"timeout={EXAMPLE_TIMEOUT}",
        ]  # fmt: skip
        try:
            done = subprocess.run(
                command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=PAIR_TIMEOUT
            )
            code, output = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as timeout:
            code, output = -1, f"no result after {PAIR_TIMEOUT} s: {timeout}"
        results = results_of(junit) if junit.is_file() else []
    cell = {
        "client": client.number,
        "server": server.number,
        "seconds": round(time.monotonic() - started, 1),
        "passed": sum(r["outcome"] == "passed" for r in results),
        "warned": sum(r["outcome"] == "warned" for r in results),
        "failed": sum(r["outcome"] == "failed" for r in results),
        "skipped": sum(r["outcome"] == "skipped" for r in results),
        "results": results,
    }
    if code not in (0, 1) or not results:  # pytest could not measure: say why, in the cell
        cell["error"] = run_error(output)
    print(
        f"client {client.number} / server {server.number}: {cell['passed']} passed, "
        f"{cell['warned']} warned, {cell['failed']} failed, {cell['skipped']} skipped"
        + (f", run failed: {cell['error'][:200]}" if cell.get("error") else "")
        + f" ({cell['seconds']} s)",
        flush=True,
    )
    return cell


def run_error(output: str) -> str:
    """Why pytest stopped (a server that would not start, a usage error): its own words."""
    lines = output.strip().splitlines()
    for i, line in enumerate(lines):
        if line.startswith(("!!!", "ERROR:", "Exit:")) or "exited before it was ready" in line:
            return "\n".join(lines[i : i + 8])
    return "\n".join(lines[-8:])


def measure(clients: list[Version], servers: list[Version], jobs: int) -> dict:
    with ThreadPoolExecutor(jobs) as pool:  # build each environment once, `jobs` at a time
        list(pool.map(mlflow_envs.server_mlflow, [s.number for s in servers]))
        list(pool.map(mlflow_envs.client_python, [c.number for c in clients]))
    pairs = [(c, s) for s in servers for c in clients]
    with ThreadPoolExecutor(jobs) as pool:
        cells = list(pool.map(lambda pair: run_pair(*pair), pairs))
    return {
        "measured": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "pages": [str(Path(p).relative_to("docs").with_suffix("")) for p in PAGES],
        "not_run": NOT_RUN,
        "clients": [c.as_data() for c in clients],
        "servers": [s.as_data() for s in servers],
        "cells": cells,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default=os.environ.get("DOCS_COMPAT_CLIENTS", CLIENTS))
    parser.add_argument("--servers", default=os.environ.get("DOCS_COMPAT_SERVERS", SERVERS))
    parser.add_argument("--jobs", type=int, default=2, help="pairs run side by side")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        clients = resolve(args.clients, "client")
        servers = resolve(args.servers, "server")
        print("clients:", ", ".join(c.number for c in clients), flush=True)
        print("servers:", ", ".join(s.number for s in servers), flush=True)
        data = measure(clients, servers, args.jobs)
    except mlflow_envs.EnvError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {args.out} in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
