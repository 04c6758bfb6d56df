"""Pages and test files that passed, remembered until something they depend on changes.

A file (a page of docs/, with its lab members' runs; or a test module) whose every test
passed last time is not run again while its key is the same: it is not collected (not
parsed, not imported), and the summary counts its examples, as last collected, as passed
from cache. Its key is a hash of

- the file itself (a page: its examples and hidden checks are its text);
- the files it names: a page's ``literalinclude`` files, and any file of the repository
  whose path (or name, or name without suffix) a page or test module spells out as a
  word or string (its code's: docstrings are prose); a test module that lists files
  depends on the folders it lists (``pages()`` and labdocs' page lists: the pages),
  and on every file where it runs ``git ls-files`` or a listing cannot be followed;
- what every test runs with: labdocs/, the tests' helpers (tests/lib/), conftest.py,
  pyproject.toml, the locks (requirements/), tools/ for test modules; the Python version and
  every installed distribution; the throwaway server's MLflow (its environment's
  distributions); the DOCS_* variables; Chromium's file.

Kept in pytest's own cache (``.pytest_cache``, never committed), one entry per set of
DOCS_* settings (``doctest`` and ``doctest-other-state`` keep theirs side by side): a file
is kept only when all its tests ran and passed, or were skipped by the page's own ``skip:``
lines (a failure, any other skip, an error, a run that stopped or was interrupted keep
nothing) in a run that selected whole files (no ``-k``,
``-m``, ``::``, ``--lf``). ``--all``, or ``CI=true`` (a clean clone has no cache anyway),
runs everything.

When nothing needs the servers no server starts (plugin.py asks ``servers_needed`` at
configure time, cheaply, from the command line and the cache); when at most one file is
left to run, it runs in one process, as a page named on the command line does.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

import pytest

from labdocs.lab import ROOT as SITE
from labdocs.plugin import summary
from labdocs.plugin.started import STARTED

CACHE_ENTRY = "labdocs/passed"  # {file relative to the root: its key when all passed}
# Options that select part of a file: a file run so is not known to pass whole.
SELECTING = ("keyword", "markexpr", "deselect", "lf", "stepwise", "stepwise_skip")
# Names that hold every page (pages(), labdocs' page lists), and the repository's folders
# that the test modules import by name (labdocs.pages): a test proves these stay true.
PAGE_LISTS = {"MEMBER_PAGES", "AUTH_PAGES", "NOT_PAGES"}
KNOWN_FOLDERS = {
    "ROOT": "", "SITE": "", "DOCS": "docs", "EXAMPLES": "examples", "DEPLOY": "examples/deploy",
}  # fmt: skip
LISTING_METHODS = {"glob", "rglob", "iterdir"}
LISTING_FUNCTIONS = {"walk", "listdir", "scandir"}
TEST_IMPORT = re.compile(r"^\s*(?:from|import)\s+tests\.(\w+)", re.MULTILINE)
WORD = re.compile(r"[A-Za-z0-9_./-]*[A-Za-z][A-Za-z0-9_./-]*")
# Variables a run sets for its own processes, not settings of what runs.
PER_RUN = {"DOCS_SYSTEM_TMPDIR", "DOCS_SLURM_CLUSTER", "DOCS_RECORD_LOOKUPS"}
COMMON = ("labdocs", "tests/lib", "conftest.py", "pyproject.toml", "requirements")
FOR_TESTS = ("tools", "tests/__init__.py")  # what test modules import besides labdocs
PAGE_SUFFIXES = (".rst", ".md")
# Directories pytest does not enter (its norecursedirs) and the pages' own non-pages.
NOT_COLLECTED = {".git", ".nox", "build", "node_modules", "__pycache__", ".pytest_cache"}
NOT_PAGES = ["_build/*", "_inventories/*", "_static/*", "_templates/*"]


def file_of(nodeid: str) -> str:
    """The file a node id belongs to: a member's run of a page is the page's."""
    return nodeid.split("::", 1)[0].split("[as ", 1)[0]


class Keys:
    """The key of each file of the repository at ``root``, each file read once."""

    def __init__(self, root: Path, environment: str) -> None:
        self.root = root
        self.environment = environment
        self._files: list[str] | None = None
        self._hashes: dict[str, str] = {}
        self._keys: dict[str, str] = {}
        self._by: dict[str, dict[str, set[str]]] | None = None

    def files(self) -> list[str]:
        """Every file of the repository, relative: git's, with untracked files not ignored."""
        if self._files is None:
            try:
                listed = subprocess.run(
                    ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                    cwd=self.root, capture_output=True, text=True, check=True, timeout=60,
                ).stdout  # fmt: skip
                found = [name for name in listed.split("\0") if name]
            except (OSError, subprocess.SubprocessError):  # not a git checkout
                found = [
                    str(p.relative_to(self.root))
                    for p in self.root.rglob("*")
                    if p.is_file() and not NOT_COLLECTED & set(p.relative_to(self.root).parts)
                ]
            self._files = sorted(f for f in found if (self.root / f).is_file())
        return self._files

    def hash(self, name: str) -> str:
        if name not in self._hashes:
            path = self.root / name
            content = path.read_bytes() if path.is_file() else b"(absent)"
            self._hashes[name] = hashlib.sha256(content).hexdigest()
        return self._hashes[name]

    def under(self, *tops: str) -> list[str]:
        return [f for f in self.files() if any(f == t or f.startswith(t + "/") for t in tops)]

    def _index(self) -> dict[str, dict[str, set[str]]]:
        """Each file under the words that name it: its path's tails ("mlflow/logging.rst",
        "logging.rst"), its name without suffix, and the folders above it."""
        if self._by is None:
            self._by = {"tail": {}, "stem": {}, "folder": {}}
            for name in self.files():
                parts = name.split("/")
                for i in range(len(parts)):
                    self._by["tail"].setdefault("/".join(parts[i:]), set()).add(name)
                for i in range(1, len(parts)):
                    for j in range(i):
                        self._by["folder"].setdefault("/".join(parts[j:i]), set()).add(name)
                self._by["stem"].setdefault(parts[-1].rsplit(".", 1)[0], set()).add(name)
        return self._by

    def named_in(self, words: set[str], stems: bool) -> set[str]:
        """The repository's files that ``words`` name: by path or a path's tail (in a page,
        only a word with a dot or slash: "logging.rst", not "logging"), by a folder's path
        with a slash ("examples/deploy/"), or (``stems``: a test module's strings) by name
        without suffix ("quick-start")."""
        by = self._index()
        named: set[str] = set()
        for word in words:
            while word.startswith(("../", "./")):
                word = word.split("/", 1)[1]
            word = word.strip("/")
            if not word:
                continue
            if stems or "." in word or "/" in word:  # a page's plain words are prose
                named |= by["tail"].get(word, set())
            if "/" in word:
                named |= by["folder"].get(word, set())
            if stems and len(word) > 3:
                named |= by["stem"].get(word, set())
        return named

    def of(self, name: str) -> str:
        """The key of a page or test module (relative to the root)."""
        if not (self.root / name).is_file():
            return ""  # not a file of the repository: never kept
        if name not in self._keys:
            text = (self.root / name).read_text(errors="replace")
            depends = set(self.under(*COMMON)) | {name}
            if name.endswith(PAGE_SUFFIXES):
                depends |= set(self._included(name))
                depends |= self.named_in(set(WORD.findall(text)), stems=False)
            else:
                depends |= set(self.under(*FOR_TESTS))
                depends |= {f"tests/{m}.py" for m in TEST_IMPORT.findall(text)}
                words, names, folders = _module_reads(text)
                depends |= self.named_in(words, stems=False) | self.named_in(names, stems=True)
                if folders is None:
                    depends |= set(self.files())
                else:
                    depends |= set(self.under(*folders)) if "" not in folders else set(self.files())
            digest = hashlib.sha256(self.environment.encode())
            for dependency in sorted(depends):
                digest.update(f"\0{dependency}\0{self.hash(dependency)}".encode())
            self._keys[name] = digest.hexdigest()
        return self._keys[name]

    def _included(self, page: str) -> list[str]:
        from labdocs.pages import included_files  # imports Sybil: only when a page is keyed

        try:
            found = included_files(self.root / page)
        except Exception:  # a broken directive fails the page's own run, not the key
            return []
        return [str(p.resolve().relative_to(self.root.resolve())) for p in found if p.exists()]


