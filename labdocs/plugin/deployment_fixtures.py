"""Fixtures of the lab's deployment (deployment.py: the files of examples/deploy/).

``deployment``: one per pytest run (across the cores, one per worker), started as soon as
collection shows that a selected test needs it (``start_if_needed``: it boots while the
others run), reached at the lab's https address (``LAB_HTTPS_TRACKING_URI``), stopped when
the run ends; its processes are among the servers whose death stops the run (started.py).

``fresh_deployment`` starts more, for the tests that move, back up, restore and restart:
each one ready, reached through the lab's https address only inside its ``routed()``
block, and stopped (its folder gone) when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from labdocs.plugin.started import STARTED, controller
from labdocs.services.deployment import Deployment
from labdocs.services.server_versions import ServerError

# Minutes, not the pages' 90 s: these deployments start one MLflow process after another
# (two on an empty database would collide), and the drills run while the machine is busy.
DRILL_READY_TIMEOUT = 300.0
# The session's deployment: PostgreSQL's initdb, then MLflow on an empty database.
SESSION_READY_TIMEOUT = 180.0


def _start(config: pytest.Config) -> Deployment:
    started = config.stash[STARTED]
    if started.deployment is None:
        started.deployment = Deployment.start()
    return started.deployment


def start_if_needed(session: pytest.Session) -> None:
    """At the end of collection: start booting now if a selected test needs the session's
    deployment (each worker of a parallel session collects every test: each boots one)."""
    if session.config.option.collectonly or controller(session.config):
        return
    if any("deployment" in getattr(item, "fixturenames", ()) for item in session.items):
        try:
            _start(session.config)
        except ServerError as error:
            pytest.exit(str(error), returncode=pytest.ExitCode.INTERNAL_ERROR)


@pytest.fixture(scope="session")
def deployment(pytestconfig: pytest.Config) -> Deployment:
    """The lab's deployment, ready, with a lab member: examples/deploy/'s nginx (TLS),
    start script and PostgreSQL, at the lab's https address."""
    try:
        running = _start(pytestconfig)
        running.wait_ready(timeout=SESSION_READY_TIMEOUT)
    except ServerError as error:
        pytest.exit(str(error), returncode=pytest.ExitCode.INTERNAL_ERROR)
    return running


@pytest.fixture
def fresh_deployment() -> Iterator[Callable[..., Deployment]]:
    started: list[Deployment] = []

    def start(**options) -> Deployment:
        deployment = Deployment.start(route=False, **options)
        started.append(deployment)
        with deployment.routed():
            try:
                deployment.wait_ready(timeout=DRILL_READY_TIMEOUT)
            except ServerError as error:
                pytest.fail(str(error), pytrace=False)
        return deployment

    try:
        yield start
    finally:
        for deployment in started:
            deployment.stop()
