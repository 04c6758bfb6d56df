"""The fixture of the throwaway Slurm (slurm.py): ``slurm_cluster``.

Started by the first test that asks for it (in about a second), stopped at the end of the
run with its jobs; if pytest is killed, the daemons' watchdog ends it all the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from labdocs.plugin.started import STARTED
from labdocs.services.slurm import SlurmError, ThrowawaySlurm, installed


@pytest.fixture(scope="session")
def slurm_cluster(pytestconfig: pytest.Config) -> ThrowawaySlurm:
    """A single-node Slurm cluster on loopback, idle and ready for jobs."""
    problem = installed()
    if problem:  # CI installs it (.ci/run): missing is a failure, not a skip
        pytest.fail(problem, pytrace=False)
    # In the system's temporary folder, not the run's private one (munged would refuse
    # it); the cluster's watchdog removes it however the run ends.
    cluster = ThrowawaySlurm.start(Path(pytestconfig.stash[STARTED].folder.system_tmp))
    try:
        cluster.wait_ready()
    except SlurmError as error:
        cluster.stop()
        pytest.fail(str(error), pytrace=False)
    yield cluster
    cluster.stop()
