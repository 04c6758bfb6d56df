"""What the session prints at its end: how many examples of each kind ran, on how many pages.

Each example's kind is the ``label`` its parser gave its region (parsers.py). An example is
written down as (node id, kind, page): plain data, which the workers of a parallel session
send to the one that prints (plugin.py).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

OUTCOMES = ("passed", "failed", "skipped", "error")


def plural(count: int, word: str) -> str:
    return f"{count} {word if count == 1 else word + 's'}"


def outcomes(terminalreporter) -> dict[str, str]:
    """Each test's outcome, by node id: its call's, or its setup's if that failed or skipped."""
    outcome_of = {}
    for outcome in OUTCOMES:
        for report in terminalreporter.stats.get(outcome, []):
            if report.when == "call" or outcome in ("skipped", "error"):
                outcome_of[report.nodeid] = outcome
    return outcome_of


Example = tuple[str, str, str]  # node id, kind, page


def example(item) -> Example:
    return item.nodeid, getattr(item.example.region, "label", "other"), str(item.example.path)


SYBIL_ID = re.compile(r"^(?P<page>[^:]+)::sybil:[^,]+,line:(?P<line>\d+),column:\d+$")


def examples_of(ids: list[str], root: Path) -> list[Example]:
    """The examples among a worker's collected node ids, each labelled as its page's
    parsers label it (the controller of a parallel session collects nothing itself)."""
    from labdocs.pages import parse  # the parsers import Sybil: not needed before this

    labels: dict[str, dict[int, str]] = {}
    found = []
    for nodeid in ids:
        match = SYBIL_ID.match(nodeid)
        if match is None:
            continue
        page = str(root / match["page"].partition("[")[0])  # a member run: page[as NAME]
        if page not in labels:
            labels[page] = {e.line: e.region.label for e in parse(Path(page)).examples()}
        found.append((nodeid, labels[page].get(int(match["line"]), "other"), page))
    return found


# A member run's node ids: ``page[as NAME]::...`` (member_runs.py).
MEMBER_RUN = re.compile(r"\[as (?P<member>[^\]]+)\]::")


def write_members(terminalreporter, examples: list[Example]) -> None:
    """A line per lab member: how their runs of the member pages went."""
    outcome_of = outcomes(terminalreporter)
    runs: dict[str, Counter[str]] = {}
    pages: dict[str, set[str]] = {}
    for nodeid, _, page in examples:
        found = MEMBER_RUN.search(nodeid)
        if found is None:
            continue
        member = found["member"]
        runs.setdefault(member, Counter())[outcome_of.get(nodeid, "not run")] += 1
        pages.setdefault(member, set()).add(page)
    for member, counts in runs.items():
        line = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        terminalreporter.write_line(
            f"as {member}, signed in: "
            f"{plural(sum(counts.values()), 'example')} on {plural(len(pages[member]), 'page')}"
            f" ({line})"
        )


def write(
    terminalreporter,
    examples: list[Example],
    from_cache: list[Example] = (),
    files_from_cache: list[str] = (),
    skipped_from_cache: set[str] = frozenset(),
) -> None:
    """``N examples on M pages``, then a line per kind with its outcomes; the examples of
    the pages that passed before, with nothing changed since, count as passed from cache
    (page_cache.py), and a line says how many pages and test files so passed."""
    if not examples and not files_from_cache:
        return
    outcome_of = outcomes(terminalreporter)
    outcome_of.update(
        (nodeid, "skipped from cache" if nodeid in skipped_from_cache else "passed from cache")
        for nodeid, _, _ in from_cache
    )
    everything = [*examples, *from_cache]
    table: dict[str, Counter[str]] = {}
    for nodeid, kind, _ in everything:
        table.setdefault(kind, Counter())[outcome_of.get(nodeid, "not run")] += 1
    pages = {page for _, _, page in everything}
    terminalreporter.write_sep(
        "-", f"{plural(len(everything), 'example')} on {plural(len(pages), 'page')}"
    )
    for kind, counts in sorted(table.items()):
        line = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        terminalreporter.write_line(f"{kind:>18}: {line}")
    if files_from_cache:
        cached_pages = [f for f in files_from_cache if not f.endswith(".py")]
        tests = len(files_from_cache) - len(cached_pages)
        terminalreporter.write_line(
            f"{plural(len(cached_pages), 'page')} passed from cache"
            + (f", and {plural(tests, 'test file')}" if tests else "")
            + ": nothing they depend on changed since (--all runs them)"
        )
