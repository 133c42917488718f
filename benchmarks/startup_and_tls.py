"""Per-call CPU over TLS, and how fast the product starts: issue 13's transport figures.

(a) Per-call CPU over TLS. ``ecs-reboot-diagnosis simulate --tls`` runs in a subprocess (its CPU
    is not counted); this process calls it through the product's gateway
    (``AliyunEcsGateway.describe_cloud_assistant``: the official SDK, the throwaway CA trusted
    through ``--ca-bundle``'s setting). CPU per call = this process's CPU time (every thread) /
    calls, sequential and in rounds of 50 concurrent calls, with the wall time. For comparison,
    the same calls through the SDK's own ``*_async`` methods (a new TLS context and connection
    per call), the path the gateway used before.
(b) Process start to first request. ``diagnose --endpoint https://... --ca-bundle CA`` (as
    ``diagnose --simulator`` but against a simulator that is already running) is spawned
    against an in-process HTTPS simulator; the figure is the arrival time of its first request
    in the simulator's request log minus the time just before the spawn. Printed with two
    floors for context: a bare interpreter, and importing the official ECS SDK client alone.
(c) ``serve`` (stdio) answering ``initialize``: the MCP SDK's own client spawns
    ``ecs-reboot-diagnosis serve`` and performs the handshake (protocol 2025-11-25); the figure
    is from just before the spawn to the initialize result.

The packages are byte-compiled first (``compileall``), as a wheel install leaves them: with
PYTHONDONTWRITEBYTECODE set and no ``__pycache__``, every start would compile the sources.

The machine is shared with other work: the load average is printed before and after, and the
start-up figures are the median and the best of ``--repeats`` runs. A benchmark, not a test: it
prints figures and exits 0 (1 only if it cannot run).

    python benchmarks/startup_and_tls.py [--calls 200] [--rounds 5] [--repeats 5]
"""

from __future__ import annotations

import os

os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
for _name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_name, None)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import compileall  # noqa: E402
import contextlib  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Awaitable, Callable, Iterator, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

from ecs_api_simulator import (  # noqa: E402
    BUILTIN_ACCESS_KEY_ID,
    BUILTIN_ACCESS_KEY_SECRET,
    SimulatorServer,
    builtin_scenarios_dir,
)
from ecs_reboot_diagnosis_mcp.aliyun import AliyunEcsGateway, EcsClientSettings  # noqa: E402
from ecs_reboot_diagnosis_mcp.aliyun.sdk_transport import POOL_SIZE  # noqa: E402

REGION = "cn-hangzhou"
INSTANCE = "i-bp1seed02panicvmcore"
SCENARIO = builtin_scenarios_dir() / "s02-kernel-panic-vmcore"
CPU_TARGET_MS = 2.0
FIRST_REQUEST_TARGET_S = 0.35
INITIALIZE_TARGET_S = 0.7


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        ALIBABA_CLOUD_ECS_METADATA_DISABLED="true",
        ALIBABA_CLOUD_ACCESS_KEY_ID=BUILTIN_ACCESS_KEY_ID,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET=BUILTIN_ACCESS_KEY_SECRET,
    )
    env.update(extra)
    return env


# --- (a) per-call CPU over TLS --------------------------------------------------------------


