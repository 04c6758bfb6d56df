"""The ``compatibility-table`` directive: the table of which MLflow clients work with which
servers, rendered from docs/_data/compatibility.json (written by ``nox -s compatibility``,
tools/compatibility.py). The docs build only reads the file: it runs nothing, needs no MLflow.

A Sphinx extension: ``conf.py`` lists it in ``extensions``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from labdocs.lab import ROOT

DATA = ROOT / "docs" / "_data" / "compatibility.json"

# A server's 404 page, quoted whole in MLflow's error: the table says what it is instead.
HTML_BODY = re.compile(r"Response body: '<!doctype html>.*", re.IGNORECASE)
# An error's first characters say what failed; the table lists every problem, not its trace.
ERROR_LIMIT = 40
DOTTED = re.compile(r"^(?:[a-z_]+\.)+(?=\w)")


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def cell_text(cell: dict) -> str:
    if cell.get("error"):
        return "the run failed (see below)"
    total = cell["passed"] + cell["warned"] + cell["failed"]
    passed = cell["passed"] + cell["warned"]
    text = f"all {total} pass" if cell["failed"] == 0 else f"{passed} of {total} pass"
    if cell["warned"]:
        text += f", {cell['warned']} with an MLflow warning"
    return text + (" (see below)" if cell["failed"] or cell["warned"] else "")


def labelled(entry: dict) -> str:
    roles = ", ".join(entry["roles"])
    return f"{entry['version']} ({roles})" if roles else entry["version"]


def one_line(text: str, limit: int = 400) -> str:
    """One line, short enough to read, safe inside an inline literal."""
    text = " ".join(text.split()).replace("``", "` `")
    text = HTML_BODY.sub("Response body: (the server's HTML page Not Found)", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def rst_lines(data: dict) -> list[str]:
    """The table (servers down, clients across), then each failing cell's errors."""
    clients, servers = data["clients"], data["servers"]
    cells = {(c["server"], c["client"]): c for c in data["cells"]}
    lines = [
        f"Measured on {data['measured']} (Python {data['python']}) with the pages "
        f"{', '.join(f':doc:`/{p}`' for p in data['pages'])}: the examples that passed, by "
        "client (columns) and server (rows); below, each problem's section, its *client* on "
        "*server*, and its line then.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "   :stub-columns: 1",
        "",
        "   * - server \\\\ client",
        *(f"     - {labelled(client)}" for client in clients),
    ]
    for server in servers:
        lines.append(f"   * - {labelled(server)}")
        for client in clients:
            cell = cells.get((server["version"], client["version"]))
            lines.append(f"     - {cell_text(cell) if cell else 'not measured'}")
    return [*lines, "", *problem_lines(data)]


def problem_lines(data: dict) -> list[str]:
    """The failing or warning examples, each once, grouped by section and by the pairs of
    versions they showed in; a check's error follows from its example's, and is left out."""
    pairs: dict[tuple, dict[str, list[str]]] = {}
    for cell in data["cells"]:
        if cell.get("error"):
            key: tuple = ("run", one_line(cell["error"]))
            pairs.setdefault(key, {}).setdefault(cell["client"], []).append(cell["server"])
        for result in cell["results"]:
            if result["outcome"] in ("failed", "warned"):
                key = (result["page"], result["operation"], result["line"], result["kind"])
                key += (result["outcome"], short(result["error"]))
                pairs.setdefault(key, {}).setdefault(cell["client"], []).append(cell["server"])
    sections: dict[tuple[str, str, str], list[str]] = {}
    for key, servers_of in pairs.items():
        clients_of: dict[tuple[str, ...], list[str]] = {}
        for client, servers in servers_of.items():
            clients_of.setdefault(tuple(servers), []).append(client)
        where = "; ".join(
            f"{' and '.join(clients)} on {' and '.join(servers)}"
            for servers, clients in clients_of.items()
        )
        if key[0] == "run":
            sections[("", "the run", where)] = [f"failed: ``{key[1]}``"]
            continue
        page, operation, line, kind, outcome, error = key
        if kind == "example":
            what = f"line {line}, the example " + ("fails" if outcome == "failed" else "warns")
            what += f": ``{error}``"
        else:
            what = f"line {line}, the check " + ("fails" if outcome == "failed" else "warns")
        sections.setdefault((page, operation, where), []).append(what)
    return [
        f"- *{operation}* ({where}): {'; '.join(problems)}"
        for (_, operation, where), problems in sections.items()
    ]


def short(error: str) -> str:
    """An error's start, without the modules' dotted path: what failed, not the trace."""
    text = one_line(DOTTED.sub("", error))
    return text if len(text) <= ERROR_LIMIT else text[:ERROR_LIMIT].rsplit(" ", 1)[0] + " ..."


def table_directive(path: Path) -> type:
    """The directive, reading ``path``. (Sphinx is imported here only: the tests read the
    data with rst_lines, without Sphinx.)"""
    from docutils import nodes
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective

    class CompatibilityTable(SphinxDirective):
        """``.. compatibility-table::``: the table, from the committed results."""

        def run(self):
            self.env.note_dependency(str(path))  # new results rebuild the page
            container = nodes.container()
            self.state.nested_parse(StringList(rst_lines(load(path)), str(path)), 0, container)
            return container.children

    return CompatibilityTable


def setup(app) -> dict:
    app.add_directive("compatibility-table", table_directive(DATA))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
