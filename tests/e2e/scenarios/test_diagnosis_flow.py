"""One diagnosis with its reads at the same time, over the simulator through the official SDK.

What is checked comes from the simulator's request records (arrival and answer times on its
clock) and from the diagnosis store (when each check was recorded):

- the Cloud Assistant status is read beside the platform events, ActionTrail and the three
  metric series beside everything after DescribeInstances, and still no RunCommand arrives
  before both checks were answered, judged and recorded;
- a platform cause ends the diagnosis although the status read is in flight: no guest command;
- the poll follows the run: none before it can have finished, the end seen within one interval,
  and the finished result read once (no second DescribeInvocationResults).

The poll tests run the simulator on a manual clock that the service's own sleeps move, so the
run's end and every poll are exact, whatever the load on the machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from ecs_api_simulator import ManualClock, SimulatorServer
from ecs_api_simulator.request_log import RequestRecord
from ecs_api_simulator.server import builtin_scenarios_dir
from ecs_reboot_diagnosis.clock import SystemClock
from ecs_reboot_diagnosis.diagnosis import Diagnosis
from ecs_reboot_diagnosis.errors import CloudApiError, WorkflowOrderError
from ecs_reboot_diagnosis.ports import Clock
from ecs_reboot_diagnosis.service import DiagnosisService, ServiceConfig
from ecs_reboot_diagnosis.store import InMemoryDiagnosisStore
from ecs_reboot_diagnosis.workflow import Phase
from ecs_reboot_diagnosis_mcp.app import build_gateway, build_outside_gateways
from ecs_reboot_diagnosis_mcp.settings import Settings

pytestmark = pytest.mark.anyio

REGION = "cn-hangzhou"
PANIC = "s02-kernel-panic-vmcore"
PANIC_ID = "i-bp1seed02panicvmcore"
MAINTENANCE = "s01-maintenance-reboot"
MAINTENANCE_ID = "i-bp1seed01maintreboot"


class RecordingStore(InMemoryDiagnosisStore):
    """The real in-memory store, noting when each phase was first recorded (system time)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.recorded: dict[Phase, datetime] = {}

    def put(self, diagnosis: Diagnosis) -> Diagnosis:
        stored = super().put(diagnosis)
        self.recorded.setdefault(diagnosis.workflow.phase, datetime.now(UTC))
        return stored


class SimulatorClock:
    """The service's clock on the simulator's manual clock: a sleep lets every started bash
    run end (real time), then moves both by the time slept."""

    def __init__(self, sim: SimulatorServer, clock: ManualClock) -> None:
        self.sim, self.clock = sim, clock
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.clock.now()

    async def sleep(self, seconds: float) -> None:
        assert await asyncio.to_thread(self.sim.wait_for_invocations, 60.0)
        self.slept.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0)


def simulator(scenario: str, clock: ManualClock | None = None) -> SimulatorServer:
    return SimulatorServer([builtin_scenarios_dir() / scenario], clock=clock)


@pytest.fixture
def panic_sim() -> Iterator[SimulatorServer]:
    with simulator(PANIC) as sim:
        yield sim


def service_over(
    sim: SimulatorServer, clock: Clock, store: InMemoryDiagnosisStore | None = None, **config: float
) -> DiagnosisService:
    """The service as the CLI builds it (``--simulator``): ECS, CloudMonitor and ActionTrail
    through their official SDKs, all on the simulator."""
    settings = Settings().model_copy(update={"endpoint": sim.url, "simulated": True})
    keys = {"access_key_id": sim.access_key_id, "access_key_secret": sim.access_key_secret}
    metrics, audit = build_outside_gateways(settings, **keys)
    return DiagnosisService(
        build_gateway(settings, **keys),
        InMemoryDiagnosisStore(clock) if store is None else store,
        clock,
        ServiceConfig(**config),  # type: ignore[arg-type]
        metrics=metrics,
        audit=audit,
    )


def only(sim: SimulatorServer, action: str) -> RequestRecord:
    [record] = sim.request_records(action)
    return record


def answered(record: RequestRecord) -> datetime:
    assert record.answered is not None
    return record.answered


def slow(sim: SimulatorServer, **delays_ms: int) -> None:
    for action, delay in delays_ms.items():
        sim.inject_fault(action, kind="latency", delay_ms=delay, times=None)


# --- the guardrails with reads at the same time ----------------------------------------------


