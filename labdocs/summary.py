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


def write(terminalreporter, examples: list[Example]) -> None:
    """``N examples on M pages``, then a line per kind with its outcomes."""
    if not examples:
        return
    outcome_of = outcomes(terminalreporter)
    table: dict[str, Counter[str]] = {}
    for nodeid, kind, _ in examples:
        table.setdefault(kind, Counter())[outcome_of.get(nodeid, "not run")] += 1
    pages = {page for _, _, page in examples}
    terminalreporter.write_sep(
        "-", f"{plural(len(examples), 'example')} on {plural(len(pages), 'page')}"
    )
    for kind, counts in sorted(table.items()):
        line = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        terminalreporter.write_line(f"{kind:>18}: {line}")
