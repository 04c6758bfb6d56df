"""Many lab members logging at once: what the member runs' plain-http server with sign-in
takes, and whether it loses anything (the admin page's deployment: benchmark_deployment.py).

  python -m tools.load_test [--members 4] [--singles 20] [--batches 5] [--batch-size 1000]
                            [--artifacts 3] [--script labdocs/member_server/lab_server.sh]
                            [--auth-config labdocs/member_server/basic_auth.ini] [--auth-cache-ttl S]

Starts a server from a start script (``--script`` with ``--auth-config``: by default
``labdocs/member_server/lab_server.sh`` and its ``basic_auth.ini``, run as the tests run them, on
loopback in a folder of its own; any script that reads the same ``LAB_MLFLOW_*`` variables
will do), creates one user per member, and starts the members together, one process each.
Each member logs into its own experiment (``load-test/<member>``, the lab's rule) one run:
``--singles`` metric values one request each (``log_metric``), ``--batches`` batches of
``--batch-size`` values (``log_batch``), and ``--artifacts`` small files. Then it asks the
server for every point and file back, and prints: members, points sent, points received,
points lost (acknowledged but missing: must be 0), errors (calls that raised), points per
second, requests per second, and the single calls' latency.

``--auth-cache-ttl S`` runs the same with ``auth_cache_ttl_seconds = S`` added to the
sign-in configuration, to see what MLflow's cache of checked passwords changes. Figures,
not a test: nothing here passes or fails but a server that cannot start.
"""

from __future__ import annotations

import argparse
import configparser
import multiprocessing
import os
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER_ENVIRONMENT = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    # What a member's client does, but a dead server fails in a minute, not in ten.
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "120",
}


@dataclass
class Tally:
    """What one member sent and what failed."""

    member: str
    run_id: str = ""
    points_sent: int = 0  # in calls that returned without error
    points_failed: int = 0  # in calls that raised
    artifacts_sent: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    single_latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0


def member(args: tuple) -> Tally:
    """One member's training, in a process of its own: its own client, its own sign-in."""
    url, username, password, plan, start_at = args
    os.environ.update(SERVER_ENVIRONMENT)
    os.environ["MLFLOW_TRACKING_USERNAME"] = username
    os.environ["MLFLOW_TRACKING_PASSWORD"] = password
    import mlflow
    from mlflow.entities import Metric

    tally = Tally(username)
    client = mlflow.MlflowClient(url)
    while time.time() < start_at:  # all members start together
        time.sleep(0.01)
    began = time.monotonic()

    def call(what: str, function, *arguments, points: int = 0) -> bool:
        tally.requests += 1
        try:
            function(*arguments)
        except Exception as error:  # a member's training sees it; counted, not retried
            tally.errors.append(f"{what}: {type(error).__name__}: {str(error)[:200]}")
            tally.points_failed += points
            return False
        tally.points_sent += points
        return True

    try:
        experiment = client.get_experiment_by_name(f"load-test/{username}")
        experiment_id = (
            experiment.experiment_id
            if experiment
            else client.create_experiment(f"load-test/{username}")
        )
        tally.requests += 2
        tally.run_id = client.create_run(experiment_id, run_name="load").info.run_id
        tally.requests += 1
    except Exception as error:
        tally.errors.append(f"start: {type(error).__name__}: {str(error)[:200]}")
        tally.seconds = time.monotonic() - began
        return tally
    for step in range(plan["singles"]):
        sent = time.monotonic()
        if call(
            "log_metric", client.log_metric, tally.run_id, "single", float(step), 0, step, points=1
        ):
            tally.single_latencies.append(time.monotonic() - sent)
    for batch in range(plan["batches"]):
        now = int(time.time() * 1000)
        first = batch * plan["batch_size"]
        metrics = [
            Metric("batched", float(step), now, step)
            for step in range(first, first + plan["batch_size"])
        ]
        call("log_batch", client.log_batch, tally.run_id, metrics, points=len(metrics))
    for number in range(plan["artifacts"]):
        text = f"artifact {number} of {username}\n" * 100
        if call("log_text", client.log_text, tally.run_id, text, f"files/{number}.txt"):
            tally.artifacts_sent += 1
    call("set_terminated", client.set_terminated, tally.run_id)
    tally.seconds = time.monotonic() - began
    return tally


