"""Keep the tests on this machine, and send the addresses lab_address.py routes to loopback.

Pages show the lab's real tracking URI, as readers must type it. During the tests,
name resolution is patched so that the lab's host and port resolve to the tests' server
on loopback: every use of the URL (``set_tracking_uri``, an MMEngine config's
``tracking_uri``, ``MLFLOW_TRACKING_URI``) reaches it, through MLflow's real HTTP
client, with the lab's ``Host`` header (the server allows that host, as the lab's must).

Every other connection fails at once with ``NetworkGuardError``: any address beyond
loopback, and any loopback port but the servers' (a page using ``localhost:5000`` would
otherwise write into a developer's own MLflow server). It is not an ``OSError`` on
purpose: HTTP clients retry those, and a test must not wait. What the guard refuses is
recorded, and the plugin fails the run if anything was: a refusal swallowed by the code
that tried (MLflow's telemetry thread, say) is still a packet that would have left.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit


class NetworkGuardError(RuntimeError):
    """A test tried to reach an address that is not one of the tests' own servers."""


_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_redirects: dict[tuple[str, int], tuple[str, int]] = {}
_allowed_ports: set[int] = set()
refused: list[str] = []  # what the guard refused, for the end of the run


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str) -> NetworkGuardError:
    refused.append(what)
    return NetworkGuardError(
        f"tests may only talk to their own servers; refused: {what}. Is a page using a URL "
        "other than the lab's tracking URI? (A test that means to reach another loopback "
        "port opens it with labdocs.services.network.allowed_port(port).)"
    )


def _guarded_getaddrinfo(host, port, *args, **kwargs):
    key = (host.decode() if isinstance(host, bytes) else host, _port_number(port))
    if key in _redirects:
        host, port = _redirects[key]
    elif host is not None and not _is_loopback(key[0]):
        raise _refuse(f"resolving {key[0]}:{port}")
    return _real_getaddrinfo(host, port, *args, **kwargs)


def _port_number(port) -> int | None:
    if port is None:
        return None
    try:
        return int(port)
    except ValueError:
        return socket.getservbyname(port)


def _check_address(sock: socket.socket, address) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # a Unix socket or a socketpair: never leaves the machine
    host, port = str(address[0]), int(address[1])
    if not _is_loopback(host):
        raise _refuse(f"connecting to {host}:{port}")
    if port not in _allowed_ports:
        raise _refuse(f"connecting to loopback port {port}, which no server of the tests holds")


def _guarded_connect(self, address):
    _check_address(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    _check_address(self, address)
    return _real_connect_ex(self, address)


def install_guard() -> None:
    """Refuse every connection but to the allowed loopback ports (idempotent)."""
    socket.getaddrinfo = _guarded_getaddrinfo
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex


def allow_port(port: int) -> None:
    """Let connections to this loopback port through: a server the tests started."""
    _allowed_ports.add(port)


@contextmanager
def allowed_port(port: int) -> Iterator[int]:
    """For a test that reaches a loopback port on purpose (a closed one, say)."""
    _allowed_ports.add(port)
    try:
        yield port
    finally:
        _allowed_ports.discard(port)


@contextmanager
def refusals_expected() -> Iterator[list[str]]:
    """For a test of the guard itself: what it refuses inside is not held against the run."""
    before = len(refused)
    seen: list[str] = []
    try:
        yield seen
    finally:
        seen.extend(refused[before:])
        del refused[before:]


def redirect(public_url: str, local_url: str) -> None:
    """Make ``public_url``'s host and port resolve to ``local_url``'s (loopback)."""
    public, local = urlsplit(public_url), urlsplit(local_url)
    if not _is_loopback(local.hostname):
        raise ValueError(f"can only redirect to loopback, not {local_url}")
    _redirects[(public.hostname, _port_of(public))] = (local.hostname, _port_of(local))


def _port_of(url) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


@contextmanager
def redirected(public_url: str, local_url: str) -> Iterator[None]:
    """``redirect`` for a block only: a test's own server stands in for the lab's there."""
    key = (urlsplit(public_url).hostname, _port_of(urlsplit(public_url)))
    before = _redirects.get(key)
    redirect(public_url, local_url)
    try:
        yield
    finally:
        if before is None:
            _redirects.pop(key, None)
        else:
            _redirects[key] = before


@contextmanager
def closed(public_url: str) -> Iterator[None]:
    """Inside the block ``public_url`` reaches nothing: any use of it is refused, and fails."""
    key = (urlsplit(public_url).hostname, _port_of(urlsplit(public_url)))
    before = _redirects.pop(key, None)
    drop_open_connections()  # one kept open would reach it without resolving its name
    try:
        yield
    finally:
        if before is not None:
            _redirects[key] = before


def drop_open_connections() -> None:
    """MLflow keeps its HTTP connections open in cached sessions: a connection opened to one
    server would go on serving the lab's URL after it is sent elsewhere."""
    from mlflow.utils.request_utils import _cached_get_request_session

    _cached_get_request_session.cache_clear()


# -- processes of their own -------------------------------------------------------------

PROCESS_SHIM = '''\
"""The tests' name resolution in a process of their own (labdocs/services/network.py): the lab's
addresses go to the tests' servers, and no other name beyond loopback resolves."""

import socket

_real_getaddrinfo = socket.getaddrinfo
_REDIRECTS = {redirects!r}


def _port(port):
    if isinstance(port, bytes):
        port = port.decode()
    if port in ("http", "https"):
        return {{"http": 80, "https": 443}}[port]
    return None if port is None else int(port)


def _as_in_the_tests(host, port, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    target = _REDIRECTS.get((name, _port(port)))
    if target is not None:
        return _real_getaddrinfo(target[0], target[1], *args, **kwargs)
    if name not in (None, "127.0.0.1", "localhost", "::1"):
        raise OSError(f"a test's process resolves only the tests' servers, not {{name}}")
    return _real_getaddrinfo(host, port, *args, **kwargs)


socket.getaddrinfo = _as_in_the_tests
'''


def process_environment(folder) -> dict[str, str]:
    """What a process of its own (a command a page shows) needs in its environment to reach
    the lab's address as this one does: a ``sitecustomize`` in ``folder`` that sends each
    redirected address to its server, and lets no other name beyond loopback resolve. What
    it trusts and who it signs in as come with the environment, as in this process."""
    from pathlib import Path

    Path(folder).mkdir(parents=True, exist_ok=True)
    shim = Path(folder, "sitecustomize.py")
    shim.write_text(PROCESS_SHIM.format(redirects=dict(_redirects)))
    paths = [str(folder), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {"PYTHONPATH": os.pathsep.join(paths)}
