"""The fleet scan against a generated fleet: groups and conclusions against the simulator's
truth, batching, the guardrails from the simulator's request records, throttling, resume."""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from pathlib import Path

import pytest

from ecs_api_simulator import SimulatorServer
from ecs_api_simulator.fleet import FleetSpec
from ecs_api_simulator.request_log import RequestRecord
from ecs_reboot_diagnosis.errors import InvalidInputError
from ecs_reboot_diagnosis.fleet_models import FleetScan, parse_since
from ecs_reboot_diagnosis.fleet_scan import FleetScanner
from ecs_reboot_diagnosis.scan_store import InMemoryScanStore
from ecs_reboot_diagnosis_mcp.aliyun.flow_control import RateLimit
from tests.e2e.fleet.conftest import FLEET_SIZE, REGIONS, fleet_request, scanner_for

pytestmark = pytest.mark.anyio


def truth_groups(sim: SimulatorServer, ids: set[str] | None = None) -> set[frozenset[str]]:
    by_cause: dict[str, set[str]] = defaultdict(set)
    for truth in sim.fleet_truth.values():
        if ids is None or truth.instance_id in ids:
            by_cause[truth.cause].add(truth.instance_id)
    return {frozenset(v) for v in by_cause.values()}


def assert_matches_truth(sim: SimulatorServer, scan: FleetScan) -> None:
    ids = {i.instance_id for i in scan.instances}
    assert {frozenset(g.instance_ids) for g in scan.groups} == truth_groups(sim, ids)
    for instance in scan.instances:
        truth = sim.fleet_truth[instance.instance_id]
        assert (instance.rule_id, instance.happened) == (truth.rule_id, truth.happened), (
            instance.instance_id,
            truth.cause,
        )


@pytest.fixture(scope="module")
def scanned(fleet_sim: SimulatorServer) -> tuple[FleetScan, list[RequestRecord]]:
    fleet_sim.world.requests.clear()
    scanner = scanner_for(fleet_sim)
    result = asyncio.run(scanner.scan(fleet_request(scanner)))
    return result, fleet_sim.world.requests.records()


def test_every_generated_instance_is_grouped_by_its_cause(
    fleet_sim: SimulatorServer, scanned: tuple[FleetScan, list[RequestRecord]]
) -> None:
    scan, _ = scanned
    assert scan.complete
    assert len(scan.instances) == FLEET_SIZE
    assert_matches_truth(fleet_sim, scan)
    # groups first: what rebooted, largest first; no reboot last
    order = [g.happened for g in scan.groups]
    assert order.index("no_reboot") > max(i for i, h in enumerate(order) if h == "rebooted")
    rebooted = [g.count for g in scan.groups if g.happened == "rebooted"]
    assert rebooted == sorted(rebooted, reverse=True)


def test_the_signatures_name_the_cause(
    scanned: tuple[FleetScan, list[RequestRecord]],
) -> None:
    scan, _ = scanned
    labels = {g.rule_id: g for g in scan.groups if g.rule_id != "linux.kernel_panic_no_dump"}
    nvme = labels["linux.kernel_panic_with_dump"]
    assert "nvme_queue_rq [nvme]" in nvme.label.en
    assert nvme.frames[:2] == ["blk_mq_dispatch_rq_list", "__blk_mq_do_dispatch_sched"]
    assert "RebootInstance by ops-alice" in labels["linux.api_reboot"].label.en
    assert "StopInstance by ops-bob" in labels["stopped.api_stop"].label.en
    assert "0x000000D1" in labels["windows.bsod_memory_dump"].label.en
    assert "mysqld" in labels["linux.oom_killer"].label.en
    assert "allocating process java" in labels["linux.oom_panic"].label.en
    assert "SystemMaintenance.Reboot" in labels["event.SystemMaintenance.Reboot"].label.en
    assert "Cloud Assistant" in labels["linux.unknown"].label.en
    # two different kernel crashes with one rule are two groups, by their stacks
    panics = [g for g in scan.groups if g.rule_id == "linux.kernel_panic_no_dump"]
    assert len({g.signature for g in panics}) == 2
    assert any("virtnet_send_command [virtio_net]" in g.label.en for g in panics)


