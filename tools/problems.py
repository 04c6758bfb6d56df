"""How the checking scripts end: each problem on a line, a count, and the exit status."""

from __future__ import annotations


def report(problems: list[str], what: str) -> int:
    """Print ``problems``, then ``what: N problems``; 1 if there were any, else 0."""
    for problem in problems:
        print(problem)
    print(f"{what}: {len(problems)} problems")
    return 1 if problems else 0
