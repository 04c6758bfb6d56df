"""examples/deploy/: that the deployment the tests start is the admin page's, that it keeps
passwords off the network, and that it refuses what the pages say it refuses.

The pages run their own examples against it (AUTH_PAGES in labdocs/page_facts.py); these tests
cover what a page cannot show in its flow: several users at once, a reader's credentials
file, what crosses the network, the server's own refusals, and bad input at start.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import re
import shutil
import ssl
import stat
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException

from labdocs.lab import LAB_HTTPS_HOST, LAB_HTTPS_TRACKING_URI, LAB_SERVER_MLFLOW_VERSION
from labdocs.pages import DOCS, included_files
from labdocs.services.auth import Credentials, new_password, signed_in
from labdocs.services.deployment import (
    AUTH_CONFIG,
    CA_VARIABLES,
    DEPLOY,
    PG_HBA_LINE,
    PG_HBA_SED,
    START_SCRIPT,
    UNIT,
    Deployment,
    DeploymentError,
    Postgres,
    closed_to_others,
    let_postgres_through,
    make_certificates,
    python_layout,
    readable_by_the_server,
    server_account,
    server_bin,
    service_settings,
)
from labdocs.services.network import allowed_port, drop_open_connections, redirected
from labdocs.services.server_versions import find_mlflow
from labdocs.services.servers import free_port
from tests.lib.loopback_capture import captured
from tests.lib.member_files import logged_file

ADMIN_PAGE = DOCS / "admin" / "tracking-server.md"
SIGNING_IN_PAGE = DOCS / "guides" / "mlflow" / "signing-in.md"
NOT_AUTHENTICATED = (
    "failed with error code 401 != 200. Response body: 'You are not authenticated. Please see "
    "https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to "
    "authenticate.'"
)
PERMISSION_DENIED = "failed with error code 403 != 200. Response body: 'Permission denied'"
URL = LAB_HTTPS_TRACKING_URI
CREDENTIALS = {  # what mlflow.service hands the script, from the files the page makes
    "flask-secret-key": "/etc/mlflow/flask-secret-key",
    "admin-password": "/etc/mlflow/admin-password",
    "pgpass": "/etc/mlflow/pgpass",
}
MOST_EXPOSED = 2.0  # systemd-analyze security's rating of the unit, at most
COMPATIBILITY = DOCS / "guides" / "mlflow" / "compatibility.rst"
TROUBLESHOOTING = DOCS / "guides" / "mlflow" / "troubleshooting.rst"
UNKNOWN_CA = "certificate verify failed: unable to get local issuer certificate"
WRONG_NAME = "certificate verify failed: Hostname mismatch, certificate is not valid for"


def _auth_client(server: Deployment):
    from mlflow.server.auth.client import AuthServiceClient

    return AuthServiceClient(server.url)


def _basic(who: Credentials) -> str:
    return "Basic " + base64.b64encode(f"{who.username}:{who.password}".encode()).decode()


# -- what the admin page shows is what the tests start ---------------------------------


def test_the_admin_page_shows_every_deployment_file():
    included = set(included_files(ADMIN_PAGE))
    assert sorted(p.name for p in DEPLOY.iterdir() if p not in included) == []


def test_the_deployment_runs_the_admin_s_script(deployment: Deployment, tmp_path: Path):
    """The running MLflow's command line is the script's: a stand-in `mlflow` records what
    the script runs with the same environment."""
    mlflow_process = deployment.mlflow_processes[0]
    pid = _child_of(mlflow_process.process.pid)
    running = [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]]
    stand_in = tmp_path / "mlflow"
    stand_in.write_text(f"#!/bin/sh\nprintf '%s\\0' \"$@\" > {tmp_path / 'args'}\n")
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IXUSR)
    environ = _environ_of(pid)
    subprocess.run(
        ["bash", str(START_SCRIPT)],
        env={**environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"},
        check=True,
        timeout=30,
    )
    expected = [a.decode() for a in (tmp_path / "args").read_bytes().split(b"\0")[:-1]]
    assert expected[:3] == ["server", "--app-name", "basic-auth"]
    assert "postgresql+psycopg2://mlflow@/mlflow" in expected  # no password in the command
    mlflow_at = next(i for i, arg in enumerate(running) if Path(arg).name == "mlflow")
    assert running[mlflow_at + 1 :] == expected
    assert environ["MLFLOW_AUTH_CONFIG_PATH"].endswith("/basic_auth.ini")
    assert Path(environ["MLFLOW_AUTH_CONFIG_PATH"]).read_text() == AUTH_CONFIG.read_text()


def _environ_of(pid: int) -> dict[str, str]:
    return dict(
        entry.decode().split("=", 1)
        for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        if b"=" in entry
    )


def _child_of(pid: int) -> int:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def test_the_systemd_unit_runs_the_script_as_the_page_says():
    settings = service_settings(UNIT.read_text())
    service = dict(settings)
    assert service["ExecStart"] == "/etc/mlflow/mlflow-server.sh"
    assert service["User"] == service["Group"] == "mlflow"
    assert service["Restart"] == "on-failure"
    assert service["UMask"] == "0077"
    assert service["ReadWritePaths"] == "/srv/mlflow"
    assert "EnvironmentFile" not in service  # secrets are credentials, not environment
    loaded = dict(v.split(":", 1) for k, v in settings if k == "LoadCredential")
    assert loaded == CREDENTIALS
    assert all(name in START_SCRIPT.read_text() for name in loaded)


def test_the_unit_is_hardened_as_systemd_rates_it():
    """`systemd-analyze security` (offline: no systemd needed) rates the unit; the admin page
    quotes the rating."""
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(UNIT)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", done.stdout)
    assert found, done.stdout + done.stderr
    exposure, verdict = float(found[1]), found[2]
    print(f"systemd-analyze security {UNIT.name}: {exposure} {verdict}")
    assert exposure <= MOST_EXPOSED, done.stdout
    assert f"rates it `{found[1]} {verdict}`" in ADMIN_PAGE.read_text()


def test_what_the_server_writes_only_its_account_can_read(deployment: Deployment, tmp_path):
    (tmp_path / "notes.txt").write_text("private")
    logged_file(deployment, "test-deployment-private-files", tmp_path / "notes.txt")
    artifacts = deployment.folder / "srv" / "artifacts"
    written = [artifacts, *artifacts.rglob("*")]
    assert any(path.name == "notes.txt" for path in written)
    for path in written:  # the server's account's, and (umask 077) nobody else's
        info = path.stat()
        assert (info.st_uid, info.st_gid) == server_account(), f"{path}: {info.st_uid}"
        assert stat.S_IMODE(info.st_mode) & 0o077 == 0, f"{path}: {info.st_mode:o}"


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def test_the_server_runs_as_its_own_account_with_nothing_more(deployment: Deployment):
    """mlflow.service's User= and Group=: every process of the server (the script's mlflow,
    uvicorn, its workers) is the server's account, in no other group, without capabilities
    or a way to gain them; the files the page gives to that account are its own."""
    uid, gid = server_account()
    watchdog = deployment.mlflow_processes[0].process.pid  # stands where systemd does
    server = [pid for pid in _group(watchdog) if pid != watchdog]
    assert len(server) >= 2, server  # mlflow server, uvicorn (and its workers)
    for pid in server:
        status = _status(pid)
        print(pid, status["Name"], status["Uid"], status["Gid"], status["CapBnd"])
        assert status["Uid"].split() == [str(uid)] * 4, status["Uid"]
        assert status["Gid"].split() == [str(gid)] * 4, status["Gid"]
        assert status["Groups"].strip() == ""
        for capabilities in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert int(status[capabilities], 16) == 0, (capabilities, status[capabilities])
        assert status["NoNewPrivs"] == "1"
    srv, etc = deployment.folder / "srv", deployment.etc
    owned = {  # what the admin page makes, as it makes it: owner, group, mode
        srv: (uid, gid, 0o700),
        etc: (0, 0, 0o755),
        etc / "basic_auth.ini": (0, gid, 0o640),
        **{etc / name: (0, 0, 0o600) for name in CREDENTIALS},
    }
    for path, expected in owned.items():
        info = path.stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == expected, path
    credentials = Path(_environ_of(server[0])["CREDENTIALS_DIRECTORY"])
    for path in [credentials, *credentials.iterdir()]:  # LoadCredential=: the service's
        assert (path.stat().st_uid, path.stat().st_gid) == (uid, gid), path


def test_a_python_the_server_s_account_cannot_reach_fails_naming_the_fix():
    """Where the server's account may not pass to its Python and its files cannot be linked
    (another filesystem), the start fails at once, saying what to do."""
    mlflow = find_mlflow()
    parts = [path for path in python_layout(mlflow).values() if path]
    closed = next(filter(None, map(closed_to_others, parts)), None)
    elsewhere = Path("/dev/shm")
    if closed is None or not elsewhere.is_dir() or elsewhere.stat().st_dev == closed.stat().st_dev:
        pytest.skip("the server's account reaches its Python here, or no other filesystem")
    folder = Path(tempfile.mkdtemp(dir=elsewhere))
    try:
        with pytest.raises(DeploymentError) as failed:
            server_bin(mlflow, folder)
    finally:
        shutil.rmtree(folder)
    print(failed.value)
    assert f"may not pass {closed} to reach the server's Python" in str(failed.value)
    assert "Invalid cross-device link" in str(failed.value)
    assert f"chmod o+x {closed}" in str(failed.value)


# -- the network: HTTPS only, no password in clear ---------------------------------------


def _curl(*args: str, deployment: Deployment) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", "20",
         "--connect-to", f"{LAB_HTTPS_HOST}:443:127.0.0.1:{deployment.https_port}",
         "--connect-to", f"{LAB_HTTPS_HOST}:80:127.0.0.1:{deployment.http_port}",
         "--cacert", str(deployment.ca), *args],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def test_https_with_http2_and_hsts(deployment: Deployment):
    done = _curl(
        "--http2",
        "--include",
        "--write-out",
        "%{http_version}",
        f"{URL}/health",
        deployment=deployment,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("OK2")  # the body, then HTTP version 2
    assert "strict-transport-security: max-age=63072000" in done.stdout.lower()


def test_plain_http_only_redirects_and_never_asks_for_a_password(deployment: Deployment):
    start_page = _curl("--include", f"http://{LAB_HTTPS_HOST}/", deployment=deployment)
    assert start_page.stdout.startswith("HTTP/1.1 301"), start_page.stdout
    assert f"Location: https://{LAB_HTTPS_HOST}/" in start_page.stdout
    plain = _curl(
        "--include",
        f"http://{LAB_HTTPS_HOST}/api/2.0/mlflow/experiments/search",
        deployment=deployment,
    )
    assert plain.stdout.startswith("HTTP/1.1 403"), plain.stdout
    assert plain.stdout.endswith(f"use https://{LAB_HTTPS_HOST}\n")
    for answer in (start_page, plain):
        assert "www-authenticate" not in answer.stdout.lower()
    secured = _curl("--include", f"{URL}/api/2.0/mlflow/experiments/search", deployment=deployment)
    assert 'www-authenticate: Basic realm="mlflow"' in secured.stdout.lower().replace(
        "basic", "Basic"
    )


def test_no_request_carries_a_password_in_clear(deployment: Deployment, tmp_path: Path):
    """A capture on loopback while a member logs through the lab's URL: the member's
    Authorization header crosses nginx's ports only encrypted. The hop from nginx to MLflow,
    inside the machine, carries it in clear: the capture sees it there, so it would see it
    on the https port too."""
    mlflow_port = deployment.mlflow_ports[0]
    ports = (deployment.https_port, deployment.http_port, mlflow_port)
    with captured(tmp_path, *ports) as packets, signed_in(deployment.member):
        client = MlflowClient(URL)
        experiment_id = client.create_experiment("test-deployment-capture")
        run = client.create_run(experiment_id)
        for step in range(5):
            client.log_metric(run.info.run_id, "loss", 1.0 / (step + 1), step=step)
        client.set_terminated(run.info.run_id)
    token = _basic(deployment.member).split()[1]

    assert token in packets(mlflow_port)  # the capture works: inside the machine, in clear
    assert token not in packets(deployment.https_port)
    assert deployment.member.password not in packets(deployment.https_port)


def test_version_asks_for_a_password_and_health_does_not(deployment: Deployment):
    """The admin page's checks, as it shows them (curl -u asks for the password)."""
    open_health = _curl(f"{URL}/health", deployment=deployment)
    assert open_health.stdout == "OK"
    closed = _curl("--write-out", " %{http_code}", f"{URL}/version", deployment=deployment)
    assert closed.stdout.startswith("You are not authenticated.") and closed.stdout.endswith(" 401")
    admin = deployment.admin
    signed = _curl(
        "-u", f"{admin.username}:{admin.password}", f"{URL}/version", deployment=deployment
    )
    assert signed.stdout == LAB_SERVER_MLFLOW_VERSION


