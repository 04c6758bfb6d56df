"""tools/linkcheck_report.py: offline is said as such; a dead link is named at its line."""

import json

from tools.linkcheck_report import main

OFFLINE = (
    "HTTPSConnectionPool(host='mlflow.org', port=443): Max retries exceeded (Caused by "
    "NameResolutionError(\"Failed to resolve 'mlflow.org'\"))"
)


def write(tmp_path, *results):
    output = tmp_path / "output.json"
    output.write_text("\n".join(json.dumps(r) for r in results))
    return output


def result(status, info="", uri="https://mlflow.org/x", filename="index.md", lineno=3):
    return {"status": status, "info": info, "uri": uri, "filename": filename, "lineno": lineno}


def test_offline_is_said_as_such(tmp_path, capsys):
    output = write(
        tmp_path, result("broken", OFFLINE), result("broken", OFFLINE), result("ignored")
    )
    assert main(output) == 1
    said = capsys.readouterr().out
    assert said.startswith("linkcheck could not reach the network: none of the 2 external links")


def test_a_dead_link_is_named_at_its_line(tmp_path, capsys):
    output = write(
        tmp_path, result("working"), result("broken", "404 Client Error: Not Found", lineno=7)
    )
    assert main(output) == 1
    said = capsys.readouterr().out
    assert "docs/index.md:7: broken https://mlflow.org/x: 404 Client Error" in said
    assert "could not reach the network" not in said


def test_all_working_passes(tmp_path):
    assert main(write(tmp_path, result("working"), result("redirected"))) == 0
