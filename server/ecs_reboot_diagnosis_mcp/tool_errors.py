"""The one place where domain errors become MCP tool errors the model can read and act on.

Each message says what happened, then what to do, naming the exact tool call. Cloud errors keep
their API code and RequestId. Anything unexpected is left to the SDK, which hides its text from
the model and logs the traceback to stderr.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from mcp.server.mcpserver.exceptions import ToolError

from ecs_reboot_diagnosis.diagnosis import DIAGNOSIS_ID_PATTERN
from ecs_reboot_diagnosis.errors import (
    CloudApiError,
    ConcurrentUpdateError,
    DiagnosisError,
    GuestRunClaimedError,
    GuestStillRunningError,
    InstanceNotFoundError,
    InvalidInputError,
    QuotaExceededError,
    UnknownDiagnosisError,
    WorkflowOrderError,
)
from ecs_reboot_diagnosis.models import Lang
from ecs_reboot_diagnosis.workflow import (
    BRANCH_DETAIL,
    BRANCH_DETAIL_ZH,
    GUEST_READ_DETAIL,
    GUEST_READ_DETAIL_ZH,
    Step,
)

STEP_TOOLS: dict[Step, str] = {
    Step.CONFIRM_INSTANCE: "ecs_start_diagnosis",
    Step.CHECK_EVENTS: "ecs_check_platform_events",
    Step.CHECK_AGENT: "ecs_check_cloud_assistant",
    Step.RUN_GUEST: "ecs_run_guest_diagnostics",
    Step.GET_GUEST_RESULTS: "ecs_get_guest_results",
    Step.TRIAGE_DUMPS: "ecs_triage_crash_dumps",
    Step.RECOMMEND_DUMP_SETUP: "ecs_recommend_dump_setup",
    Step.COLLECT_AGENTLESS: "ecs_collect_agentless_evidence",
    Step.RENDER_REPORT: "ecs_render_report",
}


def tool_call(step: Step, diagnosis_id: str) -> str:
    """The exact call an agent should make for ``step``, as text."""
    tool = STEP_TOOLS[step]
    if step == Step.CONFIRM_INSTANCE:
        return f"{tool}(instance_id=..., region_id=...)"
    return f"{tool}(diagnosis_id='{diagnosis_id}')"


def message_for(error: DiagnosisError, diagnosis_id: str = "", lang: Lang = "en") -> str:
    """The tool error text for ``error``, in ``lang``: what happened, then the call to make."""
    if lang == "zh-CN":
        return _message_zh(error, diagnosis_id)
    if isinstance(error, WorkflowOrderError):
        tool = STEP_TOOLS[error.step]
        if error.reason == "prerequisite":
            head = f"{tool} cannot run yet: the diagnosis is at phase '{error.phase.value}'."
        elif error.reason == "already_done":
            head = f"{tool} has already run for this diagnosis."
        else:
            why = f": {error.detail}" if error.detail else ""
            head = f"{tool} is not needed for this diagnosis{why}."
        if error.required is None:
            return head
        verb = "first" if error.reason == "prerequisite" else "next"
        return f"{head} Call {tool_call(error.required, diagnosis_id)} {verb}."
    if isinstance(error, GuestStillRunningError):
        call = tool_call(Step.GET_GUEST_RESULTS, error.diagnosis_id)
        return (
            f"{error.message} Call {call} to wait for its results (each call waits for the run "
            "itself), then follow next_step to ecs_render_report."
        )
    if isinstance(error, GuestRunClaimedError):
        lapse = f"{error.expires_at:%H:%M:%S} UTC"
        return (
            f"{error.message} Call {tool_call(Step.GET_GUEST_RESULTS, error.diagnosis_id)} to "
            "wait for its results (it waits while the run is being started), then follow "
            f"next_step. Should that process have died, its claim lapses at {lapse}; then call "
            f"{tool_call(Step.RUN_GUEST, error.diagnosis_id)} again."
        )
    if isinstance(error, UnknownDiagnosisError):
        return (
            f"{error.message} Call ecs_start_diagnosis(instance_id=..., region_id=...) to begin "
            "a new diagnosis, with the instance and region the user gave."
        )
    if isinstance(error, ConcurrentUpdateError):
        return (
            f"{error.message} Call ecs_get_diagnosis_status(diagnosis_id='{error.key}') to see "
            "where it stands now, then make the call its next_step names."
        )
    if isinstance(error, InvalidInputError):
        return f"{error.message} {error.hint} Then call ecs_start_diagnosis again."
    if isinstance(error, QuotaExceededError):
        return (
            f"{error.message} Finish a diagnosis in progress (follow its next_step up to "
            "ecs_render_report(diagnosis_id=...); ecs_get_diagnosis_status shows where one "
            "stands) or wait until an unused one expires, then call ecs_start_diagnosis again. "
            "No diagnosis was dropped to make room."
        )
    if isinstance(error, InstanceNotFoundError):
        return (
            f"{error.message} {error.hint} Then call ecs_start_diagnosis(instance_id=..., "
            "region_id=...) again."
        )
    if isinstance(error, CloudApiError):
        hint = f" {error.hint}" if error.hint else ""
        return f"{error.message}{hint}"
    return str(error)


def check_diagnosis_id(diagnosis_id: str, lang: Lang = "en") -> None:
    """A malformed id is refused in a few words: what an id looks like and where one comes from
    (the schema says so too; this is the message a client that sent it anyway reads)."""
    if not re.fullmatch(DIAGNOSIS_ID_PATTERN, diagnosis_id):
        shown = repr(diagnosis_id[:40]) + ("..." if len(diagnosis_id) > 40 else "")
        if lang == "zh-CN":
            raise ToolError(
                f"{shown} 不是 diagnosis_id：它形如 d-0123456789abcdef0123456789abcdef"
                "（d- 加 32 位十六进制数字）。ecs_start_diagnosis(instance_id=..., region_id=...) "
                "会返回它；ecs_get_diagnosis_status(diagnosis_id=...) 可查看已有诊断的进度。"
            )
        raise ToolError(
            f"{shown} is not a diagnosis_id: one looks like d-0123456789abcdef0123456789abcdef "
            "(d- and 32 hex digits). ecs_start_diagnosis(instance_id=..., region_id=...) returns "
            "it; ecs_get_diagnosis_status(diagnosis_id=...) shows where a known one stands."
        )


def _message_zh(error: DiagnosisError, diagnosis_id: str) -> str:
    """:func:`message_for` in Simplified Chinese (tool names and calls stay as they are)."""
    message, hint = error.message_in("zh-CN"), error.hint_in("zh-CN")
    if isinstance(error, WorkflowOrderError):
        tool = STEP_TOOLS[error.step]
        if error.reason == "prerequisite":
            head = f"{tool} 现在还不能运行：诊断处于阶段 '{error.phase.value}'。"
        elif error.reason == "already_done":
            head = f"本次诊断已运行过 {tool}。"
        else:
            branch = next((k for k, v in BRANCH_DETAIL.items() if v == error.detail), None)
            if branch:
                detail = BRANCH_DETAIL_ZH[branch]
            elif error.detail == GUEST_READ_DETAIL:
                detail = GUEST_READ_DETAIL_ZH
            else:
                detail = error.detail
            why = f"：{detail}" if detail else ""
            head = f"本次诊断不需要 {tool}{why}。"
        if error.required is None:
            return head
        verb = "先" if error.reason == "prerequisite" else "接下来"
        return f"{head}请{verb}调用 {tool_call(error.required, diagnosis_id)}。"
    if isinstance(error, GuestRunClaimedError):
        lapse = f"{error.expires_at:%H:%M:%S} UTC"
        return (
            f"{message}请调用 {tool_call(Step.GET_GUEST_RESULTS, error.diagnosis_id)} 等待其结果"
            f"（运行启动期间该调用会等待），然后按 next_step 继续。如果该进程已退出，其占用将于 "
            f"{lapse} 失效，届时请再次调用 {tool_call(Step.RUN_GUEST, error.diagnosis_id)}。"
        )
    if isinstance(error, GuestStillRunningError):
        call = tool_call(Step.GET_GUEST_RESULTS, error.diagnosis_id)
        return (
            f"{message}请调用 {call} 等待其结果（每次调用都会等待该运行），"
            "然后按 next_step 一直执行到 ecs_render_report。"
        )
    if isinstance(error, ConcurrentUpdateError):
        return (
            f"{message}请调用 ecs_get_diagnosis_status(diagnosis_id='{error.key}') 查看其当前进度，"
            "然后按其 next_step 指明的调用继续。"
        )
    if isinstance(error, UnknownDiagnosisError):
        return (
            f"{message}请使用用户提供的实例和地域调用 "
            "ecs_start_diagnosis(instance_id=..., region_id=...) 开始新的诊断。"
        )
    if isinstance(error, InvalidInputError):
        return f"{message}{hint}然后再次调用 ecs_start_diagnosis。"
    if isinstance(error, QuotaExceededError):
        return (
            f"{message}请先完成一个进行中的诊断（按其 next_step 一直执行到 "
            "ecs_render_report(diagnosis_id=...)；ecs_get_diagnosis_status 可查看其进度），"
            "或等待某个未使用的诊断过期，然后再次调用 ecs_start_diagnosis。"
            "不会为腾出名额而丢弃任何诊断。"
        )
    if isinstance(error, InstanceNotFoundError):
        return f"{message}{hint}然后再次调用 ecs_start_diagnosis(instance_id=..., region_id=...)。"
    return f"{message}{hint}" if hint else message


@contextmanager
def translated(
    diagnosis_id: str | None = None, lang: Callable[[], Lang] | None = None
) -> Iterator[None]:
    """Run a tool body, turning domain errors into ToolError with the next call to make, in
    the language ``lang()`` names (called only when an error occurs; default English); a
    ``diagnosis_id`` given is checked first."""
    if diagnosis_id is not None and not re.fullmatch(DIAGNOSIS_ID_PATTERN, diagnosis_id):
        check_diagnosis_id(diagnosis_id, lang() if lang is not None else "en")
    try:
        yield
    except DiagnosisError as exc:
        language = lang() if lang is not None else "en"
        raise ToolError(message_for(exc, diagnosis_id or "", language)) from exc
