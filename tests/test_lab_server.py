"""labdocs/member_server/: the authenticated server of the member runs (labdocs/auth.py).

The member runs of the plain pages sign in to it (labdocs/members.py). It stands in for
the lab's deployment there, so this checks only that it runs its script. What a server
with sign-in refuses, as the pages say, is tested on the deployment itself
(tests/test_deployment.py), as is every page about signing in.
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
from pathlib import Path

from labdocs.auth import LAB_SERVER_SCRIPT, AuthServer, signed_in
from labdocs.servers import lab_script_command

# -- the script is what runs ----------------------------------------------------------


def test_the_auth_server_runs_that_script(auth_server: AuthServer, tmp_path: Path):
    """The running server's command line is the script's, with only the test's values."""
    running = Path(f"/proc/{_mlflow_pid(auth_server)}/cmdline").read_bytes().split(b"\0")[:-1]
    running = [arg.decode() for arg in running]
    # What the script runs, with the same values: a stand-in `mlflow` writes its arguments.
    stand_in = tmp_path / "mlflow"
    stand_in.write_text(f"#!/bin/sh\nprintf '%s\\0' \"$@\" > {tmp_path / 'args'}\n")
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IXUSR)
    command, env = lab_script_command(LAB_SERVER_SCRIPT, str(stand_in))(
        auth_server.server.folder, auth_server.server.port
    )
    env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = secrets.token_hex(8)
    subprocess.run(command, env={**os.environ, **env}, check=True, timeout=30)
    expected = (tmp_path / "args").read_bytes().split(b"\0")[:-1]
    expected = [arg.decode() for arg in expected]

    assert expected[:3] == ["server", "--app-name", "basic-auth"]
    mlflow_at = next(i for i, arg in enumerate(running) if Path(arg).name == "mlflow")
    assert running[mlflow_at + 1 :] == expected
    environ = Path(f"/proc/{_mlflow_pid(auth_server)}/environ").read_bytes().split(b"\0")
    assert f"MLFLOW_AUTH_CONFIG_PATH={auth_server.server.folder}/basic_auth.ini".encode() in environ
    # Everything the server keeps is in its data folder.
    kept = {path.name for path in Path(auth_server.server.folder).iterdir()}
    assert {"mlflow.db", "basic_auth.db", "basic_auth.ini"} <= kept


def _mlflow_pid(auth_server: AuthServer) -> int:
    """The script's process (bash exec's mlflow), the child of the server's watchdog."""
    watchdog = auth_server.server.process.pid
    children = Path(f"/proc/{watchdog}/task/{watchdog}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


# -- the tests' own helpers --------------------------------------------------------------


def test_signed_in_undoes_what_its_block_sets():
    assert "MLFLOW_TRACKING_USERNAME" not in os.environ
    with signed_in(None):
        os.environ["MLFLOW_TRACKING_USERNAME"] = "someone"
    assert "MLFLOW_TRACKING_USERNAME" not in os.environ
