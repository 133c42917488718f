"""The per-diagnosis state machine: phases, steps, and which step may run in which phase.

Pure: no I/O, no clock. The transition table below is the single source of truth; the service
asks :func:`require` before a step and :func:`advance` after it, and the adapters map each
:class:`Step` to their own tool or command name.

```
NEW -> INSTANCE_CONFIRMED -> EVENTS_CHECKED --(platform cause)---------------> READY_TO_REPORT
                                  | (InstanceFailure.Reboot or no event)
                                  v
              (agent down / guest commands disabled) -> GUEST_UNREACHABLE
                                  |        --(evidence from outside)-----> READY_TO_REPORT
                            AGENT_CHECKED
                                  v
         GUEST_COLLECTING --(collection failed)------------------------> READY_TO_REPORT
                                  v
         GUEST_COLLECTED -> DUMPS_TRIAGED -> READY_TO_REPORT -> REPORTED (re-render allowed)
```
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ecs_reboot_diagnosis.errors import WorkflowOrderError


class Phase(StrEnum):
    NEW = "new"
    INSTANCE_CONFIRMED = "instance_confirmed"
    EVENTS_CHECKED = "events_checked"
    AGENT_CHECKED = "agent_checked"
    GUEST_UNREACHABLE = "guest_unreachable"
    GUEST_COLLECTING = "guest_collecting"
    GUEST_COLLECTED = "guest_collected"
    DUMPS_TRIAGED = "dumps_triaged"
    READY_TO_REPORT = "ready_to_report"
    REPORTED = "reported"


class Step(StrEnum):
    """The workflow steps, in their mandatory order."""

    CONFIRM_INSTANCE = "confirm_instance"
    CHECK_EVENTS = "check_events"
    CHECK_AGENT = "check_agent"
    RUN_GUEST = "run_guest"
    GET_GUEST_RESULTS = "get_guest_results"
    TRIAGE_DUMPS = "triage_dumps"
    RECOMMEND_DUMP_SETUP = "recommend_dump_setup"
    COLLECT_AGENTLESS = "collect_agentless"
    """Only when the guest cannot be asked: the serial console and a screenshot."""
    RENDER_REPORT = "render_report"


STEP_ORDER: tuple[Step, ...] = tuple(Step)
"""Every step in order. ``COLLECT_AGENTLESS`` is on the path only when the guest cannot be asked
(it replaces the four guest steps before it); its place makes those "not needed" there."""

Outcome = Literal[
    "done",
    "platform_cause",
    "continue",
    "agent_up",
    "agent_down",
    "guest_commands_disabled",
    "pending",
    "collected",
    "failed",
]

# Why the workflow jumped to READY_TO_REPORT early; decides which later steps are "not needed".
Branch = Literal[
    "platform_cause", "agent_unavailable", "guest_commands_disabled", "guest_collection_failed"
]
BRANCH_OF_OUTCOME: dict[Outcome, Branch] = {
    "platform_cause": "platform_cause",
    "agent_down": "agent_unavailable",
    "guest_commands_disabled": "guest_commands_disabled",
    "failed": "guest_collection_failed",
}

TRANSITIONS: dict[tuple[Phase, Step], dict[Outcome, Phase]] = {
    (Phase.NEW, Step.CONFIRM_INSTANCE): {"done": Phase.INSTANCE_CONFIRMED},
    (Phase.INSTANCE_CONFIRMED, Step.CHECK_EVENTS): {
        "platform_cause": Phase.READY_TO_REPORT,
        "continue": Phase.EVENTS_CHECKED,
    },
    (Phase.EVENTS_CHECKED, Step.CHECK_AGENT): {
        "agent_up": Phase.AGENT_CHECKED,
        "agent_down": Phase.GUEST_UNREACHABLE,
        "guest_commands_disabled": Phase.GUEST_UNREACHABLE,
    },
    (Phase.GUEST_UNREACHABLE, Step.COLLECT_AGENTLESS): {"done": Phase.READY_TO_REPORT},
    (Phase.AGENT_CHECKED, Step.RUN_GUEST): {"done": Phase.GUEST_COLLECTING},
    (Phase.GUEST_COLLECTING, Step.GET_GUEST_RESULTS): {
        "pending": Phase.GUEST_COLLECTING,
        "collected": Phase.GUEST_COLLECTED,
        "failed": Phase.READY_TO_REPORT,
    },
    (Phase.GUEST_COLLECTED, Step.TRIAGE_DUMPS): {"done": Phase.DUMPS_TRIAGED},
    (Phase.DUMPS_TRIAGED, Step.RECOMMEND_DUMP_SETUP): {"done": Phase.READY_TO_REPORT},
    (Phase.READY_TO_REPORT, Step.RENDER_REPORT): {"done": Phase.REPORTED},
    (Phase.REPORTED, Step.RENDER_REPORT): {"done": Phase.REPORTED},
}

EXPECTED_NEXT: dict[Phase, Step] = {
    Phase.NEW: Step.CONFIRM_INSTANCE,
    Phase.INSTANCE_CONFIRMED: Step.CHECK_EVENTS,
    Phase.EVENTS_CHECKED: Step.CHECK_AGENT,
    Phase.AGENT_CHECKED: Step.RUN_GUEST,
    Phase.GUEST_UNREACHABLE: Step.COLLECT_AGENTLESS,
    Phase.GUEST_COLLECTING: Step.GET_GUEST_RESULTS,
    Phase.GUEST_COLLECTED: Step.TRIAGE_DUMPS,
    Phase.DUMPS_TRIAGED: Step.RECOMMEND_DUMP_SETUP,
    Phase.READY_TO_REPORT: Step.RENDER_REPORT,
    Phase.REPORTED: Step.RENDER_REPORT,
}

BRANCH_DETAIL: dict[Branch, str] = {
    "platform_cause": "a platform event already explains the reboot",
    "agent_unavailable": "Cloud Assistant is not usable on this instance",
    "guest_commands_disabled": "guest commands are disabled on this server",
    "guest_collection_failed": "the guest collector did not finish",
}
BRANCH_DETAIL_ZH: dict[Branch, str] = {
    "platform_cause": "系统事件已能解释这次重启",
    "agent_unavailable": "该实例上的云助手不可用",
    "guest_commands_disabled": "本服务已禁止在实例内执行命令",
    "guest_collection_failed": "实例内的采集脚本未能完成",
}
GUEST_READ_DETAIL = "the guest was read through Cloud Assistant"
GUEST_READ_DETAIL_ZH = "已通过云助手读取实例内部"
"""Why the agentless step is not needed once the guest ran the collector."""


class WorkflowState(BaseModel):
    """Where one diagnosis stands: its phase, the steps it completed, the branch it took."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    phase: Phase = Phase.NEW
    completed: tuple[Step, ...] = ()
    branch: Branch | None = None

    @property
    def next_step(self) -> Step:
        return EXPECTED_NEXT[self.phase]


