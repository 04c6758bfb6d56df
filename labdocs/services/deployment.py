"""The lab's deployment, throwaway: PostgreSQL, the admin's start script, nginx with TLS.

docs/admin/tracking-server.md shows the files under ``examples/deploy/``; this module
starts exactly those, on loopback, in one folder of the run:

- a certificate for the lab's host name from a throwaway CA (openssl), which the clients
  of the run trust (``MLFLOW_TRACKING_SERVER_CERT_PATH`` and its kin), as members' machines
  trust the certificate authority of the lab's real certificate;
- a PostgreSQL cluster as Debian makes one (pg_createcluster), changed only by the page's
  conf.d file and pg_hba.conf line, its socket in the folder, set up by
  ``postgres-setup.sql`` with the password typed in as the page says;
- ``mlflow-server.sh`` as mlflow.service starts it: as an account of its own (not root),
  with its umask, environment and credentials (the page's secret files), read from the unit
  file, with ``basic_auth.ini``
  and ``mlflow_lab_auth.py`` copied into the server's Python environment as the page says;
- nginx in the foreground from Debian's own ``nginx.conf`` and default site (as shipped:
  checked against dpkg's record), with ``mlflow.nginx.conf`` beside the default site, its
  ports and paths the run's, its log files made first as the page makes them.

Where the run must differ from the lab's machine is said in one place, below the constants
(and for nginx, the CHANGES mappings that ``site_config`` applies, failing if a line it
changes is gone). Each daemon runs
in the foreground, in a process group of its own, under the watchdog (processes.watched):
when the owner ends, however it ends, the groups end and the folder goes (PostgreSQL's
watchdog owns the whole folder). Secrets are generated per run and written only into the
folder, mode 600.

The lab's secured address (port 443, and 80 for plain http) reaches nginx's loopback ports
through lab_address.py.
"""

from __future__ import annotations

import base64
import configparser
import functools
import grp
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from labdocs.lab import LAB_HTTPS_HOST, LAB_HTTPS_TRACKING_URI, ROOT
from labdocs.page_facts import MEMBER_USERNAME
from labdocs.services import lab_address, network
from labdocs.services.auth import Credentials, SignInServer, new_password, signed_in
from labdocs.services.server_versions import ServerError, find_mlflow
from labdocs.services.servers import READY_TIMEOUT, ThrowawayServer, free_port, launch
from labdocs.services.session import changed_environment
from labdocs.services.waiting import wait_until

DEPLOY = ROOT / "examples" / "deploy"
START_SCRIPT = DEPLOY / "mlflow-server.sh"
AUTH_CONFIG = DEPLOY / "basic_auth.ini"
LAB_AUTH = DEPLOY / "mlflow_lab_auth.py"  # the sign-in check basic_auth.ini names
NGINX_SITE = DEPLOY / "mlflow.nginx.conf"
PGPASS = DEPLOY / "pgpass"
UNIT = DEPLOY / "mlflow.service"
POSTGRES_SETUP = DEPLOY / "postgres-setup.sql"
# What trusts the throwaway CA: MLflow's client, requests (a page calls it), curl, Python's ssl.
CA_VARIABLES = (
    "MLFLOW_TRACKING_SERVER_CERT_PATH",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
)