def received(url: str, admin: tuple[str, str], tally: Tally) -> tuple[int, int]:
    """The points and files of a member's run that the server has."""
    import mlflow

    os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = admin
    client = mlflow.MlflowClient(url)
    if not tally.run_id:
        return 0, 0
    points = sum(
        len({m.step for m in client.get_metric_history(tally.run_id, key)})
        for key in ("single", "batched")
    )
    files = len(client.list_artifacts(tally.run_id, "files"))
    return points, files


def start_server(script: Path, auth_config: Path, cache_ttl: int | None):
    """The admin page's server, as the tests start it (labdocs.auth), from ``script``."""
    from labdocs.auth import AuthServer, Credentials
    from labdocs.servers import ThrowawayServer, find_mlflow, lab_server_script

    config = configparser.ConfigParser()
    config.read(auth_config)
    folder = Path(tempfile.mkdtemp(prefix="load-test-config-"))
    try:
        if cache_ttl is not None:
            config["mlflow"]["auth_cache_ttl_seconds"] = str(cache_ttl)
        copy = folder / "basic_auth.ini"
        with open(copy, "w") as file:
            config.write(file)
        admin = Credentials(config["mlflow"]["admin_username"], secrets.token_urlsafe(18))
        server = ThrowawayServer.start(
            lab_server_script(script, find_mlflow()),
            name=f"authenticated MLflow server ({script.name})",
            copy_in=(copy,),
            env={
                "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(32),
                "MLFLOW_AUTH_ADMIN_PASSWORD": admin.password,
            },
        )
    finally:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    auth = AuthServer(server, admin)
    try:
        auth.wait_ready()
    except BaseException:
        server.stop()
        raise
    return auth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--singles", type=int, default=20)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--artifacts", type=int, default=3)
    parser.add_argument(
        "--script", type=Path, default=ROOT / "labdocs" / "member_server" / "lab_server.sh"
    )
    parser.add_argument(
        "--auth-config", type=Path, default=ROOT / "labdocs" / "member_server" / "basic_auth.ini"
    )
    parser.add_argument("--auth-cache-ttl", type=int, default=None)
    args = parser.parse_args(argv)
    os.environ.update(SERVER_ENVIRONMENT)
    plan = {k: getattr(args, k) for k in ("singles", "batches", "batch_size", "artifacts")}

    started = time.monotonic()
    auth = start_server(args.script, args.auth_config, args.auth_cache_ttl)
    try:
        print(f"server ready in {time.monotonic() - started:.1f} s: {auth.server.name}")
        users = [auth.create_user(f"member-{n}") for n in range(args.members)]
        start_at = time.time() + 2.0
        jobs = [(auth.url, u.username, u.password, plan, start_at) for u in users]
        with multiprocessing.get_context("spawn").Pool(args.members) as pool:
            tallies = pool.map(member, jobs)
        wall = max(t.seconds for t in tallies)
        got = [received(auth.url, (auth.admin.username, auth.admin.password), t) for t in tallies]
    finally:
        auth.stop()

    sent = sum(t.points_sent for t in tallies)
    points_back = sum(points for points, _ in got)
    lost = sent - points_back
    files_sent = sum(t.artifacts_sent for t in tallies)
    files_back = sum(files for _, files in got)
    errors = [e for t in tallies for e in t.errors]
    requests = sum(t.requests for t in tallies)
    latencies = sorted(x for t in tallies for x in t.single_latencies)
    cache = "unset" if args.auth_cache_ttl is None else f"{args.auth_cache_ttl} s"
    print(f"server: {args.script.name}, {args.auth_config.name}, auth_cache_ttl_seconds {cache}")
    print(f"members (processes) logging at once: {args.members}")
    print(
        f"points sent (acknowledged): {sent}; in failed calls: {sum(t.points_failed for t in tallies)}"
    )
    print(f"points received: {points_back}; points lost: {lost}")
    print(f"artifacts sent: {files_sent}; received: {files_back}")
    print(f"errors: {len(errors)}")
    for error in errors[:10]:
        print(f"  {error}")
    print(
        f"logging took {wall:.1f} s: {sent / wall:.0f} points/s, {requests / wall:.1f} requests/s"
    )
    if latencies:
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(
            f"log_metric (one point, one request): median {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