def test_batched_calls_and_describe_calls_per_instance(
    scanned: tuple[FleetScan, list[RequestRecord]],
) -> None:
    _, records = scanned
    calls: dict[str, int] = defaultdict(int)
    for record in records:
        calls[record.action] += 1
    per_region = math.ceil(FLEET_SIZE / len(REGIONS) / 100)
    assert calls["DescribeInstances"] == per_region * len(REGIONS)
    assert calls["DescribeInstanceHistoryEvents"] == per_region * len(REGIONS)
    assert calls["DescribeCloudAssistantStatus"] == per_region * len(REGIONS)
    assert calls["LookupEvents"] >= len(REGIONS)
    # one RunCommand per OS per batch, each for many instances
    runs = [r for r in records if r.action == "RunCommand"]
    assert len(runs) <= 2 * per_region * len(REGIONS)
    assert max(len(r.instance_ids) for r in runs) > 20
    # every result is read once, by pages of 50
    pages = sum(math.ceil(len(r.instance_ids) / 50) for r in runs)
    assert calls["DescribeInvocationResults"] == pages, dict(calls)


def test_no_guest_command_before_events_and_agent_status_per_instance(
    fleet_sim: SimulatorServer, scanned: tuple[FleetScan, list[RequestRecord]]
) -> None:
    _, records = scanned
    events_read: set[str] = set()
    agent_read: set[str] = set()
    commanded: set[str] = set()
    for record in sorted(records, key=lambda r: r.at):
        if not record.ok:
            continue
        if record.action == "DescribeInstanceHistoryEvents":
            events_read.update(record.instance_ids)
        elif record.action == "DescribeCloudAssistantStatus":
            agent_read.update(record.instance_ids)
        elif record.action == "RunCommand":
            ids = set(record.instance_ids)
            assert ids <= events_read, ids - events_read
            assert ids <= agent_read, ids - agent_read
            commanded |= ids
    expected = {t.instance_id for t in fleet_sim.fleet_truth.values() if t.guest}
    assert commanded == expected  # no command where events explain it or the agent is down


def test_no_guest_commands_means_no_run_command(fleet_sim: SimulatorServer) -> None:
    before = fleet_sim.request_count("RunCommand")
    scanner = scanner_for(fleet_sim)
    scan = asyncio.run(scanner.scan(fleet_request(scanner, guest_commands=False)))
    assert fleet_sim.request_count("RunCommand") == before
    assert {i.guest for i in scan.instances} <= {"not_needed", "disabled"}
    platform = [i for i in scan.instances if i.verdict == "platform"]
    assert platform and all(i.rule_id.startswith("event.") for i in platform)


def test_throttling_is_retried_after_the_time_the_service_asks(
    fleet_sim: SimulatorServer,
) -> None:
    fleet_sim.world.requests.clear()
    spec = fleet_sim.inject_fault(
        "DescribeCloudAssistantStatus",
        kind="rate_limit",
        limit=1,
        window_seconds=1.0,
        retry_after_ms=400,
    )
    try:
        # the scanner is told a far higher limit than the service enforces: it must be refused
        scanner = scanner_for(fleet_sim, limits={"DescribeCloudAssistantStatus": RateLimit(50)})
        # two regions, one batch each, at the same time: one of the two calls is refused
        ids = [t.instance_id for t in fleet_sim.fleet_truth.values()][:40]
        scan = asyncio.run(scanner.scan(fleet_request(scanner, instance_ids=ids)))
    finally:
        fleet_sim.clear_faults()
    assert spec.code == "" and scan.complete
    assert_matches_truth(fleet_sim, scan)
    records = fleet_sim.world.requests.records("DescribeCloudAssistantStatus")
    refused = [r for r in records if r.code == "Throttling.User"]
    assert refused, "the service never throttled"
    for r in refused:
        retry = next(
            x for x in records if x.at > r.at and set(x.instance_ids) == set(r.instance_ids)
        )
        assert (retry.at - r.at).total_seconds() >= 0.35