def test_the_compatibility_page_s_version_check_signs_in(deployment: Deployment):
    """The page's command, with the member's name and password (curl would ask for it)."""
    shown = re.search(r"curl -u <your username> (\S+/version)", COMPATIBILITY.read_text())
    assert shown, "the compatibility page shows no signed-in version check"
    member = deployment.member
    done = _curl("-u", f"{member.username}:{member.password}", shown[1], deployment=deployment)
    assert done.stdout == LAB_SERVER_MLFLOW_VERSION, done.stdout + done.stderr


def test_a_large_artifact_goes_through_nginx(deployment: Deployment, tmp_path: Path):
    """nginx's default refuses uploads over 1 MB (413); the page's settings lift that."""
    big = tmp_path / "weights.bin"
    big.write_bytes(os.urandom(8 * 1024 * 1024))
    with signed_in(deployment.member):
        client = MlflowClient(URL)
        experiment_id = client.create_experiment("test-deployment-large-artifact")
        run = client.create_run(experiment_id)
        client.log_artifact(run.info.run_id, str(big))
        client.set_terminated(run.info.run_id)
        back = client.download_artifacts(run.info.run_id, "weights.bin", str(tmp_path / "back"))
    assert Path(back).read_bytes() == big.read_bytes()


@pytest.fixture
def tls_server_for(tmp_path: Path):
    """An https server on loopback with a certificate for another name, signed by a CA of its
    own, standing in for a misconfigured lab server; the lab's URL reaches it in the block."""
    servers = []

    @contextmanager
    def serving(host: str):
        folder = tmp_path / host
        folder.mkdir()
        ca, cert, key = make_certificates(folder, host=host)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), http.server.BaseHTTPRequestHandler
        )
        server.socket = context.wrap_socket(server.socket, server_side=True)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
        with allowed_port(port), redirected(URL, f"https://127.0.0.1:{port}"):
            drop_open_connections()
            yield ca
        drop_open_connections()

    yield serving
    for server in servers:
        server.shutdown()
        server.server_close()


