"""What the run printed at its end: how many examples of each kind ran, on how many pages.

Each example's kind is the ``label`` its parser gave its region (pages.py, parsers.py).
"""

from __future__ import annotations

from collections import Counter

import pytest

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


def write(terminalreporter, items: list[pytest.Item]) -> None:
    """``N examples on M pages``, then a line per kind with its outcomes."""
    if not items:
        return
    outcome_of = outcomes(terminalreporter)
    table: dict[str, Counter[str]] = {}
    for item in items:
        kind = getattr(item.example.region, "label", "other")
        table.setdefault(kind, Counter())[outcome_of.get(item.nodeid, "not run")] += 1
    pages = {item.example.path for item in items}
    terminalreporter.write_sep(
        "-", f"{plural(len(items), 'example')} on {plural(len(pages), 'page')}"
    )
    for kind, counts in sorted(table.items()):
        line = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        terminalreporter.write_line(f"{kind:>18}: {line}")
