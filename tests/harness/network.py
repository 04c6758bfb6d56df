"""Keep the tests on this machine, and send the lab's URL to the throwaway server.

Pages show the lab's real tracking URI, as readers must type it. During the tests,
name resolution is patched so that the lab's host and port resolve to the throwaway
server on loopback: every use of the URL (``set_tracking_uri``, an MMEngine config's
``tracking_uri``, ``MLFLOW_TRACKING_URI``) reaches it, through MLflow's real HTTP
client, with the lab's ``Host`` header (the server allows that host, as the lab's must).

Any other connection that would leave loopback fails at once with ``NetworkGuardError``.
It is not an ``OSError`` on purpose: HTTP clients retry those, and a test must not wait.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class NetworkGuardError(RuntimeError):
    """A test tried to reach a non-loopback address."""


_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_redirects: dict[tuple[str, int], tuple[str, int]] = {}
blocked: list[str] = []  # what the guard refused, for the test report


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str) -> NetworkGuardError:
    blocked.append(what)
    return NetworkGuardError(
        f"tests may only talk to loopback addresses; refused: {what}. "
        "Is a page using a URL other than the lab's tracking URI?"
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
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(str(address[0])):
        raise _refuse(f"connecting to {address[0]}:{address[1]}")


def _guarded_connect(self, address):
    _check_address(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    _check_address(self, address)
    return _real_connect_ex(self, address)


def install_guard() -> None:
    """Refuse every connection that would leave loopback (idempotent)."""
    socket.getaddrinfo = _guarded_getaddrinfo
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex


def redirect(public_url: str, local_url: str) -> None:
    """Make ``public_url``'s host and port resolve to ``local_url``'s (loopback)."""
    public, local = urlsplit(public_url), urlsplit(local_url)
    if not _is_loopback(local.hostname):
        raise ValueError(f"can only redirect to loopback, not {local_url}")
    _redirects[(public.hostname, public.port or 80)] = (local.hostname, local.port or 80)
