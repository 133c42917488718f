"""The errors of the domain core. Each one says what happened and what to do next.

Adapters translate them in one place (MCP tool errors, CLI exit codes); the core names workflow
steps, the adapters map steps to their own tool or command names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from ecs_reboot_diagnosis.models import Lang
    from ecs_reboot_diagnosis.workflow import Phase, Step


class DiagnosisError(Exception):
    """Base of every error the core raises on purpose.

    ``message`` and ``hint`` are English; ``message_zh`` and ``hint_zh`` say the same in
    Simplified Chinese (empty: no translation, the English is used). :meth:`message_in` and
    :meth:`hint_in` pick the language of the diagnosis."""

    def __init__(
        self, message: str, *, hint: str = "", message_zh: str = "", hint_zh: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.message_zh = message_zh
        self.hint_zh = hint_zh

    def message_in(self, lang: Lang) -> str:
        return self.message_zh if lang == "zh-CN" and self.message_zh else self.message

    def hint_in(self, lang: Lang) -> str:
        if lang == "zh-CN" and self.hint_zh:
            return self.hint_zh
        return self.hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class InvalidInputError(DiagnosisError):
    """A parameter is missing or malformed. The user must supply it; it is never guessed."""

    def __init__(
        self,
        parameter: str,
        message: str,
        *,
        hint: str = "",
        message_zh: str = "",
        hint_zh: str = "",
    ) -> None:
        super().__init__(message, hint=hint, message_zh=message_zh, hint_zh=hint_zh)
        self.parameter = parameter


class UnknownDiagnosisError(DiagnosisError):
    """The diagnosis id was never issued, or it expired and was evicted."""

    def __init__(self, diagnosis_id: str, *, expired: bool = False) -> None:
        what = "has expired" if expired else "is unknown"
        what_zh = "已过期" if expired else "不存在"
        super().__init__(
            f"Diagnosis {diagnosis_id!r} {what}.",
            hint="Start a new diagnosis for the instance; its id is returned by the first step.",
            message_zh=f"诊断 {diagnosis_id!r} {what_zh}。",
            hint_zh="请为该实例重新开始一次诊断；第一步会返回新的诊断 ID。",
        )
        self.diagnosis_id = diagnosis_id
        self.expired = expired


class QuotaExceededError(DiagnosisError):
    """The caller already holds its maximum of diagnoses in progress; none is evicted for it."""

    def __init__(self, limit: int, ttl: timedelta) -> None:
        hours = ttl.total_seconds() / 3600
        super().__init__(
            f"Too many diagnoses in progress: this caller already holds {limit}, its maximum.",
            hint="Finish one (render its report) or wait until an unused one expires "
            f"({hours:g} h after its last step); then start the new diagnosis again.",
            message_zh=f"进行中的诊断过多：当前调用方已持有 {limit} 个，达到上限。",
            hint_zh="请先完成其中一个（生成其报告），或等待某个未使用的诊断过期"
            f"（最后一步之后 {hours:g} 小时），然后重新开始新的诊断。",
        )
        self.limit = limit


_WHAT_ZH = {"diagnosis": "诊断", "fleet scan": "实例群扫描"}
"""The records :class:`ConcurrentUpdateError` names, in Chinese."""


class ConcurrentUpdateError(DiagnosisError):
    """Another process sharing the store changed the record since it was read; this write was
    not made (optimistic concurrency: nothing is overwritten, nothing half-written)."""

    def __init__(self, what: str, key: str) -> None:
        super().__init__(
            f"{what.capitalize()} {key!r} was changed by another process sharing the store "
            "while this step ran; this step's result was not saved.",
            hint="Read its status again and continue from the step it names.",
            message_zh=f"本步骤运行期间，共用存储的另一个进程修改了{_WHAT_ZH.get(what, what)} "
            f"{key!r}；本步骤的结果未保存。",
            hint_zh="请重新读取其状态，并从其指明的步骤继续。",
        )
        self.what = what
        self.key = key


class ScanBusyError(DiagnosisError):
    """A fleet scan's checkpoint was saved by another run since this run read it (another
    server or CLI sharing the store resumed the same scan), or it was dropped meanwhile (it
    expired, or its owner started more scans than are kept). This run stopped before writing or
    sending anything more; the other run carries the scan on."""

    def __init__(self, scan_id: str, *, gone: bool = False) -> None:
        if gone:
            super().__init__(
                f"Fleet scan {scan_id} was dropped from the store while this run was going "
                "(it expired, or too many newer scans were started); this run stopped.",
                hint="Start a new scan.",
                message_zh=f"实例群扫描 {scan_id} 在本次运行期间已从存储中移除"
                "（已过期，或之后启动的扫描过多）；本次运行已停止。",
                hint_zh="请开始一次新的扫描。",
            )
        else:
            super().__init__(
                f"Fleet scan {scan_id} is being run by another process sharing the store "
                "(another server, or a scan --resume): it saved the scan after this run read "
                "it, so this run stopped without sending or saving anything more.",
                hint="Wait for that run to end, then ask for the scan again with its id: you get "
                "its result, or it resumes where that run stopped.",
                message_zh=f"实例群扫描 {scan_id} 正由共享同一存储的另一个进程运行（另一个服务器，"
                "或 scan --resume）：它在本次运行读取该扫描之后保存了扫描，因此本次运行已停止，"
                "不再发送或保存任何内容。",
                hint_zh="请等待那次运行结束，再用该扫描 ID 重新请求：将得到其结果，"
                "或从那次运行停止之处继续。",
            )
        self.scan_id = scan_id
        self.gone = gone


class GuestRunClaimedError(DiagnosisError):
    """Another process sharing the store is sending the guest collector for this diagnosis
    (its claim is live): this one sends nothing, so the guest never runs it twice."""

    def __init__(self, diagnosis_id: str, claimed_at: datetime, expires_at: datetime) -> None:
        since = f"{claimed_at:%H:%M:%S} UTC"
        lapse = f"{expires_at:%H:%M:%S} UTC"
        super().__init__(
            f"Another process sharing the store started the guest collector for diagnosis "
            f"{diagnosis_id} at {since}; it is not started a second time.",
            hint="Wait for that run's results (the results step waits while the run is being "
            f"started). Should that process have died, its claim lapses at {lapse}; the guest "
            "collector can then be started again.",
            message_zh=f"共享同一存储的另一个进程已于 {since} 为诊断 {diagnosis_id} 启动实例内采集"
            "脚本；不会再次启动。",
            hint_zh="请等待该次运行的结果（结果步骤会在运行启动期间等待）。如果该进程已退出，"
            f"其占用将于 {lapse} 失效，届时可再次启动实例内采集脚本。",
        )
        self.diagnosis_id = diagnosis_id
        self.claimed_at = claimed_at
        self.expires_at = expires_at


class StoreError(DiagnosisError):
    """The store cannot be opened, read or written (file, permissions, schema, disk)."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            hint="Set ECS_DIAG_STORE to another file (sqlite:///ABSOLUTE/PATH) or to 'memory' "
            "(diagnoses then last only as long as the process).",
            hint_zh="请将 ECS_DIAG_STORE 设为另一个文件（sqlite:///ABSOLUTE/PATH）或 'memory'"
            "（此时诊断只在进程运行期间保留）。",
        )