# == Where the tests' deployment differs from the lab's machine: here, and nowhere else ==
# Everything else is Debian's or the admin page's. PostgreSQL: pg_createcluster writes
# postgresql.conf and pg_hba.conf from the package's templates, and then only the page's
# lines change them (POSTGRES_CONF, PG_HBA_LINE). MLflow: the start script runs as an
# account of its own, with the umask, environment and credentials directory that
# mlflow.service gives it (UNIT).
# - Every file is in the run's folder: /etc/postgresql/<version>/main, /var/lib/postgresql,
#   /var/run/postgresql and /var/log/postgresql are pg_createcluster's options (and
#   PG_CLUSTER_CONF_ROOT, which also keeps it from telling systemd and apt); /etc/mlflow,
#   /srv/mlflow and /run/credentials are folders of the run (``etc``, ``srv``,
#   ``credentials``), which the scripts' LAB_* variables name.
# - The daemons run in the foreground under the run's watchdog, not under systemd. So
#   mlflow.service's sandbox (ProtectSystem=, SystemCallFilter= and the like) is not
#   applied, only rated (systemd-analyze security); of it, only what setpriv gives
#   (no capabilities, no new privileges, no supplementary groups: SERVER_PRIVILEGES).
# - The server's account is a uid and gid that no account or group of this machine has
#   (server_account), not the `mlflow` account that the page's `useradd` makes: the
#   machine's /etc/passwd stays as it is. What the page gives to `mlflow` is that uid's;
#   the scripts that chown to `mlflow` are told its number (LAB_MLFLOW_OWNER).
# - /opt/mlflow/bin in the unit's PATH is the MLflow under test, MLflow listens on a free
#   loopback port (not 5000), and PrivateTmp= is a TMPDIR of the run. Where the server's
#   account cannot pass to that MLflow (a clone in root's home, mode 700, or its Python
#   there), it runs from hard links to its files in the run's folder (server_bin).
# - PostgreSQL skips fsync (initdb's too: -N): a throwaway cluster need not survive a power
#   cut.
POSTGRES_TEST_INITDB_OPTIONS = ["-N"]
POSTGRES_TEST_SETTINGS = {"fsync": "off", "full_page_writes": "off"}
UNIT_TEST_PATHS = {"/opt/mlflow/bin": "{mlflow_bin}", "/etc/mlflow/": "{etc}/"}
# The uids and gids systemd keeps for services' throwaway accounts (DynamicUser=): the first
# that no account and no group of this machine has is the server's.
THROWAWAY_IDS = range(61184, 65520)
# What mlflow.service takes from the server besides its root (CapabilityBoundingSet=,
# NoNewPrivileges=) and what setpriv can take as well.
SERVER_PRIVILEGES = ["--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]

POSTGRES_CLUSTER = "main"
# The admin page's changes: its conf.d file, and its line for pg_hba.conf, which its sed
# command puts above Debian's `local all all peer` (the first line that matches decides).
POSTGRES_CONF = DEPLOY / "postgresql.mlflow.conf"
PG_HBA_LINE = "local   mlflow,mlflow_auth   mlflow   scram-sha-256"
PG_HBA_SED = f"/^local \\+all \\+all \\+peer/i {PG_HBA_LINE}"


class DeploymentError(ServerError):
    """A part of the throwaway deployment could not be made or started."""


def run(argv: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a setup command; fail at once, naming what it was for, with its output."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kwargs)
    if done.returncode != 0:
        raise DeploymentError(
            f"{what} failed (exit code {done.returncode}): {' '.join(argv)}\n"
            f"{done.stdout}{done.stderr}"
        )
    return done


# -- the certificate --------------------------------------------------------------


def make_certificates(folder: Path, host: str = LAB_HTTPS_HOST) -> tuple[Path, Path, Path]:
    """A throwaway CA, and a certificate for ``host`` signed by it: (ca, cert, key)."""
    ca_key, ca, key, request, cert = (
        folder / name for name in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem")
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run(
        ["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=Throwaway CA of the MindGarage docs tests",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        "making the throwaway CA",
    )  # fmt: skip
    run(
        ["openssl", "req", *ec, "-keyout", key, "-out", request, "-subj", f"/CN={host}"],
        "making the server's key",
    )  # fmt: skip
    extensions = folder / "server.ext"
    extensions.write_text(
        f"subjectAltName=DNS:{host}\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    run(
        ["openssl", "x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key,
         "-CAcreateserial", "-days", "2", "-extfile", extensions, "-out", cert],
        "signing the server's certificate",
    )  # fmt: skip
    for secret in (ca_key, key):
        secret.chmod(0o600)
    return ca, cert, key


def public_key_pin(cert: Path) -> str:
    """The base64 SHA-256 of a certificate's public key (its SPKI): what Chromium is told
    to accept (browser.chromium_args), for this certificate alone."""
    public = run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"], "reading the key").stdout
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "der"],
        input=public.encode(), capture_output=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


# -- the processes ------------------------------------------------------------------


def as_postgres(*argv) -> list[str]:
    """PostgreSQL refuses to run as root; Debian's package made its account."""
    return ["runuser", "-u", "postgres", "--", *map(str, argv)]


def postgres_bin() -> Path:
    """The folder of the installed PostgreSQL's programs: ``DOCS_PG_BIN`` if set, else the
    newest major version of Debian's packages (/usr/lib/postgresql/<major>/bin)."""
    if os.environ.get("DOCS_PG_BIN"):
        return Path(os.environ["DOCS_PG_BIN"])
    found = [
        path.parent
        for path in Path("/usr/lib/postgresql").glob("*/bin/postgres")
        if path.parent.parent.name.isdigit()
    ]
    if not found:
        raise DeploymentError(
            "no PostgreSQL server in /usr/lib/postgresql/<version>/bin: install Debian's "
            "postgresql package, or name its programs' folder in DOCS_PG_BIN"
        )
    return max(found, key=lambda path: int(path.parent.name))


def postgres_version(bin_folder: Path) -> str:
    """The major version of the PostgreSQL in ``bin_folder`` (``postgres --version``)."""
    answer = run([str(bin_folder / "postgres"), "--version"], "postgres --version").stdout
    found = re.search(r"\) (\d+)", answer)
    if not found:
        raise DeploymentError(f"no version in {answer!r}")
    return found[1]


class Postgres:
    """A PostgreSQL cluster of the run's own, made as Debian makes one, in ``folder``: its
    socket in ``folder``, its log ``folder/server.log``."""

    def __init__(self, folder: Path, settings: dict[str, str] | None = None) -> None:
        self.folder = folder  # its socket lives here too
        self.bin = postgres_bin()
        self.version = postgres_version(self.bin)
        self.conf_root = folder / "postgresql"  # /etc/postgresql
        self.config = self.conf_root / self.version / POSTGRES_CLUSTER
        self.data = folder / "data"  # /var/lib/postgresql/<version>/main
        self.log = folder / "server.log"  # /var/log/postgresql/postgresql-<version>-main.log
        self.settings = {**POSTGRES_TEST_SETTINGS, **(settings or {})}
        self.process: ThrowawayServer | None = None

    def init(self) -> None:
        """pg_createcluster, as apt's postgresql package runs it for its main cluster, then
        the admin page's changes."""
        shutil.chown(self.folder, "postgres", "postgres")
        run(
            ["pg_createcluster", "--datadir", self.data, "--socketdir", self.folder,
             "--logfile", self.log, "--start-conf", "manual", self.version, POSTGRES_CLUSTER,
             "--", *POSTGRES_TEST_INITDB_OPTIONS],
            "pg_createcluster of the throwaway PostgreSQL cluster",
            env={**os.environ, "PG_CLUSTER_CONF_ROOT": str(self.conf_root)},
        )  # fmt: skip
        page_conf = self.config / "conf.d" / "mlflow.conf"
        shutil.copyfile(POSTGRES_CONF, page_conf)
        shutil.chown(page_conf, "postgres", "postgres")
        hba = self.config / "pg_hba.conf"
        run(["sed", "-i", PG_HBA_SED, hba], "the admin page's sed on pg_hba.conf")
        if hba.read_text().count(PG_HBA_LINE) != 1:
            raise DeploymentError(f"the admin page's sed did not add {PG_HBA_LINE!r} once")

    def start(self) -> None:
        settings = [
            arg for name, value in self.settings.items() for arg in ("-c", f"{name}={value}")
        ]
        self.process = launch(
            "PostgreSQL (throwaway cluster)",
            as_postgres(self.bin / "postgres", "-D", self.config, *settings),
            self.folder,  # its output is self.log, as pg_ctlcluster's -l
        )

        def accepting() -> bool:
            if run_ok(["pg_isready", "-q", "-h", str(self.folder)]):
                return True
            if self.process.exit_status() is not None:
                raise self.process.died("exited before it was ready")
            return False

        wait_until(accepting, timeout=60, failure=lambda: DeploymentError(
            f"PostgreSQL was not ready after 60 s:\n{self.log_tail()}"
        ))  # fmt: skip

    def log_tail(self) -> str:
        return self.process.log_tail() if self.process else ""

    def psql(self, *args: str, database: str = "postgres", stdin: str = "") -> str:
        """psql as the superuser, stopping at the first error. Without a terminal (a session
        of its own), what psql would ask at the terminal it reads from ``stdin``."""
        command = as_postgres(
            "psql", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-h", self.folder, "-d", database, *args
        )
        return run(command, f"psql {' '.join(args)}", input=stdin, start_new_session=True).stdout

    def setup(self, password: str) -> None:
        """The admin page's postgres-setup.sql, the password typed in twice at its prompt."""
        script = self.folder / POSTGRES_SETUP.name
        shutil.copyfile(POSTGRES_SETUP, script)  # readable by postgres, in its own folder
        shutil.chown(script, "postgres", "postgres")
        self.psql("-f", str(script), stdin=f"{password}\n{password}\n")

    def restart(self) -> None:
        """Stop (fast shutdown: clients are cut off) and start again, keeping the data."""
        assert self.process is not None
        run(
            as_postgres(self.bin / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"),
            "pg_ctl stop",
        )
        self.process.process.wait(timeout=30)
        self.start()


def run_ok(argv: list[str]) -> bool:
    return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0


# -- the unit: what systemd gives the start script ----------------------------------------


@dataclass
class Unit:
    """What mlflow.service gives the start script: its umask, environment and credentials
    (name: the file on the lab's machine)."""

    exec_start: str
    umask: int
    environment: dict[str, str]
    credentials: dict[str, str]

    @classmethod
    def read(cls, path: Path = UNIT) -> Unit:
        settings = service_settings(path.read_text())
        values = dict(settings)  # the last of a repeated setting, as systemd
        environment, credentials = {}, {}
        for name, value in settings:
            if name == "Environment":
                if any(quote in value for quote in "\"'\\"):
                    raise DeploymentError(f"{path.name}: quoted Environment= is not read here")
                environment.update(word.split("=", 1) for word in value.split())
            elif name == "LoadCredential":
                credential, _, source = value.partition(":")
                credentials[credential] = source
        return cls(values["ExecStart"], int(values["UMask"], 8), environment, credentials)


def service_settings(text: str) -> list[tuple[str, str]]:
    """The [Service] section's settings, in order, a repeated one each time."""
    found, section = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service":
            name, _, value = line.partition("=")
            found.append((name.strip(), value.strip()))
    return found


def on_this_machine(value: str, **paths: str) -> str:
    """A path or PATH of the unit, with the lab's folders that the tests move (UNIT_TEST_PATHS)
    moved."""
    for lab, here in UNIT_TEST_PATHS.items():
        value = value.replace(lab, here.format(**paths))
    return value


# -- the server's account ------------------------------------------------------------


@functools.cache
def server_account() -> tuple[int, int]:
    """The uid and gid that the server runs as (mlflow.service's User= and Group=): the first
    of THROWAWAY_IDS that no account and no group of this machine has."""
    for number in THROWAWAY_IDS:
        if not _known(pwd.getpwuid, number) and not _known(grp.getgrgid, number):
            return number, number
    raise DeploymentError(
        f"every uid and gid from {THROWAWAY_IDS.start} to {THROWAWAY_IDS.stop - 1} is taken: "
        "the server's throwaway account needs one that no account or group has"
    )


def _known(lookup, number: int) -> bool:
    try:
        lookup(number)
    except KeyError:
        return False
    return True


def give_to_server(path: Path) -> None:
    """As the page's ``install -o mlflow -g mlflow``: the server's account's."""
    os.chown(path, *server_account())


def readable_by_the_server(path: Path) -> None:
    """As the page installs basic_auth.ini (``install -o root -g mlflow -m 640``): the
    server may read it, not change it, and pass through the folders above it."""
    os.chown(path, 0, server_account()[1])
    path.chmod(0o640)
    mode = path.parent.stat().st_mode & 0o7777
    let_postgres_through(path.parent)
    path.parent.chmod(mode | 0o011)  # its own mode kept, and passable


@functools.cache
def python_layout(mlflow: str) -> dict[str, str]:
    """Where the Python environment of ``mlflow`` has its parts: its prefix, its base
    Python's standard library and libpython's folder."""
    code = (
        "import json, sys, sysconfig; print(json.dumps({'prefix': sys.prefix, "
        "'stdlib': sysconfig.get_path('stdlib'), "
        "'libdir': sysconfig.get_config_var('LIBDIR') or ''}))"
    )
    python = Path(mlflow).with_name("python")
    return json.loads(run([str(python), "-c", code], "asking the server's Python").stdout)


def closed_to_others(path: str) -> Path | None:
    """The first folder on the way to ``path`` (links followed) that accounts other than its
    owner's and group's may not pass; None if they may."""
    target = Path(path).resolve()
    for folder in [*reversed(target.parents), target]:
        if folder.is_dir() and not folder.stat().st_mode & 0o001:
            return folder
    return None


def server_bin(mlflow: str, folder: Path) -> tuple[Path, dict[str, str]]:
    """The folder of the server's ``mlflow`` as the server's account reaches it, and what
    its environment needs there.

    Where that account may not pass to the Python environment, or to its base Python (a
    clone or pyenv in root's home, mode 700), the files are hard-linked into ``folder``
    (the same files, nothing copied): the environment's in about 2 s (25,000 files), the
    standard library's in 0.2 s; a second MLflow process of the deployment reuses them.
    """
    layout = python_layout(mlflow)
    prefix = Path(layout["prefix"]).resolve()
    closed_env = closed_to_others(str(prefix))
    base_parts = [Path(layout[part]).resolve() for part in ("stdlib", "libdir") if layout[part]]
    closed_base = next(filter(None, map(closed_to_others, map(str, base_parts))), None)
    if closed_env is None and closed_base is None:
        return Path(mlflow).parent, {}
    linked = folder / "python" / prefix.name
    base, env = linked / "base", linked / "env"
    needs = {"LD_LIBRARY_PATH": str(base / "lib")} if closed_base else {}
    if not linked.exists():
        closed = closed_env or closed_base
        try:
            link_environment(prefix, layout, linked, closed_env is not None, needs != {})
        except (DeploymentError, OSError) as error:
            shutil.rmtree(linked, ignore_errors=True)
            uid = server_account()[0]
            raise DeploymentError(
                f"the server's account (uid {uid}) may not pass {closed} to reach the "
                f"server's Python ({prefix}), and its files could not be hard-linked into "
                f"{folder}: {error}\nLet other accounts pass (chmod o+x {closed}), or run "
                f"the tests with TMPDIR on the filesystem of {closed}"
            ) from None
    return env / "bin", needs


def link_environment(
    prefix: Path, layout: dict[str, str], linked: Path, whole: bool, base: bool
) -> None:
    """The environment at ``prefix`` in ``linked/env``: its scripts naming their Python
    there, its packages hard-linked (``whole``) or reached through a symbolic link; with
    ``base``, its base Python's standard library and libpython hard-linked into
    ``linked/base``, which the environment names as its home."""
    env_bin = linked / "env" / "bin"
    env_bin.mkdir(mode=0o755, parents=True)
    for folder in (linked.parent, linked, linked / "env"):
        folder.chmod(0o755)
    config = (prefix / "pyvenv.cfg").read_text()
    if base:
        stdlib, libdir = Path(layout["stdlib"]).resolve(), Path(layout["libdir"]).resolve()
        lib = linked / "base" / "lib"
        (lib / stdlib.name).mkdir(parents=True)
        (linked / "base" / "bin").mkdir()  # the home: Python finds lib/ beside it
        for folder in (linked / "base", lib, lib / stdlib.name, linked / "base" / "bin"):
            folder.chmod(0o755)
        # Without its tests and its own packages: the environment has its own.
        parts = [p for p in stdlib.iterdir() if p.name not in ("site-packages", "test")]
        hard_link(parts, lib / stdlib.name)
        hard_link(list(libdir.glob("libpython*.so*")), lib)
        config = re.sub(r"(?m)^home *=.*$", f"home = {linked / 'base' / 'bin'}", config)
    (linked / "env" / "pyvenv.cfg").write_text(config)
    shutil.copyfile(prefix / "bin" / "python", env_bin / "python")  # a copy: it follows links
    (env_bin / "python").chmod(0o755)
    if whole:
        hard_link([prefix / "lib"], linked / "env")
    else:
        (linked / "env" / "lib").symlink_to(prefix / "lib")
    # mlflow and its kin name their Python in their first line: this one.
    for script in (prefix / "bin").iterdir():
        if not script.is_file() or script.name.startswith("python"):
            continue
        with script.open("rb") as file:
            first = file.readline(1000)
        named = first[2:].strip().split(b" ")[0].decode(errors="replace")
        if first.startswith(b"#!") and Path(named).parent.resolve() == prefix / "bin":
            rest = script.read_bytes()[len(first) :]
            (env_bin / script.name).write_bytes(f"#!{env_bin / 'python'}\n".encode() + rest)
            (env_bin / script.name).chmod(0o755)


def hard_link(sources: list[Path], target: Path) -> None:
    """``cp -al``: each of ``sources`` into the folder ``target``, folders made anew, files
    linked; on failure, cp's first complaint (one per file would follow)."""
    if not sources:
        return
    done = subprocess.run(
        ["cp", "-al", "-t", str(target), *map(str, sources)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if done.returncode != 0:
        raise DeploymentError(done.stderr.strip().splitlines()[0] if done.stderr.strip() else "")


# -- nginx --------------------------------------------------------------------------

# The lines of the admin's site configuration that the throwaway changes, and to what.
SITE_CHANGES = {
    "listen 80;": "listen 127.0.0.1:{http_port};",
    "listen [::]:80;": "",
    "listen 443 ssl http2;": "listen 127.0.0.1:{https_port} ssl http2;",
    "listen [::]:443 ssl http2;": "",
    f"ssl_certificate /etc/ssl/certs/{LAB_HTTPS_HOST}.pem;": "ssl_certificate {cert};",
    f"ssl_certificate_key /etc/ssl/private/{LAB_HTTPS_HOST}.key;": "ssl_certificate_key {key};",
    "access_log /var/log/nginx/mlflow.access.log;": "access_log {folder}/access.log;",
    "error_log /var/log/nginx/mlflow.error.log;": "error_log {folder}/error.log;",
    "server 127.0.0.1:5000;": "{upstreams}",
}
# nginx starts from Debian's own nginx.conf and default site as the nginx-common package
# installed them, with the admin's site beside the default one in sites-enabled, as the admin
# page's `ln -s` puts it. Only these lines differ from the lab's machine: the run's folder
# for every path nginx writes, loopback ports, and the machine's own sites and conf.d left out.
DEBIAN_NGINX = Path("/etc/nginx")
MAIN_CHANGES = {
    "pid /run/nginx.pid;": "pid {folder}/nginx.pid;",
    "error_log /var/log/nginx/error.log;": "error_log {folder}/error.log;",
    "access_log /var/log/nginx/access.log;": "access_log {folder}/access.log;",
    "include /etc/nginx/conf.d/*.conf;": "",
    "include /etc/nginx/sites-enabled/*;": "include {folder}/sites-enabled/*;",
    # Debian's are under /var/lib/nginx, shared with the machine's nginx and other runs.
    "http {": (
        "http {{ client_body_temp_path {folder}/client_body; proxy_temp_path {folder}/proxy; "
        "fastcgi_temp_path {folder}/fastcgi; uwsgi_temp_path {folder}/uwsgi; "
        "scgi_temp_path {folder}/scgi;"
    ),
}
DEFAULT_SITE_CHANGES = {
    "listen 80 default_server;": "listen 127.0.0.1:{http_port} default_server;",
    "listen [::]:80 default_server;": "",
}


def debian_conffile(path: Path) -> str:
    """A configuration file of Debian's nginx-common as shipped: one changed on this machine
    is not the lab's starting point, and fails here rather than pass a test for the wrong
    reason."""
    listed = run(
        ["dpkg-query", "-W", "-f=${Conffiles}", "nginx-common"], "finding Debian's nginx files"
    ).stdout
    shipped = dict(line.split()[:2] for line in listed.splitlines() if line.strip())
    text = path.read_text()
    if shipped.get(str(path)) != hashlib.md5(text.encode()).hexdigest():
        raise DeploymentError(
            f"{path} is not as Debian's nginx-common ships it (dpkg --verify nginx-common): "
            "the tests start nginx from Debian's own files; restore it with "
            "apt-get install --reinstall -o Dpkg::Options::=--force-confask nginx-common"
        )
    return text


def make_log_files(folder: Path) -> None:
    """The admin page's commands that make the site's log files before nginx does (nginx
    would make them readable by everyone), run on the run's folder."""
    page = (ROOT / "docs" / "admin" / "tracking-server.md").read_text()
    commands = re.findall(r"^install (.*) /dev/null /var/log/nginx/mlflow\.(\w+)\.log$", page, re.M)
    if sorted(name for _, name in commands) != ["access", "error"]:
        raise DeploymentError(f"the admin page makes the log files {commands}, not access, error")
    for options, name in commands:
        run(["install", *options.split(), "/dev/null", str(folder / f"{name}.log")], "a log file")


def install_lab_auth(mlflow: str) -> None:
    """As the admin page: the lab's sign-in check into the server's Python environment,
    where MLflow finds it (its purelib folder, beside MLflow)."""
    python = Path(mlflow).with_name("python")
    purelib = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        "finding the server's Python environment",
    ).stdout.strip()
    installed = Path(purelib) / LAB_AUTH.name
    if installed.is_file() and installed.read_bytes() == LAB_AUTH.read_bytes():
        return
    # Whole or not at all: parallel workers share the environment, and may import it now.
    partial = installed.with_suffix(f".{os.getpid()}.partial")
    shutil.copyfile(LAB_AUTH, partial)
    os.replace(partial, installed)


def site_config(
    text: str, changes: dict[str, str] = SITE_CHANGES, name: str = NGINX_SITE.name, **values: str
) -> str:
    """A configuration (the admin's site, unless told another) with the run's ports and
    paths: each line of ``changes`` must be there once, or the file changed and this must
    follow."""
    for line, replacement in changes.items():
        found = len(re.findall(rf"^[ \t]*{re.escape(line)}[ \t]*(#.*)?$", text, re.MULTILINE))
        if found != 1:
            raise DeploymentError(f"{name} has {found} lines {line!r}, not one")
        text = re.sub(
            rf"^([ \t]*){re.escape(line)}[ \t]*(#.*)?$",
            lambda m, r=replacement: m[1] + r.format(**values),
            text,
            flags=re.MULTILINE,
        )
    return text


# -- the deployment -----------------------------------------------------------------


@dataclass
class Deployment(SignInServer):
    """The running deployment: its folder, processes, admin and (once ready) lab member."""

    folder: Path
    postgres: Postgres
    https_port: int
    http_port: int
    mlflow_ports: list[int]
    admin: Credentials
    flask_key: str
    database_secret: str
    ca: Path
    mlflow: str
    mlflow_env: dict[str, str] = field(default_factory=dict)  # for every MLflow process
    mlflow_processes: list[ThrowawayServer] = field(default_factory=list)
    nginx: ThrowawayServer | None = None
    member: Credentials | None = None
    started_at: float = field(default_factory=time.monotonic)
    url: str = LAB_HTTPS_TRACKING_URI

    @classmethod
    def start(
        cls,
        *,
        mlflow: str | None = None,
        processes: int = 1,
        route: bool = True,
        admin: Credentials | None = None,
        env: dict[str, str] | None = None,
    ) -> Deployment:
        """Certificates, PostgreSQL (ready), then the MLflow processes and nginx (booting).

        With ``route``, the lab's https URL reaches this deployment from now on; without, only
        inside ``routed()`` (a second deployment of a test, beside the pages' one).
        """
        folder = Path(tempfile.mkdtemp(prefix="deployment-"))
        let_postgres_through(folder)
        config = configparser.ConfigParser()
        config.read(AUTH_CONFIG)
        deployment = cls(
            folder=folder,
            postgres=Postgres(folder),
            https_port=free_port(),
            http_port=free_port(),
            mlflow_ports=[free_port() for _ in range(processes)],
            admin=admin or Credentials(config["mlflow"]["admin_username"], new_password()),
            flask_key=secrets.token_hex(32),
            database_secret=new_password(),
            ca=folder / "ca.pem",
            mlflow=mlflow or find_mlflow(),
            mlflow_env=env or {},
        )
        try:
            deployment.postgres.init()
            deployment.postgres.start()  # its watchdog owns the whole folder
            deployment.postgres.setup(deployment.database_secret)
            etc = deployment.etc
            etc.mkdir()
            etc.chmod(0o755)  # as the page's install -d -m 755
            make_certificates(etc)
            shutil.copyfile(etc / "ca.pem", deployment.ca)
            # /etc/mlflow's secrets, as the admin page makes them: root's, mode 600.
            for name, text in deployment.secret_files().items():
                (etc / name).write_text(text)
                (etc / name).chmod(0o600)
            shutil.copyfile(AUTH_CONFIG, etc / AUTH_CONFIG.name)
            readable_by_the_server(etc / AUTH_CONFIG.name)
            shutil.copyfile(START_SCRIPT, etc / START_SCRIPT.name)  # install -m 755
            (etc / START_SCRIPT.name).chmod(0o755)
            (deployment.folder / "srv").mkdir(mode=0o700)  # /srv/mlflow, as the page makes it
            give_to_server(deployment.folder / "srv")
            # The first process alone: on an empty database it creates MLflow's tables, and a
            # second one starting meanwhile collides with it (wait_ready starts the others).
            deployment.mlflow_processes.append(deployment.start_mlflow(deployment.mlflow_ports[0]))
            deployment.start_nginx()
        except BaseException:
            deployment.stop()
            raise
        if route:
            deployment.route_the_lab_url_here()
        return deployment

    @property
    def certificate_pin(self) -> str:
        """What a browser is told to accept: this deployment's certificate alone."""
        return public_key_pin(self.etc / "server.pem")

    @property
    def etc(self) -> Path:
        """What /etc/mlflow and /etc/ssl hold on the lab's machine."""
        return self.folder / "etc"

    def secret_files(self) -> dict[str, str]:
        """The files of /etc/mlflow that hold secrets, and what the admin page puts in them."""
        return {
            "flask-secret-key": self.flask_key + "\n",
            "admin-password": self.admin.password + "\n",
            "pgpass": PGPASS.read_text().replace("<database password>", self.database_secret),
        }

    def script_environment(self) -> dict[str, str]:
        """What the admin's scripts find on the lab's machine in /etc/mlflow and /srv/mlflow
        (their defaults), here: the run's paths, and the server's MLflow on PATH."""
        return {
            "LAB_MLFLOW_DIR": str(self.folder / "srv"),
            "LAB_PG_SOCKET_DIR": str(self.postgres.folder),
            "PGPASSFILE": str(self.etc / "pgpass"),
            "LAB_MLFLOW_AUTH_CONFIG": str(self.etc / AUTH_CONFIG.name),
            "LAB_MLFLOW_OWNER": "{}:{}".format(*server_account()),
            "PATH": os.pathsep.join([str(Path(self.mlflow).parent), os.environ["PATH"]]),
        }

    def unit_environment(self, unit: Unit, folder: Path, port: int) -> dict[str, str]:
        """The environment systemd gives the start script (mlflow.service's, for the account
        whose home is /srv/mlflow), with the run's paths (UNIT_TEST_PATHS), and what the
        server's MLflow needs where that account reaches it (server_bin)."""
        mlflow_bin, python_needs = server_bin(self.mlflow, self.folder)
        paths = {"mlflow_bin": str(mlflow_bin), "etc": str(self.etc)}
        srv = str(self.folder / "srv")
        return {
            "LANG": "C.UTF-8",
            "HOME": srv,
            "LOGNAME": "mlflow",
            "USER": "mlflow",
            "SHELL": "/usr/sbin/nologin",
            **{name: on_this_machine(value, **paths) for name, value in unit.environment.items()},
            "CREDENTIALS_DIRECTORY": str(folder / "credentials"),
            "LAB_MLFLOW_DIR": srv,
            "LAB_PG_SOCKET_DIR": str(self.postgres.folder),
            "LAB_MLFLOW_AUTH_CONFIG": str(self.etc / AUTH_CONFIG.name),
            "LAB_MLFLOW_PORT": str(port),
            **python_needs,
        }

    def load_credentials(
        self, unit: Unit, folder: Path, changed: dict[str, str | None] | None = None
    ) -> None:
        """The credentials directory systemd makes for the service (LoadCredential=): a
        folder only its account can read, each file a copy of the one the unit names.
        ``changed``: other contents, or (None) a file left out."""
        credentials = folder / "credentials"
        credentials.mkdir(mode=0o700)
        give_to_server(credentials)
        paths = {"mlflow_bin": "", "etc": str(self.etc)}
        for name, source in unit.credentials.items():
            text = (changed or {}).get(name, Path(on_this_machine(source, **paths)).read_text())
            if text is not None:
                (credentials / name).write_text(text)
                (credentials / name).chmod(0o400)
                give_to_server(credentials / name)

    def run_script(self, name: str, *args: str) -> str:
        """Run one of the admin's scripts (examples/deploy/) on this deployment; its output."""
        done = subprocess.run(
            ["bash", str(DEPLOY / name), *args],
            env={**os.environ, **self.script_environment()},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
        return done.stdout

    def start_mlflow(
        self,
        port: int,
        env: dict | None = None,
        credentials: dict[str, str | None] | None = None,
    ) -> ThrowawayServer:
        """One MLflow process: the admin's script, as systemd starts it (mlflow.service's
        account, umask, environment and credentials). ``env`` adds to or (None) takes from
        the environment; ``credentials`` changes what the credential files hold."""
        unit = Unit.read()
        if Path(unit.exec_start).name != START_SCRIPT.name:
            raise DeploymentError(f"{UNIT.name} starts {unit.exec_start}, not {START_SCRIPT.name}")
        install_lab_auth(self.mlflow)
        data = self.folder / f"mlflow-{port}"  # its working folder and TMPDIR
        data.mkdir(mode=0o700)
        give_to_server(data)
        self.load_credentials(unit, data, credentials)
        network.allow_port(port)
        script = on_this_machine(unit.exec_start, mlflow_bin="", etc=str(self.etc))
        uid, gid = server_account()
        return launch(
            f"MLflow server of the deployment (examples/deploy/{START_SCRIPT.name}, port {port})",
            ["setpriv", f"--reuid={uid}", f"--regid={gid}", *SERVER_PRIVILEGES,
             "sh", "-c", 'umask "$0" && exec bash "$1"', f"{unit.umask:04o}", script],
            data,
            port=port,
            env={**self.unit_environment(unit, data, port), **self.mlflow_env, **(env or {})},
            inherit=False,
        )  # fmt: skip

    def stop_mlflow(self, index: int | None = None) -> None:
        """Stop one MLflow process (or all), as ``systemctl stop`` does; nginx stays."""
        chosen = self.mlflow_processes if index is None else [self.mlflow_processes[index]]
        for process in chosen:
            process.stop(grace=5.0)

    def start_mlflow_again(self, index: int | None = None) -> None:
        """Start stopped MLflow processes again, on their ports (``wait_ready`` waits)."""
        indexes = range(len(self.mlflow_ports)) if index is None else [index]
        for i in indexes:
            self.mlflow_processes[i] = self.start_mlflow(self.mlflow_ports[i])

    def start_nginx(self) -> None:
        folder = self.folder / "nginx"
        folder.mkdir(mode=0o700)
        upstreams = "\n    ".join(f"server 127.0.0.1:{port};" for port in self.mlflow_ports)
        sites = folder / "sites-enabled"
        sites.mkdir()
        (sites / "mlflow").write_text(
            site_config(
                NGINX_SITE.read_text(),
                http_port=str(self.http_port),
                https_port=str(self.https_port),
                cert=str(self.etc / "server.pem"),
                key=str(self.etc / "server.key"),
                folder=str(folder),
                upstreams=upstreams,
            )
        )
        (sites / "default").write_text(
            site_config(
                debian_conffile(DEBIAN_NGINX / "sites-available" / "default"),
                DEFAULT_SITE_CHANGES,
                "Debian's default site",
                http_port=str(self.http_port),
            )
        )
        main = debian_conffile(DEBIAN_NGINX / "nginx.conf")
        (folder / "nginx.conf").write_text(
            site_config(main, MAIN_CHANGES, "Debian's nginx.conf", folder=str(folder))
        )
        make_log_files(folder)
        for port in (self.https_port, self.http_port):
            network.allow_port(port)
        self.nginx = launch(
            "nginx of the deployment (examples/deploy/mlflow.nginx.conf)",
            ["nginx", "-e", folder / "error.log", "-p", folder, "-c", folder / "nginx.conf",
             "-g", "daemon off;"],
            folder,
            port=self.https_port,
        )  # fmt: skip

    def route_the_lab_url_here(self) -> None:
        """The lab's https URL (and plain http on its port 80) reach nginx; clients trust
        the throwaway CA."""
        lab_address.route_secured(self.https_port, self.http_port)
        for name in CA_VARIABLES:
            os.environ[name] = str(self.ca)

    @contextmanager
    def routed(self) -> Iterator[None]:
        """The lab's URL reaches this deployment inside the block, then the one before."""
        with (
            lab_address.secured_routed(self.https_port, self.http_port),
            trusting(self.ca),
        ):
            network.drop_open_connections()
            try:
                yield
            finally:
                network.drop_open_connections()

    # -- what the pages' checks and the session ask of it -------------------------------

    def processes(self) -> list[ThrowawayServer]:
        found = [self.postgres.process, *self.mlflow_processes, self.nginx]
        return [p for p in found if p is not None]

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> float:
        """Every MLflow process answers, and nginx passes the lab's URL on; on the first
        call, the lab member is created. Seconds since the start."""
        deadline = time.monotonic() + timeout
        self.wait_for(self.mlflow_processes[0], self.health(0), deadline)
        for port in self.mlflow_ports[len(self.mlflow_processes) :]:
            self.mlflow_processes.append(self.start_mlflow(port))
        for index, process in enumerate(self.mlflow_processes):
            self.wait_for(process, self.health(index), deadline)
        self.wait_for(self.nginx, f"{self.url}/health", deadline)
        if self.member is None:
            self.member = self.create_user(MEMBER_USERNAME)
        for process in self.mlflow_processes:
            process.ready = True
        self.nginx.ready = True
        self.postgres.process.ready = True
        return time.monotonic() - self.started_at

    def health(self, index: int) -> str:
        return f"http://127.0.0.1:{self.mlflow_ports[index]}/health"

    def wait_for(self, process: ThrowawayServer, url: str, deadline: float) -> None:
        def answers() -> bool:
            for each in self.processes():
                if each.exit_status() is not None:
                    raise each.died("exited before the deployment was ready")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    return response.status == 200
            except (urllib.error.URLError, OSError):
                return False

        wait_until(answers, timeout=deadline - time.monotonic(), failure=lambda: DeploymentError(
            f"the {process.name} did not answer {url} in time.\n"
            f"--- {process.log_path} (last lines) ---\n{process.log_tail()}"
        ))  # fmt: skip

    def stop(self) -> None:
        """nginx, then MLflow, then PostgreSQL; its watchdog then removes the folder."""
        for process in [self.nginx, *self.mlflow_processes]:
            if process is not None:
                process.ask_to_stop()
        for process in [self.nginx, *self.mlflow_processes]:
            if process is not None:
                process.stop(grace=3.0)
        if self.postgres.process is not None:
            self.postgres.process.stop(grace=10.0)
        shutil.rmtree(self.folder, ignore_errors=True)

    def refuses(self, who: Credentials) -> float:
        """Wait until the server refuses ``who`` (401), as it must within the auth cache's
        time to live (basic_auth.ini) after a password change; the seconds it took."""
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        def refused() -> bool:
            with signed_in(who):
                try:
                    MlflowClient(self.url).search_experiments(max_results=1)
                except MlflowException as error:
                    if "failed with error code 401" in str(error):
                        return True
                    raise
            return False

        started = time.monotonic()
        wait_until(refused, timeout=auth_cache_seconds() + 5, every=0.5, failure=lambda: (
            AssertionError(f"{who} still signs in {auth_cache_seconds()} s after the change")
        ))  # fmt: skip
        return time.monotonic() - started


def registry_environment() -> dict[str, str]:
    """This process's environment without the throwaway CA: for a subprocess that may reach
    the package registry (pip building an environment), whose certificates it must check."""
    return {name: value for name, value in os.environ.items() if name not in CA_VARIABLES}


def trusting(ca: Path):
    """Clients trust ``ca`` inside the block."""
    return changed_environment(dict.fromkeys(CA_VARIABLES, str(ca)))


def auth_cache_seconds() -> int:
    """How long a checked password stays valid in each MLflow process (basic_auth.ini)."""
    config = configparser.ConfigParser()
    config.read(AUTH_CONFIG)
    return config["mlflow"].getint("auth_cache_ttl_seconds", fallback=0)


def let_postgres_through(folder: Path) -> None:
    """PostgreSQL's account, and the server's, must reach a folder inside the run's (root's,
    mode 700): let others pass through (x), never list or read, the folders above it, up to
    the first sticky one (the system's /tmp)."""
    for above in folder.resolve().parents:
        mode = above.stat().st_mode
        if mode & 0o1000:
            break
        above.chmod(mode | 0o011)
    folder.chmod(0o711)