def _module_reads(source: str) -> tuple[set[str], set[str], set[str] | None]:
    """What a test module reads of the repository, from its code (docstrings and comments
    are prose): the words of its string literals, where it names files by path; the strings
    that are one word, which may name a page without its suffix ("quick-start"); and the
    folders it lists, ``None`` for every file (``git ls-files``, or a listing that cannot be
    followed)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        words = set(WORD.findall(source))
        return words, words, None  # unreadable: every word, every file
    prose = _docstrings(tree)
    words: set[str] = set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            if node.value.strip() == "ls-files" or "git ls-files" in node.value:
                return words, names, None  # git's list of every file: an argument, a command
            words |= set(WORD.findall(node.value))
            if WORD.fullmatch(node.value.strip()):
                names.add(node.value.strip())
    assigned: dict[str, list[ast.expr]] = {}  # every name's values, wherever assigned
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
    folders: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in PAGE_LISTS:
            folders.add("docs")  # the pages, all of them
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id == "pages":
            folders.add("docs")
        listed = _listed(node)
        if listed is None:
            continue
        folder = _folder(listed, assigned)
        if folder is _NOT_THE_REPOSITORY:
            continue
        if folder is None:
            return words, names, None
        folders.add(folder)
    return words, names, folders


_NOT_THE_REPOSITORY = object()


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            found.add(id(first.value))  # a module's, class's or function's docstring
    return found


def _listed(call: ast.Call) -> ast.expr | None:
    """The folder a call lists: ``<folder>.glob(...)``, ``os.walk(<folder>)``; else None."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in LISTING_METHODS:
        return func.value
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name in LISTING_FUNCTIONS and call.args:
        return call.args[0]
    return None


