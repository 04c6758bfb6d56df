"""The import rules still bite, and labdocs has no import circle.

ruff is given a planted violation of each rule (pyproject.toml, and each folder's ruff.toml),
as if written into the file it names, and must report it: a rule that matched nothing would
pass silently in ``ruff check``. Then the imports between labdocs' modules, those run when a
module is imported, must form no circle; and the lab's facts (lab.py, page_facts.py) must
import the standard library alone. Run by ``nox -s lint`` after ``ruff check``.

  python -m tools.check_import_rules
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (where the planted code pretends to be, the code, the rule that must report it)
PLANTED = [
    # nothing in labdocs/ imports tests/ or tools/
    ("labdocs/services/deployment.py", "from tools import mlflow_envs\n", "TID251"),
    ("labdocs/plugin/__init__.py", "from tests import test_plugin\n", "TID251"),
    ("labdocs/lab.py", "import tools.lock\n", "TID251"),
    ("labdocs/site/published.py", "from tests.lib import training\n", "TID251"),
    # pytest at module level only in the plugin; not even inside a function in services,
    # pages, the browser, the Sphinx side
    ("labdocs/page_facts.py", "import pytest\n", "TID253"),
    ("labdocs/services/servers.py", "import pytest\n", "TID253"),
    ("labdocs/services/servers.py", "def f():\n    import pytest\n", "TID251"),
    ("labdocs/pages/parsers.py", "def f():\n    from _pytest import nodes\n", "TID251"),
    ("labdocs/browser/ui.py", "def f():\n    import pytest\n", "TID251"),
    ("labdocs/site/reading_paths.py", "def f():\n    import pytest\n", "TID251"),
    # the plugin imports the rest, never the other way
    ("labdocs/services/deployment.py", "from labdocs.plugin import started\n", "TID251"),
    ("labdocs/pages/state_pages.py", "from labdocs.plugin.summary import example\n", "TID251"),
    ("labdocs/browser/chromium.py", "import labdocs.plugin\n", "TID251"),
    ("labdocs/site/server_state.py", "from labdocs import plugin\n", "TID251"),
    # the layers: services < browser < pages; the Sphinx side imports labdocs.lab alone
    ("labdocs/services/servers.py", "from labdocs.browser import ui\n", "TID251"),
    ("labdocs/services/network.py", "from labdocs.pages import DOCS\n", "TID251"),
    ("labdocs/browser/ui.py", "from labdocs.pages.parsers import parsers\n", "TID251"),
    ("labdocs/site/reading_paths.py", "from labdocs.services import network\n", "TID251"),
    ("labdocs/site/server_state.py", "from labdocs.pages import state_pages\n", "TID251"),
    ("labdocs/site/accessible_html.py", "from labdocs.page_facts import READER\n", "TID251"),
]


def reported(path: str, source: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "json", "--stdin-filename",
         path, "-"],
        input=source, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    return {row["code"] for row in json.loads(done.stdout or "[]")}


def module_of(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_at_import(path: Path, modules: set[str], root: Path = ROOT) -> set[str]:
    """The labdocs modules that importing ``path`` imports: its statements outside functions
    and outside ``if TYPE_CHECKING:`` (an import inside a function runs when it is called)."""
    found: set[str] = set()
    me = module_of(path, root)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1],
                                     *filter(None, [node.module])])  # fmt: skip
                submodules = {f"{base}.{alias.name}" for alias in node.names} & modules
                found.update(submodules)
                if len(submodules) < len(node.names):  # names of base's own, not submodules
                    found.add(base)
            elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                for block in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(node, block, []):
                        visit(child.body if isinstance(child, ast.ExceptHandler) else [child])

    visit(ast.parse(path.read_text()).body)
    imported = set(found)
    for name in found:  # importing a module runs its packages' __init__ first (not one's own)
        parts = name.split(".")
        imported.update(
            above for above in (".".join(parts[:i]) for i in range(1, len(parts)))
            if not me.startswith(above + ".")
        )  # fmt: skip
    return {name for name in imported if name in modules} - {me}


def circles(root: Path = ROOT) -> list[list[str]]:
    """The import circles between labdocs' modules: each group of modules that import one
    another, round (Tarjan's strongly connected components)."""
    files = {module_of(p, root): p for p in sorted((root / "labdocs").rglob("*.py"))}
    graph = {
        name: sorted(imported_at_import(path, set(files), root)) for name, path in files.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        for other in graph[name]:
            if other not in index:
                connect(other)
                low[name] = min(low[name], low[other])
            elif other in stack:
                low[name] = min(low[name], index[other])
        if low[name] == index[name]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == name:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for name in graph:
        if name not in index:
            connect(name)
    return found


# The lab's facts: read by the docs build, the lint and every script, so the standard
# library only (and each other).
FACTS = {"labdocs/lab.py", "labdocs/page_facts.py"}
FACTS_MAY_IMPORT = {"__future__", "labdocs.lab"}


def beyond_the_standard_library(source: str) -> list[str]:
    """The modules ``source`` imports that are neither the standard library nor the facts."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [
            name
            for name in names
            if name.split(".")[0] not in sys.stdlib_module_names and name not in FACTS_MAY_IMPORT
        ]
    return found


def planted_circle_found() -> bool:
    """A circle planted in a scratch copy of the layout (a service and the plugin importing
    each other, the plugin through its package) is found."""
    with tempfile.TemporaryDirectory() as scratch:
        for name, text in {
            "labdocs/__init__.py": "",
            "labdocs/plugin/__init__.py": "from labdocs.plugin import started\n",
            "labdocs/plugin/started.py": "from labdocs.services.servers import ThrowawayServer\n",
            "labdocs/services/__init__.py": "",
            "labdocs/services/servers.py": "from labdocs.plugin import STARTED\n",
        }.items():
            Path(scratch, name).parent.mkdir(parents=True, exist_ok=True)
            Path(scratch, name).write_text(text)
        return bool(circles(Path(scratch)))


def main() -> int:
    missed = [
        f"{path}: {source.strip()!r} not reported as {rule}"
        for path, source, rule in PLANTED
        if rule not in reported(path, source)
    ]
    missed += [f"an import circle between {', '.join(group)}" for group in circles()]
    for path in sorted(FACTS):
        beyond = beyond_the_standard_library((ROOT / path).read_text())
        missed += [
            f"{path} imports {name}: the facts import the standard library only" for name in beyond
        ]
    if beyond_the_standard_library("import os\nfrom mlflow import MlflowClient\n") != ["mlflow"]:
        missed.append("a planted import of mlflow in the facts was not found")
    if not planted_circle_found():
        missed.append("a planted import circle was not found")
    for line in missed:
        print(f"import rules: {line}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