class WorkflowOrderError(DiagnosisError):
    """A step was requested in a phase that does not allow it.

    ``required`` is the step that must run now instead (None when the diagnosis is finished and
    only re-rendering the report remains possible). ``reason`` tells why: the prerequisite has
    not run yet, the step already ran, or the branch taken made the step unnecessary.
    """

    def __init__(
        self,
        step: Step,
        phase: Phase,
        required: Step | None,
        reason: Literal["prerequisite", "already_done", "not_needed"],
        detail: str = "",
    ) -> None:
        self.step = step
        self.phase = phase
        self.required = required
        self.reason = reason
        self.detail = detail
        if reason == "prerequisite":
            text = f"Step '{step.value}' cannot run yet (diagnosis is at phase {phase.value})."
        elif reason == "already_done":
            text = f"Step '{step.value}' has already run for this diagnosis."
        else:
            text = f"Step '{step.value}' is not needed for this diagnosis"
            text += f": {detail}." if detail else "."
        nxt = f" Next step: '{required.value}'." if required is not None else ""
        super().__init__(text + nxt)


class GuestStillRunningError(DiagnosisError):
    """The one-call workflow stopped waiting for the guest collector, which still runs.

    The diagnosis is kept as it stands (collecting): its results step can wait on."""

    def __init__(self, diagnosis_id: str, invoke_id: str, waited_seconds: float) -> None:
        super().__init__(
            f"The guest collector (Cloud Assistant invocation {invoke_id}) was still running "
            f"after {waited_seconds:.0f} s of waiting; diagnosis {diagnosis_id} is kept.",
            hint="Wait for its results, then go on to the report.",
            message_zh=f"实例内的采集脚本（云助手调用 {invoke_id}）在等待 {waited_seconds:.0f} 秒后"
            f"仍在运行；诊断 {diagnosis_id} 已保留。",
            hint_zh="请等待其结果，然后继续生成报告。",
        )
        self.diagnosis_id = diagnosis_id
        self.invoke_id = invoke_id
        self.waited_seconds = waited_seconds