def _folder(expr: ast.expr, assigned: dict[str, list[ast.expr]]):
    """The repository folder an expression spells (``ROOT / "docs" / "guides"``:
    "docs/guides"), ``_NOT_THE_REPOSITORY`` when it starts from none of the repository's
    names (a test's tmp_path, /proc), or None when it cannot be followed (every file)."""
    parts = _parts(expr, assigned, depth=0)
    if parts is None:
        return None
    if _ROOT not in parts:
        return _NOT_THE_REPOSITORY
    if parts[0] is not _ROOT or _ROOT in parts[1:]:
        return None
    return "/".join(parts[1:])


_ROOT = object()


def _parts(expr: ast.expr, assigned: dict[str, list[ast.expr]], depth: int) -> list | None:
    """The pieces of a path expression, in order: ``_ROOT`` for the repository's root,
    strings for the folders below it; None for what cannot be followed."""
    if depth > 8:
        return None
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [part for part in expr.value.split("/") if part not in ("", ".")]
    if isinstance(expr, ast.Name):
        if expr.id in KNOWN_FOLDERS:
            return [_ROOT, *filter(None, KNOWN_FOLDERS[expr.id].split("/"))]
        if expr.id not in assigned:  # a parameter, a fixture, a loop's name; or an import
            return None if expr.id.isupper() else []
        found = [_parts(value, assigned, depth + 1) for value in assigned[expr.id]]
        if any(parts is None for parts in found):
            return None
        in_repository = {tuple(map(id, parts)) for parts in found if _ROOT in parts}
        if len(in_repository) > 1:
            return None  # a name given several folders: every file
        return next((parts for parts in found if _ROOT in parts), found[0] if found else [])
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
        left = _parts(expr.left, assigned, depth + 1)
        right = _parts(expr.right, assigned, depth + 1)
        return None if left is None or right is None else left + right
    if isinstance(expr, ast.Subscript):
        return _parts(expr.value, assigned, depth + 1)
    if isinstance(expr, ast.Attribute):
        if expr.attr in {"parent", "parents"}:
            if "__file__" in ast.unparse(expr):  # Path(__file__).parents[1]: the root
                return [_ROOT]
            inner = _parts(expr.value, assigned, depth + 1)
            return None if inner is None or _ROOT in inner else inner  # above a folder: unknown
        if isinstance(expr.value, ast.Name) and expr.value.id not in KNOWN_FOLDERS:
            return []  # an object's field: self.tmp, deployment.folder
        return None
    if isinstance(expr, ast.Call):
        func = expr.func
        if isinstance(func, ast.Attribute) and func.attr in {"resolve", "absolute"}:
            return _parts(func.value, assigned, depth + 1)
        if getattr(func, "id", "") == "Path" and len(expr.args) == 1:
            arg = expr.args[0]
            text = ast.unparse(arg)
            if isinstance(arg, (ast.Constant, ast.JoinedStr)) and text.lstrip("f\"'").startswith(
                "/"
            ):
                return []  # an absolute path: /proc, not the repository
            return _parts(arg, assigned, depth + 1)
    mentions = any(
        isinstance(node, ast.Name) and (node.id in KNOWN_FOLDERS or node.id.isupper())
        for node in ast.walk(expr)
    )
    return None if mentions or "__file__" in ast.unparse(expr) else []


