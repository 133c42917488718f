"""The state machine, exhaustively: every reachable state against every step."""

from __future__ import annotations

import itertools

import pytest

from ecs_reboot_diagnosis.errors import WorkflowOrderError
from ecs_reboot_diagnosis.workflow import (
    EXPECTED_NEXT,
    STEP_ORDER,
    TRANSITIONS,
    Phase,
    Step,
    WorkflowState,
    advance,
    is_allowed,
    require,
    steps_left,
)


def reachable_states() -> list[WorkflowState]:
    seen: list[WorkflowState] = []
    todo = [WorkflowState()]
    while todo:
        state = todo.pop()
        if state in seen:
            continue
        seen.append(state)
        for step in Step:
            outcomes = TRANSITIONS.get((state.phase, step), {})
            todo.extend(advance(state, step, outcome) for outcome in outcomes)
    return seen


REACHABLE = reachable_states()


def test_every_phase_is_reachable_and_has_an_expected_next_step() -> None:
    assert {s.phase for s in REACHABLE} == set(Phase)
    assert set(EXPECTED_NEXT) == set(Phase)


def test_the_expected_next_step_is_always_allowed() -> None:
    for phase in Phase:
        assert is_allowed(phase, EXPECTED_NEXT[phase]), phase


@pytest.mark.parametrize(("phase", "step"), list(itertools.product(Phase, Step)))
def test_phase_step_pair(phase: Phase, step: Step) -> None:
    states = [s for s in REACHABLE if s.phase == phase]
    assert states
    for state in states:
        if (phase, step) in TRANSITIONS:
            require(state, step)
            for outcome, target in TRANSITIONS[(phase, step)].items():
                assert advance(state, step, outcome).phase == target
            continue
        with pytest.raises(WorkflowOrderError) as err:
            require(state, step)
        e = err.value
        assert e.step == step and e.phase == phase
        assert e.required == EXPECTED_NEXT[phase]
        assert f"'{EXPECTED_NEXT[phase].value}'" in str(e)
        if step in state.completed:
            assert e.reason == "already_done"
        elif STEP_ORDER.index(step) < STEP_ORDER.index(EXPECTED_NEXT[phase]):
            assert e.reason == "not_needed"
            assert state.branch is not None or step == Step.COLLECT_AGENTLESS
            assert e.detail
        else:
            assert e.reason == "prerequisite"


def test_the_happy_path_visits_every_step_in_order() -> None:
    state = WorkflowState()
    path = [
        (Step.CONFIRM_INSTANCE, "done", Phase.INSTANCE_CONFIRMED),
        (Step.CHECK_EVENTS, "continue", Phase.EVENTS_CHECKED),
        (Step.CHECK_AGENT, "agent_up", Phase.AGENT_CHECKED),
        (Step.RUN_GUEST, "done", Phase.GUEST_COLLECTING),
        (Step.GET_GUEST_RESULTS, "pending", Phase.GUEST_COLLECTING),
        (Step.GET_GUEST_RESULTS, "collected", Phase.GUEST_COLLECTED),
        (Step.TRIAGE_DUMPS, "done", Phase.DUMPS_TRIAGED),
        (Step.RECOMMEND_DUMP_SETUP, "done", Phase.READY_TO_REPORT),
        (Step.RENDER_REPORT, "done", Phase.REPORTED),
    ]
    for step, outcome, phase in path:
        state = advance(state, step, outcome)  # type: ignore[arg-type]
        assert state.phase == phase
    assert state.completed == tuple(s for s in STEP_ORDER if s != Step.COLLECT_AGENTLESS)
    assert state.branch is None
    assert steps_left(state) == []


def test_platform_cause_skips_the_guest_and_says_why() -> None:
    state = advance(WorkflowState(), Step.CONFIRM_INSTANCE, "done")
    state = advance(state, Step.CHECK_EVENTS, "platform_cause")
    assert state.phase == Phase.READY_TO_REPORT
    assert state.branch == "platform_cause"
    with pytest.raises(WorkflowOrderError) as err:
        require(state, Step.RUN_GUEST)
    assert err.value.reason == "not_needed"
    assert "platform event" in str(err.value)
    assert err.value.required == Step.RENDER_REPORT


@pytest.mark.parametrize("outcome", ["agent_down", "guest_commands_disabled"])
def test_agent_branch_goes_through_the_evidence_from_outside_to_the_report(outcome: str) -> None:
    state = advance(WorkflowState(), Step.CONFIRM_INSTANCE, "done")
    state = advance(state, Step.CHECK_EVENTS, "continue")
    state = advance(state, Step.CHECK_AGENT, outcome)  # type: ignore[arg-type]
    assert state.phase == Phase.GUEST_UNREACHABLE
    assert steps_left(state) == [Step.COLLECT_AGENTLESS, Step.RENDER_REPORT]
    for guest_step in (Step.RUN_GUEST, Step.TRIAGE_DUMPS):
        with pytest.raises(WorkflowOrderError) as err:
            require(state, guest_step)
        assert err.value.reason == "not_needed"
        assert err.value.required == Step.COLLECT_AGENTLESS
    with pytest.raises(WorkflowOrderError) as early:
        require(state, Step.RENDER_REPORT)
    assert early.value.reason == "prerequisite"
    state = advance(state, Step.COLLECT_AGENTLESS, "done")
    assert state.phase == Phase.READY_TO_REPORT
    assert steps_left(state) == [Step.RENDER_REPORT]


def test_out_of_order_call_names_the_missing_step() -> None:
    state = advance(WorkflowState(), Step.CONFIRM_INSTANCE, "done")
    with pytest.raises(WorkflowOrderError) as err:
        require(state, Step.RUN_GUEST)
    assert err.value.reason == "prerequisite"
    assert err.value.required == Step.CHECK_EVENTS


def test_pending_does_not_complete_the_step() -> None:
    state = WorkflowState(phase=Phase.GUEST_COLLECTING, completed=tuple(STEP_ORDER[:4]))
    after = advance(state, Step.GET_GUEST_RESULTS, "pending")
    assert Step.GET_GUEST_RESULTS not in after.completed


def test_an_outcome_the_step_cannot_have_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="cannot end with outcome"):
        advance(WorkflowState(), Step.CONFIRM_INSTANCE, "collected")


def test_re_rendering_a_finished_report_is_allowed() -> None:
    state = WorkflowState(phase=Phase.REPORTED, completed=STEP_ORDER)
    assert advance(state, Step.RENDER_REPORT, "done").phase == Phase.REPORTED