@contextlib.contextmanager
def simulate_tls() -> Iterator[tuple[str, str]]:
    """``simulate --tls`` in a subprocess; yields its URL and CA file."""
    command = [sys.executable, "-m", "ecs_reboot_diagnosis_mcp", "simulate", "--tls", "--port",
               "0", "--scenario", str(SCENARIO)]  # fmt: skip
    with subprocess.Popen(
        command, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            banner = process.stdout.readline()
            ca_line = process.stdout.readline()
            if not banner.startswith("ECS API simulator on https://"):
                raise RuntimeError(f"simulate --tls did not start: {banner!r}")
            url = banner.split()[4]
            ca_file = ca_line.rsplit(": ", 1)[1].strip()
            yield url, ca_file
        finally:
            process.terminate()
            process.communicate(timeout=30)


async def measure(
    calls: int, call: Callable[[], Awaitable[Any]], concurrent: bool
) -> tuple[float, float]:
    """(CPU ms per call, wall seconds) for ``calls`` calls, one after another or all at once."""
    cpu, wall = time.process_time(), time.perf_counter()
    if concurrent:
        await asyncio.gather(*(call() for _ in range(calls)))
    else:
        for _ in range(calls):
            await call()
    return (time.process_time() - cpu) / calls * 1000, time.perf_counter() - wall


async def tls_figures(url: str, ca_file: str, calls: int, rounds: int) -> bool:
    settings = EcsClientSettings(
        endpoint=url,
        access_key_id=BUILTIN_ACCESS_KEY_ID,
        access_key_secret=BUILTIN_ACCESS_KEY_SECRET,
        ca_bundle=ca_file,
        max_attempts=1,
    )
    gateway = AliyunEcsGateway(settings)

    async def gateway_call() -> Any:
        return await gateway.describe_cloud_assistant(REGION, INSTANCE)

    for _ in range(5):  # the SDK import, the client, the TLS context, a first connection
        await gateway_call()
    await measure(50, gateway_call, concurrent=True)  # workers and pooled connections exist
    seq_cpu, seq_wall = await measure(calls, gateway_call, concurrent=False)
    conc = [await measure(50, gateway_call, concurrent=True) for _ in range(rounds)]
    conc_cpu = statistics.median(c for c, _ in conc)
    conc_wall = statistics.median(w for _, w in conc)

    # The SDK's own async path, for comparison (what the gateway did before).
    from alibabacloud_ecs20140526 import models as ecs_models

    client = gateway._client(REGION)  # the same configured SDK client

    async def sdk_async_call() -> Any:
        request = ecs_models.DescribeCloudAssistantStatusRequest(
            region_id=REGION, instance_id=[INSTANCE]
        )
        return await client.describe_cloud_assistant_status_async(request)

    await sdk_async_call()
    old_seq_cpu, old_seq_wall = await measure(max(10, calls // 10), sdk_async_call, False)
    old_conc_cpu, old_conc_wall = await measure(50, sdk_async_call, concurrent=True)

    print(f"(a) per-call CPU over TLS, {url} (simulate --tls in another process)")
    print(f"    product gateway (SDK's pooled keep-alive transport, {POOL_SIZE} connections)")
    print(f"      sequential, {calls} calls:      {seq_cpu:6.2f} ms CPU/call  "
          f"{seq_wall / calls * 1000:6.2f} ms wall/call   target <= {CPU_TARGET_MS} ms: "
          f"{verdict(seq_cpu <= CPU_TARGET_MS)}")  # fmt: skip
    print(f"      50 concurrent (median of {rounds}): {conc_cpu:6.2f} ms CPU/call  "
          f"{conc_wall:6.3f} s wall for 50          target <= {CPU_TARGET_MS} ms: "
          f"{verdict(conc_cpu <= CPU_TARGET_MS)}")  # fmt: skip
    print("    for comparison, the SDK's *_async methods (new TLS context and connection per call)")
    print(f"      sequential:                  {old_seq_cpu:6.2f} ms CPU/call  "
          f"{old_seq_wall / max(10, calls // 10) * 1000:6.2f} ms wall/call")  # fmt: skip
    print(f"      50 concurrent:               {old_conc_cpu:6.2f} ms CPU/call  "
          f"{old_conc_wall:6.3f} s wall for 50")  # fmt: skip
    return seq_cpu <= CPU_TARGET_MS and conc_cpu <= CPU_TARGET_MS


# --- (b) process start to first request -----------------------------------------------------


def best_wall(command: Sequence[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, env=child_env(), check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def first_request_figures(repeats: int) -> bool:
    python_floor = best_wall([sys.executable, "-c", "pass"], repeats)
    sdk_floor = best_wall([sys.executable, "-c", "import alibabacloud_ecs20140526.client"], repeats)
    delays: list[float] = []
    with SimulatorServer([SCENARIO], tls=True) as sim:
        command = [sys.executable, "-m", "ecs_reboot_diagnosis_mcp", "diagnose", "--instance-id",
                   INSTANCE, "--region", REGION, "--endpoint", sim.url, "--ca-bundle",
                   str(sim.ca_file), "--no-guest-commands", "--format", "json"]  # fmt: skip
        for _ in range(repeats):
            seen = len(sim.world.requests.records())
            spawned = time.time()
            done = subprocess.run(command, env=child_env(), capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"diagnose failed: {done.stderr[-500:]}")
            first = sim.world.requests.records()[seen]
            delays.append(first.at.timestamp() - spawned)
    median, best = statistics.median(delays), min(delays)
    met = verdict(median <= FIRST_REQUEST_TARGET_S)
    print("(b) process start -> first request of `diagnose --endpoint https://... --ca-bundle CA`")
    print(f"    median {median:.3f} s, best {best:.3f} s over {repeats} runs   "
          f"target <= {FIRST_REQUEST_TARGET_S} s: {met}")  # fmt: skip
    print(f"    floors (best of {repeats}): `python -c pass` {python_floor:.3f} s; "
          f"`python -c 'import alibabacloud_ecs20140526.client'` {sdk_floor:.3f} s "
          "(the official ECS SDK alone)")  # fmt: skip
    return median <= FIRST_REQUEST_TARGET_S


# --- (c) serve answers initialize -----------------------------------------------------------


async def initialize_figures(repeats: int) -> bool:
    from mcp import Client, StdioServerParameters

    latencies: list[float] = []
    with SimulatorServer([SCENARIO], tls=True) as sim:
        env = child_env(ECS_DIAG_ENDPOINT=sim.url, ECS_DIAG_CA_BUNDLE=str(sim.ca_file))
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "ecs_reboot_diagnosis_mcp", "serve"], env=env
        )
        for _ in range(repeats):
            start = time.perf_counter()
            async with Client(params, mode="legacy") as client:
                latencies.append(time.perf_counter() - start)
                assert client.protocol_version
    median, best = statistics.median(latencies), min(latencies)
    met = verdict(median <= INITIALIZE_TARGET_S)
    print("(c) `serve` (stdio) spawn -> initialize result, MCP SDK client")
    print(f"    median {median:.3f} s, best {best:.3f} s over {repeats} runs   "
          f"target <= {INITIALIZE_TARGET_S} s: {met}")  # fmt: skip
    return median <= INITIALIZE_TARGET_S


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="sequential calls over TLS")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of 50 concurrent calls")
    parser.add_argument("--repeats", type=int, default=5, help="start-up runs of each kind")
    args = parser.parse_args(argv)
    for package in ("skill", "server"):
        compileall.compile_dir(str(ROOT / package), quiet=1)
    print(f"load average before: {load()} ({os.cpu_count()} CPUs; the machine may be shared: "
          "figures are indicative, re-measure on a quiet machine)")  # fmt: skip
    try:
        with simulate_tls() as (url, ca_file):
            asyncio.run(tls_figures(url, ca_file, args.calls, args.rounds))
        first_request_figures(args.repeats)
        asyncio.run(initialize_figures(args.repeats))
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        return 1
    print(f"load average after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
