"""The network guard and the lab's URL (labdocs/services/network.py), and the run's environment."""

import socket

import pytest

from labdocs.lab import LAB_TRACKING_URI
from labdocs.services import network
from labdocs.services.servers import free_port
from labdocs.services.session import TEST_ENVIRONMENT, clean_environment


def test_the_guard_refuses_non_loopback_connections_at_once():
    with network.refusals_expected() as refused:
        with socket.socket() as sock, pytest.raises(network.NetworkGuardError, match="refused"):
            sock.connect(("192.0.2.1", 80))  # TEST-NET-1: refused before any packet leaves
        with pytest.raises(network.NetworkGuardError, match=r"resolving example\.org"):
            socket.getaddrinfo("example.org", 443)
    assert refused == ["connecting to 192.0.2.1:80", "resolving example.org:443"]


def test_the_guard_refuses_loopback_ports_of_no_test_server():
    """A page that used MLflow's default port would write into a developer's own server."""
    with (
        network.refusals_expected() as refused,
        socket.socket() as sock,
        pytest.raises(network.NetworkGuardError, match="5000"),
    ):
        sock.connect(("127.0.0.1", 5000))
    assert refused == ["connecting to loopback port 5000, which no server of the tests holds"]


def test_a_test_may_open_a_loopback_port_on_purpose():
    with network.allowed_port(free_port()) as port, socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # refused by the kernel: nobody there


def test_the_lab_url_resolves_to_the_throwaway_server(mlflow_server):
    host, port = LAB_TRACKING_URI.split("://")[1].split(":")
    resolved = {info[4] for info in socket.getaddrinfo(host, int(port), socket.AF_INET)}
    assert resolved == {("127.0.0.1", mlflow_server.port)}


def test_the_shell_s_mlflow_settings_are_not_used():
    shell = {
        "MLFLOW_TRACKING_URI": "http://example.org",
        "MLFLOW_EXPERIMENT_NAME": "someone-elses",
        "MLFLOW_TRACKING_PASSWORD": "<from the shell>",
        "PATH": "/usr/bin",
    }
    clean_environment(shell)
    assert shell == {"PATH": "/usr/bin", **TEST_ENVIRONMENT}  # the shell's MLflow settings: gone
    # ... and what the tests set instead: no usage data, no retry loop of minutes.
    assert shell["MLFLOW_DISABLE_TELEMETRY"] == shell["DO_NOT_TRACK"] == "true"
    assert int(shell["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]) <= 2
    assert shell["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] == "0"
