"""One diagnosis against its latency floor, and against the seed's flow done literally.

The simulator (in this process, on 127.0.0.1) answers every action after a fixed latency
(``--latency``; defaults below) and runs the collector for a fixed time (Cloud Assistant
``running_seconds``, no Pending) of each ``--runs`` length. For each length, ``--repeats`` times,
back to back:

- **tool**: the product's ``diagnose``, built as the CLI builds it (``--simulator``): ECS,
  CloudMonitor and ActionTrail through their official SDKs, the real collector in the guest,
  every analysis, the report model; timed from the call to the report;
- **naive**: the seed skill's flow done literally with the official ECS SDK: DescribeInstances,
  DescribeInstanceHistoryEvents, DescribeCloudAssistantStatus, RunCommand (the same collector,
  so both runs last as long), then DescribeInvocations (with its output) every second until the
  run has ended; nothing at the same time.

It prints the floor, derived from the latencies and the run's length as the simulator measured
it (DescribeInstances -> max(history events, agent status) -> RunCommand -> the run -> one result
read), the median walls, the medians of tool/floor, tool/naive and floor/naive over the repeats
(floor/naive is the best tool/naive any flow could reach: where the naive flow's 1 s grid happens
to land just after the run's end, it is near the floor too; ``--spread 1.08`` varies the run's
length over one naive poll period so that no phase is favoured), and the API calls per
diagnosis, counted by the simulator's request log.

Targets (issue 13): tool/floor <= 1.15 at every run length and tool/naive < 0.9.

Walls are in-process (no interpreter start; start-up is benchmarks/startup_and_tls.py's). On a
shared, loaded machine they are noisy: read the medians, and re-measure on a quiet one.

This is a benchmark, not a test:

    .venv/bin/python benchmarks/diagnosis_latency.py [--runs 1.5,4,10] [--repeats 5]
        [--latency DescribeInstances=120,...] [--pending 0] [--spread 0]
        [--poll-interval 0.25] [--poll-growth 0.1]
"""

from __future__ import annotations

import os

os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
for _name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_name, None)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import base64  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from alibabacloud_ecs20140526 import models as ecs_models  # noqa: E402
from alibabacloud_ecs20140526.client import Client as EcsClient  # noqa: E402
from alibabacloud_tea_openapi import models as open_api_models  # noqa: E402

from ecs_api_simulator import SimulatorServer  # noqa: E402
from ecs_api_simulator.server import builtin_scenarios_dir  # noqa: E402
from ecs_reboot_diagnosis.collectors import (  # noqa: E402
    collector_parameters,
    load_collector,
    new_nonce,
)
from ecs_reboot_diagnosis.ports import TERMINAL_INVOCATION_STATUSES  # noqa: E402
from ecs_reboot_diagnosis_mcp.app import (  # noqa: E402
    build_gateway,
    build_outside_gateways,
    build_service,
)
from ecs_reboot_diagnosis_mcp.settings import Settings  # noqa: E402

SCENARIO = "s02-kernel-panic-vmcore"
INSTANCE_ID = "i-bp1seed02panicvmcore"
REGION_ID = "cn-hangzhou"
LATENCY_MS: dict[str, int] = {
    "DescribeInstances": 120,
    "DescribeInstanceHistoryEvents": 100,
    "DescribeCloudAssistantStatus": 80,
    "RunCommand": 150,
    "DescribeInvocationResults": 80,
    "DescribeInvocations": 80,
    "LookupEvents": 150,
    "DescribeMetricList": 100,
}
NAIVE_POLL_SECONDS = 1.0
TOOL_FLOOR_TARGET = 1.15
TOOL_NAIVE_TARGET = 0.9


@dataclass
class Sample:
    wall: float
    run: float
    """The run's length as the simulator measured it (created -> finished)."""
    calls: Counter[str] = field(default_factory=Counter)


def floor_seconds(latency: dict[str, int], run: float) -> float:
    """DescribeInstances -> max(history events, agent status) -> RunCommand -> run -> one read."""
    ms = (
        latency["DescribeInstances"]
        + max(latency["DescribeInstanceHistoryEvents"], latency["DescribeCloudAssistantStatus"])
        + latency["RunCommand"]
        + latency["DescribeInvocationResults"]
    )
    return ms / 1000 + run


def request_counts(sim: SimulatorServer) -> Counter[str]:
    return Counter(r.action for r in sim.request_records())


def last_run_seconds(sim: SimulatorServer) -> float:
    record = max(sim.invocation_records(), key=lambda r: r.created)
    assert record.finished is not None, "the run did not finish"
    return (record.finished - record.created).total_seconds()


# --- the two flows -----------------------------------------------------------------------------