def is_allowed(phase: Phase, step: Step) -> bool:
    return (phase, step) in TRANSITIONS


def require(state: WorkflowState, step: Step) -> None:
    """Raise WorkflowOrderError unless ``step`` may run in ``state``."""
    if is_allowed(state.phase, step):
        return
    required = state.next_step
    if step in state.completed:
        raise WorkflowOrderError(step, state.phase, required, "already_done")
    if STEP_ORDER.index(step) < STEP_ORDER.index(required):
        if state.branch:
            detail = BRANCH_DETAIL[state.branch]
        elif step == Step.COLLECT_AGENTLESS:
            detail = GUEST_READ_DETAIL
        else:
            detail = ""
        raise WorkflowOrderError(step, state.phase, required, "not_needed", detail)
    raise WorkflowOrderError(step, state.phase, required, "prerequisite")


def advance(state: WorkflowState, step: Step, outcome: Outcome) -> WorkflowState:
    """The state after ``step`` finished with ``outcome``. Calls :func:`require` first."""
    require(state, step)
    targets = TRANSITIONS[(state.phase, step)]
    if outcome not in targets:
        raise ValueError(f"step {step.value} cannot end with outcome {outcome!r}")
    completed = state.completed
    if outcome != "pending" and step not in completed:
        completed = (*completed, step)
    branch = state.branch or BRANCH_OF_OUTCOME.get(outcome)
    return WorkflowState(phase=targets[outcome], completed=completed, branch=branch)


def steps_left(state: WorkflowState) -> list[Step]:
    """The steps still to run on the path from ``state`` (assuming no further branch)."""
    if state.phase == Phase.REPORTED:
        return []
    if state.phase == Phase.READY_TO_REPORT:
        return [Step.RENDER_REPORT]
    if state.phase == Phase.GUEST_UNREACHABLE:
        return [Step.COLLECT_AGENTLESS, Step.RENDER_REPORT]
    start = STEP_ORDER.index(state.next_step)
    return [s for s in STEP_ORDER[start:] if s != Step.COLLECT_AGENTLESS]