def _tls_error(trusted: Path | None) -> str:
    """What a member's MLflow client raises; ``trusted``: the CA they were told to set, or
    None (their machine's own list, certifi's)."""
    with signed_in(None), pytest.MonkeyPatch.context() as patch:
        for name in CA_VARIABLES:
            patch.delenv(name, raising=False)
        if trusted is not None:
            patch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(trusted))
        with pytest.raises(MlflowException) as raised:
            MlflowClient(URL).search_experiments(max_results=1)
    return str(raised.value)


def test_the_tls_errors_members_see(tls_server_for):
    """The troubleshooting page's two TLS errors, as MLflow's client raises them."""
    page = TROUBLESHOOTING.read_text()
    with tls_server_for(LAB_HTTPS_HOST):  # signed by a CA the member's machine does not know
        unknown_ca = _tls_error(trusted=None)
    with tls_server_for("elsewhere.example") as ca:  # a trusted CA, but another name
        wrong_name = _tls_error(trusted=ca)
    assert UNKNOWN_CA in unknown_ca, unknown_ca
    assert WRONG_NAME in wrong_name, wrong_name
    assert UNKNOWN_CA in page and WRONG_NAME in page


# -- signing in ---------------------------------------------------------------------


@pytest.mark.parametrize("who", ["nobody", "wrong password", "unknown user"])
def test_without_valid_credentials_every_request_is_refused(deployment: Deployment, who):
    credentials = {
        "nobody": None,
        "wrong password": Credentials(deployment.member.username, new_password()),
        "unknown user": Credentials("no-such-user", new_password()),
    }[who]
    with signed_in(credentials), pytest.raises(MlflowException) as raised:
        MlflowClient(URL).search_experiments(max_results=1)
    assert str(raised.value) == (
        f"API request to endpoint /api/2.0/mlflow/experiments/search {NOT_AUTHENTICATED}"
    )
    assert raised.value.error_code == "UNAUTHENTICATED"


