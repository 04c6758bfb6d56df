"""Print what a training's logging costs against a throwaway MLflow server on loopback.

    python -m tools.benchmark_logging [--points N]

The figures behind docs/guides/mlflow/training-habits.rst: a synchronous call is a request
to the server, and waits for its answer; ``log_metrics`` sends several metrics in one
request; asynchronous logging returns at once and sends in batches; pictures and
checkpoints are uploads. The lab's server is farther away than loopback: these are floors.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.entities import Metric

from labdocs.services.servers import ThrowawayServer, plain_server_command
from tools.benchmark import DOCTEST_BIN


def per_call_ms(calls) -> tuple[float, float]:
    """Median and slowest of the calls, in milliseconds."""
    times = []
    for call in calls:
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), max(times)


def measure(points: int, folder: Path) -> None:
    mlflow.set_experiment("benchmark-logging")
    with mlflow.start_run():
        median, worst = per_call_ms(
            (lambda s=s: mlflow.log_metric("loss", 1.0 / (s + 1), step=s)) for s in range(points)
        )
        print(f"log_metric, synchronous: {median:.1f} ms a call (slowest {worst:.0f} ms)")

        ten = {f"metric_{i}": 0.5 for i in range(10)}
        median, _ = per_call_ms(
            (lambda s=s: mlflow.log_metrics(ten, step=s)) for s in range(points // 4)
        )
        print(f"log_metrics of 10 metrics, synchronous: {median:.1f} ms a call (one request)")

        run_id = mlflow.active_run().info.run_id
        batch = [Metric("batched", 0.5, int(time.time() * 1000), s) for s in range(1000)]
        began = time.perf_counter()
        MlflowClient().log_batch(run_id, metrics=batch)
        print(f"log_batch of 1000 points: {(time.perf_counter() - began) * 1000:.0f} ms")

    mlflow.config.enable_async_logging(True)
    try:
        with mlflow.start_run():
            median, worst = per_call_ms(
                (lambda s=s: mlflow.log_metric("loss", 1.0 / (s + 1), step=s))
                for s in range(points)
            )
            print(f"log_metric, asynchronous: {median:.2f} ms a call (slowest {worst:.0f} ms)")
            began = time.perf_counter()
            mlflow.flush_async_logging()
            print(f"  then flush_async_logging: {(time.perf_counter() - began) * 1000:.0f} ms")
    finally:
        mlflow.config.enable_async_logging(False)

    with mlflow.start_run():
        picture = np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8)
        median, _ = per_call_ms(
            (lambda s=s: mlflow.log_image(picture, key="sample", step=s)) for s in range(10)
        )
        began = time.perf_counter()
        mlflow.flush_artifact_async_logging()
        flushed = (time.perf_counter() - began) * 1000
        print(f"log_image, 256x256 RGB: {median:.0f} ms a call, then its flush {flushed:.0f} ms")
        median, _ = per_call_ms(
            (lambda s=s: mlflow.log_image(picture, key="waited", step=s, synchronous=True))
            for s in range(10)
        )
        print(f"log_image, 256x256 RGB, synchronous=True (the upload): {median:.0f} ms a call")
        checkpoint = folder / "checkpoint.pt"
        checkpoint.write_bytes(os.urandom(50 * 1024 * 1024))
        began = time.perf_counter()
        mlflow.log_artifact(str(checkpoint), artifact_path="checkpoints")
        print(f"log_artifact of a 50 MB checkpoint: {time.perf_counter() - began:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200)
    points = parser.parse_args().points
    os.environ.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    server = ThrowawayServer.start(plain_server_command(str(DOCTEST_BIN / "mlflow")))
    try:
        server.wait_ready()
        mlflow.set_tracking_uri(server.url)
        with tempfile.TemporaryDirectory() as folder:
            measure(points, Path(folder))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
