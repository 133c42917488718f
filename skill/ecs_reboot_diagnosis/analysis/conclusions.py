"""The conclusion: evidence -> signals -> the first matching row of the OS's result table.

A signal is True, False, or None when the evidence behind it was not collected. A table row
matches only when each signal it names has exactly the required value, so a missing piece of
evidence can never produce "nothing wrong": it falls through to the "unknown" row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC

from ecs_reboot_diagnosis.analysis.incident_context import blocked_in
from ecs_reboot_diagnosis.analysis.log_lines import quoted
from ecs_reboot_diagnosis.analysis.report_facts import (
    RESTART_ACTIONS,
    STOP_ACTIONS,
    kdump_ready,
    successful_calls,
)
from ecs_reboot_diagnosis.glosses import gloss
from ecs_reboot_diagnosis.models import (
    ApiCall,
    ClassifiedEvent,
    Conclusion,
    ConsoleEvidence,
    CrashDumpFile,
    DumpTriage,
    EventVerdict,
    Evidence,
    Finding,
    FindingKind,
    GuestEvidence,
    OsType,
    Recommendation,
    Skip,
    Text,
)
from ecs_reboot_diagnosis.tables import (
    ResultRule,
    linux_results,
    stopped_results,
    windows_results,
)

PANIC_KINDS: frozenset[FindingKind] = frozenset(
    {"kernel_panic", "oom_panic", "sysrq_crash", "init_killed", "vfs_root_mount"}
)
OOM_KINDS: frozenset[FindingKind] = frozenset({"oom_kill", "cgroup_oom", "oom_panic"})
LOCKUP_KINDS: frozenset[FindingKind] = frozenset(
    {"soft_lockup", "hard_lockup", "hung_task", "rcu_stall"}
)
CLEAN_KINDS: frozenset[FindingKind] = frozenset({"clean_reboot", "clean_shutdown"})
MAX_CONCLUSION_EVIDENCE = 12
# API actions that restart, stop or replace the instance (ActionTrail event names).


@dataclass(frozen=True)
class Signal:
    value: bool | None
    evidence: list[Evidence] = field(default_factory=list)


UNKNOWN = Signal(None)


def _evidence(findings: Iterable[Finding]) -> list[Evidence]:
    return [e for f in findings for e in f.evidence]


def _kind_signal(
    guest: GuestEvidence | None,
    kinds: frozenset[FindingKind],
    console: ConsoleEvidence | None = None,
) -> Signal:
    """True when the guest logs or the serial console show one of ``kinds``.

    The console is a bounded buffer: its hits count, its silence does not. Without guest logs
    and without a console hit, the signal is unknown.
    """
    console_hits = [f for f in console.findings if f.kind in kinds] if console else []
    if guest is None:
        return Signal(True, _evidence(console_hits)) if console_hits else UNKNOWN
    # unconfirmed text (any user can write syslog) is reported, never decisive
    hits = [f for f in guest.findings if f.kind in kinds and f.trusted] + console_hits
    if not hits and _log_section_lost(guest):
        return UNKNOWN
    return Signal(bool(hits), _evidence(hits))


# Log sections whose loss (cut to nothing by the output budget) makes "no hit" unknowable.
LOG_SECTIONS = frozenset(
    {"journal_kernel", "syslog", "dmesg", "oom", "crash_dmesg", "events_system"}
)
# Sections a verdict of "nothing wrong" rests on besides the logs: the boot list, reboot
# records, kdump state, sysctls, crash files (Linux); crash control, page file, dumps (Windows).
DECISIVE_SECTIONS = frozenset(
    {
        "boot",
        "reboot_history",
        "journal_boots",
        "sysctl",
        "kdump",
        "crash_files",
        "crash_control",
        "pagefile",
        "memory_dump",
        "minidumps",
    }
)


def _log_section_lost(guest: GuestEvidence) -> bool:
    """True when a section "no hit" rests on is gone: a log section cut to nothing by the
    output budget, or a log or decisive section Cloud Assistant's output limit cut (all or
    part of it): what it held is unknown, so no hit there is no evidence of a clean reboot."""
    return any(
        (s.name in LOG_SECTIONS and s.present and s.truncated and not s.has_data)
        or (s.cut and s.name in LOG_SECTIONS | DECISIVE_SECTIONS)
        for s in guest.sections
    )


# Sections without which "nothing went wrong" is not a finding (issue 12): the dump state, the
# dumps themselves, the reboot records. A "clean" conclusion names those that are missing.
DECISIVE_LINUX_SECTIONS = ("kdump", "crash_files", "reboot_history")
CLEAN_RULES = frozenset({"linux.clean_reboot", "linux.no_abnormal_records"})


# Notes of a section that was lost rather than absent from the guest (status=missing: no dump
# directory, no `last`, which is itself what the guest holds): see envelope.Section.to_status.
LOST_NOTES = ("error", "not received", "not reported", "output ended")


def missing_decisive(guest: GuestEvidence | None) -> list[str]:
    """``name (why)`` of each decisive Linux section that failed, timed out or never arrived."""
    if guest is None or guest.linux is None:
        return []
    return [
        f"{s.name} ({s.note})"
        for s in guest.sections
        if s.name in DECISIVE_LINUX_SECTIONS and not s.present and s.note.startswith(LOST_NOTES)
    ]


def describe_call(call: ApiCall) -> str:
    who = call.caller or "an unknown caller"
    where = f" from {call.source_ip}" if call.source_ip else ""
    return f"{call.event_name} by {who}{where} at {call.event_time:%Y-%m-%d %H:%M:%S} UTC"


def describe_call_text(call: ApiCall) -> Text:
    """The call in both languages (names, addresses and times are data, not translated)."""
    who = call.caller or "未知调用者"
    where = f"（来源 {call.source_ip}）" if call.source_ip else ""
    stamp = f"{call.event_time:%Y-%m-%d %H:%M:%S} UTC"
    return Text(
        en=describe_call(call),
        zh_CN=f"{who}{where}于 {stamp} 调用了 {call.event_name}",
    )


def restarting_calls(api_calls: Sequence[ApiCall] | None) -> list[ApiCall]:
    calls = [c for c in api_calls or () if c.event_name in RESTART_ACTIONS]
    return sorted((c for c in calls if not c.error_code), key=lambda c: c.event_time, reverse=True)


def _api_signal(api_calls: Sequence[ApiCall] | None) -> Signal:
    if api_calls is None:
        return UNKNOWN
    calls = restarting_calls(api_calls)
    return Signal(
        bool(calls),
        [Evidence(source="api:ActionTrail", text=describe_call(c)) for c in calls[:3]],
    )


def _event_evidence(event: ClassifiedEvent) -> Evidence:
    e = event.event
    when = e.finish_time or e.not_before or e.publish_time
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else "time not reported"
    return Evidence(
        source="api:DescribeInstanceHistoryEvents",
        text=f"{e.event_type} {e.cycle_status} {stamp} {e.event_id}".strip(),
    )


def _instance_failure(events: EventVerdict | None) -> Signal:
    if events is None:
        return UNKNOWN
    if events.instance_failure is None:
        return Signal(False)
    return Signal(True, [_event_evidence(events.instance_failure)])


def linux_signals(
    guest: GuestEvidence | None,
    triage: DumpTriage | None,
    events: EventVerdict | None,
    api_calls: Sequence[ApiCall] | None = None,
    console: ConsoleEvidence | None = None,
) -> dict[str, Signal]:
    linux = guest.linux if guest is not None else None
    panic = _kind_signal(guest, PANIC_KINDS, console)
    if triage is not None and triage.dump_found and triage.panic_reason:
        panic = Signal(True, [*panic.evidence, *triage.evidence])
    elif not panic.value and guest is not None and _captured_oops(guest.findings) is not None:
        # an oops kdump captured before any panic line (panic_on_oops): a kernel crash
        saved = [f for f in guest.findings if f.kind == "kdump_saved"]
        panic = Signal(True, [*panic.evidence, *_evidence(saved)])

    crash_dump = UNKNOWN
    if triage is not None and triage.dump_found:
        crash_dump = Signal(True, list(triage.evidence[:1]))
    elif linux is not None and linux.crash_files is not None:
        # a dump counts for the reboot it records, and only when nothing is wrong with it
        mine = _target_crash_files(guest)
        files = [f for f in (linux.crash_files if mine is None else mine) if not f.suspicious]
        crash_dump = Signal(
            bool(files),
            [Evidence(source="guest:crash_files", text=f.path) for f in files[:3]],
        )

    oom = _kind_signal(guest, OOM_KINDS, console)
    panic_on_oom = UNKNOWN
    if guest is not None and any(f.kind == "oom_panic" for f in guest.findings):
        panic_on_oom = Signal(True, _evidence(f for f in guest.findings if f.kind == "oom_panic"))
    elif linux is not None and linux.panic_on_oom is not None:
        panic_on_oom = Signal(
            linux.panic_on_oom >= 1,
            [Evidence(source="guest:sysctl", text=f"vm.panic_on_oom = {linux.panic_on_oom}")],
        )
    return {
        "guest_collected": Signal(guest is not None),
        "reboot_in_window": _reboot_in_window(guest),
        "hardware": _kind_signal(guest, frozenset({"mce_hardware"}), console),
        "kernel_panic": panic,
        "crash_dump": crash_dump,
        "oom": oom,
        "panic_on_oom": panic_on_oom,
        "sysrq": _kind_signal(guest, frozenset({"sysrq_crash"}), console),
        "lockup": _kind_signal(guest, LOCKUP_KINDS, console),
        "clean_reboot": _kind_signal(guest, CLEAN_KINDS),
        "instance_failure": _instance_failure(events),
        "api_reboot": _api_signal(api_calls),
    }


def _reboot_in_window(guest: GuestEvidence | None) -> Signal:
    if guest is None or guest.reboot_in_window is None:
        return UNKNOWN
    if guest.reboot_in_window:
        return Signal(True)
    since = guest.last_boot.strftime("%Y-%m-%d %H:%M:%S %z") if guest.last_boot else "unknown"
    return Signal(False, [Evidence(source="guest:boot", text=f"running since {since}")])


def _target_crash_files(guest: GuestEvidence | None) -> list[CrashDumpFile] | None:
    """The dumps of the episode that ended in the target reboot (none without a target); None
    when the analysis built no episodes, so every dump found counts."""
    if guest is None or not guest.episodes:
        return None
    target = next((e for e in guest.episodes if e.target), None)
    return list(target.crash_files) if target is not None else []


def windows_signals(
    guest: GuestEvidence | None,
    events: EventVerdict | None,
    api_calls: Sequence[ApiCall] | None = None,
) -> dict[str, Signal]:
    win = guest.windows if guest is not None else None
    # a dump of another boot's crash cannot explain the target reboot
    target_files = _target_crash_files(guest)
    crash = _kind_signal(guest, frozenset({"unexpected_shutdown", "bugcheck"}))
    dump_enabled = UNKNOWN
    pagefile = UNKNOWN
    memory_dump = UNKNOWN
    minidump = UNKNOWN
    if win is not None:
        if win.crash_dump_enabled is not None:
            dump_enabled = Signal(
                win.crash_dump_enabled != 0,
                [
                    Evidence(
                        source="guest:registry",
                        text=f"CrashDumpEnabled = {win.crash_dump_enabled}",
                    )
                ],
            )
        if win.pagefile_configured is not None:
            pagefile = Signal(
                win.pagefile_configured,
                [Evidence(source="guest:pagefile", text=f"configured = {win.pagefile_configured}")],
            )
        if win.memory_dump_checked:
            dump = win.memory_dump
            if dump is not None and target_files is not None and dump not in target_files:
                dump = None
            memory_dump = Signal(
                dump is not None,
                [Evidence(source="guest:memory_dump", text=dump.path)] if dump else [],
            )
        if win.minidumps is not None:
            minis = [m for m in win.minidumps if target_files is None or m in target_files]
            minidump = Signal(
                bool(minis),
                [Evidence(source="guest:minidump", text=m.path) for m in minis[:3]],
            )
    return {
        "guest_collected": Signal(guest is not None),
        "reboot_in_window": _reboot_in_window(guest),
        "system_crash": crash,
        "bugcheck": _kind_signal(guest, frozenset({"bugcheck"})),
        "dump_enabled": dump_enabled,
        "memory_dump": memory_dump,
        "minidump": minidump,
        "pagefile": pagefile,
        "app_crash": _kind_signal(guest, frozenset({"app_crash"})),
        "clean_reboot": _kind_signal(guest, CLEAN_KINDS),
        "instance_failure": _instance_failure(events),
        "api_reboot": _api_signal(api_calls),
    }


def stopped_signals(
    guest: GuestEvidence | None,
    api_calls: Sequence[ApiCall] | None,
    console: ConsoleEvidence | None = None,
) -> dict[str, Signal]:
    """Why a Stopped instance stopped: a StopInstance call, or the guest powering itself off."""
    stops = successful_calls(api_calls, STOP_ACTIONS)
    api_stop = (
        UNKNOWN
        if stops is None
        else Signal(
            bool(stops),
            [Evidence(source="api:ActionTrail", text=describe_call(c)) for c in stops[:3]],
        )
    )
    poweroff = _kind_signal(guest, frozenset({"clean_shutdown"}), console)
    return {"api_stop": api_stop, "guest_poweroff": poweroff if poweroff.value else UNKNOWN}


def match(rules: Iterable[ResultRule], signals: dict[str, Signal]) -> ResultRule:
    for rule in rules:
        if all(signals[name].value is required for name, required in rule.when.items()):
            return rule
    raise LookupError("the result table has no catch-all rule")


# --- filling the table's sentences -------------------------------------------------------------


def _same(text: str) -> Text:
    return Text(en=text, zh_CN=text)


def _quote(text: str) -> Text:
    """Guest text in a sentence: as it is in English, between backticks in Chinese."""
    return Text(en=text, zh_CN=quoted(text))


def _first_fact(
    guest: GuestEvidence | None,
    kinds: frozenset[FindingKind],
    fact: str,
    console: ConsoleEvidence | None = None,
) -> str:
    findings = [*(guest.findings if guest else []), *(console.findings if console else [])]
    for f in findings:
        value = getattr(f.facts, fact)
        if f.kind in kinds and value:
            return str(value)
    return ""


def _fills(
    guest: GuestEvidence | None,
    triage: DumpTriage | None,
    events: EventVerdict | None,
    skipped: Iterable[Skip],
    api_calls: Sequence[ApiCall] | None,
    console: ConsoleEvidence | None,
) -> dict[str, Text]:
    fills: dict[str, Text] = {}
    calls = restarting_calls(api_calls)
    fills["api_call"] = (
        describe_call_text(calls[0])
        if calls
        else Text(en="an API call not recorded", zh_CN="未记录的 API 调用")
    )
    panic = (triage.panic_reason if triage else None) or _first_fact(
        guest,
        PANIC_KINDS | LOCKUP_KINDS | OOPS_KINDS | frozenset({"mce_hardware", "kdump_saved"}),
        "panic_reason",
        console,
    )
    fills["panic_reason"] = (
        _quote(panic) if panic else Text(en="panic reason not recorded", zh_CN="未记录 panic 原因")
    )
    fills["cause"] = cause_clause(guest, console)
    rip = (triage.rip if triage else None) or _first_fact(
        guest, PANIC_KINDS, "rip_function", console
    )
    if rip and not rip.startswith("RIP"):
        rip = f"RIP {rip}"
    fills["rip"] = _quote(rip) if rip else Text(en="RIP not recorded", zh_CN="未记录 RIP")
    dump_path = triage.dump_file.path if triage and triage.dump_file else ""
    fills["dump_file"] = _quote(dump_path) if dump_path else Text(en="no file", zh_CN="无文件")

    victims, victims_zh = [], []
    for f in guest.findings if guest else []:
        if f.kind in OOM_KINDS and f.facts.oom_victim_process:
            pid = f" pid {f.facts.oom_victim_pid}" if f.facts.oom_victim_pid else ""
            pid_zh = f"（pid {f.facts.oom_victim_pid}）" if f.facts.oom_victim_pid else ""
            victims.append(f"{f.facts.oom_victim_process}{pid}")
            victims_zh.append(f"{quoted(f.facts.oom_victim_process)}{pid_zh}")
    fills["oom_victim"] = (
        Text(
            en=", ".join(dict.fromkeys(victims))[:200],
            zh_CN="，".join(dict.fromkeys(victims_zh))[:200],
        )
        if victims
        else Text(en="victim not recorded", zh_CN="未记录被终止的进程")
    )

    code = (triage.bugcheck_code if triage else None) or _first_fact(
        guest, frozenset({"bugcheck"}), "bugcheck_code"
    )
    name = (triage.bugcheck_name if triage else None) or _first_fact(
        guest, frozenset({"bugcheck"}), "bugcheck_name"
    )
    fills["bugcheck"] = (
        Text(en=f"bug check {code} {name}".strip(), zh_CN=f"蓝屏错误代码 {code} {name}".strip())
        if code
        else Text(en="no bug check code recorded", zh_CN="未记录蓝屏错误代码")
    )
    # the app-crash finding's summary lists every crashing application with its count
    crashes = [f for f in (guest.findings if guest else []) if f.kind == "app_crash"]
    apps = [
        f.summary.en.split(": ", 1)[-1] if ": " in f.summary.en else (f.facts.process or "")
        for f in crashes
    ]
    apps_zh = [
        f.summary.zh_CN.split("：", 1)[-1]
        if "：" in f.summary.zh_CN
        else (quoted(f.facts.process) if f.facts.process else "")
        for f in crashes
    ]
    apps, apps_zh = [a for a in apps if a], [a for a in apps_zh if a]
    fills["app"] = (
        Text(
            en=", ".join(dict.fromkeys(apps))[:200],
            zh_CN="，".join(dict.fromkeys(apps_zh))[:200],
        )
        if apps
        else Text(en="application not recorded", zh_CN="未记录应用名称")
    )
    when = ""
    if events is not None and events.instance_failure is not None:
        e = events.instance_failure.event
        stamp = e.finish_time or e.not_before or e.publish_time
        when = stamp.strftime("%Y-%m-%d %H:%M:%S UTC") if stamp else ""
    fills["event_time"] = (
        _same(when) if when else Text(en="an unreported time", zh_CN="未报告的时间")
    )

    boot = guest.last_boot if guest is not None else None
    fills["last_boot"] = (
        _same(boot.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
        if boot is not None
        else Text(en="an unknown time", zh_CN="未知时间")
    )
    days = guest.log_window_days if guest is not None else None
    fills["window_days"] = _same(str(days) if days is not None else "?")
    fills.update(_stop_fills(api_calls))
    fills["dump_failure"] = _dump_failure(guest)

    details = list(dict.fromkeys(s.detail for s in skipped))
    fills["missing"] = (
        Text(
            en="; ".join(d.en.rstrip(".") for d in details),
            zh_CN="；".join(d.zh_CN.rstrip("。") for d in details),
        )
        if details
        else Text(en="no guest evidence was collected", zh_CN="未采集到实例内部证据")
    )
    return fills


# What a cause is called, in both languages: "{what} panicked the kernel" (a rip is added).
_CAUSE_NAMES: dict[FindingKind, tuple[str, str]] = {
    "soft_lockup": ("A soft lockup", "软锁死（soft lockup）"),
    "hard_lockup": ("A hard lockup (NMI watchdog)", "硬锁死（hard lockup，NMI watchdog 检测）"),
    "hung_task": ("A hung task", "任务挂起（hung task）"),
    "rcu_stall": ("An RCU stall", "RCU 停顿（RCU stall）"),
    "gpf": ("A general protection fault", "一般保护错误（GPF）"),
    "null_pointer": ("A NULL pointer dereference", "空指针解引用"),
    "kernel_bug": ("A kernel BUG", "内核 BUG"),
    "oops": ("A kernel oops", "内核 oops"),
    "oom_panic": ("Running out of memory", "内存耗尽"),
    "oom_kill": ("Running out of memory", "内存耗尽"),
    "cgroup_oom": ("Running out of memory", "内存耗尽"),
    "mce_hardware": ("A fatal machine check (hardware error)", "致命的机器检查（硬件错误）"),
    "init_killed": ("The init process (PID 1) exiting", "init 进程（PID 1）退出"),
    "vfs_root_mount": ("Failing to mount the root file system", "无法挂载根文件系统"),
    "sysrq_crash": ("A crash triggered through SysRq", "通过 SysRq 触发的崩溃"),
}
OOPS_KINDS: frozenset[FindingKind] = frozenset({"null_pointer", "gpf", "kernel_bug", "oops"})
# kinds whose place in the code (function, module) says something
_LOCATED: frozenset[FindingKind] = OOPS_KINDS | {"soft_lockup", "hard_lockup"}


def _cause_finding(findings: Sequence[Finding]) -> Finding | None:
    """The headline cause of the panic: the first (analyzers list causes first) that panicked."""
    return next(
        (f for f in findings if f.facts.panicked and f.kind in _CAUSE_NAMES and f.trusted), None
    )


def _captured_oops(findings: Sequence[Finding]) -> Finding | None:
    """The oops kdump captured without a panic line (panic_on_oops with kdump loaded)."""
    saved = next((f for f in findings if f.kind == "kdump_saved" and f.trusted), None)
    if saved is None or saved.facts.panicked is not False:
        return None
    return next((f for f in findings if f.kind in OOPS_KINDS and f.trusted), None)


def cause_finding(findings: Sequence[Finding]) -> Finding | None:
    """The finding a kernel crash is put down to: the headline cause that panicked, else the
    oops kdump captured without a panic line (what :func:`cause_clause` names)."""
    return _cause_finding(findings) or _captured_oops(findings)


def cause_clause(guest: GuestEvidence | None, console: ConsoleEvidence | None) -> Text:
    """ "A soft lockup in `nvme_poll` [nvme] panicked the kernel", or "The kernel panicked"."""
    findings = [*(guest.findings if guest else []), *(console.findings if console else [])]
    cause = _cause_finding(findings)
    captured = None if cause is not None else _captured_oops(findings)
    f = cause or captured
    if f is None:
        return Text(en="The kernel panicked", zh_CN="内核发生 panic")
    en, zh = _CAUSE_NAMES[f.kind]
    where_en = where_zh = ""
    if f.kind in _LOCATED and f.facts.rip_function:
        mod = f" [{f.facts.rip_module}]" if f.facts.rip_module else ""
        where_en = f" in {f.facts.rip_function}{mod}"
        where_zh = f"位于 {f.facts.rip_function}{mod} 的"
    elif f.kind == "hung_task" and f.facts.process:
        pid = f" pid {f.facts.pid}" if f.facts.pid is not None else ""
        waits = blocked_in(f.facts.call_trace)
        where_en = f" ({f.facts.process}{pid}{f', waiting in {waits}' if waits else ''})"
        where_zh = f"任务 {f.facts.process}{pid}{f'（等待位置 {waits}）' if waits else ''} "
    if captured is not None:
        return Text(
            en=f"{en}{where_en} crashed the kernel and kdump captured the oops "
            "(panic_on_oops; no panic line was logged)",
            zh_CN=f"{where_zh}{zh}{' ' if zh[-1].isascii() else ''}导致内核崩溃，"
            "kdump 在 oops 时直接捕获了转储"
            "（panic_on_oops；没有记录 panic 行）",
        )
    gap = " " if zh[-1].isascii() else ""
    return Text(
        en=f"{en}{where_en} panicked the kernel", zh_CN=f"{where_zh}{zh}{gap}导致内核 panic"
    )


def _stop_fills(api_calls: Sequence[ApiCall] | None) -> dict[str, Text]:
    stops = successful_calls(api_calls, STOP_ACTIONS)
    if stops is None:
        trail = Text(
            en="ActionTrail could not be read, so a StopInstance call cannot be ruled out",
            zh_CN="未能读取操作审计，无法排除 StopInstance 调用",
        )
    else:
        trail = Text(
            en="ActionTrail holds no successful StopInstance call on it in the window",
            zh_CN="时间范围内操作审计中没有针对该实例的成功 StopInstance 调用",
        )
    return {
        "stop_call": describe_call_text(stops[0])
        if stops
        else Text(en="a StopInstance call not recorded", zh_CN="未记录的 StopInstance 调用"),
        "stop_missing": Text(
            en=f"no platform event stopped it, {trail.en}, and the guest cannot be read while "
            "the instance is stopped",
            zh_CN=f"没有系统事件停止该实例，{trail.zh_CN}，且实例停止期间无法读取其内部信息",
        ),
    }


def _dump_failure(guest: GuestEvidence | None) -> Text:
    """Why a crash left no dump, phrased from the kdump state that was collected."""
    ready = kdump_ready(guest)
    if ready:
        return Text(
            en="kdump is active and its capture kernel is loaded now, yet it saved no dump of "
            "this crash: the capture failed (dump path full or unwritable, capture kernel out "
            "of memory) or kdump was set up after the crash",
            zh_CN="kdump 目前处于运行状态且已加载捕获内核，但未保存本次崩溃的转储：转储捕获失败"
            "（转储路径已满或不可写、捕获内核内存不足），或 kdump 是在崩溃之后才配置的",
        )
    if ready is False:
        return Text(
            en="kdump is not ready (service not active or capture kernel not loaded), so "
            "nothing could capture one",
            zh_CN="kdump 未就绪（服务未运行或未加载捕获内核），因此无法捕获转储",
        )
    return Text(
        en="kdump's state was not collected, so whether it is not configured or failed is "
        "not known",
        zh_CN="未采集到 kdump 状态，无法确定是未配置还是捕获失败",
    )


def _format(text: Text, fills: dict[str, Text]) -> Text:
    return Text(
        en=text.en.format_map({k: v.en for k, v in fills.items()}),
        zh_CN=text.zh_CN.format_map({k: v.zh_CN for k, v in fills.items()}),
    )


def conclude_guest(
    os_type: OsType,
    guest: GuestEvidence | None,
    triage: DumpTriage | None,
    events: EventVerdict | None,
    skipped: Iterable[Skip] = (),
    *,
    api_calls: Sequence[ApiCall] | None = None,
    console: ConsoleEvidence | None = None,
    status: str = "Running",
) -> tuple[Conclusion, list[Recommendation]]:
    """Apply the OS's result table to what was collected; for a Stopped instance, the table of
    why it stopped."""
    skipped = list(skipped)
    if status == "Stopped":
        signals = stopped_signals(guest, api_calls, console)
        rule = match(stopped_results().rule, signals)
    elif os_type == "linux":
        signals = linux_signals(guest, triage, events, api_calls, console)
        rule = match(linux_results().rule, signals)
    else:
        signals = windows_signals(guest, events, api_calls)
        rule = match(windows_results().rule, signals)
    fills = _fills(guest, triage, events, skipped, api_calls, console)
    evidence: list[Evidence] = []
    for name, required in rule.when.items():
        if required:
            evidence.extend(e for e in signals[name].evidence if e not in evidence)
    root_cause = _format(rule.root_cause, fills)
    confidence = rule.confidence
    saved = [f for f in (guest.findings if guest else []) if f.kind == "kdump_saved"]
    if rule.when.get("crash_dump") and saved and all(f.confidence == "low" for f in saved):
        # every dump found is older than the logs read: it may belong to an earlier crash
        confidence = "low"
        root_cause = Text(
            en=f"{root_cause.en} The dump is older than the logs that were read, so it may "
            "belong to an earlier crash.",
            zh_CN=f"{root_cause.zh_CN}该转储早于已读取的日志，可能属于更早的一次崩溃。",
        )
    if guest is not None and guest.target_reboot is not None:
        stamp = guest.target_reboot.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        root_cause = Text(
            en=f"Reboot at {stamp}: {root_cause.en}",
            zh_CN=f"{stamp} 的重启：{root_cause.zh_CN}",
        )
    lost = missing_decisive(guest) if rule.id in CLEAN_RULES else []
    if lost:
        confidence = "low"
        what = "; ".join(lost)
        root_cause = Text(
            en=f"{root_cause.en} Not collected: {what}; a crash these would show cannot be "
            "ruled out.",
            zh_CN=f"{root_cause.zh_CN}未采集到：{what}；无法排除这些信息本可显示的崩溃。",
        )
    unconfirmed = sorted({f.kind for f in (guest.findings if guest else []) if not f.trusted})
    if unconfirmed:
        # kept as evidence, never decisive: it lowers the confidence and says so
        confidence = "low" if confidence != "high" else "medium"
        kinds = ", ".join(unconfirmed)
        root_cause = Text(
            en=f"{root_cause.en} Unconfirmed evidence ({kinds}) was reported but not counted: "
            "lines any user can write that no kernel-only source of that boot confirms, or crash "
            "files that cannot be trusted.",
            zh_CN=f"{root_cause.zh_CN}发现了未经证实的证据（{kinds}），已列出但未计入结论："
            "任何用户都可写入、且该次启动的内核专有日志中没有对应记录的日志行，或不可信的崩溃文件。",
        )
    conclusion = Conclusion(
        rule_id=rule.id,
        verdict=rule.verdict,
        root_cause=root_cause,
        impact_scope=_format(rule.impact, fills),
        evidence=evidence[:MAX_CONCLUSION_EVIDENCE],
        confidence=confidence,
    )
    recommendations = [
        Recommendation(
            text=_format(r.text, fills), commands=list(r.commands), presumes=list(r.presumes)
        )
        for r in rule.recommendations
    ]
    return conclusion, recommendations


def episode_verdict(os_type: OsType, guest: GuestEvidence) -> tuple[str, Text]:
    """How one boot ended, from that boot's own findings only (``guest.findings``): the
    matching rule and its root cause, for the list of earlier reboots."""
    if os_type == "linux":
        rule = match(linux_results().rule, linux_signals(guest, None, None))
    else:
        rule = match(windows_results().rule, windows_signals(guest, None))
    fills = _fills(guest, None, None, (), None, None)
    saved = next((f for f in guest.findings if f.kind == "kdump_saved"), None)
    if saved is not None and saved.evidence:
        fills["dump_file"] = _quote(saved.evidence[0].text.split(" ", 1)[0])
    fills["missing"] = Text(
        en="no record of how this boot ended was found",
        zh_CN="未找到该次启动如何结束的记录",
    )
    return rule.id, _format(rule.root_cause, fills)


def conclude_platform(decisive: ClassifiedEvent) -> tuple[Conclusion, list[Recommendation]]:
    """Step 2 found a platform cause: the conclusion is the event, as the event table reads it."""
    e = decisive.event
    when = e.finish_time or e.not_before or e.publish_time
    stamp = when.strftime("%Y-%m-%d %H:%M:%S UTC") if when else None
    at_en = f" at {stamp}" if stamp else ""
    at_zh = f"（{stamp}）" if stamp else ""
    reason_en = f" Reason given by the platform: {e.reason}" if e.reason else ""
    reason_zh = f"平台给出的原因：{quoted(e.reason)}" if e.reason else ""
    verdict = "billing" if decisive.category == "billing" else "platform"
    conclusion = Conclusion(
        rule_id=f"event.{e.event_type}",
        verdict=verdict,
        root_cause=Text(
            en=f"Platform event {e.event_type}{at_en}: {decisive.meaning.en}{reason_en}",
            zh_CN=f"系统事件{gloss('event', e.event_type, 'zh-CN')}{at_zh}："
            f"{decisive.meaning.zh_CN}{reason_zh}",
        ),
        impact_scope=Text(
            en=f"This instance ({decisive.determination.en})",
            zh_CN=f"本实例（{decisive.determination.zh_CN}）",
        ),
        evidence=[_event_evidence(decisive)],
        confidence="high",
    )
    return conclusion, [Recommendation(text=decisive.next_step)]