async def test_reads_overlap_and_no_guest_command_before_both_checks(
    panic_sim: SimulatorServer,
) -> None:
    sim = panic_sim
    slow(sim, DescribeInstanceHistoryEvents=400, DescribeCloudAssistantStatus=300,
         LookupEvents=400, DescribeMetricList=300)  # fmt: skip
    clock = SystemClock()
    store = RecordingStore(clock)
    service = service_over(sim, clock, store)
    report = await service.diagnose(PANIC_ID, REGION, owner="")
    assert report.conclusion.verdict == "guest_crash" and report.guest is not None

    events, agent = (
        only(sim, "DescribeInstanceHistoryEvents"),
        only(sim, "DescribeCloudAssistantStatus"),
    )
    run = only(sim, "RunCommand")
    trail, series = only(sim, "LookupEvents"), sim.request_records("DescribeMetricList")
    # the status read was in flight with the events read, and so were ActionTrail and the
    # three metric series (each arrived before the first of them was answered)
    assert agent.at < answered(events) and events.at < answered(agent)
    assert len(series) == 3
    first_answer = min(answered(r) for r in [trail, *series])
    assert all(r.at < first_answer for r in [trail, *series])
    assert trail.at < answered(events)
    # ... but RunCommand arrived only after both checks were answered, judged and recorded
    events_checked = store.recorded[Phase.EVENTS_CHECKED]
    agent_checked = store.recorded[Phase.AGENT_CHECKED]
    assert answered(events) <= events_checked <= agent_checked <= run.at
    assert answered(agent) <= agent_checked
    # one read each: the status read beside the events is the one the agent check judged
    assert sim.request_count("DescribeCloudAssistantStatus") == 1
    assert sim.request_count("DescribeInstances") == 1
    # the outside evidence is in the report
    assert report.api_calls is not None and report.metrics is not None
    assert not [n for n in report.unavailable if "LookupEvents" in n.source]


@pytest.mark.parametrize(("events_ms", "agent_ms"), [(100, 1500), (400, 1)],
                         ids=["status-in-flight", "status-already-read"])  # fmt: skip
async def test_a_platform_cause_ends_the_diagnosis_whatever_the_status_read(
    events_ms: int, agent_ms: int
) -> None:
    with simulator(MAINTENANCE) as sim:
        slow(sim, DescribeInstanceHistoryEvents=events_ms, DescribeCloudAssistantStatus=agent_ms)
        clock = SystemClock()
        service = service_over(sim, clock)
        report = await service.diagnose(MAINTENANCE_ID, REGION, owner="")
        d = service.status(report.diagnosis_id, owner="")
        assert report.conclusion.verdict == "platform"
        assert d.workflow.branch == "platform_cause" and d.cloud_assistant is None
        with pytest.raises(WorkflowOrderError):
            await service.check_agent(d.id, owner="")
        assert sim.request_count("RunCommand") == 0
        assert sim.request_count("DescribeInvocationResults") == 0
        assert len(sim.request_records("DescribeCloudAssistantStatus")) <= 1
        assert all(s.step != "check_agent" or s.code == "platform_cause_found" for s in d.skipped)


async def test_a_failed_status_read_fails_the_agent_check_as_before(
    panic_sim: SimulatorServer,
) -> None:
    """The status read beside the events is denied: the event check passes, the agent check
    fails with the translated API error and changes nothing; asked again, it reads again."""
    sim = panic_sim
    sim.inject_fault("DescribeCloudAssistantStatus", "Forbidden.RAM", status=403)
    clock = SystemClock()
    service = service_over(sim, clock)
    d = await service.start(PANIC_ID, REGION, owner="")
    d = await service.check_events(d.id, owner="")
    assert d.workflow.phase == Phase.EVENTS_CHECKED
    with pytest.raises(CloudApiError) as err:
        await service.check_agent(d.id, owner="")
    assert err.value.kind == "forbidden" and err.value.code == "Forbidden.RAM"
    assert service.status(d.id, owner="").workflow.phase == Phase.EVENTS_CHECKED
    d = await service.check_agent(d.id, owner="")
    assert d.workflow.phase == Phase.AGENT_CHECKED
    assert sim.request_count("DescribeCloudAssistantStatus") == 2
    assert sim.request_count("RunCommand") == 0


