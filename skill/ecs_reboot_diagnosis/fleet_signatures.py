"""Cause signatures: what makes two instances' reboots "the same cause", for grouping a fleet.

Every instance's conclusion comes from the same analysis as a single diagnosis (the platform
event table, the result tables, the analyzers); this module only reads that conclusion and the
evidence it rests on and names its cause as a stable key plus a sentence:

- a platform event: its type (and the platform's reason code, when it gives one);
- an API call: the action and the caller (ActionTrail);
- a kernel crash: the cause kind, the panic reason, the faulting function and module and the
  top frames of the crashing CPU's call trace (from the kernel log kdump kept, else from the
  system log that recorded it; numbers and addresses left out of the reason, so that the same
  bug on another CPU or at another address is the same signature);
- an out-of-memory kill: the victim process;
- a Windows bug check: its code;
- anything else: the result-table rule (clean reboot, no reboot, unknown and why).

Strings that come from the guest or the API (function names, process names, callers) are data:
they are kept as they are in keys and labels, and the renderers escape them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ecs_reboot_diagnosis.analysis.conclusions import OOM_KINDS, cause_clause, cause_finding
from ecs_reboot_diagnosis.analysis.report_facts import RESTART_ACTIONS, successful_calls
from ecs_reboot_diagnosis.models import (
    ApiCall,
    Conclusion,
    DumpTriage,
    EventVerdict,
    GuestEvidence,
    Skip,
    Text,
)

__all__ = ["TOP_FRAMES", "CauseSignature", "signature_of"]

TOP_FRAMES: Final = 3
"""Frames of the crashing CPU's call trace that make a crash signature."""
_OOM_RULES: Final = frozenset(
    {"linux.oom_panic", "linux.oom_killer", "linux.oom_unknown_panic_setting"}
)
_HEX: Final = re.compile(r"0x[0-9a-fA-F]+|\b[0-9a-fA-F]{8,}\b")
_NUMBER: Final = re.compile(r"\d+")
_MAX_KEY_PART: Final = 120


@dataclass(frozen=True)
class CauseSignature:
    key: str
    """Stable grouping key: equal keys are the same cause."""
    label: Text
    """The cause in one phrase, e.g. "A soft lockup in nvme_poll [nvme] panicked the kernel"."""
    frames: tuple[str, ...] = ()
    """The top frames of the crash's call trace (untrusted guest data), when there is one."""


def _part(text: str | None) -> str:
    return (text or "-").replace("|", "/")[:_MAX_KEY_PART]


def normalise_reason(reason: str | None) -> str:
    """A panic reason without what differs between two instances of the same bug (CPU
    numbers, PIDs, durations, addresses)."""
    if not reason:
        return ""
    return _NUMBER.sub("N", _HEX.sub("ADDR", reason)).strip()


def top_frames(triage: DumpTriage | None, trace: Sequence[str] = ()) -> tuple[str, ...]:
    """The top of the crashing CPU's call trace: from the kernel log kdump saved with the dump,
    else from the system log that recorded the incident (``trace``, its finding's)."""
    if triage is not None and triage.call_trace:
        return tuple(triage.call_trace[:TOP_FRAMES])
    return tuple(trace[:TOP_FRAMES])


def _platform(events: EventVerdict) -> CauseSignature | None:
    decisive = events.decisive
    if decisive is None:
        return None
    e = decisive.event
    code = f" ({e.reason_code})" if e.reason_code else ""
    return CauseSignature(
        key=f"platform|{_part(e.event_type)}|{_part(e.reason_code)}",
        label=Text(
            en=f"Platform event {e.event_type}{code}: {decisive.meaning.en}",
            zh_CN=f"平台事件 {e.event_type}{code}：{decisive.meaning.zh_CN}",
        ),
    )


def _api(conclusion: Conclusion, api_calls: Sequence[ApiCall] | None) -> CauseSignature | None:
    calls = successful_calls(api_calls, RESTART_ACTIONS) or []
    if not calls:
        return None
    call = calls[0]
    who = call.caller or "an unknown caller"
    who_zh = call.caller or "未知调用者"
    return CauseSignature(
        key=f"api|{_part(call.event_name)}|{_part(call.caller)}|{conclusion.rule_id}",
        label=Text(
            en=f"API call {call.event_name} by {who}",
            zh_CN=f"{who_zh} 调用了 API {call.event_name}",
        ),
    )