class InstanceNotFoundError(DiagnosisError):
    def __init__(self, instance_id: str, region_id: str) -> None:
        super().__init__(
            f"Instance {instance_id} was not found in region {region_id}.",
            hint="Check the instance id and the region with the user; do not guess another one.",
            message_zh=f"在地域 {region_id} 中未找到实例 {instance_id}。",
            hint_zh="请与用户核对实例 ID 和地域；不要猜测其他值。",
        )
        self.instance_id = instance_id
        self.region_id = region_id


CloudErrorKind = Literal[
    "not_found",
    "forbidden",
    "credentials",
    "throttled",
    "invalid_parameter",
    "instance_state",
    "server",
    "network",
    "unexpected_response",
]


def quote_api(text: str) -> str:
    """The API's own text in a Chinese sentence: as code, exactly as written."""
    text = " ".join(text.split())
    if not text:
        return ""
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


class CloudApiError(DiagnosisError):
    """An Alibaba Cloud API call failed. Carries the API code and RequestId for support tickets."""

    def __init__(
        self,
        action: str,
        kind: CloudErrorKind,
        code: str,
        message: str,
        *,
        request_id: str = "",
        hint: str = "",
        hint_zh: str = "",
        message_zh: str = "",
    ) -> None:
        """``message`` says what failed (the API's own text, or the product's sentence when
        the API said nothing); ``message_zh`` is the product's sentence in Chinese (empty: the
        message is the API's own text, quoted as it is, as code, in the Chinese)."""
        rid = f" (RequestId {request_id})" if request_id else ""
        # A message that says its own status ("... returned HTTP 500 ...") needs no code before it.
        said = f"{code}: " if code and not code.startswith("HTTP") else ""
        # Chinese: what identifies the failure in parentheses, then one colon (glossary)
        ids = [f"错误码 {code}"] if said else []
        ids += [f"RequestId {request_id}"] if request_id else []
        label = f"调用 {action} 失败" + (f"（{'，'.join(ids)}）" if ids else "")
        body = message_zh or quote_api(message)
        end = "" if body.endswith("。") else "。"
        super().__init__(
            f"{action} failed: {said}{message}{rid}",
            hint=hint,
            message_zh=f"{label}：{body}{end}",
            hint_zh=hint_zh,
        )
        self.action = action
        self.kind = kind
        self.code = code
        self.api_message = message
        self.request_id = request_id


class CollectorIntegrityError(DiagnosisError):
    """The collector output is not a valid envelope for this run (wrong nonce, schema, version)."""
