"""The guide's one setup: getting-started.rst shows it whole, after a comment that names it;
every other example of the guide (code blocks, and the example files the pages show) opens
with the same lines, after the same comment, in the same order:

    # Setup: see Getting started
    mlflow.set_tracking_uri("http://mindgarage07.cs.uni-kl.de:8001")
    member = read_mlflow_creds().username or getuser()
    mlflow.set_experiment(f"mlflow-guide-<page>/{member}")

An example may leave lines out (a Slurm script whose address comes from the job's
``MLFLOW_TRACKING_URI``; Lightning's logger, which takes the experiment's name), may give
another address (the offline page's SQLite file, the signing-in page's https address), and
may keep the experiment as ``experiment = ``; nothing else. A setup line anywhere else in
an example, or spelled otherwise, is a problem: the guide explains setup once.
"""

from __future__ import annotations

import re
from pathlib import Path

from sybil import Document

from labdocs import pages
from labdocs.lab import LAB_HTTPS_TRACKING_URI, LAB_TRACKING_URI
from labdocs.pages.parsers import LiteralIncludeParser, code_block_lexers, line_of, page_name

SETUP_COMMENT = "# Setup: see Getting started"
GUIDE = pages.DOCS / "guides" / "mlflow"
SETUP_HOME = GUIDE / "getting-started.rst"
HOME_PROJECT = "mlflow-guide-getting-started"
# An MMEngine config imports by __import__, so it spells the member its own way
# (tests/guide/test_members.py holds it to the same rule).
NOT_AN_EXAMPLE = {"mmpose_mlflow_config.py"}
MEMBER_IMPORTS = (
    "from getpass import getuser",
    "from mlflow.utils.credentials import read_mlflow_creds",
)


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """(line of its first line, source) of each Python code block a reader sees on ``page``."""
    document = Document(page.read_text(), str(page))
    found = []
    for region in code_block_lexers(pages.SYNTAX[page.suffix], "python")(document):
        source = str(region.lexemes["source"])
        lines = source.splitlines()
        offset = next((n for n, line in enumerate(lines) if line.strip()), 0)
        at = document.text.find(lines[offset].strip(), region.start) if lines else region.start
        found.append((line_of(document, at) - offset, source))
    return found


def canonical(home: Path = SETUP_HOME) -> tuple[str, str, str]:
    """The three lines after the comment in the home page's setup block."""
    for _, source in python_blocks(home):
        lines = [line.strip() for line in source.splitlines()]
        if SETUP_COMMENT in lines:
            at = lines.index(SETUP_COMMENT)
            tracking, member, experiment = lines[at + 1 : at + 4]
            return tracking, member, experiment
    raise ValueError(f"{page_name(home)}: no Python block holds {SETUP_COMMENT!r}")


def patterns(lines: tuple[str, str, str]) -> list[re.Pattern]:
    """What each setup line may be: the home's, with any address and any page's project."""
    tracking, member, experiment = lines
    address = re.search(r'"[^"]+"', tracking)[0]
    experiment = experiment.removeprefix("experiment = ")
    return [
        re.compile(re.escape(tracking).replace(re.escape(address), r'"[^"]+"')),
        re.compile(re.escape(member)),
        re.compile(
            "(?:experiment = )?"
            + re.escape(experiment).replace(re.escape(HOME_PROJECT), "mlflow-guide-[a-z0-9-]+")
        ),
    ]


def is_setup(line: str) -> bool:
    """A line that does part of the setup, however spelled."""
    return bool(
        (
            "set_tracking_uri(" in line
            and (LAB_TRACKING_URI in line or LAB_HTTPS_TRACKING_URI in line)
        )
        or re.match(r"\s*member\s*=", line)
        or "getuser()" in line
        or ("set_experiment(" in line and "{member}" in line)
        or line.strip() == SETUP_COMMENT
    )


def problems_in(source: str, where: str, first_line: int, allowed: list[re.Pattern]) -> list[str]:
    lines = source.splitlines()
    found, in_block = [], set()
    stripped = {line.strip() for line in lines}
    for n, line in enumerate(lines):
        if line.strip() != SETUP_COMMENT:
            continue
        in_block.add(n)
        indent = line[: len(line) - len(line.lstrip())]
        order, k = 0, n + 1
        while (
            k < len(lines)
            and lines[k].startswith(indent)
            and (is_setup(lines[k]) or "set_tracking_uri(" in lines[k])
        ):
            text = lines[k].strip()
            which = [i for i, pattern in enumerate(allowed) if pattern.fullmatch(text)]
            if not which:
                found.append(f"{where}:{first_line + k}: not getting-started's setup line: {text}")
            elif which[0] < order:
                found.append(f"{where}:{first_line + k}: out of getting-started's order: {text}")
            else:
                order = which[0] + 1
                if which[0] == 1 and not all(i in stripped for i in MEMBER_IMPORTS):
                    found.append(f"{where}:{first_line + k}: the example lacks {MEMBER_IMPORTS}")
            in_block.add(k)
            k += 1
        if k == n + 1:
            found.append(f"{where}:{first_line + n}: {SETUP_COMMENT!r} with no setup after it")
    for n, line in enumerate(lines):
        if n not in in_block and is_setup(line):
            found.append(
                f"{where}:{first_line + n}: setup outside the block after {SETUP_COMMENT!r}: "
                f"{line.strip()}"
            )
    return found


def setup_problems(page: Path, home: Path = SETUP_HOME) -> list[str]:
    """Each example of ``page`` whose setup is not the home page's."""
    allowed = patterns(canonical(home))
    found = []
    for line, source in python_blocks(page):
        found += problems_in(source, str(page_name(page)), line, allowed)
    document = Document(page.read_text(), str(page))
    for _, path, _ in LiteralIncludeParser(pages.SYNTAX[page.suffix]).included(document):
        if path.suffix == ".py" and path.name not in NOT_AN_EXAMPLE:
            found += problems_in(path.read_text(), str(page_name(path)), 1, allowed)
    return found