def _oom(conclusion: Conclusion, guest: GuestEvidence | None) -> CauseSignature:
    findings = guest.findings if guest else []
    names = sorted(
        {f.facts.oom_victim_process or "" for f in findings if f.kind in OOM_KINDS} - {""}
    )
    if conclusion.rule_id == "linux.oom_panic":
        # vm.panic_on_oom: the kernel panics instead of choosing a victim; the process whose
        # allocation failed is what the incidents have in common
        trigger = next(
            (f.facts.process for f in findings if f.kind == "oom_panic" and f.facts.process), None
        )
        who = ", ".join(names) or trigger or ""
        by_en = f" (allocating process {who})" if who else ""
        by_zh = f"（申请内存的进程 {who}）" if who else ""
        return CauseSignature(
            key=f"oom|{conclusion.rule_id}|{_part(who)}",
            label=Text(
                en=f"Out of memory: the kernel panicked (vm.panic_on_oom){by_en}",
                zh_CN=f"内存不足：内核 panic（vm.panic_on_oom）{by_zh}",
            ),
        )
    who = ", ".join(names) or "a process not recorded"
    who_zh = ", ".join(names) or "未记录的进程"
    return CauseSignature(
        key=f"oom|{conclusion.rule_id}|{_part(','.join(names))}",
        label=Text(
            en=f"Out of memory: the OOM killer ended {who}",
            zh_CN=f"内存不足：OOM killer 终止了 {who_zh}",
        ),
    )


def _bugcheck(
    conclusion: Conclusion, guest: GuestEvidence | None, triage: DumpTriage | None
) -> CauseSignature | None:
    code = triage.bugcheck_code if triage else None
    name = triage.bugcheck_name if triage else None
    for f in guest.findings if guest else []:
        if f.kind == "bugcheck" and f.facts.bugcheck_code:
            code = code or f.facts.bugcheck_code
            name = name or f.facts.bugcheck_name
    if not code:
        return None
    named = f" {name}" if name else ""
    return CauseSignature(
        key=f"bugcheck|{code}|{conclusion.rule_id}",
        label=Text(
            en=f"Blue screen, bug check {code}{named}", zh_CN=f"蓝屏，蓝屏错误代码 {code}{named}"
        ),
    )


def _kernel_crash(
    conclusion: Conclusion, guest: GuestEvidence, triage: DumpTriage | None
) -> CauseSignature | None:
    cause = cause_finding(guest.findings)
    if cause is None:
        return None
    facts = cause.facts
    reason = (triage.panic_reason if triage else None) or facts.panic_reason
    if reason is None:
        reason = next((f.facts.panic_reason for f in guest.findings if f.facts.panic_reason), None)
    function = facts.rip_function or (triage.rip_function if triage else None)
    module = facts.rip_module or (triage.rip_module if triage else None)
    frames = top_frames(triage, facts.call_trace)
    key = "|".join(
        [
            "crash",
            cause.kind,
            _part(normalise_reason(reason)),
            _part(function),
            _part(module),
            _part(" < ".join(frames)),
            conclusion.rule_id,
        ]
    )
    return CauseSignature(key=key, label=cause_clause(guest, None), frames=frames)