def test_with_credentials_the_run_is_logged(deployment: Deployment):
    with signed_in(deployment.member):
        client = MlflowClient(URL)
        experiment_id = client.create_experiment("test-auth-member")
        run = client.create_run(experiment_id)
        client.log_metric(run.info.run_id, "loss", 0.25)
        client.set_terminated(run.info.run_id)
    with signed_in(deployment.admin):
        logged = MlflowClient(URL).get_run(run.info.run_id)
    assert logged.info.status == "FINISHED"
    assert logged.data.metrics == {"loss": 0.25}


def test_a_reader_cannot_log_to_another_users_experiment(deployment: Deployment):
    owner = deployment.create_user("test-owner")
    reader = deployment.create_user("test-reader")
    with signed_in(owner):
        client = MlflowClient(URL)
        experiment_id = client.create_experiment("test-auth-owned")
        run = client.create_run(experiment_id)
        _auth_client(deployment).grant_user_permission(
            reader.username, "experiment", experiment_id, "READ"
        )
    with signed_in(reader):
        client = MlflowClient(URL)
        assert client.get_run(run.info.run_id).info.experiment_id == experiment_id  # may read
        with pytest.raises(MlflowException) as raised:
            client.log_metric(run.info.run_id, "loss", 1.0)
        assert str(raised.value).endswith(f"/api/2.0/mlflow/runs/log-metric {PERMISSION_DENIED}")
        assert raised.value.error_code == "PERMISSION_DENIED"
        with pytest.raises(MlflowException, match=re.escape(PERMISSION_DENIED)):
            client.create_run(experiment_id)
    # As the admin page says: to change a permission, revoke it and grant the new one.
    with signed_in(deployment.admin):
        auth = _auth_client(deployment)
        with pytest.raises(RestException, match="RESOURCE_ALREADY_EXISTS"):
            auth.grant_user_permission(reader.username, "experiment", experiment_id, "EDIT")
        auth.revoke_user_permission(reader.username, "experiment", experiment_id)
        auth.grant_user_permission(reader.username, "experiment", experiment_id, "EDIT")
    with signed_in(reader):
        MlflowClient(URL).log_metric(run.info.run_id, "loss", 1.0)


