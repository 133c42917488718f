"""What the MCP layer costs per tool call, and what an open diagnosis costs in memory.

(a) Latency of a cheap tool call, ``ecs_get_diagnosis_status``, ``--calls`` times each:
    - the floor: ``DiagnosisService.status()`` called directly (no MCP at all);
    - in-process: the SDK's ``Client(server)`` in ``legacy`` mode (initialize handshake, JSON-RPC
      over memory streams) and in the default ``auto`` mode (the modern per-request path);
    - streamable HTTP: ``ecs-reboot-diagnosis serve --transport http --simulator`` in a
      subprocess on 127.0.0.1, in both modes.
(b) Memory held per open diagnosis (tracemalloc, after gc), ``--diagnoses`` of them:
    - simulator-backed service (the real SDK gateway; the simulator runs in a subprocess so
      its own memory is not counted), each diagnosis through start + events + agent;
    - the same service over an in-memory gateway (tests/support/memory_gateway.py) replaying
      the simulator's real instance, events, heartbeat and collector output, measured at
      agent_checked, then guest_collected, then reported (the whole workflow).

This is a benchmark, not a test: it prints figures and exits 0 (1 only if it cannot run).

    /work/venv/bin/python benchmarks/mcp_overhead.py [--calls 200] [--diagnoses 500]
"""

from __future__ import annotations

import os

os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
# the MCP layer and the memory of open diagnoses, as before the SQLite store: the store's own
# costs are benchmarks/store_ops.py's (and nothing is written under ~/.local/state)
os.environ.setdefault("ECS_DIAG_STORE", "memory")
for _name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_name, None)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import functools  # noqa: E402
import gc  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import IO, Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.support.memory_gateway

from mcp import Client  # noqa: E402

from ecs_api_simulator.access_keys import (  # noqa: E402
    BUILTIN_ACCESS_KEY_ID,
    BUILTIN_ACCESS_KEY_SECRET,
)
from ecs_reboot_diagnosis.clock import SystemClock  # noqa: E402
from ecs_reboot_diagnosis.models import InstanceFacts, PlatformEvent  # noqa: E402
from ecs_reboot_diagnosis.ports import AgentHeartbeat, CommandType, InvocationResult  # noqa: E402
from ecs_reboot_diagnosis.service import DiagnosisService, ServiceConfig  # noqa: E402
from ecs_reboot_diagnosis.store import InMemoryDiagnosisStore  # noqa: E402
from ecs_reboot_diagnosis.workflow import Phase  # noqa: E402
from ecs_reboot_diagnosis_mcp.app import build_gateway, build_service  # noqa: E402
from ecs_reboot_diagnosis_mcp.mcp_server import build_server  # noqa: E402
from ecs_reboot_diagnosis_mcp.settings import Settings  # noqa: E402
from tests.support.memory_gateway import MemoryGateway  # noqa: E402

INSTANCE_ID = "i-bp1sim0linux0000001"
REGION_ID = "cn-hangzhou"
STATUS_TOOL = "ecs_get_diagnosis_status"


# --- helpers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: IO[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            err = log.read().decode(errors="replace")
            raise RuntimeError(f"{what} exited {proc.returncode}: {err[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within 30 s")


@contextlib.contextmanager
def subprocess_server(argv: Sequence[str], port: int, what: str) -> Iterator[None]:
    # stderr to a file, not a pipe nobody drains (a full pipe would block the server)
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_for_port(port, proc, log, what)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def quiet_logging() -> None:
    logging.getLogger().setLevel(logging.WARNING)


@dataclass(frozen=True)
class Stats:
    label: str
    samples_us: list[float]
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples_us)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples_us)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def fmt_us(us: float) -> str:
    return f"{us / 1000:8.3f} ms" if us >= 1000 else f"{us:8.1f} us"


def fmt_bytes(n: float) -> str:
    if abs(n) >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MiB"
    if abs(n) >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n:.0f} B"


# --- (a) latency ---------------------------------------------------------------------------


