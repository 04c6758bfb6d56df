"""Fixtures of the lab's deployment beyond the pages' one (``auth_server``, plugin.py).

``fresh_deployment`` starts more throwaway deployments from the admin's files, for the
tests that move, back up, restore and restart: each one ready, reached through the lab's
URL only inside its ``routed()`` block, and stopped (its folder gone) when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from labdocs.deployment import Deployment
from labdocs.servers import ServerError

# Minutes, not the pages' 90 s: these deployments start one MLflow process after another
# (two on an empty database would collide), and the drills run while the machine is busy.
DRILL_READY_TIMEOUT = 300.0


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