def test_deny_hides_an_experiment(deployment: Deployment):
    other = deployment.create_user("test-hidden-from")
    with signed_in(deployment.admin):
        experiment_id = MlflowClient(URL).create_experiment("test-auth-denied")
        _auth_client(deployment).grant_user_permission(
            other.username, "experiment", experiment_id, "DENY"
        )
    with signed_in(other), pytest.raises(MlflowException, match=re.escape(PERMISSION_DENIED)):
        MlflowClient(URL).get_experiment(experiment_id)


def test_a_short_password_is_refused(deployment: Deployment):
    with signed_in(deployment.admin), pytest.raises(RestException) as raised:
        _auth_client(deployment).create_user("test-short", new_password()[:11])
    assert str(raised.value) == "INVALID_PARAMETER_VALUE: Password must be at least 12 characters."


def test_the_credentials_file_the_page_shows_signs_in(
    deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The page's ```ini block, with the reader's values, as ~/.mlflow/credentials."""
    shown = re.search(r"^```ini\n(\[mlflow\]\n.*?)^```", SIGNING_IN_PAGE.read_text(), re.M | re.S)
    assert shown, "the signing-in page shows no [mlflow] credentials file"
    text = shown[1]
    for placeholder, value in deployment.placeholders.items():
        text = text.replace(placeholder, value)
    assert "<" not in text, text
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".mlflow").mkdir()
    (tmp_path / ".mlflow" / "credentials").write_text(text)
    client = MlflowClient(URL)
    with signed_in(None):  # no variables: the file signs in
        client.search_experiments(max_results=1)
    # The variables win, each on its own (monkeypatch removes them when the test ends).
    with signed_in(None):
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", new_password())
        with pytest.raises(MlflowException, match=re.escape(NOT_AUTHENTICATED)):
            client.search_experiments(max_results=1)
    with signed_in(None):
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", deployment.admin.username)
        with pytest.raises(MlflowException, match=re.escape(NOT_AUTHENTICATED)):
            client.search_experiments(max_results=1)  # the admin's name, the member's password


def test_a_server_without_sign_in_ignores_credentials(deployment: Deployment, mlflow_server):
    """The signing-in page: setting up credentials now does no harm."""
    with signed_in(deployment.member):
        MlflowClient(mlflow_server.url).search_experiments(max_results=1)


# -- the server's own checks -----------------------------------------------------------


def _get(url: str, host: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Host": host, **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_only_the_lab_host_is_allowed(deployment: Deployment):
    """nginx passes the Host header on; MLflow refuses any but the lab's."""
    url = f"{URL}/api/2.0/mlflow/users/current"
    assert _get(url, "elsewhere.example") == (
        403,
        "Invalid Host header - possible DNS rebinding attack detected",
    )
    status, _ = _get(url, LAB_HTTPS_HOST)
    assert status == 401  # let through to the sign-in, which wants credentials
    assert _get(f"{URL}/health", "elsewhere.example") == (200, "OK")


def test_the_ui_at_the_lab_s_address_may_send_its_requests(deployment: Deployment):
    """The UI, opened at the lab's URL, POSTs with that Origin (runs/search fills its runs
    table): the server must not refuse it as a cross-origin request."""
    request = urllib.request.Request(
        f"{URL}/ajax-api/2.0/mlflow/runs/search",
        data=json.dumps({"experiment_ids": ["0"], "max_results": 1}).encode(),
        headers={
            "Origin": LAB_HTTPS_TRACKING_URI,
            "Content-Type": "application/json",
            "Authorization": _basic(deployment.member),
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode()
    assert status == 200, f"{status} {body}"  # without --cors-allowed-origins: 403, blocked


def test_artifacts_are_behind_the_sign_in(deployment: Deployment):
    status, _ = _get(f"{URL}/api/2.0/mlflow-artifacts/artifacts", LAB_HTTPS_HOST)
    assert status == 401


# -- bad input at start: at once, with a clear message -------------------------------------


def test_the_script_refuses_to_start_without_what_it_needs(deployment: Deployment, tmp_path):
    """What the admin page says happens when a secret file is empty or missing, the database
    password is wrong, PostgreSQL is down or (on the first start) the admin's password is
    missing or short."""
    no_postgres = tmp_path / "no-postgres"
    no_postgres.mkdir()
    let_postgres_through(no_postgres)  # the server's account looks for a socket there
    cases = {  # message: (environment, credentials)
        "/credentials/flask-secret-key: missing or empty: see the admin guide": (
            {}, {"flask-secret-key": ""}
        ),
        "/credentials/pgpass: missing or empty: see the admin guide": ({}, {"pgpass": None}),
        'FATAL:  password authentication failed for user "mlflow"': (
            {}, {"pgpass": f"*:5432:*:mlflow:{new_password()}\n"}
        ),
        f'connection to server on socket "{no_postgres}/.s.PGSQL.5432" failed: No such file or '
        "directory\n\tIs the server running locally and accepting connections on that socket?": (
            {"LAB_PG_SOCKET_DIR": str(no_postgres)}, {}
        ),
    }  # fmt: skip
    # A first start (no users yet) without, or with too short, an admin password: an empty
    # schema of mlflow_auth for each (the page's pg_hba.conf line names the two databases).
    for name, password in (("no_admin", ""), ("short_admin", new_password()[:11])):
        deployment.postgres.psql(
            "-c", f"CREATE SCHEMA {name} AUTHORIZATION mlflow", database="mlflow_auth"
        )
        config = tmp_path / f"{name}.ini"
        in_schema = f"@/mlflow_auth?options=-csearch_path%%3D{name}"  # %% for configparser
        config.write_text(AUTH_CONFIG.read_text().replace("@/mlflow_auth", in_schema))
        readable_by_the_server(config)
        message = {
            "no_admin": "MLflow Authentication needs a password to create the admin user "
            "'admin', but none is configured",
            "short_admin": "The configured password for the admin user 'admin' is invalid: "
            "Password must be at least 12 characters.",
        }[name]
        cases[message] = ({"LAB_MLFLOW_AUTH_CONFIG": str(config)}, {"admin-password": password})
    started = {}
    for message, (env, credentials) in cases.items():
        port = free_port()
        process = deployment.start_mlflow(port, env=env, credentials=credentials)
        started[message] = process
    try:
        for message, process in started.items():
            process.process.wait(timeout=90)  # at once: no retries
            assert process.exit_status() == "exit code 1", process.log_tail()
            assert message in process.log_path.read_text(), process.log_tail()
    finally:
        for process in started.values():
            process.stop()


def _environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:  # gone meanwhile
        return b""


def _group(pgid: int) -> list[int]:
    """The processes of a process group."""
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            found.append(int(stat_file.parent.name))
    return found


def test_no_secret_is_inherited_and_the_admin_password_goes_after_the_first_start(
    deployment: Deployment,
):
    """systemd passes the secrets as credentials, not in the environment: the script starts
    with none. Once the admin's file is emptied (after the first start), no MLflow process
    holds the admin's password; none ever holds the database password."""
    port = free_port()
    process = deployment.start_mlflow(port, credentials={"admin-password": ""})
    try:
        deployment.wait_for(process, f"http://127.0.0.1:{port}/health", time.monotonic() + 120)
        secrets = {
            "database password": deployment.database_secret,
            "admin password": deployment.admin.password,
            "secret key": deployment.flask_key,
        }
        # The watchdog stands where systemd does: what it passes on is what systemd gives.
        given = _environ(process.process.pid)
        assert given and [name for name, value in secrets.items() if value.encode() in given] == []
        assert b"CREDENTIALS_DIRECTORY=" in given
        group = _group(process.process.pid)
        assert len(group) >= 3  # the watchdog, mlflow server, its workers
        for pid in group:
            environ = _environ(pid)
            assert deployment.admin.password.encode() not in environ, pid
            assert deployment.database_secret.encode() not in environ, pid
    finally:
        process.stop()


# -- PostgreSQL: Debian's cluster, changed only by the page's lines --------------------------


def test_postgres_is_debian_s_cluster_with_the_page_s_line(deployment: Deployment):
    """The cluster's pg_hba.conf is pg_createcluster's, with the page's line above Debian's
    `local all all peer`, put there by the page's own sed command."""
    hba = (deployment.postgres.config / "pg_hba.conf").read_text()
    rules = [line.split() for line in hba.splitlines() if line.strip() and line.strip()[0] != "#"]
    assert rules[:3] == [
        ["local", "all", "postgres", "peer"],
        PG_HBA_LINE.split(),
        ["local", "all", "all", "peer"],
    ]
    assert ["host", "all", "all", "127.0.0.1/32", "scram-sha-256"] in rules  # Debian's, kept
    # Debian's peer line still signs in every other database: root as `mlflow`, refused.
    refused = subprocess.run(
        ["psql", "--no-psqlrc", "-h", str(deployment.postgres.folder), "-U", "mlflow", "-d",
         "postgres", "-c", "select 1"],
        env={**os.environ, "PGPASSFILE": str(deployment.etc / "pgpass")},
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert 'FATAL:  Peer authentication failed for user "mlflow"' in refused.stderr
    page = ADMIN_PAGE.read_text()
    assert f"sed -i '{PG_HBA_SED}' /etc/postgresql/15/main/pg_hba.conf" in page
    assert f"\n{PG_HBA_LINE}\n" in page


def test_postgres_listens_on_its_socket_only(deployment: Deployment):
    """No TCP port of the cluster's postmaster listens (Debian's default: 127.0.0.1 and ::1,
    port 5432): the page's conf.d file sets `listen_addresses = ''`."""
    postmaster = int((deployment.postgres.data / "postmaster.pid").read_text().split()[0])
    sockets = {
        os.readlink(fd)[len("socket:[") : -1]
        for fd in Path(f"/proc/{postmaster}/fd").iterdir()
        if os.readlink(fd).startswith("socket:[")
    }
    listening = []
    for table in ("tcp", "tcp6"):
        for row in Path(f"/proc/{postmaster}/net/{table}").read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in sockets:  # state LISTEN, one of its sockets
                listening.append(f"{table} {fields[1]}")
    assert sockets, "the postmaster holds no socket: is it PostgreSQL?"
    assert listening == []
    assert deployment.postgres.psql("-Atc", "SHOW listen_addresses") == "\n"


def test_the_database_password_reaches_no_log_and_no_command_line():
    """postgres-setup.sql, run as the page says, with PostgreSQL logging every statement: the
    password is in no file of the cluster (its log included), and in no process's command
    line meanwhile."""
    folder = Path(tempfile.mkdtemp(prefix="postgres-"))
    let_postgres_through(folder)
    postgres = Postgres(folder, {"log_statement": "all"})
    password = new_password()
    seen: list[str] = []
    watching = threading.Event()

    def watch_command_lines() -> None:
        while not watching.is_set():
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    if password.encode() in cmdline.read_bytes():
                        seen.append(cmdline.read_text())
                except OSError:
                    pass

    watcher = threading.Thread(target=watch_command_lines, daemon=True)
    try:
        postgres.init()
        postgres.start()
        watcher.start()
        postgres.setup(password)
        watching.set()
        watcher.join(timeout=30)
        signed_in = subprocess.run(
            ["psql", "--no-psqlrc", "-h", str(folder), "-U", "mlflow", "-d", "mlflow", "-Atc",
             "select current_user"],
            env={**os.environ, "PGPASSWORD": password}, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert signed_in.stdout == "mlflow\n", signed_in.stderr  # the password was set
        holding = [
            str(path)
            for path in folder.rglob("*")
            if path.is_file() and password.encode() in path.read_bytes()
        ]
        assert holding == [] and seen == []
        # What PostgreSQL got, and logged: the password's SCRAM hash.
        log = postgres.log.read_text()
        assert "LOG:  statement: ALTER USER mlflow PASSWORD 'SCRAM-SHA-256$" in log
    finally:
        watching.set()
        if postgres.process is not None:
            postgres.process.stop(grace=10.0)
        shutil.rmtree(folder, ignore_errors=True)
