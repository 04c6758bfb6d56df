"""What a pytest session started and keeps, in ``config.stash``: read by the plugin's hooks
and by the fixture modules alike, so that neither imports the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from labdocs.browser.chromium import NoBrowser
from labdocs.plugin import summary
from labdocs.services.interrupts import Interruptions
from labdocs.services.session import SessionFolder

if TYPE_CHECKING:
    from labdocs.services.deployment import Deployment
    from labdocs.services.servers import ThrowawayServer


@dataclass
class Started:
    """What this session started and keeps: its folder, servers, browser, page examples."""

    folder: SessionFolder
    interruptions: Interruptions
    chromium: str | NoBrowser  # found before HOME moves (Playwright's browsers live under it)
    server: ThrowawayServer | None = None
    deployment: Deployment | None = None  # the lab's deployment, once a test needs it
    examples: list[summary.Example] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # the guard's, in this or any worker
    failed_at: dict[str, int] = field(default_factory=dict)  # a page run's first failed line

    def watched(self) -> list[ThrowawayServer]:
        """Every process whose death stops the run: the throwaway server, the deployment's."""
        found = [self.server] if self.server is not None else []
        if self.deployment is not None:
            found += self.deployment.processes()
        return found


STARTED = pytest.StashKey[Started]()

STOPPING = "the session is stopping: the reason is printed at its end"


def controller(config: pytest.Config) -> bool:
    """The controller of a parallel session: it runs no test itself."""
    return getattr(config.option, "dist", "no") != "no" and not hasattr(config, "workerinput")


def stop(session: pytest.Session, message: str) -> None:
    """Stop the session after the test at hand, saying why once, at the end.

    ``session.shouldstop`` rather than ``pytest.exit``: a worker of a parallel session
    hands it to the controller, which stops every worker and prints it.
    """
    if not session.shouldstop:
        session.shouldstop = message


def stop_if_a_server_died(session: pytest.Session) -> bool:
    """The one place that notices a dead server (the throwaway one or a process of the
    deployment): the session stops, with its log."""
    for server in session.config.stash[STARTED].watched():
        if server.exit_status() is not None:
            when = "died during the run" if server.ready else "exited before it was ready"
            stop(session, str(server.died(when)))
            return True
    return False