async def test_a_failed_event_check_drops_the_reads_beside_it(panic_sim: SimulatorServer) -> None:
    """The events read is denied while ActionTrail and the metrics are in flight: the check
    fails as before and changes nothing, nothing read beside it lands later, and the check
    asked again brings the outside evidence in once."""
    sim = panic_sim
    slow(sim, LookupEvents=300, DescribeMetricList=300)
    sim.inject_fault("DescribeInstanceHistoryEvents", "Forbidden.RAM", status=403)
    sim.inject_fault("DescribeMetricList", "Forbidden.RAM", status=403, times=None)
    clock = SystemClock()
    service = service_over(sim, clock)
    d = await service.start(PANIC_ID, REGION, owner="")
    with pytest.raises(CloudApiError) as err:
        await service.check_events(d.id, owner="")
    assert err.value.code == "Forbidden.RAM" and err.value.action == "DescribeInstanceHistoryEvents"
    await asyncio.sleep(0.5)  # what was in flight would have been answered by now
    assert service.status(d.id, owner="") == d

    d = await service.check_events(d.id, owner="")
    d = await service.check_agent(d.id, owner="")
    d = await service.collect_agentless(d.id, owner="")
    assert d.api_calls is not None and d.metrics is None
    metric_notes = [n.source for n in d.unavailable if n.source.startswith("cms:")]
    assert len(metric_notes) == 1  # a denial noted once, as when read one by one
    assert sorted(n.source for n in d.unavailable) == sorted({n.source for n in d.unavailable})


# --- the poll -------------------------------------------------------------------------------


@pytest.mark.parametrize("run_seconds", [1.5, 4.0, 10.0])
async def test_the_poll_follows_the_run_and_the_result_is_read_once(run_seconds: float) -> None:
    manual = ManualClock()
    with simulator(PANIC, manual) as sim:
        sim.inject_fault(
            "RunCommand", kind="invocation", pending_seconds=0, running_seconds=run_seconds
        )
        clock = SimulatorClock(sim, manual)
        service = service_over(sim, clock)
        report = await service.diagnose(PANIC_ID, REGION, owner="")
        assert report.guest is not None and report.conclusion.verdict == "guest_crash"

        [invocation] = sim.invocation_records()
        assert invocation.status == "Success" and invocation.finished is not None
        run_ended = invocation.finished
        assert run_ended == invocation.created + timedelta(seconds=run_seconds)
        polls = [r.at for r in sim.request_records("DescribeInvocationResults")]
        # none before the run can have finished
        first = invocation.created + timedelta(seconds=service.config.poll_first_seconds)
        assert polls[0] >= first
        # every poll but the last saw it running; the last one, the one read, saw the end
        # within one interval of it
        assert all(at < run_ended for at in polls[:-1])
        assert polls[-1] >= run_ended
        before = polls[-2] if len(polls) > 1 else invocation.created
        gap = service.config.poll_gap((before - invocation.created).total_seconds())
        assert polls[-1] - run_ended <= timedelta(seconds=gap)
        # the finished result was read once: the wait's read is the one analysed
        assert sim.request_count("DescribeInvocationResults") == len(polls)
        assert sum(1 for at in polls if at >= run_ended) == 1


async def test_step_by_step_the_status_read_is_used_only_while_fresh() -> None:
    manual = ManualClock()
    with simulator(PANIC, manual) as sim:
        clock = SimulatorClock(sim, manual)
        service = service_over(sim, clock)
        fresh = await service.start(PANIC_ID, REGION, owner="")
        fresh = await service.check_agent((await service.check_events(fresh.id, "")).id, "")
        assert fresh.cloud_assistant is not None and fresh.cloud_assistant.usable
        assert sim.request_count("DescribeCloudAssistantStatus") == 1

        late = await service.start(PANIC_ID, REGION, owner="")
        late = await service.check_events(late.id, owner="")
        manual.advance(service.config.agent_status_reuse_seconds + 1)
        late = await service.check_agent(late.id, owner="")
        assert late.workflow.phase == Phase.AGENT_CHECKED
        assert sim.request_count("DescribeCloudAssistantStatus") == 3  # read again: too old

        # the collector's result, fetched step by step after a wait that saw the run end
        late, _ = await service.run_guest(late.id, owner="")
        reads = sim.request_count("DescribeInvocationResults")
        late, state = await service.get_guest_results(late.id, owner="")
        assert state == "collected"
        assert sim.request_count("DescribeInvocationResults") == reads
