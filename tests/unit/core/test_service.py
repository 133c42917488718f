"""DiagnosisService over the in-memory gateway: the steps, their order, and the branches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from ecs_reboot_diagnosis.analysis.metrics import METRICS
from ecs_reboot_diagnosis.errors import (
    CloudApiError,
    InstanceNotFoundError,
    InvalidInputError,
    QuotaExceededError,
    UnknownDiagnosisError,
    WorkflowOrderError,
)
from ecs_reboot_diagnosis.models import ApiCall, InstanceFacts, PlatformEvent
from ecs_reboot_diagnosis.ports import AgentHeartbeat
from ecs_reboot_diagnosis.service import DiagnosisService, ServiceConfig
from ecs_reboot_diagnosis.store import InMemoryDiagnosisStore
from ecs_reboot_diagnosis.workflow import Phase, Step
from tests.support.clock import ManualClock
from tests.support.memory_gateway import MemoryAudit, MemoryGateway, MemoryMetrics

pytestmark = pytest.mark.anyio

IID = "i-bp1testinstance01"
REGION = "cn-hangzhou"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def linux_instance(status: str = "Running") -> InstanceFacts:
    return InstanceFacts(
        instance_id=IID,
        region_id=REGION,
        instance_name="web-01",
        status=status,
        os_type="linux",
        os_name="Alibaba Cloud Linux 3.2104 LTS 64-bit",
        public_ip="47.0.0.10",
    )


def make(
    gateway: MemoryGateway, clock: ManualClock | None = None, **config: object
) -> DiagnosisService:
    clock = clock or ManualClock()
    return DiagnosisService(
        gateway,
        InMemoryDiagnosisStore(clock),
        clock,
        ServiceConfig(**config),  # type: ignore[arg-type]
    )


def gateway_with(instance: InstanceFacts | None = None, **kw: object) -> MemoryGateway:
    gw = MemoryGateway(**kw)  # type: ignore[arg-type]
    gw.add(instance or linux_instance())
    gw.heartbeat = AgentHeartbeat(running=True, last_heartbeat=ManualClock().now())
    return gw


@pytest.mark.parametrize(
    ("instance_id", "region_id", "parameter"),
    [("", REGION, "instance_id"), ("bp1abc", REGION, "instance_id"),
     ("i-ABC;rm -rf", REGION, "instance_id"), (IID, "", "region_id"),
     (IID, "hangzhou", "region_id"), (IID, "cn-hangzhou;x", "region_id")],
)  # fmt: skip
async def test_start_refuses_missing_or_malformed_ids(
    instance_id: str, region_id: str, parameter: str
) -> None:
    gw = gateway_with()
    service = make(gw)
    with pytest.raises(InvalidInputError) as err:
        await service.start(instance_id, region_id, owner="")
    assert err.value.parameter == parameter
    assert "Ask the user" in str(err.value)
    assert gw.calls == []  # nothing was sent to the cloud


async def test_start_confirms_the_instance_and_issues_an_id() -> None:
    service = make(gateway_with())
    d = await service.start(IID, REGION, owner="")
    assert d.id.startswith("d-") and len(d.id) == 34
    assert d.workflow.phase == Phase.INSTANCE_CONFIRMED
    assert d.instance.os_type == "linux" and d.instance.instance_name == "web-01"
    assert service.status(d.id, owner="") == d


async def test_unknown_instance_is_not_found() -> None:
    service = make(gateway_with())
    with pytest.raises(InstanceNotFoundError) as err:
        await service.start("i-bp1doesnotexist", REGION, owner="")
    assert "not found in region cn-hangzhou" in str(err.value)


async def test_steps_out_of_order_are_refused_before_any_cloud_call() -> None:
    gw = gateway_with()
    service = make(gw)
    d = await service.start(IID, REGION, owner="")
    calls = list(gw.calls)
    with pytest.raises(WorkflowOrderError) as err:
        await service.run_guest(d.id, owner="")
    assert err.value.required == Step.CHECK_EVENTS
    with pytest.raises(WorkflowOrderError):
        await service.report(d.id, owner="")
    assert gw.calls == calls


async def test_an_unknown_diagnosis_id_is_refused() -> None:
    service = make(gateway_with())
    with pytest.raises(UnknownDiagnosisError):
        await service.check_events("d-" + "f" * 32, owner="")


async def test_a_platform_cause_ends_the_diagnosis() -> None:
    clock = ManualClock()
    t = clock.now() - timedelta(hours=3)
    gw = gateway_with()
    gw.events = [
        PlatformEvent(
            event_id="e-1",
            event_type="SystemMaintenance.Reboot",
            cycle_status="Executed",
            not_before=t,
            finish_time=t + timedelta(minutes=4),
        )
    ]
    service = make(gw, clock)
    d = await service.start(IID, REGION, owner="")
    d = await service.check_events(d.id, owner="")
    assert d.workflow.phase == Phase.READY_TO_REPORT
    with pytest.raises(WorkflowOrderError) as err:
        await service.check_agent(d.id, owner="")
    assert err.value.reason == "not_needed"
    report = await service.report(d.id, owner="")
    assert report.conclusion.verdict == "platform"
    assert "SystemMaintenance.Reboot" in report.conclusion.root_cause.en
    assert {s.step for s in report.skipped} >= {"check_agent", "run_guest"}
    assert "DescribeCloudAssistantStatus" not in gw.calls
    assert "RunCommand" not in gw.calls


async def test_events_outside_the_window_do_not_count() -> None:
    clock = ManualClock()
    old = clock.now() - timedelta(days=10)
    gw = gateway_with()
    gw.events = [
        PlatformEvent(
            event_id="e-old",
            event_type="SystemFailure.Reboot",
            cycle_status="Executed",
            not_before=old,
        )
    ]
    service = make(gw, clock)
    d = await service.check_events((await service.start(IID, REGION, owner="")).id, owner="")
    assert d.workflow.phase == Phase.EVENTS_CHECKED
    assert d.events is not None and d.events.events == []


@pytest.mark.parametrize(
    ("heartbeat", "status", "why"),
    [
        (AgentHeartbeat(running=False), "Running", "not running"),
        (AgentHeartbeat(running=True, last_heartbeat=ManualClock().now() - timedelta(hours=2)),
         "Running", "heartbeat"),
        (AgentHeartbeat(running=True, last_heartbeat=ManualClock().now()), "Stopped", "Stopped"),
    ],
    ids=["not-running", "stale-heartbeat", "instance-stopped"],
)  # fmt: skip
async def test_an_unusable_agent_leads_to_manual_steps(
    heartbeat: AgentHeartbeat, status: str, why: str
) -> None:
    gw = gateway_with(linux_instance(status))
    gw.heartbeat = heartbeat
    service = make(gw)
    d = await service.start(IID, REGION, owner="")
    d = await service.check_events(d.id, owner="")
    d = await service.check_agent(d.id, owner="")
    assert d.workflow.phase == Phase.GUEST_UNREACHABLE
    assert d.cloud_assistant is not None and not d.cloud_assistant.usable
    assert why in d.cloud_assistant.reason.en
    if status == "Stopped":  # nothing runs in a stopped instance: start it, never SSH into it
        assert "cannot run while the instance is stopped" in d.cloud_assistant.reason.en
        assert not any("ssh" in c for c in d.manual_steps)
        start = f"aliyun ecs StartInstance --RegionId {REGION} --InstanceId {IID}"
        assert start in d.manual_steps
    else:
        assert any("ssh root@47.0.0.10" in c for c in d.manual_steps)
    with pytest.raises(WorkflowOrderError) as err:
        await service.run_guest(d.id, owner="")
    assert err.value.reason == "not_needed"
    assert "Cloud Assistant" in str(err.value)
    assert err.value.required == Step.COLLECT_AGENTLESS
    # the evidence from outside comes before the report, never skipped
    with pytest.raises(WorkflowOrderError) as early:
        await service.report(d.id, owner="")
    assert (early.value.reason, early.value.required) == ("prerequisite", Step.COLLECT_AGENTLESS)
    d = await service.collect_agentless(d.id, owner="")
    assert d.workflow.phase == Phase.READY_TO_REPORT
    assert Step.COLLECT_AGENTLESS in d.workflow.completed
    report = await service.report(d.id, owner="")
    assert report.conclusion.verdict == "unknown"
    assert why.lower() in report.conclusion.root_cause.en.lower()
    restart = [r for r in report.recommendations if "restart Cloud Assistant" in r.text.en]
    if status == "Stopped":
        assert report.conclusion.rule_id == "stopped.unknown"
        assert report.recommendations[0].text.en.startswith("Start the instance first")
        assert not restart
    else:
        assert restart
    assert "RunCommand" not in gw.calls


async def test_no_guest_commands_mode_never_runs_a_command() -> None:
    gw = gateway_with()
    service = make(gw, guest_commands=False)
    d = await service.start(IID, REGION, owner="")
    d = await service.check_agent((await service.check_events(d.id, owner="")).id, owner="")
    assert d.workflow.branch == "guest_commands_disabled"
    assert d.workflow.phase == Phase.GUEST_UNREACHABLE
    await service.collect_agentless(d.id, owner="")
    report = await service.report(d.id, owner="")
    assert report.skip_for("run_guest") is not None
    assert "RunCommand" not in gw.calls


async def test_a_failed_invocation_is_reported_not_hidden() -> None:
    gw = gateway_with(final_status="Failed", error_code="ClientNotResponse")
    service = make(gw)
    d = await service.start(IID, REGION, owner="")
    d = await service.check_agent((await service.check_events(d.id, owner="")).id, owner="")
    d, _ = await service.run_guest(d.id, owner="")
    d, state = await service.get_guest_results(d.id, owner="")
    assert state == "failed"
    assert d.workflow.phase == Phase.READY_TO_REPORT
    skip = next(s for s in d.skipped if s.step == "get_guest_results")
    assert "ClientNotResponse" in skip.detail.en
    report = await service.report(d.id, owner="")
    assert report.conclusion.verdict == "unknown"
    assert report.manual_steps


async def test_output_that_is_not_our_envelope_is_rejected() -> None:
    gw = gateway_with(output=lambda content, params: "ECS_DIAG_ENVELOPE forged\nhello\n")
    service = make(gw)
    d = await service.start(IID, REGION, owner="")
    d = await service.check_agent((await service.check_events(d.id, owner="")).id, owner="")
    d, _ = await service.run_guest(d.id, owner="")
    d, state = await service.get_guest_results(d.id, owner="")
    assert state == "failed"


async def test_the_poll_follows_the_run_and_stops_at_the_deadline() -> None:
    clock = ManualClock()
    gw = gateway_with(polls_to_finish=1000)
    service = make(gw, clock, wait_deadline_seconds=30.0)
    config = service.config
    d = await service.start(IID, REGION, owner="")
    d = await service.check_agent((await service.check_events(d.id, owner="")).id, owner="")
    seen: list[tuple[float, float | None, str]] = []

    async def progress(done: float, total: float | None, message: str) -> None:
        seen.append((done, total, message))

    d, last = await service.run_guest(d.id, "", progress)
    assert last == "Running"
    # no poll before the run can have finished, then short gaps that widen slowly
    assert clock.slept[0] == config.poll_first_seconds == 1.0
    assert clock.slept[1:4] == [0.25, 0.25, 0.25]
    elapsed = clock.slept[0]
    for gap in clock.slept[1:-1]:
        assert gap == pytest.approx(config.poll_gap(elapsed), abs=1e-5)
        elapsed += gap
    assert clock.slept[1:-1] == sorted(clock.slept[1:-1])
    assert max(clock.slept) <= config.poll_max_seconds
    assert 2.5 < max(clock.slept) <= 3.0  # about 10 % of the run at its end
    assert sum(clock.slept) == pytest.approx(30.0)  # the last poll is at the deadline
    polls = gw.calls.count("DescribeInvocationResults")
    assert polls == len(clock.slept) == len(seen) < 35
    assert seen and all(total == 30.0 for _, total, _ in seen)
    assert [done for done, _, _ in seen] == sorted(done for done, _, _ in seen)
    assert seen[-1][0] == 30.0 and "Running" in seen[-1][2]
    d, state = await service.get_guest_results(d.id, owner="")
    assert state == "pending"
    assert gw.calls.count("DescribeInvocationResults") == polls + 1  # nothing finished is kept
    assert d.workflow.phase == Phase.GUEST_COLLECTING
    d = await service.abandon_guest(d.id, owner="")
    assert d.workflow.phase == Phase.READY_TO_REPORT
    assert "DescribeInvocationResults" in next(
        s.detail.en for s in d.skipped if s.step == "get_guest_results"
    )


async def test_a_late_wait_polls_at_once_and_a_short_deadline_still_polls_once() -> None:
    """The first poll waits for the run's shortest time after RunCommand, not after the wait
    began; a wait whose deadline comes first polls once, at its deadline."""
    clock = ManualClock()
    gw = gateway_with(polls_to_finish=1000)
    service = make(gw, clock, wait_deadline_seconds=0.05)
    d = await service.start(IID, REGION, owner="")
    d = await service.check_agent((await service.check_events(d.id, owner="")).id, owner="")
    d, last = await service.run_guest(d.id, "")
    assert last == "Running" and clock.slept == [0.05]
    clock.advance(timedelta(seconds=5))
    result = await service.wait_for_guest(d.id, "", deadline_seconds=0.0)
    assert result is not None and result.status == "Running"
    assert clock.slept == [0.05]  # the run is 5 s old: no waiting before the poll
    assert gw.calls.count("DescribeInvocationResults") == 2


async def test_the_finished_result_is_read_once() -> None:
    clock = ManualClock()
    gw = gateway_with(polls_to_finish=3)
    service = make(gw, clock)
    d = await service.start(IID, REGION, owner="")
    d = await service.check_agent((await service.check_events(d.id, owner="")).id, owner="")
    d, last = await service.run_guest(d.id, "")
    assert last == "Success"
    assert gw.calls.count("DescribeInvocationResults") == 4  # 3 x Running, then Success
    again = await service.wait_for_guest(d.id, "")  # a second wait reads nothing either
    assert again is not None and again.status == "Success"
    d, state = await service.get_guest_results(d.id, owner="")
    assert state == "failed"  # the memory gateway's empty output is no envelope
    assert gw.calls.count("DescribeInvocationResults") == 4

    # step by step, without a wait that saw the end: get_guest_results reads it itself
    gw = gateway_with(polls_to_finish=0)
    service = make(gw, clock, wait_deadline_seconds=0.0)
    d = await service.start(IID, REGION, owner="")
    d = await service.check_agent((await service.check_events(d.id, owner="")).id, owner="")
    d, _ = await service.run_guest(d.id, "")
    fresh = DiagnosisService(gw, service.store, clock)  # another process: nothing kept
    d, state = await fresh.get_guest_results(d.id, owner="")
    assert gw.calls.count("DescribeInvocationResults") == 2


async def test_a_cloud_error_reaches_the_caller_and_leaves_the_state_unchanged() -> None:
    gw = gateway_with()
    service = make(gw)
    d = await service.start(IID, REGION, owner="")
    gw.denied_actions.add("DescribeInstanceHistoryEvents")
    with pytest.raises(CloudApiError) as err:
        await service.check_events(d.id, owner="")
    assert err.value.kind == "forbidden" and err.value.request_id == "MEM-REQUEST"
    assert service.status(d.id, owner="").workflow.phase == Phase.INSTANCE_CONFIRMED
    gw.denied_actions.clear()
    assert (await service.check_events(d.id, owner="")).workflow.phase == Phase.EVENTS_CHECKED


async def test_the_report_is_built_once_and_can_be_read_again() -> None:
    clock = ManualClock()
    gw = gateway_with()
    gw.heartbeat = AgentHeartbeat(running=False)
    service = make(gw, clock)
    d = await service.start(IID, REGION, owner="")
    d = await service.check_agent((await service.check_events(d.id, owner="")).id, owner="")
    d = await service.collect_agentless(d.id, owner="")
    first = await service.report(d.id, owner="")
    clock.advance(timedelta(minutes=5))
    again = await service.report(d.id, owner="")
    assert again == first
    assert service.status(d.id, owner="").workflow.phase == Phase.REPORTED


async def test_an_unusable_agent_reads_the_console_and_the_screen() -> None:
    clock = ManualClock()
    gw = gateway_with()
    gw.heartbeat = AgentHeartbeat(running=False)
    gw.console_text = "[ 1.0] Kernel panic - not syncing: Attempted to kill init! exitcode=0x9\n"
    gw.console_updated = clock.now() - timedelta(minutes=20)
    gw.screenshot_png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    service = make(gw, clock)
    d = await service.start(IID, REGION, owner="")
    d = await service.check_agent((await service.check_events(d.id, owner="")).id, owner="")
    assert d.console is None and d.screenshot is None  # read by the next step, not this one
    d = await service.collect_agentless(d.id, owner="")
    assert d.console is not None and d.console.findings
    assert d.screenshot is not None and d.screenshot.size_bytes == 72
    report = await service.report(d.id, owner="")
    assert report.conclusion.rule_id == "linux.kernel_panic"
    assert report.console is not None and report.screenshot is not None
    assert any(e.source == "api:GetInstanceConsoleOutput" for e in report.timeline)


async def test_audit_and_metrics_are_optional_sources() -> None:
    clock = ManualClock()
    gw = gateway_with()
    gw.heartbeat = AgentHeartbeat(running=False)
    reboot = ApiCall(
        event_id="ev-1",
        event_name="RebootInstance",
        event_time=clock.now() - timedelta(hours=2),
        caller="alice",
        source_ip="198.51.100.4",
    )
    metrics = MemoryMetrics()
    service = DiagnosisService(
        gw,
        InMemoryDiagnosisStore(clock),
        clock,
        ServiceConfig(),
        metrics=metrics,
        audit=MemoryAudit(api_calls=[reboot]),
    )
    d = await service.start(IID, REGION, owner="")
    d = await service.check_events(d.id, owner="")
    d = await service.check_agent(d.id, owner="")
    d = await service.collect_agentless(d.id, owner="")
    report = await service.report(d.id, owner="")  # read beside the steps, in by the report
    d = service.status(d.id, owner="")
    assert d.api_calls == (reboot,) and report.api_calls == [reboot]
    assert d.metrics is not None and all(m.points == 0 for m in d.metrics)
    assert report.conclusion.verdict == "api_initiated"
    assert "alice" in report.conclusion.root_cause.en

    denied = DiagnosisService(
        gw, InMemoryDiagnosisStore(clock), clock, audit=MemoryAudit(denied=True)
    )
    d = await denied.check_events((await denied.start(IID, REGION, owner="")).id, owner="")
    d = await denied.collect_agentless(d.id, owner="")  # lists what was read beside the events
    assert d.api_calls is None
    sources = {n.source for n in d.unavailable}
    assert {"actiontrail:LookupEvents", "cms:QueryMetricList"} <= sources
    assert "permission denied" in next(
        n.detail.en for n in d.unavailable if n.source == "actiontrail:LookupEvents"
    )


@pytest.mark.parametrize(
    ("failing", "kind", "notes", "summaries"),
    [(1, "throttled", [METRICS[1]], [METRICS[0], METRICS[2]]),
     (0, "forbidden", [METRICS[0]], []),
     (1, "forbidden", [METRICS[1]], [METRICS[0]])],
)  # fmt: skip
async def test_metric_series_read_at_once_are_noted_as_if_read_one_by_one(
    failing: int, kind: str, notes: list[str], summaries: list[str]
) -> None:
    """Every series is asked for at once; what is noted is what reading them in order noted:
    each failed series, and nothing after a permission denial."""
    clock = ManualClock()
    error = CloudApiError("DescribeMetricList", kind, "Code", "failed", request_id="R")  # type: ignore[arg-type]
    metrics = MemoryMetrics(errors={METRICS[failing]: error})
    service = DiagnosisService(
        gateway_with(), InMemoryDiagnosisStore(clock), clock, ServiceConfig(), metrics=metrics
    )
    d = await service.check_events((await service.start(IID, REGION, owner="")).id, owner="")
    d = await service.collect_agentless(d.id, owner="")
    assert sorted(metrics.read) == sorted(METRICS)
    noted = [n.source for n in d.unavailable if n.source.startswith("cms:")]
    assert noted == [f"cms:QueryMetricList {name}" for name in notes]
    assert [m.metric for m in d.metrics or ()] == summaries


async def test_every_step_refuses_another_owners_diagnosis_itself() -> None:
    """The owner check lives in the service: each step, called with the wrong owner, refuses
    before any cloud call and leaves the diagnosis as it was."""
    gw = gateway_with()
    service = make(gw)
    d = await service.start(IID, REGION, "alpha")
    calls = list(gw.calls)
    steps: dict[str, Callable[[str], Awaitable[object]]] = {
        "check_events": lambda o: service.check_events(d.id, o),
        "check_agent": lambda o: service.check_agent(d.id, o),
        "run_guest": lambda o: service.run_guest(d.id, o),
        "wait_for_guest": lambda o: service.wait_for_guest(d.id, o),
        "get_guest_results": lambda o: service.get_guest_results(d.id, o),
        "abandon_guest": lambda o: service.abandon_guest(d.id, o),
        "triage_dumps": lambda o: service.triage_dumps(d.id, o),
        "recommend_dump_setup": lambda o: service.recommend_dump_setup(d.id, o),
        "report": lambda o: service.report(d.id, o),
        "collect_agentless": lambda o: service.collect_agentless(d.id, o),
    }
    for name, step in steps.items():
        for wrong in ("beta", ""):
            with pytest.raises(UnknownDiagnosisError, match="is unknown"):
                await step(wrong)
            assert gw.calls == calls, name
    for wrong in ("beta", ""):
        with pytest.raises(UnknownDiagnosisError):
            service.status(d.id, wrong)
    assert service.status(d.id, "alpha") == d
    assert (await service.check_events(d.id, "alpha")).workflow.phase == Phase.EVENTS_CHECKED


async def test_an_owner_over_its_quota_gets_a_clear_error_and_others_keep_theirs() -> None:
    clock = ManualClock()
    gw = gateway_with()
    service = DiagnosisService(gw, InMemoryDiagnosisStore(clock, max_diagnoses=2), clock)
    theirs = [await service.start(IID, REGION, "beta") for _ in range(2)]
    for _ in range(2):
        await service.start(IID, REGION, "alpha")
    with pytest.raises(QuotaExceededError) as err:
        await service.start(IID, REGION, "alpha")
    assert "wait until an unused one expires" in str(err.value)
    for d in theirs:
        assert service.status(d.id, "beta") == d
    report = await service.diagnose(IID, REGION, owner="gamma")  # a third owner still can
    assert service.status(report.diagnosis_id, "gamma").report is not None
