"""Requests per second of the lab's deployment, as the admin page configures it.

    python -m tools.benchmark_deployment [--seconds 20]

Starts the throwaway deployment from examples/deploy/ (labdocs/services/deployment.py: nginx with
TLS, the start script with its workers and auth cache, PostgreSQL), creates four members,
and lets first one, then four members at once (one process each) call ``log_metric`` in a
loop through the lab's https URL, as a training does. Prints the calls per second in all,
and the slowest 1 % of calls; and the deployment's start and stop times. A figure, not a
test: nothing fails on a slow machine.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time

from labdocs.lab import LAB_HTTPS_TRACKING_URI
from labdocs.services import network
from labdocs.services.auth import Credentials, signed_in
from labdocs.services.deployment import Deployment
from labdocs.services.session import SessionFolder, clean_environment


def member_logs(who: Credentials, experiment_id: str, seconds: float, results) -> None:
    from mlflow import MlflowClient

    with signed_in(who):
        client = MlflowClient(LAB_HTTPS_TRACKING_URI)
        run = client.create_run(experiment_id)
        took, until, step = [], time.monotonic() + seconds, 0
        while time.monotonic() < until:
            started = time.monotonic()
            client.log_metric(run.info.run_id, "loss", 1.0 / (step + 1), step=step)
            took.append(time.monotonic() - started)
            step += 1
        client.set_terminated(run.info.run_id)
    results.put(took)


def measure(members: list[Credentials], experiment_ids: list[str], seconds: float) -> str:
    results = multiprocessing.get_context("fork").Queue()
    processes = [
        multiprocessing.get_context("fork").Process(
            target=member_logs, args=(who, experiment_id, seconds, results)
        )
        for who, experiment_id in zip(members, experiment_ids, strict=True)
    ]
    for process in processes:
        process.start()
    took = [t for _ in processes for t in results.get(timeout=seconds + 120)]
    for process in processes:
        process.join()
    p99 = statistics.quantiles(took, n=100)[98] if len(took) > 1 else took[0]
    return (
        f"{len(took) / seconds:6.1f} calls/s in all, p99 {p99 * 1000:6.0f} ms ({len(took)} calls)"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    options = parser.parse_args(argv)
    clean_environment(os.environ)
    folder = SessionFolder()
    folder.enter()
    network.install_guard()
    started = time.monotonic()
    deployment = Deployment.start()
    try:
        deployment.wait_ready()
        ready = time.monotonic() - started
        from mlflow import MlflowClient

        members = [deployment.create_user(f"member-{i}") for i in range(4)]
        experiment_ids = []
        for who in members:
            with signed_in(who):
                name = f"benchmark-{who.username}"
                experiment_ids.append(MlflowClient(LAB_HTTPS_TRACKING_URI).create_experiment(name))
        print(f"deployment ready (PostgreSQL, MLflow, nginx): {ready:.1f} s", flush=True)
        print(f"1 member : {measure(members[:1], experiment_ids[:1], options.seconds)}", flush=True)
        print(f"4 members: {measure(members, experiment_ids, options.seconds)}", flush=True)
    finally:
        stopping = time.monotonic()
        deployment.stop()
        print(f"deployment stopped: {time.monotonic() - stopping:.1f} s")
        folder.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