def time_direct(service: DiagnosisService, did: str, calls: int) -> Stats:
    for _ in range(100):
        service.status(did, owner="")
    samples = []
    for _ in range(calls * 10):
        t0 = time.perf_counter_ns()
        service.status(did, owner="")
        samples.append((time.perf_counter_ns() - t0) / 1000)
    return Stats("direct service.status()  (floor)", samples, f"{calls * 10} calls")


async def time_client(client: Client, did: str, calls: int, label: str) -> Stats:
    args = {"diagnosis_id": did}
    for _ in range(20):  # warm-up
        result = await client.call_tool(STATUS_TOOL, args)
    if result.is_error or not result.structured_content:
        raise RuntimeError(f"{STATUS_TOOL} failed: {result.content}")
    samples = []
    for _ in range(calls):
        t0 = time.perf_counter_ns()
        result = await client.call_tool(STATUS_TOOL, args)
        samples.append((time.perf_counter_ns() - t0) / 1000)
        if result.is_error:
            raise RuntimeError(f"{STATUS_TOOL} failed: {result.content}")
    return Stats(label, samples, f"{calls} calls, protocol {client.protocol_version}")


async def start_over(client: Client) -> str:
    started = await client.call_tool(
        "ecs_start_diagnosis", {"instance_id": INSTANCE_ID, "region_id": REGION_ID}
    )
    if started.is_error or started.structured_content is None:
        raise RuntimeError(f"ecs_start_diagnosis failed: {started.content}")
    return str(started.structured_content["diagnosis_id"])


async def latency(sim_url: str, calls: int) -> list[Stats]:
    settings = Settings().model_copy(update={"endpoint": sim_url})
    gateway = build_gateway(
        settings, access_key_id=BUILTIN_ACCESS_KEY_ID, access_key_secret=BUILTIN_ACCESS_KEY_SECRET
    )
    service = build_service(settings, gateway)
    did = (await service.start(INSTANCE_ID, REGION_ID, owner="")).id
    out = [time_direct(service, did, calls)]

    server = build_server(service)
    quiet_logging()  # MCPServer() configures the root logger at INFO: keep the figures readable
    for mode in ("legacy", "auto"):
        async with Client(server, mode=mode) as client:
            out.append(await time_client(client, did, calls, f"in-process Client, mode={mode}"))

    port = free_port()
    argv = [sys.executable, "-m", "ecs_reboot_diagnosis_mcp", "serve", "--simulator",
            "--transport", "http", "--port", str(port)]  # fmt: skip
    url = f"http://127.0.0.1:{port}/mcp"
    with subprocess_server(argv, port, "the HTTP MCP server"):
        for mode in ("legacy", "auto"):
            async with Client(url, mode=mode) as client:
                remote = await start_over(client)
                out.append(
                    await time_client(client, remote, calls, f"streamable HTTP, mode={mode}")
                )
    return out


# --- (b) memory per open diagnosis --------------------------------------------------------------