def settings() -> list[str]:
    """The DOCS_* variables a run is made with (the server's state, its MLflow, ...)."""
    return sorted(
        f"{k}={v}" for k, v in os.environ.items() if k.startswith("DOCS_") and k not in PER_RUN
    )


def cache_entry() -> str:
    """Where the files that passed are kept: one entry per set of settings, so that runs
    made with other ones (doctest and doctest-other-state) do not forget each other's."""
    digest = hashlib.sha256("\n".join(settings()).encode()).hexdigest()[:16]
    return f"{CACHE_ENTRY}-{digest}"


def environment() -> str:
    """What every test runs with, beyond the repository's files."""
    lines = [f"python {sys.version}", f"executable {sys.executable}"]
    lines += sorted(
        f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions()
    )
    lines += settings()
    server = os.environ.get("DOCS_MLFLOW_SERVER_BIN")
    if server:  # the throwaway server's MLflow and what it runs on
        for packages in Path(server).resolve().parent.parent.glob("lib/python*/site-packages"):
            found = importlib.metadata.distributions(path=[str(packages)])
            lines += sorted(f"server {d.metadata['Name']}=={d.version}" for d in found)
    from labdocs.browser.chromium import NoBrowser, find_chromium

    try:
        chromium = Path(find_chromium()).resolve()
        lines.append(f"chromium {chromium} {chromium.stat().st_size} {chromium.stat().st_mtime}")
    except (NoBrowser, OSError):
        lines.append("no chromium")  # the pages that need it fail: they are not kept
    return "\n".join(lines)


@dataclass
class State:
    keys: Keys
    passed: dict[str, dict]  # the cache's entries, as read: {file: {key, examples}}
    run_all: bool
    keep: bool  # whether this run may keep what passed
    files_from_cache: set[str] = field(default_factory=set)
    collected: dict[str, set[str]] = field(default_factory=dict)  # file: its node ids that ran
    outcomes: dict[str, set[str]] = field(default_factory=dict)  # file: node ids passed
    spoiled: set[str] = field(default_factory=set)  # files with a failure, skip or error
    skipped: dict[str, set[str]] = field(default_factory=dict)  # file: ids its own text skips

    def fresh(self, name: str) -> bool:
        if self.run_all or name not in self.passed:
            return False
        key = self.keys.of(name)
        return bool(key) and self.passed[name].get("key") == key

    def from_cache(self) -> list[summary.Example]:
        """The examples of the files that passed from cache, as they were last collected."""
        return [
            (nodeid, kind, str(self.keys.root / name))
            for name in sorted(self.files_from_cache)
            for nodeid, kind in self.passed.get(name, {}).get("examples", [])
        ]

    def skipped_from_cache(self) -> set[str]:
        """The examples of those files that their page's own ``skip:`` lines skip."""
        return {
            nodeid
            for name in self.files_from_cache
            for nodeid in self.passed.get(name, {}).get("skipped", [])
        }


STATE = pytest.StashKey[State]()


def add_option(parser: pytest.Parser) -> None:
    parser.addoption(
        "--all", action="store_true", dest="run_all",
        help="run every page and test, also those that passed with nothing changed since",
    )  # fmt: skip