def interrupt_after_a_collector_started(scanner: FleetScanner, scan_id: str) -> None:
    """Run the scan and cancel it as soon as a collector run was started after at least one
    batch was concluded (like Ctrl+C, or a server going down)."""

    async def interrupted() -> None:
        started = asyncio.Event()

        async def progress(done: float, total: float | None, message: str) -> None:
            if "collector started" in message and done > 0:
                started.set()

        task = asyncio.create_task(scanner.run(scan_id, progress))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupted())


def test_an_interrupted_scan_resumes_without_repeating_work(
    fleet_sim: SimulatorServer, tmp_path: Path
) -> None:
    store_file = tmp_path / "diagnoses.sqlite3"
    runs_before = len(fleet_sim.invocation_records())
    scanner = scanner_for(fleet_sim, store_file=store_file, scan_concurrency=1)
    scan_id = scanner.start(fleet_request(scanner))
    fleet_sim.world.requests.clear()
    interrupt_after_a_collector_started(scanner, scan_id)
    partial = scanner.result(scan_id)
    assert not partial.complete and 0 < len(partial.instances) < FLEET_SIZE
    concluded = {i.instance_id for i in partial.instances}
    fleet_sim.world.requests.clear()

    # a new process: a new scanner over the same store file
    resumed = scanner_for(fleet_sim, store_file=store_file)
    scan = asyncio.run(resumed.resume(scan_id))
    assert scan.complete and len(scan.instances) == FLEET_SIZE
    assert_matches_truth(fleet_sim, scan)
    again = fleet_sim.world.requests.records()
    # one collector run per instance at most, whatever the interruption cut (a RunCommand sent
    # again after a lost answer carries its ClientToken and creates nothing)
    runs = [r.instance_id for r in fleet_sim.invocation_records()[runs_before:]]
    assert len(runs) == len(set(runs)), "a collector run was started twice on one instance"
    expected = {t.instance_id for t in fleet_sim.fleet_truth.values() if t.guest}
    assert set(runs) == expected
    rechecked = {
        i for r in again if r.action == "DescribeInstanceHistoryEvents" for i in r.instance_ids
    }
    assert not rechecked & concluded, "an instance concluded before was checked again"


def test_a_resume_where_the_invocations_are_gone_runs_the_collector_again(
    fleet_sim: SimulatorServer, tmp_path: Path
) -> None:
    store_file = tmp_path / "diagnoses.sqlite3"
    scanner = scanner_for(fleet_sim, store_file=store_file, scan_concurrency=1)
    scan_id = scanner.start(fleet_request(scanner))
    interrupt_after_a_collector_started(scanner, scan_id)
    # another simulator with the same fleet: it never saw the invocations started before
    spec = FleetSpec(size=FLEET_SIZE, regions=REGIONS, seed=7)
    with SimulatorServer([], fleet=spec) as other:
        resumed = scanner_for(other, store_file=store_file)
        scan = asyncio.run(resumed.resume(scan_id))
        assert scan.complete and len(scan.instances) == FLEET_SIZE
        assert_matches_truth(other, scan)
        assert {i.guest for i in scan.instances} >= {"collected"}
        assert "failed" not in {i.guest for i in scan.instances}


def test_a_finished_scan_is_read_back_without_api_calls(fleet_sim: SimulatorServer) -> None:
    store = InMemoryScanStore()
    scanner = scanner_for(fleet_sim, store=store)
    ids = sorted(fleet_sim.fleet_truth)[:10]
    asked = [*ids, "i-uf6nosuchinstance"]
    first = asyncio.run(scanner.scan(fleet_request(scanner, instance_ids=asked)))
    assert len(first.instances) == 10
    assert "i-uf6nosuchinstance" in first.notes[0].en
    before = fleet_sim.request_count()
    second = asyncio.run(scanner.run(first.scan_id))
    assert fleet_sim.request_count() == before
    assert second == first
    # another owner (another bearer token) cannot read it: it is unknown to them
    with pytest.raises(InvalidInputError, match="No scan"):
        scanner.result(first.scan_id, owner="someone-else")