def run_tool(sim: SimulatorServer, poll: dict[str, float]) -> Sample:
    """``diagnose`` as the CLI runs it with ``--simulator`` (same composition, in-process);
    ``poll`` overrides the service's poll settings (none by default)."""
    settings = Settings().model_copy(
        update={
            "endpoint": sim.url,
            "metrics_endpoint": sim.url,
            "actiontrail_endpoint": sim.url,
            "simulated": True,
        }
    )
    keys = {"access_key_id": sim.access_key_id, "access_key_secret": sim.access_key_secret}
    metrics, audit = build_outside_gateways(settings, **keys)
    service = build_service(settings, build_gateway(settings, **keys), metrics=metrics, audit=audit)
    service.config = dataclasses.replace(service.config, **poll)  # type: ignore[arg-type]
    before = request_counts(sim)

    async def diagnose() -> float:
        t0 = time.perf_counter()
        report = await service.diagnose(INSTANCE_ID, REGION_ID, owner="")
        wall = time.perf_counter() - t0
        if report.guest is None:
            raise SystemExit(f"the tool collected nothing: {report.conclusion.root_cause.en}")
        return wall

    wall = asyncio.run(diagnose())
    return Sample(wall, last_run_seconds(sim), request_counts(sim) - before)


def naive_client(sim: SimulatorServer) -> Any:
    return EcsClient(
        open_api_models.Config(
            access_key_id=sim.access_key_id,
            access_key_secret=sim.access_key_secret,
            endpoint=sim.endpoint,
            protocol="http",
            region_id=REGION_ID,
            read_timeout=30_000,
            connect_timeout=5_000,
        )
    )


def run_naive(sim: SimulatorServer, client: Any) -> Sample:
    """The seed's steps one after the other, a fixed 1 s poll, as an agent would run them."""
    collector = load_collector("linux")
    parameters = collector_parameters(new_nonce(), 7)
    before = request_counts(sim)
    t0 = time.perf_counter()
    found = client.describe_instances(
        ecs_models.DescribeInstancesRequest(
            region_id=REGION_ID, instance_ids=json.dumps([INSTANCE_ID])
        )
    ).body.instances.instance
    assert found and found[0].ostype == "linux"
    client.describe_instance_history_events(
        ecs_models.DescribeInstanceHistoryEventsRequest(
            region_id=REGION_ID, instance_id=INSTANCE_ID, event_cycle_status="Executed"
        )
    )
    status = client.describe_cloud_assistant_status(
        ecs_models.DescribeCloudAssistantStatusRequest(
            region_id=REGION_ID, instance_id=[INSTANCE_ID]
        )
    ).body.instance_cloud_assistant_status_set.instance_cloud_assistant_status
    assert status and status[0].cloud_assistant_status == "true"
    invoke_id = client.run_command(
        ecs_models.RunCommandRequest(
            region_id=REGION_ID,
            instance_id=[INSTANCE_ID],
            type=collector.command_type,
            command_content=base64.b64encode(collector.content.encode()).decode(),
            content_encoding="Base64",
            enable_parameter=True,
            parameters=parameters,
            timeout=300,
            client_token=uuid.uuid4().hex,
        )
    ).body.invoke_id
    while True:
        time.sleep(NAIVE_POLL_SECONDS)
        invocations = client.describe_invocations(
            ecs_models.DescribeInvocationsRequest(
                region_id=REGION_ID,
                instance_id=INSTANCE_ID,
                invoke_id=invoke_id,
                include_output=True,
                content_encoding="Base64",
            )
        ).body.invocations.invocation
        if invocations and invocations[0].invocation_status in TERMINAL_INVOCATION_STATUSES:
            output = invocations[0].invoke_instances.invoke_instance[0].output or ""
            break
    wall = time.perf_counter() - t0
    if not base64.b64decode(output):
        raise SystemExit("the naive flow read no output")
    return Sample(wall, last_run_seconds(sim), request_counts(sim) - before)


# --- the report -----------------------------------------------------------------------------