def _state(config: pytest.Config) -> State:
    if STATE not in config.stash:
        cache = _cache(config)
        run_all = (
            config.getoption("run_all", False)
            or os.environ.get("CI") == "true"
            or os.environ.get("DOCS_SCREENSHOTS") == "write"  # it writes the pictures anew
            or cache is None
        )
        selecting = any(config.getoption(o, None) for o in SELECTING) or any(
            "::" in str(a) for a in config.args
        )
        config.stash[STATE] = State(
            keys=Keys(config.rootpath, "" if run_all else environment()),
            passed=_entries(cache),
            run_all=run_all,
            keep=cache is not None and not selecting,
        )
    return config.stash[STATE]


def _entries(cache: pytest.Cache | None) -> dict[str, dict]:
    found = {} if cache is None else cache.get(cache_entry(), {})
    if not isinstance(found, dict):
        return {}
    return {name: entry for name, entry in found.items() if isinstance(entry, dict)}


def _cache(config: pytest.Config) -> pytest.Cache | None:
    """pytest's cache; at configure time plugin.py may ask before the cache provider has
    set ``config.cache``: the same folder, opened as it will open it."""
    if not config.pluginmanager.has_plugin("cacheprovider"):
        return None  # -p no:cacheprovider: nothing is kept, everything runs
    cache = getattr(config, "cache", None)
    return cache if cache is not None else pytest.Cache.for_config(config, _ispytest=True)


def servers_needed(config: pytest.Config) -> bool:
    """At configure time: whether the files the command line names leave anything to run
    that uses a server (then plugin.py starts it at once, to boot while pytest collects;
    otherwise it starts when a test first asks). With at most one file to run, a parallel
    session becomes one process: no worker boots servers for nothing."""
    state = _state(config)
    if state.run_all or any("::" in str(a) for a in config.args):
        return True
    named = _named_files(config)
    if named is None:
        return True
    to_run = [name for name in named if not state.fresh(name)]
    # Only the site's own files are known here: a test's own site runs as its command says.
    at_most_one = len(to_run) <= 1 and config.rootpath.resolve() == SITE
    if at_most_one and getattr(config.option, "dist", "no") != "no":
        config.option.dist, config.option.numprocesses = "no", None
    return any(
        name.endswith(PAGE_SUFFIXES) or "mlflow_server" in (config.rootpath / name).read_text()
        for name in to_run
    )


def _named_files(config: pytest.Config) -> list[str] | None:
    """The pages and test modules the command line names, as pytest will collect them;
    None where unsure (then nothing is assumed)."""
    root = config.rootpath.resolve()
    ignored = [Path(p).resolve() for p in config.getoption("ignore") or []]
    found: set[str] = set()
    for arg in config.args:
        path = Path(config.invocation_params.dir, str(arg)).resolve()
        if not path.exists() or not path.is_relative_to(root):
            return None
        candidates = [path] if path.is_file() else path.rglob("*")
        for candidate in candidates:
            relative = candidate.relative_to(root)
            if NOT_COLLECTED & set(relative.parts) or not candidate.is_file():
                continue
            if any(candidate == i or candidate.is_relative_to(i) for i in ignored):
                continue
            if _collected(relative):
                found.add(str(relative))
    return sorted(found)


def _collected(relative: Path) -> bool:
    if relative.suffix in PAGE_SUFFIXES:
        inside = relative.parts[0] == "docs" and len(relative.parts) > 1
        return inside and not any(fnmatch(str(Path(*relative.parts[1:])), x) for x in NOT_PAGES)
    return relative.suffix == ".py" and relative.name.startswith("test_")


def ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """A file that passed, with nothing it depends on changed since, is not collected: not
    parsed, not imported (its examples are counted from the cache)."""
    state = _state(config)
    if state.run_all or not state.passed or not collection_path.is_file():
        return None
    name = _selected(config, collection_path)
    if name is None or not state.fresh(name):
        return None
    state.files_from_cache.add(name)
    return True


def _selected(config: pytest.Config, path: Path) -> str | None:
    """``path`` relative to the root, if the command line selects it (pytest asks about
    the files beside a file it was given, too)."""
    path = path.resolve()
    for arg in config.args:
        given = Path(config.invocation_params.dir, str(arg).split("::")[0]).resolve()
        if path == given or path.is_relative_to(given):
            try:
                return str(path.relative_to(config.rootpath.resolve()))
            except ValueError:
                return None
    return None