class Recorder:
    """Wraps a gateway and keeps what the simulator answered, to replay it from memory."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.instance: InstanceFacts | None = None
        self.events: list[PlatformEvent] = []
        self.heartbeat: AgentHeartbeat | None = None
        self.nonce = ""
        self.output = ""

    async def describe_instance(self, region_id: str, instance_id: str) -> InstanceFacts | None:
        self.instance = await self.inner.describe_instance(region_id, instance_id)
        return self.instance

    async def describe_history_events(self, *args: Any, **kwargs: Any) -> list[PlatformEvent]:
        self.events = list(await self.inner.describe_history_events(*args, **kwargs))
        return self.events

    async def describe_cloud_assistant(self, region_id: str, instance_id: str) -> AgentHeartbeat:
        self.heartbeat = await self.inner.describe_cloud_assistant(region_id, instance_id)
        return self.heartbeat

    async def run_command(
        self,
        region_id: str,
        instance_id: str,
        *,
        command_type: CommandType,
        content: str,
        parameters: Mapping[str, str],
        timeout_seconds: int,
        name: str,
        client_token: str = "",
    ) -> str:
        self.nonce = parameters["nonce"]
        invoke_id: str = await self.inner.run_command(
            region_id,
            instance_id,
            command_type=command_type,
            content=content,
            parameters=parameters,
            timeout_seconds=timeout_seconds,
            name=name,
            client_token=client_token,
        )
        return invoke_id

    async def invocation_result(
        self, region_id: str, instance_id: str, invoke_id: str
    ) -> InvocationResult:
        result: InvocationResult = await self.inner.invocation_result(
            region_id, instance_id, invoke_id
        )
        if result.output:
            self.output = result.output
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class FreshMemoryGateway(MemoryGateway):
    """MemoryGateway answering with fresh copies, as a real gateway parses each response anew.

    (The plain MemoryGateway returns the same objects every time, so diagnoses would share
    their instance facts and events and look cheaper than they are.)
    """

    async def describe_instance(self, region_id: str, instance_id: str) -> InstanceFacts | None:
        found = await super().describe_instance(region_id, instance_id)
        return None if found is None else found.model_copy(deep=True)

    async def describe_history_events(self, *args: Any, **kwargs: Any) -> list[PlatformEvent]:
        events = await super().describe_history_events(*args, **kwargs)
        return [e.model_copy(deep=True) for e in events]

    async def describe_cloud_assistant(self, region_id: str, instance_id: str) -> AgentHeartbeat:
        beat = await super().describe_cloud_assistant(region_id, instance_id)
        return beat.model_copy(deep=True)


def traced() -> int:
    gc.collect()
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def run_all(ids: list[str], step: Callable[[str], Awaitable[object]], width: int) -> None:
    """Run ``step`` for every id, ``width`` at a time."""
    for i in range(0, len(ids), width):
        await asyncio.gather(*(step(did) for did in ids[i : i + width]))


async def memory(sim_url: str, n: int) -> tuple[list[tuple[str, float]], dict[str, Any]]:
    settings = Settings().model_copy(update={"endpoint": sim_url, "max_diagnoses": n + 50})
    gateway = build_gateway(
        settings, access_key_id=BUILTIN_ACCESS_KEY_ID, access_key_secret=BUILTIN_ACCESS_KEY_SECRET
    )
    # one real diagnosis against the simulator, recorded, to replay from memory below
    recorder = Recorder(gateway)
    sim_service = build_service(settings, recorder)
    report = await sim_service.diagnose(INSTANCE_ID, REGION_ID, owner="")
    assert recorder.instance is not None and recorder.heartbeat is not None
    assert recorder.output and recorder.nonce in recorder.output
    facts: dict[str, Any] = {
        "rule": report.conclusion.rule_id,
        "output_bytes": len(recorder.output.encode()),
    }
    rows: list[tuple[str, float]] = []

    tracemalloc.start()
    try:
        # 1. the simulator-backed service: start + events + agent (no guest run: the simulator
        #    runs the real collector for ~3 s each, too slow for hundreds)
        service = build_service(settings, gateway)
        warm = (await service.start(INSTANCE_ID, REGION_ID, owner="")).id  # warm caches and imports
        await service.check_events(warm, owner="")
        await service.check_agent(warm, owner="")
        before = traced()
        ids = [(await service.start(INSTANCE_ID, REGION_ID, owner="")).id for _ in range(n)]
        await run_all(ids, functools.partial(service.check_events, owner=""), 25)
        await run_all(ids, functools.partial(service.check_agent, owner=""), 25)
        assert all(service.status(d, owner="").workflow.phase == Phase.AGENT_CHECKED for d in ids)
        after = traced()
        rows.append(("simulator gateway, start+events+agent", (after - before) / n))
        del service, ids
        facts["released_sim"] = after - traced()

        # 2. in-memory gateway replaying the recording, the whole workflow phase by phase
        mem = FreshMemoryGateway(
            events=recorder.events,
            heartbeat=recorder.heartbeat,
            output=lambda content, params: recorder.output.replace(recorder.nonce, params["nonce"]),
            polls_to_finish=0,
        )
        mem.add(recorder.instance)
        clock = SystemClock()
        service = DiagnosisService(
            mem,
            InMemoryDiagnosisStore(clock, max_diagnoses=n + 50),
            clock,
            ServiceConfig(poll_first_seconds=0.0),
        )
        await service.diagnose(INSTANCE_ID, REGION_ID, owner="")  # warm-up
        mem.invocations.clear()
        mem.calls.clear()
        before = traced()
        ids = [(await service.start(INSTANCE_ID, REGION_ID, owner="")).id for _ in range(n)]
        for did in ids:
            await service.check_events(did, owner="")
            await service.check_agent(did, owner="")
        mem.calls.clear()
        rows.append(("memory gateway, agent_checked", (traced() - before) / n))
        for did in ids:
            await service.run_guest(did, owner="")
            await service.get_guest_results(did, owner="")
        mem.invocations.clear()  # the fake cloud's copy of each output is not the server's
        mem.calls.clear()
        assert all(service.status(d, owner="").workflow.phase == Phase.GUEST_COLLECTED for d in ids)
        rows.append(("memory gateway, guest_collected", (traced() - before) / n))
        for did in ids:
            await service.triage_dumps(did, owner="")
            await service.recommend_dump_setup(did, owner="")
            await service.report(did, owner="")
        mem.calls.clear()
        assert all(service.status(d, owner="").workflow.phase == Phase.REPORTED for d in ids)
        after = traced()
        rows.append(("memory gateway, reported (whole workflow)", (after - before) / n))
        del service, ids
        facts["released_mem"] = after - traced()
        facts["peak"] = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return rows, facts


# --- main ----------------------------------------------------------------------------------


async def run(calls: int, n: int) -> None:
    port = free_port()
    sim_argv = [sys.executable, "-m", "ecs_api_simulator", "--port", str(port)]
    sim_url = f"http://127.0.0.1:{port}/"
    with subprocess_server(sim_argv, port, "the ECS simulator"):
        t0 = time.monotonic()
        stats = await latency(sim_url, calls)
        t1 = time.monotonic()
        floor = stats[0].median
        print(f"(a) latency of one {STATUS_TOOL} call (median / p95; x floor by median)")
        for s in stats:
            ratio = f"x{s.median / floor:,.0f}" if s is not stats[0] else "   -"
            print(f"    {s.label:<38} {fmt_us(s.median)} / {fmt_us(s.p95)}  {ratio:>8}  ({s.note})")
        print(f"    [{t1 - t0:.1f} s]")

        rows, facts = await memory(sim_url, n)
        t2 = time.monotonic()
    print(f"(b) memory held per open diagnosis (tracemalloc after gc, N={n})")
    for label, per in rows:
        print(f"    {label:<44} {fmt_bytes(per):>10} / diagnosis  ({fmt_bytes(per * n)} for {n})")
    full = rows[-1][1]
    print(f"    released when the service is dropped: {fmt_bytes(facts['released_sim'])} "
          f"(simulator run), {fmt_bytes(facts['released_mem'])} (memory run)")  # fmt: skip
    print(f"    replayed: the simulator's {facts['rule']} diagnosis, collector output "
          f"{fmt_bytes(facts['output_bytes'])} per run; "
          f"tracemalloc peak {fmt_bytes(facts['peak'])}")  # fmt: skip
    cap = Settings().max_diagnoses
    print(f"    at the store's default cap ({cap} diagnoses, ECS_DIAG_MAX_DIAGNOSES), whole "
          f"workflow: {fmt_bytes(full * cap)}")  # fmt: skip
    print(f"    [{t2 - t1:.1f} s]")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200, help="timed tool calls per variant")
    parser.add_argument("--diagnoses", type=int, default=500, help="diagnoses held open")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        asyncio.run(run(args.calls, args.diagnoses))
    except Exception as exc:  # a benchmark that cannot run says why, in one line
        print(f"mcp_overhead: cannot run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"total {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
