"""labdocs/member_server/: the authenticated server of the member runs (labdocs/auth.py),
and that it refuses what the pages say a server with sign-in refuses.

The member runs sign in to it (labdocs/members.py); these tests cover what a page cannot
show in its flow: several users at once, a reader's credentials file, and the server's own
refusals. (The lab's setup, examples/deploy/, is tested by tests/test_deployment.py.)
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import stat
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException

from labdocs.auth import (
    LAB_AUTH_CONFIG,
    LAB_SERVER_SCRIPT,
    AuthServer,
    Credentials,
    new_password,
    signed_in,
)
from labdocs.lab import LAB_HOST, LAB_TRACKING_URI
from labdocs.pages import DOCS
from labdocs.server_versions import ServerError, find_mlflow
from labdocs.servers import ThrowawayServer, lab_script_command

ADMIN_PAGE = DOCS / "admin" / "tracking-server.md"
SIGNING_IN_PAGE = DOCS / "guides" / "mlflow" / "signing-in.md"
NOT_AUTHENTICATED = (
    "failed with error code 401 != 200. Response body: 'You are not authenticated. Please see "
    "https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to "
    "authenticate.'"
)
PERMISSION_DENIED = "failed with error code 403 != 200. Response body: 'Permission denied'"


def _auth_client(server: AuthServer):
    from mlflow.server.auth.client import AuthServiceClient

    return AuthServiceClient(server.url)


# -- the command the admin page shows is the command the tests start ------------------


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
    # Everything the server keeps is in its data folder, as the admin page says.
    kept = {path.name for path in Path(auth_server.server.folder).iterdir()}
    assert {"mlflow.db", "basic_auth.db", "basic_auth.ini"} <= kept


def _mlflow_pid(auth_server: AuthServer) -> int:
    """The script's process (bash exec's mlflow), the child of the server's watchdog."""
    watchdog = auth_server.server.process.pid
    children = Path(f"/proc/{watchdog}/task/{watchdog}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


# -- signing in ---------------------------------------------------------------------


@pytest.mark.parametrize("who", ["nobody", "wrong password", "unknown user"])
def test_without_valid_credentials_every_request_is_refused(auth_server: AuthServer, who):
    credentials = {
        "nobody": None,
        "wrong password": Credentials(auth_server.member.username, new_password()),
        "unknown user": Credentials("no-such-user", new_password()),
    }[who]
    with signed_in(credentials), pytest.raises(MlflowException) as raised:
        MlflowClient(auth_server.url).search_experiments(max_results=1)
    assert str(raised.value) == (
        f"API request to endpoint /api/2.0/mlflow/experiments/search {NOT_AUTHENTICATED}"
    )
    assert raised.value.error_code == "UNAUTHENTICATED"


def test_with_credentials_the_run_is_logged(auth_server: AuthServer):
    with signed_in(auth_server.member):
        client = MlflowClient(auth_server.url)
        experiment_id = client.create_experiment("test-auth-member")
        run = client.create_run(experiment_id)
        client.log_metric(run.info.run_id, "loss", 0.25)
        client.set_terminated(run.info.run_id)
    with signed_in(auth_server.admin):
        logged = MlflowClient(auth_server.url).get_run(run.info.run_id)
    assert logged.info.status == "FINISHED"
    assert logged.data.metrics == {"loss": 0.25}


def test_a_reader_cannot_log_to_another_users_experiment(auth_server: AuthServer):
    owner = auth_server.create_user("test-owner")
    reader = auth_server.create_user("test-reader")
    with signed_in(owner):
        client = MlflowClient(auth_server.url)
        experiment_id = client.create_experiment("test-auth-owned")
        run = client.create_run(experiment_id)
        _auth_client(auth_server).grant_user_permission(
            reader.username, "experiment", experiment_id, "READ"
        )
    with signed_in(reader):
        client = MlflowClient(auth_server.url)
        assert client.get_run(run.info.run_id).info.experiment_id == experiment_id  # may read
        with pytest.raises(MlflowException) as raised:
            client.log_metric(run.info.run_id, "loss", 1.0)
        assert str(raised.value).endswith(f"/api/2.0/mlflow/runs/log-metric {PERMISSION_DENIED}")
        assert raised.value.error_code == "PERMISSION_DENIED"
        with pytest.raises(MlflowException, match=re.escape(PERMISSION_DENIED)):
            client.create_run(experiment_id)
    # As the admin page says: to change a permission, revoke it and grant the new one.
    with signed_in(auth_server.admin):
        auth = _auth_client(auth_server)
        with pytest.raises(RestException, match="RESOURCE_ALREADY_EXISTS"):
            auth.grant_user_permission(reader.username, "experiment", experiment_id, "EDIT")
        auth.revoke_user_permission(reader.username, "experiment", experiment_id)
        auth.grant_user_permission(reader.username, "experiment", experiment_id, "EDIT")
    with signed_in(reader):
        MlflowClient(auth_server.url).log_metric(run.info.run_id, "loss", 1.0)


def test_deny_hides_an_experiment(auth_server: AuthServer):
    other = auth_server.create_user("test-hidden-from")
    with signed_in(auth_server.admin):
        experiment_id = MlflowClient(auth_server.url).create_experiment("test-auth-denied")
        _auth_client(auth_server).grant_user_permission(
            other.username, "experiment", experiment_id, "DENY"
        )
    with signed_in(other), pytest.raises(MlflowException, match=re.escape(PERMISSION_DENIED)):
        MlflowClient(auth_server.url).get_experiment(experiment_id)


def test_a_short_password_is_refused(auth_server: AuthServer):
    with signed_in(auth_server.admin), pytest.raises(RestException) as raised:
        _auth_client(auth_server).create_user("test-short", new_password()[:11])
    assert str(raised.value) == "INVALID_PARAMETER_VALUE: Password must be at least 12 characters."


def test_the_credentials_file_the_page_shows_signs_in(
    auth_server: AuthServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The page's ```ini block, with the reader's values, as ~/.mlflow/credentials."""
    shown = re.search(r"^```ini\n(\[mlflow\]\n.*?)^```", SIGNING_IN_PAGE.read_text(), re.M | re.S)
    assert shown, "the signing-in page shows no [mlflow] credentials file"
    text = shown[1]
    for placeholder, value in auth_server.placeholders.items():
        text = text.replace(placeholder, value)
    assert "<" not in text, text
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".mlflow").mkdir()
    (tmp_path / ".mlflow" / "credentials").write_text(text)
    client = MlflowClient(auth_server.url)
    with signed_in(None):  # no variables: the file signs in
        client.search_experiments(max_results=1)
    # The variables win, each on its own (signed_in restores both afterwards).
    with signed_in(None):
        os.environ["MLFLOW_TRACKING_PASSWORD"] = new_password()
        with pytest.raises(MlflowException, match=re.escape(NOT_AUTHENTICATED)):
            client.search_experiments(max_results=1)
    with signed_in(None):
        os.environ["MLFLOW_TRACKING_USERNAME"] = auth_server.admin.username
        with pytest.raises(MlflowException, match=re.escape(NOT_AUTHENTICATED)):
            client.search_experiments(max_results=1)  # the admin's name, the member's password


def test_a_server_without_sign_in_ignores_credentials(
    auth_server: AuthServer, mlflow_server: ThrowawayServer
):
    """The signing-in page: setting up credentials now does no harm."""
    with signed_in(auth_server.member):
        MlflowClient(mlflow_server.url).search_experiments(max_results=1)


# -- the server's own checks -----------------------------------------------------------


def _get(url: str, host: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_only_the_lab_host_is_allowed(auth_server: AuthServer):
    url = f"{auth_server.url}/api/2.0/mlflow/users/current"
    assert _get(url, "elsewhere.example:8001") == (
        403,
        "Invalid Host header - possible DNS rebinding attack detected",
    )
    status, _ = _get(url, LAB_HOST)
    assert status == 401  # let through to the sign-in, which wants credentials
    assert _get(f"{auth_server.url}/health", "elsewhere.example:8001") == (200, "OK")


def test_the_ui_at_the_lab_s_address_may_send_its_requests(auth_server: AuthServer):
    """The UI, opened at the lab's URL, POSTs to the server with that Origin (runs/search
    fills its runs table): the server must not refuse it as a cross-origin request."""
    member = auth_server.member
    token = base64.b64encode(f"{member.username}:{member.password}".encode()).decode()
    request = urllib.request.Request(
        f"{auth_server.url}/ajax-api/2.0/mlflow/runs/search",
        data=json.dumps({"experiment_ids": ["0"], "max_results": 1}).encode(),
        headers={
            "Host": LAB_HOST,
            "Origin": LAB_TRACKING_URI,
            "Content-Type": "application/json",
            "Authorization": f"Basic {token}",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode()
    assert status == 200, f"{status} {body}"  # without --cors-allowed-origins: 403, blocked


def test_artifacts_are_behind_the_sign_in(auth_server: AuthServer):
    host = auth_server.url.split("://", 1)[1]
    status, _ = _get(f"{auth_server.url}/api/2.0/mlflow-artifacts/artifacts", host)
    assert status == 401


def test_the_script_refuses_to_start_without_its_secrets():
    """What the admin page says happens when a secret is missing or too short."""
    cases = {
        "MLFLOW_FLASK_SERVER_SECRET_KEY: is not set: see the admin guide": {},
        "MLflow Authentication needs a password to create the admin user 'admin', but none is "
        "configured": {"MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(32)},
        "The configured password for the admin user 'admin' is invalid: Password must be at "
        "least 12 characters.": {
            "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(32),
            "MLFLOW_AUTH_ADMIN_PASSWORD": new_password()[:11],
        },
    }
    command = lab_script_command(LAB_SERVER_SCRIPT, find_mlflow())
    servers = {
        message: ThrowawayServer.start(command, copy_in=(LAB_AUTH_CONFIG,), env=env)
        for message, env in cases.items()
    }  # started together: they boot in parallel
    try:
        for message, server in servers.items():
            with pytest.raises(ServerError, match="exited before it was ready") as raised:
                server.wait_ready()
            assert message in server.log_path.read_text(), raised.value
    finally:
        for server in servers.values():
            server.stop()


def test_signed_in_undoes_what_its_block_sets():
    assert "MLFLOW_TRACKING_USERNAME" not in os.environ
    with signed_in(None):
        os.environ["MLFLOW_TRACKING_USERNAME"] = "someone"
    assert "MLFLOW_TRACKING_USERNAME" not in os.environ