def deselect_passed(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A file named on the command line is collected whatever pytest_ignore_collect says:
    its tests are deselected instead when it passed before."""
    state = _state(config)
    if state.run_all or not state.passed:
        return
    kept, cached = [], []
    for item in items:
        (cached if state.fresh(file_of(item.nodeid)) else kept).append(item)
    if cached:
        items[:] = kept
        config.hook.pytest_deselected(items=cached)
        state.files_from_cache |= {file_of(item.nodeid) for item in cached}


def collected(config: pytest.Config, ids: list[str]) -> None:
    """What this run collected (a worker's ids, in the controller), keyed as the run starts."""
    state = _state(config)
    for nodeid in ids:
        name = file_of(nodeid)
        state.keys.of(name)  # keyed now, as the run starts: an edit during the run counts
        state.collected.setdefault(name, set()).add(nodeid)


def configure(config: pytest.Config) -> None:
    _state(config)  # the environment is read now, before the session moves HOME
    config.pluginmanager.register(_Reports(config), "labdocs-page-cache-reports")


@dataclass
class _Reports:
    """Each test's reports, by file (a plugin object: the hook's report has no config)."""

    config: pytest.Config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        state = _state(self.config)
        name = file_of(report.nodeid)
        if report.skipped and _skipped_by_its_page(state.keys.root / name, report):
            state.skipped.setdefault(name, set()).add(report.nodeid)
            state.outcomes.setdefault(name, set()).add(report.nodeid)
        elif report.failed or report.skipped:
            state.spoiled.add(name)
        elif report.when == "call":
            state.outcomes.setdefault(name, set()).add(report.nodeid)


def _skipped_by_its_page(path: Path, report: pytest.TestReport) -> bool:
    """Whether a page's own ``skip:`` line skipped the example: its text decides, and the
    text is in the key, so the skip is kept as the page's outcome. Any other skip (a tool
    missing, a condition of the machine) keeps the file out of the cache."""
    if not path.name.endswith(PAGE_SUFFIXES) or not isinstance(report.longrepr, tuple):
        return False
    reason = str(report.longrepr[-1]).removeprefix("Skipped: ")
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return False
    return bool(reason) and any("skip:" in line and f'"{reason}"' in line for line in lines)


def session_finished(session: pytest.Session, exitstatus) -> None:
    """Keep what passed (before xdist sends a worker's output: plugin.py calls it first)."""
    config = session.config
    state = _state(config)
    if hasattr(config, "workerinput"):  # the controller keeps; a worker says what it skipped
        config.workeroutput["files_from_cache"] = sorted(state.files_from_cache)
        return
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and state.files_from_cache:
        session.exitstatus = pytest.ExitCode.OK  # everything passed before
    stopped = session.shouldstop or session.shouldfail or exitstatus == pytest.ExitCode.INTERRUPTED
    if not state.keep or stopped or config.option.collectonly:  # --co runs nothing
        return
    examples: dict[str, list[list[str]]] = {}
    for nodeid, kind, _ in _examples(config):
        examples.setdefault(file_of(nodeid), []).append([nodeid, kind])
    entries = dict(state.passed)
    for name, ids in state.collected.items():
        key = state.keys.of(name)
        if key and name not in state.spoiled and ids <= state.outcomes.get(name, set()):
            entries[name] = {
                "key": key,
                "examples": examples.get(name, []),
                "skipped": sorted(state.skipped.get(name, ())),
            }
        else:
            entries.pop(name, None)
    _cache(config).set(cache_entry(), entries)


def _examples(config: pytest.Config) -> list[summary.Example]:
    """The examples this run collected, as the summary counts them (plugin.py)."""
    started = config.stash.get(STARTED, None)
    return started.examples if started is not None else []


def worker_down(node) -> None:
    """A worker ended: what it left to the cache (every worker leaves the same)."""
    output = getattr(node, "workeroutput", {})
    _state(node.config).files_from_cache |= set(output.get("files_from_cache", []))


def from_cache(
    config: pytest.Config,
) -> tuple[list[summary.Example], list[str], set[str]]:
    """The examples not run because their page passed before, the files (pages and test
    modules) so passed, and those examples that their page's own text skips: for the
    summary."""
    state = config.stash.get(STATE, None)
    if state is None:
        return [], [], set()
    return state.from_cache(), sorted(state.files_from_cache), state.skipped_from_cache()
