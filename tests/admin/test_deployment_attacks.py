"""The lab's deployment (examples/deploy/, started by labdocs/services/deployment.py) attacked on
loopback, and what each attack now meets: TLS offers only Mozilla's intermediate profile;
plain http refuses scripts before they log anything; guessed passwords stop being checked;
other sites' pages may not send requests; log files and uploads have limits; no artifact
location reaches the server's own files, whether a member asks for one or an import brings
one; deleted runs' files go with `mlflow gc`. Each test prints what it measured.
"""

from __future__ import annotations

import base64
import concurrent.futures
import grp
import http.client
import json
import os
import pwd
import re
import shlex
import socket
import sqlite3
import ssl
import stat
import statistics
import subprocess
import time
import warnings
from contextlib import suppress
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException

from labdocs.lab import LAB_HTTPS_HOST, LAB_HTTPS_TRACKING_URI, ROOT
from labdocs.pages import DOCS
from labdocs.services.auth import Credentials, new_password, signed_in
from labdocs.services.deployment import DEPLOY, NGINX_SITE, Deployment
from tests.lib.loopback_capture import captured
from tests.lib.member_files import logged_file

ADMIN_PAGE = DOCS / "admin" / "tracking-server.md"
URL = LAB_HTTPS_TRACKING_URI
PLAIN_URL = f"http://{LAB_HTTPS_HOST}"
# Mozilla's intermediate profile: on TLS 1.2, these suites only (OpenSSL's names).
INTERMEDIATE_TLS12 = {
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
}
LOCATION_REFUSED = (
    "INVALID_PARAMETER_VALUE: This server keeps every experiment's artifacts in its own "
    "folder: create the experiment without an artifact_location."
)


def _basic(who: Credentials) -> str:
    return "Basic " + base64.b64encode(f"{who.username}:{who.password}".encode()).decode()


# -- TLS -----------------------------------------------------------------------------


def _handshake(deployment: Deployment, version: ssl.TLSVersion, cipher: str | None = None):
    """One TLS handshake with nginx offering only ``version`` (and ``cipher``): what was
    agreed, and the session."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(deployment.ca)
    context.minimum_version = context.maximum_version = version
    context.set_ciphers(f"{cipher or 'ALL:COMPLEMENTOFALL'}:@SECLEVEL=0")
    with (
        socket.create_connection(("127.0.0.1", deployment.https_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=LAB_HTTPS_HOST) as tls,
    ):
        return tls.cipher()[0], tls.session


def _tls12_suites() -> list[str]:
    """Every TLS 1.2 suite this machine's OpenSSL can offer."""
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    probe.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    return [c["name"] for c in probe.get_ciphers() if c["protocol"] != "TLSv1.3"]


def test_tls_offers_mozilla_s_intermediate_profile_only(deployment: Deployment):
    accepted = []
    for suite in _tls12_suites():
        with suppress(ssl.SSLError):
            accepted.append(_handshake(deployment, ssl.TLSVersion.TLSv1_2, suite)[0])
    without_forward_secrecy = [s for s in accepted if not s.startswith(("ECDHE-", "DHE-"))]
    print(
        f"TLS 1.2 suites accepted: {len(accepted)}, without forward secrecy: "
        f"{len(without_forward_secrecy)}: {accepted}"
    )
    assert accepted and set(accepted) <= INTERMEDIATE_TLS12, accepted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python's, for asking for them
        for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            with pytest.raises(ssl.SSLError):
                _handshake(deployment, old)
    # No session tickets: a ticket's key would decrypt every session it covered.
    assert _handshake(deployment, ssl.TLSVersion.TLSv1_2)[1].has_ticket is False


def test_answers_name_no_nginx_version_and_keep_browsers_on_https(deployment: Deployment):
    for url in (f"{URL}/health", f"{URL}/no-such-page", f"{PLAIN_URL}/"):
        headers = _head(deployment, url)
        assert headers["server"] == "nginx", (url, headers)
    assert _head(deployment, f"{URL}/health")["strict-transport-security"] == "max-age=63072000"