def test_bad_input_is_refused_before_any_call(fleet_sim: SimulatorServer) -> None:
    scanner = scanner_for(fleet_sim)
    before = fleet_sim.request_count()
    for bad in ("", "45d", "10s", "3x", "h"):
        with pytest.raises(InvalidInputError):
            parse_since(bad)
    with pytest.raises(InvalidInputError):
        scanner.new_request(["not a region"])
    with pytest.raises(InvalidInputError):
        scanner.new_request(["cn-shanghai"], instance_ids=["x-123"])
    with pytest.raises(InvalidInputError):
        scanner.result("s-unknown")
    assert fleet_sim.request_count() == before


def test_fleets_are_generated_from_the_seed() -> None:
    from datetime import UTC, datetime

    from ecs_api_simulator.fleet import generate_fleet
    from ecs_api_simulator.server import builtin_scenarios_dir

    now = datetime(2026, 12, 1, tzinfo=UTC)
    spec = FleetSpec(size=300, seed=3)
    _, a = generate_fleet(spec, now, builtin_scenarios_dir())
    _, b = generate_fleet(spec, now, builtin_scenarios_dir())
    _, c = generate_fleet(FleetSpec(size=300, seed=4), now, builtin_scenarios_dir())
    assert a == b and a != c
    assert {t.region_id for t in a.values()} == set(spec.regions)


def test_a_region_that_takes_fewer_instances_per_run_command_gets_smaller_ones(
    fleet_sim: SimulatorServer,
) -> None:
    # one region's Linux guests: a single batch, so the one refusal cannot land on a batch
    # of one instance (which cannot be split)
    region = "cn-shanghai"
    linux_ids = {
        i.instance_id for i in fleet_sim.world.instances_in(region) if i.spec.os_type == "linux"
    }
    linux = [
        t.instance_id
        for t in fleet_sim.fleet_truth.values()
        if t.guest and t.region_id == region and t.instance_id in linux_ids
    ][:60]
    assert len(linux) >= 2
    fleet_sim.world.requests.clear()
    fleet_sim.inject_fault("RunCommand", "InstanceIds.ExceedLimit", status=403, times=1)
    try:
        scanner = scanner_for(fleet_sim)
        scan = asyncio.run(scanner.scan(fleet_request(scanner, instance_ids=linux)))
    finally:
        fleet_sim.clear_faults()
    assert_matches_truth(fleet_sim, scan)
    runs = fleet_sim.world.requests.records("RunCommand")
    assert runs[0].code == "InstanceIds.ExceedLimit"
    created = [r for r in runs if r.ok]
    assert sorted(i for r in created for i in r.instance_ids) == sorted(linux)


def test_each_guest_answers_with_its_own_host_name(
    fleet_sim: SimulatorServer, scanned: tuple[FleetScan, list[RequestRecord]]
) -> None:
    from ecs_api_simulator.fleet import source_host_name
    from ecs_reboot_diagnosis_mcp.aliyun.fleet_gateway import AliyunFleetGateway

    scan, _ = scanned
    collected = [i for i in scan.instances if i.guest == "collected" and i.os_type == "linux"]
    invoke = collected[0]
    gateway = scanner_for(fleet_sim).gateway
    assert isinstance(gateway, AliyunFleetGateway)
    page = asyncio.run(gateway.invocation_results_page(invoke.region_id, invoke.invoke_id))
    assert len(page.results) > 1
    for instance_id, result in page.results.items():
        instance = fleet_sim.world.find(instance_id)
        assert instance is not None and instance.spec.host_name
        assert instance.spec.host_name in result.output
        class_host = source_host_name(instance)
        assert class_host and class_host not in result.output