def calls_text(samples: list[Sample]) -> str:
    """Median API calls per diagnosis, with the polls apart."""
    total = statistics.median(sum(s.calls.values()) for s in samples)
    polls = statistics.median(
        s.calls["DescribeInvocationResults"] + s.calls["DescribeInvocations"] for s in samples
    )
    return f"{total:g} ({polls:g} polls)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="1.5,4,10", help="collector run lengths, s")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--latency",
        default="",
        help="per-action latencies overriding the defaults, e.g. RunCommand=200,LookupEvents=90",
    )
    parser.add_argument(
        "--spread",
        type=float,
        default=0.0,
        help="spread each length over this many seconds across the repeats (repeat i runs "
        "LENGTH + i*SPREAD/REPEATS s): with about 1.08, the naive flow's 1 s poll lands at "
        "every phase of the run's end, as it would over real runs of varying length",
    )
    parser.add_argument("--poll-interval", type=float, help="the service's poll_interval_seconds")
    parser.add_argument("--poll-growth", type=float, help="the service's poll_growth")
    parser.add_argument(
        "--pending",
        type=float,
        default=0.0,
        help="Cloud Assistant Pending time before the run, s (part of the run's length)",
    )
    args = parser.parse_args()
    latency = dict(LATENCY_MS)
    for item in filter(None, args.latency.split(",")):
        action, _, ms = item.partition("=")
        latency[action.strip()] = int(ms)
    runs = [float(r) for r in args.runs.split(",")]
    poll = {
        name: value
        for name, value in (
            ("poll_interval_seconds", args.poll_interval),
            ("poll_growth", args.poll_growth),
        )
        if value is not None
    }
    logging.disable(logging.WARNING)

    print(f"Simulator on loopback, scenario {SCENARIO}; latencies (ms): "
          + ", ".join(f"{a} {ms}" for a, ms in latency.items()))  # fmt: skip
    print(f"{args.repeats} repeats per run length, tool and naive back to back; walls in-process; "
          f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.")  # fmt: skip
    if poll:
        print("Poll settings: " + ", ".join(f"{k} {v:g}" for k, v in poll.items()))
    print()
    header = (
        f"{'run s':>6} {'floor s':>8} {'tool s':>8} {'naive s':>8} {'tool/floor':>10} "
        f"{'tool/naive':>10} {'floor/naive':>11}  {'calls tool':>16}  {'calls naive':>16}"
    )
    print(header)
    print("-" * len(header))
    met = True
    with SimulatorServer([builtin_scenarios_dir() / SCENARIO]) as sim:
        for action, ms in latency.items():
            sim.inject_fault(action, kind="latency", delay_ms=ms, times=None)
        client = naive_client(sim)
        for run in runs:
            tool: list[Sample] = []
            naive: list[Sample] = []
            for i in range(args.repeats):
                length = run + args.spread * i / args.repeats
                sim.inject_fault(
                    "RunCommand",
                    kind="invocation",
                    pending_seconds=args.pending,
                    running_seconds=max(0.0, length - args.pending),
                    times=2,
                )
                tool.append(run_tool(sim, poll))
                naive.append(run_naive(sim, client))
            floors = [floor_seconds(latency, statistics.mean([t.run, n.run]))
                      for t, n in zip(tool, naive, strict=True)]  # fmt: skip
            floor = statistics.median(floors)
            t = statistics.median(s.wall for s in tool)
            n = statistics.median(s.wall for s in naive)
            to_floor = statistics.median(s.wall / f for s, f in zip(tool, floors, strict=True))
            to_naive = statistics.median(a.wall / b.wall for a, b in zip(tool, naive, strict=True))
            best = statistics.median(f / b.wall for f, b in zip(floors, naive, strict=True))
            ok = to_floor <= TOOL_FLOOR_TARGET and to_naive < TOOL_NAIVE_TARGET
            met &= ok
            print(
                f"{run:>6g} {floor:>8.2f} {t:>8.2f} {n:>8.2f} {to_floor:>10.3f} {to_naive:>10.3f} "
                f"{best:>11.3f}  {calls_text(tool):>16}  {calls_text(naive):>16}"
                + ("" if ok else "  (target missed)")
            )
            lengths = [run + args.spread * i / args.repeats for i in range(args.repeats)]
            slower = [(s.run, x) for s, x in zip(tool + naive, 2 * lengths, strict=True)
                      if s.run - x > 0.05]  # fmt: skip
            if slower:
                took, meant = slower[0]
                print(f"{'':>6} {len(slower)} run(s) lasted longer than set, e.g. "
                      f"{took:.2f} s, not {meant:.2f} s (the bash collector)")  # fmt: skip
            spread = ", ".join(f"{s.wall:.2f}" for s in tool)
            print(f"{'':>6} tool walls: {spread}; naive walls: "
                  + ", ".join(f"{s.wall:.2f}" for s in naive))  # fmt: skip
        print()
        per_action = request_counts(sim)
    print("Calls per action over the whole run: "
          + ", ".join(f"{a} {c}" for a, c in sorted(per_action.items())))  # fmt: skip
    print(f"Targets: tool/floor <= {TOOL_FLOOR_TARGET} and tool/naive < {TOOL_NAIVE_TARGET} at "
          f"every run length: {'met' if met else 'NOT met'}. floor/naive is the best tool/naive "
          "any flow can reach (the floor itself).")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
