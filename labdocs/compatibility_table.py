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
        f"Measured on {data['measured']} (Python {data['python']}), by running the pages "
        f"{', '.join(f':doc:`/{p}`' for p in data['pages'])} with each client against each "
        "server.",
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
    noted = [c for c in data["cells"] if c.get("error") or c["failed"] or c["warned"]]
    for cell in noted:
        lines += ["", f"Server {cell['server']}, client {cell['client']}:", ""]
        if cell.get("error"):
            lines.append(f"- the run failed: ``{one_line(cell['error'])}``")
        for result in cell["results"]:
            if result["outcome"] in ("failed", "warned"):
                what = "the example" if result["kind"] == "example" else "the page's check"
                how = "fails" if result["outcome"] == "failed" else "works, with a warning"
                where = f"{result['page'].removeprefix('docs/')}, line {result['line']}"
                lines.append(
                    f"- *{result['operation']}* ({where}): {what} {how}: "
                    f"``{one_line(result['error'])}``"
                )
    lines += ["", "Not run for this table:", ""]
    lines += [
        f"- :doc:`/{page.removeprefix('docs/').removesuffix('.rst').removesuffix('.md')}`: {why}"
        for page, why in data["not_run"].items()
    ]
    return lines


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