_RULE_LABELS: Final[dict[str, Text]] = {
    "linux.clean_reboot": Text(
        en="A clean reboot from inside the guest (shutdown sequence logged)",
        zh_CN="实例内部发起的正常重启（记录了关机过程）",
    ),
    "windows.clean_reboot": Text(
        en="A clean restart from inside the guest", zh_CN="实例内部发起的正常重启"
    ),
    "linux.instance_hang": Text(
        en="The instance hung and the platform restarted it (InstanceFailure.Reboot)",
        zh_CN="实例挂起，平台重启了实例（InstanceFailure.Reboot）",
    ),
    "windows.hang_platform_reset": Text(
        en="The instance hung and the platform reset it (Kernel-Power 41, no bug check)",
        zh_CN="实例挂起，平台重置了实例（Kernel-Power 41，无蓝屏错误代码）",
    ),
    "windows.instance_hang": Text(
        en="The instance hung and the platform restarted it (InstanceFailure.Reboot)",
        zh_CN="实例挂起，平台重启了实例（InstanceFailure.Reboot）",
    ),
    "windows.bsod_no_pagefile": Text(
        en="An unexpected shutdown or blue screen with no page file, so no dump",
        zh_CN="意外关机或蓝屏，且没有页面文件，因此没有转储",
    ),
    "windows.crash_no_dump": Text(
        en="A system crash that left no dump", zh_CN="系统崩溃，未留下转储"
    ),
    "windows.app_crash_only": Text(
        en="Application crashes only, no system crash", zh_CN="仅有应用程序崩溃，没有系统崩溃"
    ),
    "linux.no_abnormal_records": Text(
        en="A reboot with no abnormal record in the guest's logs",
        zh_CN="发生了重启，但实例日志中没有异常记录",
    ),
    "windows.no_abnormal_events": Text(
        en="A restart with no abnormal event in the guest's logs",
        zh_CN="发生了重启，但实例日志中没有异常事件",
    ),
    "linux.sysrq_crash": Text(
        en="A crash triggered on purpose through SysRq", zh_CN="通过 SysRq 有意触发的崩溃"
    ),
    "linux.hardware_error": Text(
        en="A hardware error (machine check) crashed the kernel",
        zh_CN="硬件错误（机器检查）导致内核崩溃",
    ),
    "stopped.guest_poweroff": Text(en="Powered off from inside the guest", zh_CN="从实例内部关机"),
    "stopped.unknown": Text(en="Stopped, and why is not recorded", zh_CN="已停止，原因没有记录"),
    "linux.no_reboot_in_window": Text(en="No reboot in the window", zh_CN="时间窗口内没有重启"),
    "windows.no_reboot_in_window": Text(en="No reboot in the window", zh_CN="时间窗口内没有重启"),
}


def _unknown_label(conclusion: Conclusion, skipped: Sequence[Skip]) -> tuple[str, Text]:
    skip = next((s for s in skipped if s.step == "run_guest"), None) or next(iter(skipped), None)
    if skip is None:
        return "-", Text(en="Cause unknown", zh_CN="原因未知")
    return skip.code, Text(
        en=f"Cause unknown: {skip.detail.en}", zh_CN=f"原因未知：{skip.detail.zh_CN}"
    )


def signature_of(
    conclusion: Conclusion,
    *,
    events: EventVerdict | None,
    guest: GuestEvidence | None,
    triage: DumpTriage | None,
    api_calls: Sequence[ApiCall] | None,
    skipped: Sequence[Skip] = (),
) -> CauseSignature:
    """The cause signature of one instance's conclusion."""
    if events is not None and (platform := _platform(events)) is not None:
        return platform
    if conclusion.verdict == "api_initiated" and (api := _api(conclusion, api_calls)):
        return api
    if conclusion.rule_id in _OOM_RULES:
        return _oom(conclusion, guest)
    if conclusion.rule_id.startswith("windows.") and conclusion.verdict == "guest_crash":
        if (bugcheck := _bugcheck(conclusion, guest, triage)) is not None:
            return bugcheck
    if conclusion.verdict == "guest_crash" and guest is not None and guest.os_type == "linux":
        if (crash := _kernel_crash(conclusion, guest, triage)) is not None:
            return crash
    if conclusion.verdict == "unknown":
        code, label = _unknown_label(conclusion, skipped)
        return CauseSignature(key=f"unknown|{conclusion.rule_id}|{code}", label=label)
    label = _RULE_LABELS.get(conclusion.rule_id) or Text(
        en=f"Result {conclusion.rule_id}", zh_CN=f"结论 {conclusion.rule_id}"
    )
    return CauseSignature(key=f"rule|{conclusion.rule_id}", label=label)