def _head(deployment: Deployment, url: str) -> dict[str, str]:
    """The headers of nginx's answer to a GET of ``url`` (the lab's address, https or http),
    redirects not followed."""
    scheme, _, rest = url.partition("://")
    path = "/" + rest.partition("/")[2]
    if scheme == "https":
        context = ssl.create_default_context(cafile=str(deployment.ca))
        connection = http.client.HTTPSConnection(LAB_HTTPS_HOST, 443, context=context, timeout=30)
    else:
        connection = http.client.HTTPConnection(LAB_HTTPS_HOST, 80, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()


# -- plain http ------------------------------------------------------------------------


def test_a_script_on_plain_http_fails_at_once_naming_the_https_address(
    deployment: Deployment, tmp_path: Path
):
    """A member's training script with the old http:// address, run as members run theirs
    (credentials set, then set_experiment, start_run, log_metric)."""
    import mlflow

    with captured(tmp_path, deployment.http_port) as packets, signed_in(deployment.member):
        mlflow.set_tracking_uri(PLAIN_URL)
        started = time.monotonic()
        try:
            with pytest.raises(MlflowException) as raised:
                mlflow.set_experiment("test-attacks-plain-http")
                with mlflow.start_run():
                    mlflow.log_metric("loss", 0.5)
        finally:
            took = time.monotonic() - started
            mlflow.set_tracking_uri(None)
    sent = packets(deployment.http_port).count("Authorization: Basic")
    print(f"plain http: failed after {took:.1f} s; Authorization headers sent in clear: {sent}")
    print(raised.value)
    assert "failed with error code 403 != 200" in str(raised.value)
    assert "use https://mindgarage07.cs.uni-kl.de" in str(raised.value)
    assert took < 10  # no retries
    # MLflow's client sends the password with its first request, before any answer: that
    # one request, and no other.
    assert sent <= 1


def test_plain_http_still_sends_browsers_to_https(deployment: Deployment):
    headers = _head(deployment, f"{PLAIN_URL}/")
    assert headers["location"] == f"https://{LAB_HTTPS_HOST}/"
    for path in ("/api/2.0/mlflow/experiments/search", "/ajax-api/2.0/mlflow/runs/search",
                 "/get-artifact", "/model-versions/get-artifact",
                 "/api/2.0/mlflow-artifacts/artifacts/0/x"):  # fmt: skip
        assert "location" not in _head(deployment, f"{PLAIN_URL}{path}"), path


def test_nginx_runs_debian_s_own_configuration_with_the_admin_s_site_beside_its_default(
    deployment: Deployment,
):
    """Debian's nginx.conf allows TLS 1.0 and 1.1 for every site and enables its default
    site on port 80: the admin's site must hold on that, not on a configuration of the
    tests' own. Another name on port 80 gets Debian's page; the lab's name never reaches it."""
    main = (deployment.folder / "nginx" / "nginx.conf").read_text()
    assert "ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;" in main
    assert sorted(p.name for p in (deployment.folder / "nginx" / "sites-enabled").iterdir()) == [
        "default",
        "mlflow",
    ]
    connection = http.client.HTTPConnection("127.0.0.1", deployment.http_port, timeout=30)
    try:
        connection.request("GET", "/", headers={"Host": "another-name.example"})
        page = connection.getresponse().read().decode()
    finally:
        connection.close()
    assert "Welcome to nginx!" in page
    headers = _head(deployment, f"{PLAIN_URL}/api/2.0/mlflow/experiments/search")
    assert "location" not in headers and headers["content-type"] == "text/plain"
    master = (deployment.folder / "nginx" / "nginx.pid").read_text().strip()
    workers = subprocess.run(
        ["ps", "-o", "user=", "--ppid", master],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert workers and set(workers) == {"www-data"}, workers


# -- other sites' pages ----------------------------------------------------------------


@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:5000"])
def test_requests_from_another_site_s_page_are_refused(deployment: Deployment, origin):
    """What a page on a member's own machine (a notebook, a dev server) would send with the
    member's password, which the browser adds by itself once the member signed in."""
    request = {
        "method": "POST",
        "url": "/ajax-api/2.0/mlflow/experiments/create",
        "body": json.dumps({"name": f"test-attacks-from-{origin.split('//')[1]}"}),
        "headers": {
            "Origin": origin,
            "Content-Type": "application/json",
            "Authorization": _basic(deployment.member),
        },
    }
    status, body = _https(deployment, **request)
    print(f"Origin {origin}: {status} {body.strip()}")
    assert (status, body) == (403, "Cross-origin request blocked\n")


def _https(
    deployment: Deployment, method: str, url: str, body=None, headers=None, source="127.0.0.1"
) -> tuple[int, str]:
    """One request to nginx as the lab's host, from the loopback address ``source``."""
    context = ssl.create_default_context(cafile=str(deployment.ca))
    connection = http.client.HTTPSConnection(
        LAB_HTTPS_HOST, 443, context=context, timeout=120, source_address=(source, 0)
    )
    try:
        connection.request(method, url, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


# -- nginx's log files and uploads ------------------------------------------------------


def test_nginx_s_log_files_are_not_for_everyone(deployment: Deployment):
    for name in ("access.log", "error.log"):
        info = (deployment.folder / "nginx" / name).stat()
        mode = stat.S_IMODE(info.st_mode)
        owner = (pwd.getpwuid(info.st_uid).pw_name, grp.getgrgid(info.st_gid).gr_name)
        print(f"{name}: {mode:o} {owner}")
        assert (mode, owner) == (0o640, ("www-data", "adm")), name


def _upload_limit() -> int:
    size, unit = re.search(
        r"^\s*client_max_body_size (\d+)([kmg]);", NGINX_SITE.read_text(), re.M
    ).groups()
    return int(size) * 1024 ** "kmg".index(unit) * 1024


def _put(
    deployment: Deployment, path: str, size: int, send: int, timeout: float = 300
) -> tuple[int, str]:
    """A PUT of ``size`` bytes (as its Content-Length says), of which ``send`` are sent."""
    context = ssl.create_default_context(cafile=str(deployment.ca))
    connection = http.client.HTTPSConnection(LAB_HTTPS_HOST, 443, context=context, timeout=timeout)
    try:
        connection.putrequest("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{path}")
        connection.putheader("Authorization", _basic(deployment.member))
        connection.putheader("Content-Length", str(size))
        connection.endheaders()
        chunk = bytes(1024 * 1024)
        try:
            for start in range(0, send, len(chunk)):
                connection.send(chunk[: min(len(chunk), send - start)])
        except (BrokenPipeError, ConnectionResetError):
            pass  # nginx answered before the end of the body: its answer is read below
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


@pytest.mark.timeout(600)  # the uploads at the limit: two gigabytes through TLS
def test_an_upload_over_the_limit_is_refused_and_one_under_passes(
    deployment: Deployment, tmp_path: Path
):
    limit = _upload_limit()
    with signed_in(deployment.member):
        client = MlflowClient(URL)
        experiment_id = client.create_experiment("test-attacks-upload-limit")
        run = client.create_run(experiment_id)
    folder = f"{experiment_id}/{run.info.run_id}/artifacts"
    started = time.monotonic()
    over = _put(deployment, f"{folder}/over.bin", limit + 1, send=0, timeout=30)  # at once
    print(f"limit {limit} bytes; one byte more: {over[0]} after {time.monotonic() - started:.1f} s")
    assert over[0] == 413 and "413 Request Entity Too Large" in over[1]
    started = time.monotonic()
    under = _put(deployment, f"{folder}/under.bin", limit, send=limit)
    print(f"exactly the limit: {under[0]} after {time.monotonic() - started:.1f} s")
    assert under[0] == 200, under
    stored = deployment.folder / "srv" / "artifacts" / folder / "under.bin"
    assert stored.stat().st_size == limit
    stored.unlink()  # a gigabyte less for the rest of the run
    # What a member sees who logs a file one byte over (a sparse file: no disk used here).
    over_file = tmp_path / "checkpoint.pth"
    with over_file.open("wb") as file:
        file.truncate(limit + 1)
    started = time.monotonic()
    with signed_in(deployment.member), pytest.raises(Exception) as raised:
        MlflowClient(URL).log_artifact(run.info.run_id, str(over_file))
    took = time.monotonic() - started
    print(
        f"MLflow's client, one byte over: after {took:.1f} s, {raised.type.__name__}: {raised.value}"
    )
    assert "413" in str(raised.value)


# -- artifact locations -------------------------------------------------------------------


HOSTILE_LOCATIONS = [
    "file:///etc/mlflow",
    "/etc/mlflow",
    "../../../etc/mlflow",
    "mlflow-artifacts:/../../etc/mlflow",
    "mlflow-artifacts:/0",
]


@pytest.mark.parametrize("location", HOSTILE_LOCATIONS)
def test_a_member_cannot_choose_where_an_experiment_s_artifacts_go(
    deployment: Deployment, location: str
):
    name = f"test-attacks-location-{HOSTILE_LOCATIONS.index(location)}"
    for who in (deployment.member, deployment.admin):
        with signed_in(who), pytest.raises(RestException) as raised:
            MlflowClient(URL).create_experiment(
                f"{name}-{who.username}", artifact_location=location
            )
        assert str(raised.value) == LOCATION_REFUSED


@pytest.mark.parametrize(
    "body",
    [
        {"name": "test-attacks-camel", "artifactLocation": "file:///etc/mlflow"},
        json.dumps({"name": "test-attacks-twice-encoded", "artifact_location": "/etc/mlflow"}),
    ],
    ids=["camelCase", "JSON in a string"],
)
def test_other_spellings_of_an_artifact_location_are_refused(deployment: Deployment, body):
    status, answer = _https(
        deployment, "POST", "/api/2.0/mlflow/experiments/create", body=json.dumps(body),
        headers={"Content-Type": "application/json", "Authorization": _basic(deployment.member)},
    )  # fmt: skip
    assert status == 400 and json.loads(answer)["error_code"] == "INVALID_PARAMETER_VALUE", answer


def _old_store(folder: Path, *, model_source: str | None = None) -> Path:
    """An old server's SQLite database holding runs whose artifact locations point at the
    server's secrets, as rows copied from an older server may."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    path = folder / "old.db"
    store = SqlAlchemyStore(f"sqlite:///{path}", "mlflow-artifacts:/")
    good = store.create_experiment("test-good")
    store.create_run(good, "jdoe", 0, [], "good")
    hostile = store.create_experiment("test-etc", artifact_location="file:///etc/mlflow")
    store.create_run(hostile, "jdoe", 0, [], "inside-etc")
    climbing = store.create_experiment("test-climbing")
    run = store.create_run(climbing, "jdoe", 0, [], "climbing")
    store.engine.dispose()
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE runs SET artifact_uri = ? WHERE run_uuid = ?",
            (f"mlflow-artifacts:/{climbing}/../../../etc/mlflow", run.info.run_id),
        )
        if model_source:
            db.execute("INSERT INTO registered_models (name, creation_time, last_updated_time) "
                       "VALUES ('secrets', 0, 0)")  # fmt: skip
            db.execute(
                "INSERT INTO model_versions (name, version, creation_time, last_updated_time, "
                "source, current_stage, status) VALUES ('secrets', 1, 0, 0, ?, 'None', 'READY')",
                (model_source,),
            )
    return path


def _copy(deployment: Deployment, old: Path, schema: str) -> subprocess.CompletedProcess:
    """copy_database.py, as move-old-server.sh runs it, into a new, empty schema of the
    deployment's PostgreSQL (in ``mlflow_auth``: the admin page's pg_hba.conf line lets
    ``mlflow`` sign in with its password to the lab's two databases alone)."""
    deployment.postgres.psql(
        "-c", f"CREATE SCHEMA {schema} AUTHORIZATION mlflow", database="mlflow_auth"
    )
    env = deployment.script_environment()
    target = f"postgresql+psycopg2://mlflow@/mlflow_auth?options=-csearch_path%3D{schema}"
    return subprocess.run(
        [str(Path(deployment.mlflow).with_name("python")), str(DEPLOY / "copy_database.py"),
         f"sqlite:///{old}", target],
        env={**os.environ, **env, "PGHOST": env["LAB_PG_SOCKET_DIR"]},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _locations(deployment: Deployment, schema: str) -> list[str]:
    query = (
        f"SELECT artifact_location FROM {schema}.experiments "
        f"UNION ALL SELECT artifact_uri FROM {schema}.runs "
        f"UNION ALL SELECT COALESCE(source, '') FROM {schema}.model_versions"
    )
    return deployment.postgres.psql("-At", "-c", query, database="mlflow_auth").split()


def test_an_import_keeps_every_artifact_location_inside_the_artifacts(
    deployment: Deployment, tmp_path: Path
):
    copied = _copy(deployment, _old_store(tmp_path), "test_hostile_import")
    print(copied.stdout, copied.stderr)
    assert copied.returncode == 0, copied.stderr
    assert "artifact locations rewritten: 3" in copied.stdout  # test-etc, its run, the climber
    assert "locations outside the artifacts in mlflow_auth: 0" in copied.stdout
    locations = _locations(deployment, "test_hostile_import")
    assert len(locations) == 7 and all(
        uri.startswith("mlflow-artifacts:/") and ".." not in uri for uri in locations
    ), locations


def test_a_run_pointing_at_root_s_files_gets_none_of_them(deployment: Deployment):
    """Behind the guards, the account: a run whose stored location is the server's secrets
    folder (a row written into the database by other means than MLflow's API) lets nobody,
    not even the admin, download the secrets, files of root's (mode 600) that the server's
    account may not read."""
    with signed_in(deployment.admin):
        client = MlflowClient(URL)
        run = client.create_run(client.create_experiment("test-attacks-root-files"))
    folder = deployment.etc  # /etc/mlflow
    deployment.postgres.psql(
        "-c", f"UPDATE runs SET artifact_uri = 'file://{folder}' "
        f"WHERE run_uuid = '{run.info.run_id}'", database="mlflow",
    )  # fmt: skip
    secrets = (deployment.flask_key, deployment.database_secret, deployment.admin.password)
    for name in deployment.secret_files():
        info = (folder / name).stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o600), name
        status, answer = _https(
            deployment, "GET", f"/get-artifact?path={name}&run_uuid={run.info.run_id}",
            headers={"Authorization": _basic(deployment.admin)},
        )  # fmt: skip
        print(f"{name}: {status} {answer[:80]!r}")
        assert status != 200 and not [s for s in secrets if s in answer], (name, status)


def test_an_import_with_a_model_reading_the_server_s_files_is_refused(
    deployment: Deployment, tmp_path: Path
):
    old = _old_store(tmp_path, model_source="file:///etc/mlflow")
    copied = _copy(deployment, old, "test_hostile_model")
    print(copied.stdout, copied.stderr)
    assert copied.returncode != 0
    assert "locations outside the artifacts, nothing copied:" in copied.stderr
    assert "model_versions secrets 1: source file:///etc/mlflow" in copied.stderr
    assert not [uri for uri in _locations(deployment, "test_hostile_model") if "/etc" in uri]


# -- guessing passwords -------------------------------------------------------------------


def _sign_in(deployment: Deployment, who: Credentials, source: str) -> tuple[int, float]:
    started = time.monotonic()
    status, _ = _https(
        deployment, "GET", "/api/2.0/mlflow/users/current",
        headers={"Authorization": _basic(who)}, source=source,
    )  # fmt: skip
    return status, time.monotonic() - started


def test_guessing_a_password_stops_being_checked(deployment: Deployment):
    """100 wrong passwords from one address (127.0.0.2), 16 at a time, while a member
    signs in from another (127.0.0.1); then the right password from the attacker's."""
    victim = deployment.create_user("test-guessed")
    member = deployment.member
    quiet = [_sign_in(deployment, member, "127.0.0.1")[1] for _ in range(5)]
    guesses = [Credentials(victim.username, new_password()) for _ in range(100)]
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(16) as attackers:
        answers = attackers.map(lambda g: _sign_in(deployment, g, "127.0.0.2")[0], guesses)
        meanwhile = [_sign_in(deployment, member, "127.0.0.1") for _ in range(5)]
        answers = list(answers)
    took = time.monotonic() - started
    right = _sign_in(deployment, victim, "127.0.0.2")[0]
    checked = answers.count(401)
    print(
        f"100 wrong passwords: {took:.1f} s, {checked} checked (401), "
        f"{answers.count(403)} refused unchecked (403); then the right one: {right}; "
        f"a member's sign-in: {statistics.median(quiet) * 1000:.0f} ms alone, "
        f"{statistics.median(t for _, t in meanwhile) * 1000:.0f} ms meanwhile"
    )
    assert checked + answers.count(403) == 100
    # At most 10 per MLflow process (two), and the first 16 sent at once, which are all
    # being checked before any has failed.
    assert checked <= 2 * 10 + 16
    assert right == 403  # a right guess is refused like a wrong one
    assert all(status == 200 for status, _ in meanwhile)
    assert _sign_in(deployment, victim, "127.0.0.1")[0] == 200  # the member, from elsewhere


def test_unknown_usernames_answer_as_slowly_as_known_ones(deployment: Deployment):
    def median(name: str) -> float:
        who = Credentials(name, new_password())
        return statistics.median(_sign_in(deployment, who, "127.0.0.3")[1] for _ in range(5))

    known, unknown = median(deployment.member.username), median("test-nobody-of-that-name")
    print(f"wrong password: known user {known * 1000:.0f} ms, unknown {unknown * 1000:.0f} ms")
    assert unknown > known / 2


# -- disk and retention ------------------------------------------------------------------


# Runs `mlflow gc` in the server's Python, the lab's address reaching this deployment as in
# the tests' own process (labdocs/services/network.py), and nothing else reached.
GC = """
import sys
from labdocs.services import network
network.install_guard()
port = int(sys.argv.pop(1))
network.allow_port(port)
network.redirect("https://mindgarage07.cs.uni-kl.de", f"https://127.0.0.1:{port}")
from mlflow.cli import cli
cli(sys.argv[1:], prog_name="mlflow")
"""


def test_mlflow_gc_removes_a_deleted_run_and_its_files(deployment: Deployment, tmp_path: Path):
    """The admin page's `mlflow gc` command, on the deployment's PostgreSQL and server."""
    shown = re.search(
        r"^PGHOST=(\S+) PGPASSFILE=(\S+) /opt/mlflow/bin/mlflow (gc .*)$",
        ADMIN_PAGE.read_text(),
        re.M,
    )
    assert shown, "the admin page shows no mlflow gc command"
    assert shown.groups()[:2] == ("/var/run/postgresql", "/etc/mlflow/pgpass")
    (tmp_path / "weights.bin").write_bytes(os.urandom(1024))
    experiment_id, run_id = logged_file(
        deployment, "test-attacks-gc", tmp_path / "weights.bin", deleted=True
    )
    files = deployment.folder / "srv" / "artifacts" / experiment_id / run_id
    assert (files / "artifacts" / "weights.bin").is_file()
    env = deployment.script_environment()
    done = subprocess.run(
        [str(Path(deployment.mlflow).with_name("python")), "-c", GC,
         str(deployment.https_port), *shlex.split(shown[3])],
        env={**os.environ, "PGHOST": env["LAB_PG_SOCKET_DIR"], "PGPASSFILE": env["PGPASSFILE"],
             "PYTHONPATH": str(ROOT), "MLFLOW_DISABLE_TELEMETRY": "true",
             "MLFLOW_TRACKING_USERNAME": deployment.admin.username,
             "MLFLOW_TRACKING_PASSWORD": deployment.admin.password},
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    print(done.stdout, done.stderr[-2000:])
    assert done.returncode == 0, done.stderr
    assert f"Run with ID {run_id} has been permanently deleted." in done.stdout
    assert not (files / "artifacts" / "weights.bin").exists()
    with (
        signed_in(deployment.admin),
        pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"),
    ):
        MlflowClient(URL).get_run(run_id)
