"""The import rules of pyproject.toml still bite: ruff is given a planted violation of each,
as if written into the file it names, and must report it. Run by ``nox -s lint`` after
``ruff check`` (a rule that matched nothing would pass silently there).

  python -m tools.check_import_rules
"""

from __future__ import annotations

import json
import subprocess
import sys

# (where the planted code pretends to be, the code, the rule that must report it)
PLANTED = [
    ("labdocs/servers.py", "import pytest\n", "TID253"),  # a service importing pytest
    ("labdocs/deployment.py", "from tools import mlflow_envs\n", "TID251"),  # product -> tools
    ("labdocs/plugin.py", "from tests import test_plugin\n", "TID251"),  # product -> tests
]


def reported(path: str, source: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "json", "--stdin-filename",
         path, "-"],
        input=source, capture_output=True, text=True,
    )  # fmt: skip
    return {row["code"] for row in json.loads(done.stdout or "[]")}


def main() -> int:
    missed = [
        f"{path}: {source.strip()!r} not reported as {rule}"
        for path, source, rule in PLANTED
        if rule not in reported(path, source)
    ]
    for line in missed:
        print(f"import rules: {line}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
