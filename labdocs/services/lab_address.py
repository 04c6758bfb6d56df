"""The lab's address and every route by which it reaches the tests' own servers.

Pages and examples write the lab's real address, as readers type it. The tests never
contact it: this module is the one place that sends it elsewhere, in each of the ways a
client meets an address (this process's name resolution, a process of its own, Chromium,
a file's text) and that tells the tests' servers to answer to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from labdocs.lab import LAB_HOST, LAB_HTTPS_HOST, LAB_HTTPS_TRACKING_URI, LAB_TRACKING_URI
from labdocs.services import network

# The open server's address, written on the pages; the secured one's, and its plain http.
OPEN = LAB_TRACKING_URI
SECURED = LAB_HTTPS_TRACKING_URI
SECURED_HTTP = f"http://{LAB_HTTPS_HOST}"


# -- this process (and, through network.process_environment, its subprocesses) ---------


def route_open(server_url: str) -> None:
    """The open address reaches ``server_url`` (a throwaway server on loopback)."""
    network.redirect(OPEN, server_url)


@contextmanager
def open_closed() -> Iterator[None]:
    """Inside the block the open address reaches nothing: a member run uses the secured one."""
    with network.closed(OPEN):
        yield


def route_secured(https_port: int, http_port: int) -> None:
    """The secured address (and plain http on its port 80) reach a deployment's nginx."""
    network.redirect(SECURED, f"https://127.0.0.1:{https_port}")
    network.redirect(SECURED_HTTP, f"http://127.0.0.1:{http_port}")


@contextmanager
def secured_routed(https_port: int, http_port: int) -> Iterator[None]:
    """``route_secured`` inside the block only, then the route before it."""
    with (
        network.redirected(SECURED, f"https://127.0.0.1:{https_port}"),
        network.redirected(SECURED_HTTP, f"http://127.0.0.1:{http_port}"),
    ):
        yield


# -- Chromium -------------------------------------------------------------------------


def resolver_rules(lab_host: str, server_url: str) -> list[str]:
    """Chromium's flags that map the lab's ``host[:port]`` to the server on loopback, every
    other name to "not found", and let nothing else bypass the dead proxy."""
    server = urlsplit(server_url)
    if server.hostname not in ("127.0.0.1", "localhost"):
        raise ValueError(f"the browser may only reach loopback, not {server_url}")
    return [
        f"--host-resolver-rules=MAP {lab_host} 127.0.0.1:{server.port}, MAP * ~NOTFOUND",
        f"--proxy-bypass-list={lab_host};127.0.0.1;localhost",
    ]


# -- text -----------------------------------------------------------------------------


def written_for(text: str, address: str, once: bool = False) -> str:
    """``text`` (a page's example file, a batch script) naming ``address`` for the lab's
    open address; ``once``: it must name the lab's address exactly once."""
    if once and text.count(OPEN) != 1:
        raise ValueError(f"the text names the lab's address {text.count(OPEN)} times, not once")
    return text.replace(OPEN, address)


# -- the tests' servers ----------------------------------------------------------------


def allowed_hosts(port: int) -> str:
    """The Host headers a throwaway server accepts: its own address, and the lab's."""
    return ",".join([f"127.0.0.1:{port}", f"localhost:{port}", LAB_HOST])


# The origin the UI is opened at, which a server must allow (MLflow >= 3.5 refuses others).
UI_ORIGIN = OPEN
