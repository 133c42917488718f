"""How many DescribeInstances calls per second the simulator serves to the official SDK.

The simulator runs in this process (``SimulatorServer``: uvicorn in a background thread on
127.0.0.1), and the unmodified ``alibabacloud-ecs20140526`` client calls it, V3-signed, each
call checked by the simulator (signature, nonce, date) like any other:

- sync: ``Client.describe_instances``, one call after another;
- async: ``Client.describe_instances_async``, ``--concurrency`` calls in flight on one event
  loop (the SDK opens a new aiohttp session, hence a new connection, per call).

Each mode makes ``--requests`` calls after a short warm-up and prints requests per second and
the p50 / p95 latency of a call; the simulator's own request count is checked against the
number of calls. Client and server share one interpreter (and its GIL), so the figures are a
floor for the simulator alone. Target: at least 200 requests/s on 2 cores.

This is a benchmark, not a test: it prints figures and exits 0 (1 if a call failed or the
simulator's count does not match).

    /work/venv/bin/python benchmarks/simulator_throughput.py [--requests 1000] [--concurrency 8]
"""

from __future__ import annotations

import os

os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
for _name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_name, None)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from alibabacloud_ecs20140526 import models as ecs_models  # noqa: E402
from alibabacloud_ecs20140526.client import Client as EcsClient  # noqa: E402
from alibabacloud_tea_openapi import models as open_api_models  # noqa: E402

from ecs_api_simulator import SimulatorServer  # noqa: E402

ACTION = "DescribeInstances"
TARGET_PER_SECOND = 200.0
WARM_UP = 20


@dataclass(frozen=True)
class Result:
    mode: str
    requests: int
    seconds: float
    latencies: list[float]
    instances: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
        return ordered[index]

    def line(self) -> str:
        return (
            f"{self.mode:<24} {self.requests:>6} req {self.seconds:>6.2f} s "
            f"{self.per_second:>8.1f} req/s   p50 {self.percentile(50) * 1000:>6.1f} ms   "
            f"p95 {self.percentile(95) * 1000:>6.1f} ms   "
            f"(mean {statistics.fmean(self.latencies) * 1000:.1f} ms, "
            f"{self.instances} instances per answer)"
        )


def make_client(sim: SimulatorServer, region_id: str) -> Any:
    return EcsClient(
        open_api_models.Config(
            access_key_id=sim.access_key_id,
            access_key_secret=sim.access_key_secret,
            endpoint=sim.endpoint,
            protocol="http",
            region_id=region_id,
            read_timeout=10_000,
            connect_timeout=5_000,
        )
    )


def request_for(region_id: str) -> Any:
    return ecs_models.DescribeInstancesRequest(region_id=region_id, max_results=10)


def run_sync(client: Any, region_id: str, requests: int) -> Result:
    request = request_for(region_id)
    for _ in range(WARM_UP):
        client.describe_instances(request)
    latencies: list[float] = []
    instances = 0
    started = time.perf_counter()
    for _ in range(requests):
        t0 = time.perf_counter()
        body = client.describe_instances(request).body
        latencies.append(time.perf_counter() - t0)
        instances = len(body.instances.instance)
    return Result("sync, sequential", requests, time.perf_counter() - started, latencies, instances)


async def run_async(client: Any, region_id: str, requests: int, concurrency: int) -> Result:
    request = request_for(region_id)
    for _ in range(WARM_UP):
        await client.describe_instances_async(request)
    latencies: list[float] = []
    instances = 0
    remaining = requests

    async def worker() -> None:
        nonlocal remaining, instances
        while remaining > 0:
            remaining -= 1
            t0 = time.perf_counter()
            body = (await client.describe_instances_async(request)).body
            latencies.append(time.perf_counter() - t0)
            instances = len(body.instances.instance)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return Result(f"async, {concurrency} in flight", requests, seconds, latencies, instances)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="calls per mode (1000)")
    parser.add_argument("--concurrency", type=int, default=8, help="async calls in flight (8)")
    parser.add_argument(
        "--scenario",
        type=Path,
        action="append",
        help="scenario directory (default: the built-in scenarios)",
    )
    parser.add_argument("--region", default="cn-hangzhou", help="RegionId (cn-hangzhou)")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1:
        parser.error("--requests and --concurrency must be at least 1")

    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {ACTION} through the official "
        f"SDK against the in-process simulator; {args.requests} calls per mode "
        f"after {WARM_UP} warm-up calls"
    )
    results: list[Result] = []
    with SimulatorServer(args.scenario) as sim:
        client = make_client(sim, args.region)
        before, before_ok = sim.request_count(ACTION), sim.request_count(ACTION, code="")
        try:
            results.append(run_sync(client, args.region, args.requests))
            results.append(
                asyncio.run(run_async(client, args.region, args.requests, args.concurrency))
            )
        except Exception as exc:  # a benchmark reports, it does not raise
            print(f"error: a call failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        served = sim.request_count(ACTION) - before
        answered_ok = sim.request_count(ACTION, code="") - before_ok
    expected = len(results) * (args.requests + WARM_UP)
    for result in results:
        print(result.line())
    slowest = min(r.per_second for r in results)
    verdict = "meets" if slowest >= TARGET_PER_SECOND else "MISSES"
    print(
        f"simulator: {served} {ACTION} requests served, {answered_ok} with 200 "
        f"(expected {expected}); slowest mode {slowest:.0f} req/s {verdict} the "
        f"{TARGET_PER_SECOND:.0f} req/s target"
    )
    return 0 if served == answered_ok == expected else 1


if __name__ == "__main__":
    sys.exit(main())
