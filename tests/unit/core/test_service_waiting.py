"""Waiting for the guest on the server's side, and progress that only goes forward.

A step call waits at most ``long_poll_seconds`` (pending only after that); the whole workflow
waits up to the collector's own timeout plus a margin, and then either gives the run up (the CLI:
the report says how to read its output later) or stops with the call that waits on (the one-call
MCP tool). Progress of the whole workflow is step k of one known total, strictly increasing.
"""

from __future__ import annotations

import itertools

import pytest

from ecs_reboot_diagnosis.errors import GuestStillRunningError
from ecs_reboot_diagnosis.ports import AgentHeartbeat
from ecs_reboot_diagnosis.progress import StepProgress, forward_only
from ecs_reboot_diagnosis.service import DIAGNOSE_STEPS, WAIT_MARGIN_SECONDS, ServiceConfig
from ecs_reboot_diagnosis.workflow import STEP_ORDER, Phase, Step
from tests.support.clock import ManualClock
from tests.unit.core.test_service import IID, REGION, gateway_with, make
from tests.unit.core.test_service_reboot_time import linux_output

pytestmark = pytest.mark.anyio

Seen = list[tuple[float, float | None, str]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def recorder(seen: Seen):  # type: ignore[no-untyped-def]
    async def progress(done: float, total: float | None, message: str) -> None:
        seen.append((done, total, message))

    return progress


def strictly_increasing(seen: Seen) -> bool:
    values = [done for done, _, _ in seen]
    return all(a < b for a, b in itertools.pairwise(values))


def test_the_deadlines_follow_the_collector_timeout() -> None:
    config = ServiceConfig()
    assert config.guest_deadline_seconds == 300 + WAIT_MARGIN_SECONDS
    assert config.call_wait_seconds == 25.0
    longer = ServiceConfig(command_timeout_seconds=900)
    assert longer.guest_deadline_seconds == 900 + WAIT_MARGIN_SECONDS
    short = ServiceConfig(wait_deadline_seconds=3.0)
    assert (short.guest_deadline_seconds, short.call_wait_seconds) == (3.0, 3.0)
    with pytest.raises(ValueError, match="long_poll_seconds"):
        ServiceConfig(long_poll_seconds=0)


async def test_a_step_call_waits_its_long_poll_before_it_answers_pending() -> None:
    clock = ManualClock()
    gw = gateway_with(polls_to_finish=1000)
    service = make(gw, clock)
    d = await service.start(IID, REGION, owner="")
    d = await service.check_agent((await service.check_events(d.id, owner="")).id, owner="")
    wait = service.config.call_wait_seconds
    d, status = await service.run_guest(d.id, "", wait_seconds=wait)
    assert status == "Running" and sum(clock.slept) == pytest.approx(wait)
    seen: Seen = []
    d, state = await service.get_guest_results(d.id, "", recorder(seen), wait_seconds=wait)
    assert state == "pending"
    assert sum(clock.slept) == pytest.approx(2 * wait)  # it waited again before answering
    assert seen and strictly_increasing(seen)
    assert all(total == wait for _, total, _ in seen)
    assert d.workflow.phase == Phase.GUEST_COLLECTING


async def test_a_step_call_answers_as_soon_as_the_run_ends() -> None:
    clock = ManualClock()
    service = make(gateway_with(polls_to_finish=3, output=linux_output), clock)
    d = await service.start(IID, REGION, owner="")
    d = await service.check_agent((await service.check_events(d.id, owner="")).id, owner="")
    d, _ = await service.run_guest(d.id, "", wait_seconds=25.0)
    d, state = await service.get_guest_results(d.id, "", wait_seconds=25.0)
    assert state == "collected"
    assert sum(clock.slept) < 25.0


async def test_a_results_call_out_of_order_is_refused_without_waiting() -> None:
    clock = ManualClock()
    service = make(gateway_with(polls_to_finish=1000), clock)
    d = await service.start(IID, REGION, owner="")
    with pytest.raises(Exception, match="cannot run yet"):
        await service.get_guest_results(d.id, "", wait_seconds=25.0)
    assert clock.slept == []


async def test_the_whole_workflow_reports_step_k_of_n_strictly_increasing() -> None:
    seen: Seen = []
    service = make(gateway_with(polls_to_finish=4, output=linux_output))
    report = await service.diagnose(IID, REGION, recorder(seen), owner="")
    assert report.conclusion.rule_id
    assert strictly_increasing(seen), seen
    assert {total for _, total, _ in seen} == {float(DIAGNOSE_STEPS)}
    steps_done = [done for done, _, _ in seen if float(done).is_integer()]
    on_path = [s for s in STEP_ORDER if s != Step.COLLECT_AGENTLESS]
    assert steps_done == [float(STEP_ORDER.index(s) + 1) for s in on_path]
    waits = [done for done, _, _ in seen if not float(done).is_integer()]
    run = STEP_ORDER.index(Step.RUN_GUEST) + 1
    assert waits and all(run - 1 < w < run for w in waits)  # inside the run's step
    assert seen[-1][0] == DIAGNOSE_STEPS


async def test_the_agent_down_workflow_jumps_over_the_guest_steps() -> None:
    seen: Seen = []
    gw = gateway_with()
    gw.heartbeat = AgentHeartbeat(running=False)
    report = await make(gw).diagnose(IID, REGION, recorder(seen), owner="")
    assert report.conclusion.verdict == "unknown"
    marks = [int(done) for done, _, _ in seen]
    on_path = (Step.CONFIRM_INSTANCE, Step.CHECK_EVENTS, Step.CHECK_AGENT,
               Step.COLLECT_AGENTLESS, Step.RENDER_REPORT)  # fmt: skip
    assert marks == [STEP_ORDER.index(s) + 1 for s in on_path]
    assert strictly_increasing(seen) and seen[-1][0] == DIAGNOSE_STEPS
    assert "GetInstanceScreenshot" in gw.calls


async def test_the_whole_workflow_waits_up_to_the_collector_timeout_then_gives_up() -> None:
    clock = ManualClock()
    service = make(gateway_with(polls_to_finish=100_000), clock)
    report = await service.diagnose(IID, REGION, owner="")
    assert sum(clock.slept) == pytest.approx(300 + WAIT_MARGIN_SECONDS)
    skip = report.skip_for("get_guest_results")
    assert skip is not None
    assert "after 330 s" in skip.detail.en
    assert f"aliyun ecs DescribeInvocationResults --RegionId {REGION} --InvokeId" in skip.detail.en


async def test_the_one_call_tool_stops_at_the_deadline_keeping_the_diagnosis() -> None:
    clock = ManualClock()
    service = make(gateway_with(polls_to_finish=100_000), clock, wait_deadline_seconds=40.0)
    with pytest.raises(GuestStillRunningError) as err:
        await service.diagnose(IID, REGION, owner="", give_up_at_deadline=False)
    assert sum(clock.slept) == pytest.approx(40.0)
    d = service.status(err.value.diagnosis_id, owner="")
    assert d.workflow.phase == Phase.GUEST_COLLECTING  # the results step can wait on
    assert d.guest_run is not None and err.value.invoke_id == d.guest_run.invoke_id
    assert "still running after 40 s" in str(err.value)


async def test_step_progress_never_goes_back() -> None:
    seen: Seen = []
    steps = StepProgress(recorder(seen), 5)
    await steps.reached(1, "one")
    inside = steps.within(2)
    for done in (0.0, 0.0, 3.0, 2.0, 10.0, 10.0):
        await inside(done, 10.0, "waiting")
    await steps.reached(2, "two")
    await steps.reached(2, "two again")
    await steps.reached(4, "four (three was not needed)")
    await steps.within(3)(5.0, 10.0, "late")  # a step already passed: dropped
    await steps.reached(9, "past the end: clamped")
    assert [d for d, _, _ in seen] == pytest.approx([1, 1.05, 1.32, 1.95, 2, 4, 5])
    assert {t for _, t, _ in seen} == {5.0}
    await StepProgress(None, 3).reached(1, "nobody listens")  # no callback, no error


async def test_forward_only_drops_what_would_not_move_forward() -> None:
    seen: Seen = []
    send = forward_only(recorder(seen))
    for done in (0.0, 0.0, 1.0, 0.5, 3.0):
        await send(done, 25.0, "x")
    assert [d for d, _, _ in seen] == [0.0, 1.0, 3.0]
