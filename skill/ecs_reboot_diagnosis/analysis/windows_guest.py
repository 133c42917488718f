"""Read a Windows collector envelope into :class:`~ecs_reboot_diagnosis.models.GuestEvidence`.

Event lines are tab-separated ``key=value`` fields (``time``, ``id``, ``provider``, ``level``,
``p0``..``p9`` = the event's insertion strings, ``msg``). The analysis reads the insertion strings,
not the message, because messages are localised and the collector prints ASCII only.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Final
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml

from ecs_reboot_diagnosis.analysis.envelope import WINDOWS_SECTIONS, Envelope
from ecs_reboot_diagnosis.analysis.log_lines import quoted
from ecs_reboot_diagnosis.models import (
    SEVERITY,
    BootEpisode,
    CrashDumpFile,
    EpisodeEnd,
    Evidence,
    Finding,
    FindingFacts,
    FindingKind,
    GuestEvidence,
    Text,
    WindowsEvent,
    WindowsGuest,
    finding_order,
)
from ecs_reboot_diagnosis.sizes import MIB, format_size

__all__ = [
    "BUGCHECK_NAMES",
    "SAME_BOOT",
    "DumpContext",
    "RawEvent",
    "analyze_windows",
    "analyze_windows_events",
    "bugcheck_name",
    "build_episodes",
    "events_from_text",
    "events_from_xml",
    "hex_bugcheck_code",
    "looks_like_friendly_view",
    "normalize_bugcheck_code",
]

MAX_LINE: Final = 2000
"""Guest text is cut to this many characters before any pattern runs on it (linear time)."""


def _cut(text: str, limit: int = MAX_LINE) -> str:
    return text if len(text) <= limit else text[:limit]


BUGCHECK_NAMES: Final[dict[str, str]] = {
    "0x00000001": "APC_INDEX_MISMATCH",
    "0x0000000A": "IRQL_NOT_LESS_OR_EQUAL",
    "0x00000018": "REFERENCE_BY_POINTER",
    "0x00000019": "BAD_POOL_HEADER",
    "0x0000001A": "MEMORY_MANAGEMENT",
    "0x0000001E": "KMODE_EXCEPTION_NOT_HANDLED",
    "0x00000023": "FAT_FILE_SYSTEM",
    "0x00000024": "NTFS_FILE_SYSTEM",
    "0x0000002E": "DATA_BUS_ERROR",
    "0x00000034": "CACHE_MANAGER",
    "0x00000035": "NO_MORE_IRP_STACK_LOCATIONS",
    "0x0000003B": "SYSTEM_SERVICE_EXCEPTION",
    "0x0000003D": "INTERRUPT_EXCEPTION_NOT_HANDLED",
    "0x0000003F": "NO_MORE_SYSTEM_PTES",
    "0x00000044": "MULTIPLE_IRP_COMPLETE_REQUESTS",
    "0x0000004A": "IRQL_GT_ZERO_AT_SYSTEM_SERVICE",
    "0x0000004E": "PFN_LIST_CORRUPT",
    "0x00000050": "PAGE_FAULT_IN_NONPAGED_AREA",
    "0x00000051": "REGISTRY_ERROR",
    "0x0000005A": "CRITICAL_SERVICE_FAILED",
    "0x0000005C": "HAL_INITIALIZATION_FAILED",
    "0x00000077": "KERNEL_STACK_INPAGE_ERROR",
    "0x0000007A": "KERNEL_DATA_INPAGE_ERROR",
    "0x0000007B": "INACCESSIBLE_BOOT_DEVICE",
    "0x0000007E": "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED",
    "0x0000007F": "UNEXPECTED_KERNEL_MODE_TRAP",
    "0x00000080": "NMI_HARDWARE_FAILURE",
    "0x0000008E": "KERNEL_MODE_EXCEPTION_NOT_HANDLED",
    "0x0000009C": "MACHINE_CHECK_EXCEPTION",
    "0x0000009E": "USER_MODE_HEALTH_MONITOR",
    "0x0000009F": "DRIVER_POWER_STATE_FAILURE",
    "0x000000A0": "INTERNAL_POWER_ERROR",
    "0x000000A5": "ACPI_BIOS_ERROR",
    "0x000000BE": "ATTEMPTED_WRITE_TO_READONLY_MEMORY",
    "0x000000C1": "SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION",
    "0x000000C2": "BAD_POOL_CALLER",
    "0x000000C4": "DRIVER_VERIFIER_DETECTED_VIOLATION",
    "0x000000C5": "DRIVER_CORRUPTED_EXPOOL",
    "0x000000C7": "TIMER_OR_DPC_INVALID",
    "0x000000CA": "PNP_DETECTED_FATAL_ERROR",
    "0x000000CE": "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS",
    "0x000000D1": "DRIVER_IRQL_NOT_LESS_OR_EQUAL",
    "0x000000D5": "DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL",
    "0x000000D6": "DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION",
    "0x000000D8": "DRIVER_USED_EXCESSIVE_PTES",
    "0x000000DE": "POOL_CORRUPTION_IN_FILE_AREA",
    "0x000000E2": "MANUALLY_INITIATED_CRASH",
    "0x000000E3": "RESOURCE_NOT_OWNED",
    "0x000000EA": "THREAD_STUCK_IN_DEVICE_DRIVER",
    "0x000000ED": "UNMOUNTABLE_BOOT_VOLUME",
    "0x000000EF": "CRITICAL_PROCESS_DIED",
    "0x000000F4": "CRITICAL_OBJECT_TERMINATION",
    "0x000000F7": "DRIVER_OVERRAN_STACK_BUFFER",
    "0x000000FC": "ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY",
    "0x000000FE": "BUGCODE_USB_DRIVER",
    "0x00000101": "CLOCK_WATCHDOG_TIMEOUT",
    "0x00000109": "CRITICAL_STRUCTURE_CORRUPTION",
    "0x0000010D": "WDF_VIOLATION",
    "0x0000010E": "VIDEO_MEMORY_MANAGEMENT_INTERNAL",
    "0x00000113": "VIDEO_DXGKRNL_FATAL_ERROR",
    "0x00000116": "VIDEO_TDR_FAILURE",
    "0x00000117": "VIDEO_TDR_TIMEOUT_DETECTED",
    "0x00000119": "VIDEO_SCHEDULER_INTERNAL_ERROR",
    "0x00000124": "WHEA_UNCORRECTABLE_ERROR",
    "0x00000127": "PAGE_NOT_ZERO",
    "0x0000012B": "FAULTY_HARDWARE_CORRUPTED_PAGE",
    "0x00000133": "DPC_WATCHDOG_VIOLATION",
    "0x00000139": "KERNEL_SECURITY_CHECK_FAILURE",
    "0x0000013A": "KERNEL_MODE_HEAP_CORRUPTION",
    "0x00000141": "VIDEO_ENGINE_TIMEOUT_DETECTED",
    "0x00000144": "BUGCODE_USB3_DRIVER",
    "0x0000014F": "PDC_WATCHDOG_TIMEOUT",
    "0x00000154": "UNEXPECTED_STORE_EXCEPTION",
    "0x0000015F": "CONNECTED_STANDBY_WATCHDOG_TIMEOUT_LIVEDUMP",
    "0x00000187": "VIDEO_DWMINIT_TIMEOUT_FALLBACK_BDD",
    "0x0000018B": "SECURE_KERNEL_ERROR",
    "0x0000019C": "WIN32K_POWER_WATCHDOG_TIMEOUT",
    "0x000001C8": "MANUALLY_INITIATED_POWER_BUTTON_HOLD",
    "0x000001CA": "SYNTHETIC_WATCHDOG_TIMEOUT",
    "0xC000021A": "STATUS_SYSTEM_PROCESS_TERMINATED",
    "0xDEADDEAD": "MANUALLY_INITIATED_CRASH1",
}
_HEX: Final = re.compile(r"^(?:0x)?([0-9a-fA-F]{1,8})$", re.IGNORECASE)
_BUGCHECK_IN_TEXT: Final = re.compile(r"\b0x([0-9a-fA-F]{1,8})\b")
_SYSTEM: Final = "guest:System event log"
_APPLICATION: Final = "guest:Application event log"


def normalize_bugcheck_code(value: str | int) -> str | None:
    """``0x0000009f``, ``9f`` or ``159`` (decimal, as Kernel-Power 41 has it) -> ``0x0000009F``.

    An all-digit string is DECIMAL here: only Kernel-Power 41's ``BugcheckCode`` is written that
    way. Codes that are hex without ``0x`` (WER BlueScreen ``P1``, Reliability Monitor ``BCCode``)
    go through :func:`hex_bugcheck_code`.
    """
    if isinstance(value, int):
        number = value
    else:
        text = _cut(value, 64).strip()
        if text.isdigit():
            number = int(text[:12])
        else:
            match = _HEX.match(text)
            if match is None:
                return None
            number = int(match.group(1), 16)
    if not 0 < number <= 0xFFFFFFFF:
        return None
    return f"0x{number:08X}"


def hex_bugcheck_code(value: str) -> str | None:
    """A bug check code that is hex with or without ``0x``: WER BlueScreen ``P1`` and the
    Reliability Monitor's ``BCCode``/``Code`` write 0x133 as ``133`` and 0xD1 as ``d1``."""
    match = _HEX.match(_cut(value, 64).strip())
    if match is None:
        return None
    number = int(match.group(1), 16)
    return f"0x{number:08X}" if number else None


def bugcheck_name(code: str) -> str | None:
    return BUGCHECK_NAMES.get(code)


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One Windows event, from a collector envelope or a saved export.

    ``fields`` holds the insertion strings as ``p0``, ``p1``... in event order (the collector's
    form) and, when the source names them (XML ``<Data Name=...>``), under their names too.
    """

    event: WindowsEvent
    fields: Mapping[str, str]
    evidence: Evidence
    channel: str = "System"


_Event = RawEvent


@dataclass(frozen=True, slots=True)
class DumpContext:
    """What the guest said about writing crash dumps, for the findings' notes."""

    wer_reports: Sequence[Evidence] = ()
    system_drive_free_mb: int | None = None
    total_memory_mb: int | None = None
    auto_reboot: int | None = None


def _fields(line: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in line.split("\t"):
        key, sep, value = part.partition("=")
        if sep:
            out[_cut(key, 64).strip()] = _cut(value).strip()
    return out


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    text = _cut(value, 64).strip().replace("Z", "+00:00")
    # Windows writes 7 fractional digits ("2019-10-15T01:14:02.498048100Z"): keep 6
    text = re.sub(r"(\.\d{6})\d{1,9}", r"\1", text)
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def _events(env: Envelope, section: str, source: str) -> list[RawEvent] | None:
    sec = env.section(section)
    if sec is None or sec.status != "ok":
        return None
    channel = "Application" if section == "events_application" else "System"
    out: list[RawEvent] = []
    for n, full in enumerate(sec.lines, start=1):
        if full.startswith("#"):
            continue
        line = _cut(full)
        f = _fields(line)
        if not f.get("id", "").isdigit():
            continue
        event = WindowsEvent(
            event_id=int(f["id"]),
            provider=f.get("provider", ""),
            time=_time(f.get("time")),
            message=f.get("msg", ""),
        )
        out.append(RawEvent(event, f, Evidence(source=source, line_no=n, text=line), channel))
    return out


def _newest(events: Sequence[RawEvent]) -> list[RawEvent]:
    return sorted(events, key=lambda e: e.event.time or datetime.min.replace(tzinfo=UTC))


def _finding(
    kind: FindingKind,
    summary: Text,
    events: Sequence[RawEvent],
    facts: dict[str, object] | None = None,
    confidence: str = "high",
    extra: Sequence[Evidence] = (),
) -> Finding:
    newest = _newest(events)
    facts = dict(facts or {})
    facts.setdefault("event_ids", sorted({e.event.event_id for e in events}))
    if newest and newest[-1].event.time is not None:
        facts.setdefault("timestamp", newest[-1].event.time)
    severity = SEVERITY[kind]
    evidence = [e.evidence for e in reversed(newest)][:5]
    evidence += list(extra)[: max(0, 6 - len(evidence))]
    return Finding(
        kind=kind,
        severity=severity,
        summary=summary,
        evidence=evidence,
        facts=FindingFacts.model_validate(facts),
        confidence=confidence,
    )


def _is(e: RawEvent, eid: int, provider: str) -> bool:
    return e.event.event_id == eid and provider in e.event.provider


def _field(e: RawEvent, index: int, name: str = "") -> str:
    value = e.fields.get(f"p{index}")
    if value is None and name:
        value = e.fields.get(name)
    return (value or "").strip()


# every quantifier on guest text is bounded: a line full of near-matches stays linear
_BUGCHECK_TEXT: Final = re.compile(
    r"(?:bugcheck was|bug check was|BugCheck)\W{0,20}(?P<code>0x[0-9a-fA-F]{1,8})\b\s{0,5}"
    r"(?:\((?P<params>[^)]{0,300})\))?",
    re.IGNORECASE,
)
_BARE_CODE: Final = re.compile(
    r"\b(?P<code>0x[0-9a-fA-F]{1,8})\b\s{0,5}(?:\((?P<params>[^)]{0,300})\))?"
)
_DUMP_SAVED: Final = re.compile(
    r"A dump was saved in:\s{0,5}(?P<path>[^\r\n]{1,260}?)\.?\s{0,5}(?:Report Id|$)"
)
# WER 1001 "Fault bucket ..., type 0 Event Name: BlueScreen ... P1: 133 P2: ..." and the
# Reliability Monitor's "Problem Event Name: BlueScreen ... Code: 133 Parameter 1: ..." or
# "BCCode: 116 BCP1: ..."; all these codes are hex without 0x
_BLUESCREEN: Final = re.compile(
    r"(?:Problem Event Name|Event Name|问题事件名称)\s{0,5}[:：]\s{0,5}BlueScreen\b"
)
# one line each: "P1: 133", "BCCode: 116", "Code:\t3b"; "P2: ...", "BCP1: ...", "Parameter 1: ..."
_BLUESCREEN_CODE: Final = re.compile(
    r"\s{0,20}(?:P1|BCCode|Code)\s{0,5}:\s{0,5}(?P<code>(?:0x)?[0-9a-fA-F]{1,8})\s{0,5}$"
)
_BLUESCREEN_PARAM: Final = re.compile(
    r"\s{0,20}(?:P(?P<p>[2-5])|BCP(?P<b>[1-4])|Parameter (?P<n>[1-4]))\s{0,5}:\s{0,5}"
    r"(?P<value>(?:0x)?[0-9a-fA-F]{1,16})\s{0,5}$"
)


@dataclass(frozen=True, slots=True)
class _Check:
    """A bug check an event reports."""

    event: RawEvent
    code: str
    params: tuple[str, ...] = ()
    dump_path: str = ""


def _params(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if not re.fullmatch(r"0x[0-9a-fA-F]+", part):
            continue
        number = int(part, 16)
        out.append(f"0x{number:x}")
    return tuple(out)


def _bugcheck(e: RawEvent) -> _Check | None:
    f = e.fields
    eid, provider = e.event.event_id, e.event.provider
    if eid == 41 and "Kernel-Power" in provider:
        raw = _field(e, 0, "BugcheckCode")
        code = normalize_bugcheck_code(raw) if raw not in ("", "0") else None
        if code is None:
            return None
        params = _params(", ".join(_field(e, i, f"BugcheckParameter{i}") for i in range(1, 5)))
        return _Check(e, code, params)
    if eid == 1001 and ("SystemErrorReporting" in provider or provider == "BugCheck"):
        for text in (_cut(_field(e, 0, "param1")), _cut(e.event.message)):
            match = _BUGCHECK_TEXT.search(text) or _BARE_CODE.search(text)
            if match is None:
                continue
            code = normalize_bugcheck_code(match.group("code"))
            if code is None:
                continue
            dump = _field(e, 1, "param2")
            if not dump and (saved := _DUMP_SAVED.search(_cut(e.event.message))) is not None:
                dump = saved.group("path").strip()
            return _Check(e, code, _params(match.group("params") or ""), dump)
        return None
    if eid == 1001 and provider == "Windows Error Reporting" and f.get("p2") == "BlueScreen":
        # P1 is the bug check code in hex WITHOUT 0x: "133" is 0x133, never decimal 133
        code = hex_bugcheck_code(f.get("p5", ""))
        if code is None:
            return None
        params = _params(
            ", ".join(
                "0x" + v.removeprefix("0x")
                for i in range(6, 10)
                if (v := f.get(f"p{i}", "").strip())
            )
        )
        return _Check(e, code, params)
    return None


# volmgr: the crash dump could not be written
_DUMP_FAILED: Final[dict[int, str]] = {
    45: "the crash dump driver could not be loaded",
    46: "crash dump initialization failed",
    49: "the page file could not be configured for crash dumps",
    161: "dump file creation failed",
}
_DUMP_FAILED_ZH: Final[dict[int, str]] = {
    45: "无法加载崩溃转储驱动",
    46: "崩溃转储初始化失败",
    49: "无法为崩溃转储配置页面文件",
    161: "创建转储文件失败",
}


def _no_dump_note(failed: Sequence[RawEvent], context: DumpContext) -> Text:
    if not failed:
        return Text(en="", zh_CN="")
    newest = _newest(failed)[-1].event.event_id
    note = f"; no dump could be written (volmgr {newest}: {_DUMP_FAILED[newest]}"
    zh = f"；未能写入转储（volmgr {newest}：{_DUMP_FAILED_ZH[newest]}"
    if context.system_drive_free_mb is not None:
        free = format_size(context.system_drive_free_mb * MIB)
        note += f"; system drive free: {free}"
        zh += f"；系统盘可用空间 {free}"
        if context.total_memory_mb is not None:
            memory = format_size(context.total_memory_mb * MIB)
            note += f" for {memory} of memory"
            zh += f"，内存 {memory}"
    return Text(en=note + ")", zh_CN=zh + "）")


# bidirectional and zero-width marks: Event Viewer puts LEFT-TO-RIGHT MARKs in 6008's dates
_INVISIBLE: Final = dict.fromkeys(
    [0x061C, 0x180E, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070),
     0xFEFF],
)  # fmt: skip


def _invisible_out(value: str) -> str:
    return value.translate(_INVISIBLE)


def _clean(value: str) -> str:
    """A 6008 date or time without its invisible marks (the collector turns them into '?')."""
    return _invisible_out(_cut(value, 200)).strip().strip("?").strip()


def _findings(
    system: list[RawEvent],
    application: list[RawEvent],
    boot: datetime | None,
    context: DumpContext | None = None,
) -> list[Finding]:
    context = context or DumpContext()
    findings: list[Finding] = []
    failed = [
        e for e in system if e.event.event_id in _DUMP_FAILED and "volmgr" in e.event.provider
    ]
    unexpected = [e for e in system if _is(e, 41, "Kernel-Power") or _is(e, 6008, "EventLog")]
    checks = [c for e in [*system, *application] if (c := _bugcheck(e)) is not None]
    if unexpected:
        counts = Counter(e.event.event_id for e in unexpected)
        parts = [f"Kernel-Power 41 x{counts[41]}" if counts[41] else "",
                 f"EventLog 6008 x{counts[6008]}" if counts[6008] else ""]  # fmt: skip
        listed = ", ".join(p for p in parts if p)
        text = "Unexpected shutdown recorded (" + listed + ")"
        parts_zh = [f"Kernel-Power 41 事件 {counts[41]} 次" if counts[41] else "",
                    f"EventLog 6008 事件 {counts[6008]} 次" if counts[6008] else ""]  # fmt: skip
        zh = f"记录到意外关机（{'，'.join(p for p in parts_zh if p)}）"
        power = [e for e in unexpected if e.event.event_id == 41]
        long_press = any(
            _field(e, 15, "LongPowerButtonPressDetected").lower() == "true" for e in power
        )
        pressed = any(_field(e, 6, "PowerButtonTimestamp") not in ("", "0") for e in power)
        if long_press:
            text += "; the power button was held down (a forced power-off)"
            zh += "；电源按钮被长按（强制断电）"
        elif pressed:
            text += "; the power button was held"
            zh += "；电源按钮被按下"
        last_6008 = next(
            (e for e in reversed(_newest(unexpected)) if e.event.event_id == 6008), None
        )
        if last_6008 is not None:
            when, day = _clean(_field(last_6008, 0)), _clean(_field(last_6008, 1))
            if when and day:
                text += f"; the shutdown at {when} on {day} was unexpected"
                zh += f"；{quoted(day + ' ' + when)} 的关机是意外关机"
        if not checks:
            codes = [_field(e, 0, "BugcheckCode") for e in power]
            if power and all(c == "0" for c in codes):
                text += "; no bug check (Kernel-Power 41 BugcheckCode 0)"
                zh += "；没有蓝屏错误代码（Kernel-Power 41 的 BugcheckCode 为 0）"
            elif power and all(c in ("", "0") for c in codes):
                text += "; no bug check recorded"
                zh += "；没有记录蓝屏错误代码"
            note = _no_dump_note(failed, context)
            text += note.en
            zh += note.zh_CN
        findings.append(
            _finding(
                "unexpected_shutdown",
                Text(en=text, zh_CN=zh),
                [*unexpected, *(failed if not checks else [])],
            )
        )
    if checks:
        newest = max(checks, key=lambda c: c.event.event.time or datetime.min.replace(tzinfo=UTC))
        # the richest report of the newest crash: 1001 carries the parameters and the dump path
        same = [c for c in checks if c.code == newest.code]
        params = next((c.params for c in same if c.params), ())
        dump = next((c.dump_path for c in same if c.dump_path), "")
        code = newest.code
        name = bugcheck_name(code)
        text = f"Blue screen (bug check {code}{' ' + name if name else ''})"
        zh = f"蓝屏错误代码 {code}{' ' + name if name else ''}"
        if params:
            text += f"; parameters {', '.join(params)}"
            zh += f"；参数 {', '.join(params)}"
        if dump:
            text += f"; dump saved in {dump}"
            zh += f"；转储已保存到 {quoted(dump)}"
        note = _no_dump_note(failed, context)
        text += note.en
        zh += note.zh_CN
        if context.auto_reboot == 1:
            text += "; Windows restarts after a bug check (AutoReboot=1)"
            zh += "；蓝屏后 Windows 会自动重启（AutoReboot=1）"
        findings.append(
            _finding(
                "bugcheck",
                Text(en=text, zh_CN=zh),
                [*(c.event for c in checks), *failed],
                {"bugcheck_code": code, "bugcheck_name": name},
                extra=context.wer_reports,
            )
        )
    reboots: list[RawEvent] = []
    shutdowns: list[RawEvent] = []
    for e in system:
        if e.event.event_id != 1074:
            continue
        kind = _field(e, 4, "param5").lower()
        msg = e.event.message.lower()
        if "restart" in kind or "reboot" in kind or "the restart of" in msg:
            reboots.append(e)
        elif kind in ("power off", "shutdown", "shut down") or re.search(
            r"the (?:power off|shutdown) of", msg
        ):
            shutdowns.append(e)
        elif (
            boot is not None
            and e.event.time is not None
            and (timedelta(0) <= boot - e.event.time <= timedelta(minutes=15))
        ):
            reboots.append(e)  # localised type: the system came back within minutes
        else:
            shutdowns.append(e)
    stopped = [e for e in system if _is(e, 6006, "EventLog")]
    for kind, group in (("clean_reboot", reboots), ("clean_shutdown", shutdowns)):
        if not group:
            continue
        last = max(group, key=lambda e: e.event.time or datetime.min.replace(tzinfo=UTC))
        who = _field(last, 6, "param7")
        process = _field(last, 0, "param1").split(" (", 1)[0]
        verb = "restart" if kind == "clean_reboot" else "shutdown"
        verb_zh = "重启" if kind == "clean_reboot" else "关机"
        text = f"Orderly {verb} requested by {process or 'a process'}"
        text += f" as {who}" if who else ""
        asker = quoted(process) if process else "某个进程"
        zh = f"{asker}{f'（以 {quoted(who)} 身份）' if who else ''}请求了正常{verb_zh}"
        reason = _field(last, 2, "param3")
        code = _field(last, 3, "param4")
        details = [f"reason: {reason}"] if reason else []
        details_zh = [f"原因：{quoted(reason)}"] if reason else []
        if re.fullmatch(r"0x[0-9a-fA-F]+", code):
            details.append(f"reason code {code}")
            details_zh.append(f"原因代码 {code}")
        text += f" ({', '.join(details)})" if details else ""
        zh += f"（{'，'.join(details_zh)}）" if details_zh else ""
        comment = _field(last, 5, "param6")
        text += f"; comment: {comment}" if comment else ""
        zh += f"；备注：{quoted(comment)}" if comment else ""
        related = [
            s for s in stopped
            if last.event.time and s.event.time
            and timedelta(0) <= s.event.time - last.event.time <= timedelta(minutes=10)
        ]  # fmt: skip
        findings.append(
            _finding(
                kind,  # type: ignore[arg-type]
                Text(en=text, zh_CN=zh),
                [*group, *related],
                {"process": process.rsplit("\\", 1)[-1] or None},
            )
        )
        stopped = [s for s in stopped if s not in related]
    if stopped and not reboots and not shutdowns:
        findings.append(
            _finding(
                "clean_shutdown",
                Text(
                    en="The event log service stopped normally (orderly shutdown)",
                    zh_CN="事件日志服务正常停止（正常关机）",
                ),
                stopped,
                confidence="medium",
            )
        )
    crashes: list[tuple[RawEvent, str]] = []
    for e in application:
        eid, provider = e.event.event_id, e.event.provider
        if (eid, provider) in ((1000, "Application Error"), (1002, "Application Hang")) and (
            e.fields.get("p0")
        ):
            crashes.append((e, e.fields["p0"]))
        elif (
            eid == 1001
            and provider == "Windows Error Reporting"
            and (e.fields.get("p2") == "APPCRASH" and e.fields.get("p5"))
        ):
            crashes.append((e, e.fields["p5"]))
    if crashes:
        app_counts = Counter(
            app for ev, app in crashes if ev.event.event_id in (1000, 1002)
        ) or Counter(app for _ev, app in crashes)
        ids = {ev.event.event_id for ev, _ in crashes}
        what = (
            "Application hangs"
            if ids == {1002}
            else "Application crashes and hangs"
            if 1002 in ids
            else "Application crashes"
        )
        what_zh = (
            "应用程序无响应"
            if ids == {1002}
            else "应用程序崩溃和无响应"
            if 1002 in ids
            else "应用程序崩溃"
        )
        newest_app = max(
            crashes, key=lambda ec: ec[0].event.time or datetime.min.replace(tzinfo=UTC)
        )
        listed = ", ".join(f"{_cut(app, 200)} x{n}" for app, n in app_counts.most_common(5))
        listed_zh = "，".join(
            f"{quoted(_cut(app, 200))} {n} 次" for app, n in app_counts.most_common(5)
        )
        findings.append(
            _finding(
                "app_crash",
                Text(en=f"{what}: {listed}", zh_CN=f"{what_zh}：{listed_zh}"),
                [e for e, _ in crashes],
                {"process": _cut(newest_app[1], 260)},
            )
        )
    findings.sort(key=finding_order)
    return findings


def analyze_windows_events(
    events: Sequence[RawEvent],
    *,
    boot: datetime | None = None,
    context: DumpContext | None = None,
) -> list[Finding]:
    """Findings from Windows events of any source (System and Application channels mixed)."""
    application = [e for e in events if e.channel == "Application"]
    system = [e for e in events if e.channel != "Application"]
    return _findings(system, application, boot, context)


# --- saved exports: wevtutil / Event Viewer XML, Event Viewer text --------------------------

_EVENT_START: Final = re.compile(r"<Event[\s>]")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Element, name: str) -> Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _summary_line(event_id: int, provider: str, time: datetime | None, data: list[str]) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ") if time is not None else "-"
    return " ".join([f"EventID={event_id}", f"provider={provider}", f"time={stamp}", *data])[:1000]


def _from_element(event: Element, source: str, line_no: int | None) -> RawEvent | None:
    system = _child(event, "System")
    if system is None:
        return None
    provider_el = _child(system, "Provider")
    provider = provider_el.get("Name", "") if provider_el is not None else ""
    id_el = _child(system, "EventID")
    raw_id = (id_el.text or "").strip() if id_el is not None else ""
    if not raw_id.isdigit():
        return None
    time_el = _child(system, "TimeCreated")
    time = _time(time_el.get("SystemTime")) if time_el is not None else None
    channel_el = _child(system, "Channel")
    channel = (channel_el.text or "System").strip() if channel_el is not None else "System"
    fields: dict[str, str] = {}
    data_text: list[str] = []
    data_parent = _child(event, "EventData")
    if data_parent is None:
        user = _child(event, "UserData")
        data_parent = next(iter(user), None) if user is not None else None
    if data_parent is not None:
        for i, data in enumerate(data_parent):
            value = (data.text or "").strip()
            name = data.get("Name") or _local(data.tag)
            fields[f"p{i}"] = value
            if name and name != "Data":
                fields[name] = value
            data_text.append(f"{name}={value}" if name and name != "Data" else value)
    message = ""
    rendering = _child(event, "RenderingInfo")
    if rendering is not None and (msg := _child(rendering, "Message")) is not None:
        message = " ".join((msg.text or "").split())
    event_id = int(raw_id)
    return RawEvent(
        WindowsEvent(event_id=event_id, provider=provider, time=time, message=message),
        fields,
        Evidence(
            source=source,
            line_no=line_no,
            text=_summary_line(event_id, provider, time, data_text or [message]),
        ),
        channel,
    )


def _line_starts(text: str, positions: Sequence[int]) -> list[int]:
    """1-based line numbers of ``positions`` (ascending), in one pass over ``text``."""
    out: list[int] = []
    line, last = 1, 0
    for pos in positions:
        line += text.count("\n", last, pos)
        last = pos
        out.append(line)
    return out


def events_from_xml(text: str, source: str = "file") -> list[RawEvent]:
    """Events of an XML export (``wevtutil qe System /f:xml``, Event Viewer "Save as XML").

    A fragment (pasted without its ``<Event>``/``<System>`` opening tags, or cut short) is read
    element by element. XML that declares a DTD raises ValueError, as does XML that yields no
    event at all; the parser is defusedxml's (no entity is expanded, nothing external fetched).
    """
    # Checked on the text itself: a fragment is wrapped in <Events> below, where a DTD would
    # reach the parser as a syntax error (and the fragment reader), not as a DTD.
    if re.search(r"<!DOCTYPE|<!ENTITY", text, re.IGNORECASE):
        raise ValueError("XML with a document type declaration is not accepted")
    starts = _line_starts(text, [m.start() for m in _EVENT_START.finditer(text)])
    body = re.sub(r"<\?xml[^>]{0,200}\?>", "", text).strip()
    if not re.match(r"<Events[\s>]", body):
        body = f"<Events>{body}</Events>"
    try:
        # defusedxml: no DTD, no entity expansion, no external reference, whatever the text.
        root = parse_xml(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ValueError(
            f"XML with a document type declaration is not accepted ({type(exc).__name__})"
        ) from None
    except ParseError as exc:
        fragment = _events_from_fragment(text, source)
        if fragment:
            return fragment
        raise ValueError(f"not well-formed XML: {exc}") from None
    out: list[RawEvent] = []
    elements = [el for el in root.iter() if _local(el.tag) == "Event"]
    for i, element in enumerate(elements):
        event = _from_element(element, source, starts[i] if i < len(starts) else None)
        if event is not None:
            out.append(event)
    if not elements:
        out = _events_from_fragment(text, source)
    return out


# a fragment's elements, one tag at a time (bounded: linear on any input)
_FRAGMENT_TAG: Final = re.compile(
    r"<(?P<tag>Provider|EventID|TimeCreated|Channel|Data)\b(?P<attrs>[^<>]{0,400}?)"
    r"(?:/>|>(?P<text>[^<]{0,4000})</(?P=tag)>)"
)
_ATTR: Final = re.compile(
    r"\b(?P<name>Name|SystemTime)\s{0,3}=\s{0,3}[\"'](?P<value>[^\"'<>]{0,400})[\"']"
)
_XML_ENTITIES: Final = {"&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&apos;": "'"}


def _unescape(value: str) -> str:
    return re.sub(r"&(?:lt|gt|amp|quot|apos);", lambda m: _XML_ENTITIES[m.group(0)], value)


def _events_from_fragment(text: str, source: str) -> list[RawEvent]:
    """Events of XML pasted without its opening tags or cut short: each ``<EventID>`` starts
    one event; the Provider, TimeCreated, Channel and Data elements around it are its own."""
    tags = list(_FRAGMENT_TAG.finditer(text))
    ids = [i for i, m in enumerate(tags) if m.group("tag") == "EventID"]
    out: list[RawEvent] = []
    lines = _line_starts(text, [tags[i].start() for i in ids])
    for n, i in enumerate(ids):
        # the event's tags: from after the previous event's last Data to before the next EventID
        lo = ids[n - 1] + 1 if n else 0
        while lo < i and n and tags[lo].group("tag") == "Data":
            lo += 1
        hi = ids[n + 1] if n + 1 < len(ids) else len(tags)
        if n + 1 < len(ids):
            # the next event's Provider/TimeCreated may precede its EventID
            while hi - 1 > i and tags[hi - 1].group("tag") != "Data":
                hi -= 1
        group = tags[lo:hi]
        raw_id = (tags[i].group("text") or "").strip()
        if not raw_id.isdigit() or len(raw_id) > 6:
            continue
        provider, time, channel = "", None, "System"
        fields: dict[str, str] = {}
        data_text: list[str] = []
        index = 0
        for m in group:
            attrs = {
                a.group("name"): _unescape(a.group("value"))
                for a in _ATTR.finditer(m.group("attrs"))
            }
            tag = m.group("tag")
            if tag == "Provider":
                provider = attrs.get("Name", provider)
            elif tag == "TimeCreated":
                time = _time(attrs.get("SystemTime"))
            elif tag == "Channel":
                channel = (m.group("text") or "System").strip() or "System"
            elif tag == "Data":
                value = _unescape(m.group("text") or "").strip()
                name = attrs.get("Name", "")
                fields[f"p{index}"] = value
                index += 1
                if name:
                    fields[name] = value
                data_text.append(f"{name}={value}" if name else value)
        event_id = int(raw_id)
        if not provider and event_id == 41 and "BugcheckCode" in fields:
            provider = "Microsoft-Windows-Kernel-Power"  # pasted without its Provider element
        out.append(
            RawEvent(
                WindowsEvent(event_id=event_id, provider=provider, time=time, message=""),
                fields,
                Evidence(
                    source=source,
                    line_no=lines[n],
                    text=_summary_line(event_id, provider, time, data_text),
                ),
                channel,
            )
        )
    return out


_TEXT_HEADER: Final = re.compile(
    r"(?P<key>Log Name|Source|Date|Event ID|Level|Computer):\s{0,40}(?P<value>.{0,2000})$"
)
_T1074_HEAD: Final = re.compile(
    r"The process (?P<proc>[^\r\n]{1,300}?) has initiated the "
    r"(?P<type>restart|power off|shutdown) of computer (?P<computer>\S{1,100}) on behalf of "
    r"user (?P<user>\S{1,200}) for the following reason:",
    re.IGNORECASE,
)
_T1074_TAIL: Final = ("Reason Code:", "Shutdown Type:", "Comment:")
_T6008: Final = re.compile(
    r"The previous system shutdown at (?P<time>[^\r\n]{1,40}?) on (?P<date>\S{1,40}?) "
    r"was unexpected"
)
# Application Error 1000 / Application Hang 1002, pasted as they read on the General tab
# English (also the colon-less machine translation), French, German, Chinese labels
_T1000: Final = re.compile(
    r"(?:Faulting application name|Nom de l[\u2019']application d\u00e9faillante|"
    r"Name der fehlerhaften Anwendung|\u9519\u8bef\u5e94\u7528\u7a0b\u5e8f\u540d\u79f0)"
    r"[ \t]{0,3}[:\uff1a]?[ \t]{0,3}(?P<app>[^,\uff0c\r\n]{1,260})[,\uff0c][ \t]{0,3}"
    r"(?:version|Version|\u7248\u672c)[ \t]{0,3}[:\uff1a][ \t]{0,5}(?P<version>[^,\s]{0,40})"
)
_T1000_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("p3", r"Faulting module name:\s{0,5}(?P<v>[^,\r\n]{1,260}),"),
    ("p6", r"Exception code:\s{0,5}(?P<v>0x[0-9a-fA-F]{1,8})\b"),
    ("p7", r"Fault offset:\s{0,5}(?P<v>0x[0-9a-fA-F]{1,16})\b"),
    ("p8", r"Faulting process id:\s{0,5}(?P<v>0x[0-9a-fA-F]{1,8})\b"),
)
_T1002: Final = re.compile(
    r"The program (?P<app>[^\r\n]{1,260}?) version (?P<version>\S{1,40}) stopped interacting "
    r"with Windows and was closed"
)
_TEXT_MESSAGES: Final[tuple[tuple[re.Pattern[str], int, str, str], ...]] = (
    (re.compile(r"The computer has rebooted from a bugcheck"), 1001, "BugCheck", "System"),
    (_T6008, 6008, "EventLog", "System"),
    (
        re.compile(r"has initiated the (?:restart|power off|shutdown) of computer"),
        1074,
        "User32",
        "System",
    ),
    (
        re.compile(r"The system has rebooted without cleanly shutting down first"),
        41,
        "Microsoft-Windows-Kernel-Power",
        "System",
    ),
    (_BLUESCREEN, 1001, "Windows Error Reporting", "Application"),
    (_T1000, 1000, "Application Error", "Application"),
    (_T1002, 1002, "Application Hang", "Application"),
)


def _t1074_fields(flat: str) -> dict[str, str]:
    m = _T1074_HEAD.search(flat)
    if m is None:
        return {}
    tail = flat[m.end() :]
    cuts = sorted((i, key) for key in _T1074_TAIL if (i := tail.find(key)) >= 0)
    reason = tail[: cuts[0][0] if cuts else len(tail)].strip()
    parts: dict[str, str] = {}
    for n, (i, key) in enumerate(cuts):
        end = cuts[n + 1][0] if n + 1 < len(cuts) else len(tail)
        parts[key] = tail[i + len(key) : end].strip()
    code = parts.get("Reason Code:", "").split(" ", 1)[0]
    stype = parts.get("Shutdown Type:", "").split(" ", 1)[0]
    return {
        "p0": m.group("proc"),
        "p1": m.group("computer"),
        "p2": reason,
        "p3": code,
        "p4": stype or m.group("type"),
        "p5": parts.get("Comment:", ""),
        "p6": m.group("user"),
    }


def _bluescreen_fields(lines: Sequence[str]) -> dict[str, str]:
    """WER BlueScreen insertion strings from its message lines: p2 = the event name, p5 = P1
    (the code, hex without 0x), p6..p9 = P2..P5 (the four parameters)."""
    fields = {"p0": "", "p1": "", "p2": "BlueScreen"}
    for line in lines:
        line = _cut(line, 200)
        if "p5" not in fields and (code := _BLUESCREEN_CODE.match(line)) is not None:
            fields["p5"] = code.group("code").removeprefix("0x")
        elif (param := _BLUESCREEN_PARAM.match(line)) is not None:
            p = param.group("p")
            n = int(p) - 1 if p else int(param.group("b") or param.group("n"))
            fields.setdefault(f"p{5 + n}", param.group("value").removeprefix("0x"))
    return fields


def _text_fields(event_id: int, message: str, lines: Sequence[str] = ()) -> dict[str, str]:
    flat = " ".join(_cut(message, 4 * MAX_LINE).split())
    fields: dict[str, str] = {}
    if event_id == 1074:
        fields = _t1074_fields(flat)
    elif event_id == 6008 and (m := _T6008.search(flat)) is not None:
        fields = {"p0": m.group("time"), "p1": m.group("date")}
    elif event_id == 1001 and _BLUESCREEN.search(flat) is not None:
        fields = _bluescreen_fields(lines or message.splitlines())
    elif event_id == 1001 and (m := _BUGCHECK_TEXT.search(flat)) is not None:
        fields = {"p0": f"{m.group('code')} ({m.group('params') or ''})"}
        if (saved := _DUMP_SAVED.search(flat)) is not None:
            fields["p1"] = saved.group("path").strip()
    elif event_id == 1000 and (m := _T1000.search(flat)) is not None:
        fields = {"p0": m.group("app").strip(), "p1": m.group("version")}
        for key, pattern in _T1000_FIELDS:
            if (found := re.search(pattern, flat)) is not None:
                fields[key] = found.group("v").strip()
    elif event_id == 1002 and (m := _T1002.search(flat)) is not None:
        fields = {"p0": m.group("app").strip(), "p1": m.group("version")}
    return fields


# Event Viewer's Details tab, "Friendly View", copied as text:
#   - System
#     - Provider
#      [ Name]  Microsoft-Windows-Kernel-Power
#     EventID 41
#     - TimeCreated
#      [ SystemTime]  2019-10-15T01:14:02.498048100Z
#     Channel System
#   - EventData
#     BugcheckCode 26
_FRIENDLY_ATTR: Final = re.compile(r"\s{0,40}\[ ?(?P<name>\w{1,40})\]\s{0,40}(?P<value>.{0,2000})$")
_FRIENDLY_PAIR: Final = re.compile(
    r"\s{0,40}(?P<name>[A-Za-z]\w{0,80})(?:[ \t]{1,40}(?P<value>.{0,2000}))?$"
)
_FRIENDLY_SECTION: Final = re.compile(
    r"\s{0,40}(?:-\s{0,5})?(?P<name>System|EventData|UserData)\s{0,40}$"
)


def looks_like_friendly_view(text: str) -> bool:
    """Whether ``text`` holds Event Viewer's Friendly View: an ``EventData`` block, or a
    ``System`` block with its ``EventID`` (a copy cut before the event data)."""
    sections: set[str] = set()
    event_id = False
    for line in text[: 64 * 1024].splitlines():
        short = _cut(line, 200)
        if (m := _FRIENDLY_SECTION.match(short)) is not None:
            sections.add(m.group("name"))
        elif "System" in sections and re.match(
            r"\s{0,40}EventID[ \t]{1,40}\d{1,6}\s{0,40}$", short
        ):
            event_id = True
    return "EventData" in sections or event_id


def _friendly_events(lines: Sequence[str], first_line: int, source: str) -> list[RawEvent]:
    """Events of a Friendly View copy: a ``System`` block (optional) then ``EventData``."""
    out: list[RawEvent] = []
    provider, raw_id, time, channel = "", "", None, "System"
    fields: dict[str, str] = {}
    data_text: list[str] = []
    section, start = "", first_line
    index = 0

    def flush() -> None:
        if raw_id.isdigit() and len(raw_id) <= 6:
            event_id = int(raw_id)
            out.append(
                RawEvent(
                    WindowsEvent(event_id=event_id, provider=provider, time=time, message=""),
                    dict(fields),
                    Evidence(
                        source=source,
                        line_no=start,
                        text=_summary_line(event_id, provider, time, data_text),
                    ),
                    channel,
                )
            )

    for n, full in enumerate(lines, start=first_line):
        line = _cut(full).rstrip()
        if not line.strip():
            continue
        sec = _FRIENDLY_SECTION.match(line)
        if sec is not None:
            if sec.group("name") == "System" and section == "EventData":
                flush()
                provider, raw_id, time, channel = "", "", None, "System"
                fields, data_text, index, start = {}, [], 0, n
            section = sec.group("name")
            continue
        if section == "System":
            if (attr := _FRIENDLY_ATTR.match(line)) is not None:
                if attr.group("name") == "Name" and not provider:
                    provider = attr.group("value").strip()
                elif attr.group("name") == "SystemTime":
                    time = _time(attr.group("value"))
            elif (pair := _FRIENDLY_PAIR.match(line)) is not None:
                name, value = pair.group("name"), (pair.group("value") or "").strip()
                if name == "EventID":
                    raw_id = value.split(" ", 1)[0]
                elif name == "Channel" and value:
                    channel = value
        elif section in ("EventData", "UserData") and (pair := _FRIENDLY_PAIR.match(line)):
            name, value = pair.group("name"), (pair.group("value") or "").strip()
            fields[f"p{index}"] = value
            fields[name] = value
            index += 1
            data_text.append(f"{name}={value}")
    flush()
    return out


def _eventdata_fields(lines: Sequence[str]) -> dict[str, str]:
    """The named values of an ``EventData`` block copied from the Details tab."""
    fields: dict[str, str] = {}
    inside, index = False, 0
    for full in lines:
        line = _cut(full).rstrip()
        sec = _FRIENDLY_SECTION.match(line)
        if sec is not None:
            inside = sec.group("name") == "EventData"
            continue
        if not inside:
            continue
        if not line.strip():
            if index:
                break
            continue
        pair = _FRIENDLY_PAIR.match(line)
        if pair is None:
            break
        value = (pair.group("value") or "").strip()
        fields[f"p{index}"] = value
        fields[pair.group("name")] = value
        index += 1
    return fields


_PARAGRAPH_LINES: Final = 100
"""A pasted message longer than this many lines is read in pieces."""


def events_from_text(text: str, source: str = "file") -> list[RawEvent]:
    """Events of an Event Viewer text export ("Log Name: ... Description: ... Event Xml:"),
    of the Details tab's Friendly View, or, when the text has neither, of the event messages
    pasted as they are (System events, WER BlueScreen reports, Application Error and Hang).
    """
    lines = text.splitlines()
    out: list[RawEvent] = []
    blocks = [i for i, line in enumerate(lines) if line.startswith("Log Name:")]
    for b, start in enumerate(blocks):
        end = blocks[b + 1] if b + 1 < len(blocks) else len(lines)
        head: dict[str, str] = {}
        description: list[str] = []
        xml: list[str] = []
        part = "head"
        for full in lines[start:end]:
            line = _cut(full)
            if part == "head" and (m := _TEXT_HEADER.match(line)) is not None:
                head[m.group("key")] = m.group("value").strip()
            elif line.startswith("Description:"):
                part = "description"
            elif line.startswith("Event Xml:"):
                part = "xml"
            elif part == "description":
                description.append(line)
            elif part == "xml":
                xml.append(line)
        if xml:
            try:
                parsed = events_from_xml("\n".join(xml), source)
            except ValueError:
                parsed = []
            if parsed:
                ev = parsed[0]
                out.append(
                    RawEvent(
                        ev.event.model_copy(
                            update={"message": _cut(" ".join(" ".join(description).split()))}
                        ),
                        ev.fields,
                        Evidence(source=source, line_no=start + 1, text=ev.evidence.text),
                        head.get("Log Name", ev.channel),
                    )
                )
                continue
        raw_id = head.get("Event ID", "")
        if not raw_id.isdigit() or len(raw_id) > 6:
            continue
        event_id = int(raw_id)
        message = _cut(" ".join(" ".join(description).split()), 4 * MAX_LINE)
        provider = head.get("Source", "")
        fields = _text_fields(event_id, message, description)
        # the Details tab's EventData pasted after the description
        for key, value in _eventdata_fields(description).items():
            fields.setdefault(key, value)
        out.append(
            RawEvent(
                WindowsEvent(event_id=event_id, provider=provider, time=None, message=message),
                fields,
                Evidence(
                    source=source,
                    line_no=start + 1,
                    text=f"Event ID {event_id} {provider}: {message}"[:1000],
                ),
                head.get("Log Name", "System"),
            )
        )
    if blocks:
        return out
    if looks_like_friendly_view(text):
        friendly = _friendly_events(lines, 1, source)
        if friendly:
            return friendly
    # pasted messages: one event per paragraph that reads like one
    paragraphs: list[list[tuple[int, str]]] = []
    paragraph: list[tuple[int, str]] = []
    for n, full in enumerate([*lines, ""], start=1):
        line = _cut(full).strip()
        if line and len(paragraph) < _PARAGRAPH_LINES:
            paragraph.append((n, line))
            continue
        if paragraph:
            paragraphs.append(paragraph)
        paragraph = [(n, line)] if line else []
    for i, para in enumerate(paragraphs):
        message = " ".join(t for _, t in para)
        for pattern, event_id, provider, channel in _TEXT_MESSAGES:
            if pattern.search(message) is None:
                continue
            body = [t for _, t in para]
            if pattern is _BLUESCREEN and i + 1 < len(paragraphs):
                # WER 1001: "Problem signature:" and P1..P10 follow after a blank line
                body += [t for _, t in paragraphs[i + 1]]
            out.append(
                RawEvent(
                    WindowsEvent(event_id=event_id, provider=provider, time=None, message=message),
                    _text_fields(event_id, message, body),
                    Evidence(source=source, line_no=para[0][0], text=message[:1000]),
                    channel,
                )
            )
            break
    return out


# --- boot episodes ----------------------------------------------------------------------------
#
# A boot starts at LastBootUpTime (the running boot), Kernel-General 12 (the OS started), EventLog
# 6009 and 6005 (the event log service started). Kernel-Power 41, EventLog 6008, the bug check
# reports (BugCheck / WER-SystemErrorReporting 1001, WER BlueScreen) and volmgr's dump failures
# are written at the start of the boot AFTER an unclean end: they describe how the previous boot
# ended, so they belong to the previous episode (and 41/6008 also prove that a boot started).
# Every other event (1074, 6006, application crashes) belongs to the boot it was logged in.

SAME_BOOT: Final = timedelta(minutes=5)
"""Boot records closer than this are one boot."""
_LOGGED_LATE: Final = timedelta(minutes=1)
"""An at-boot event may carry a time slightly before the boot start another record gives."""
_DUMP_AFTER_BOOT: Final = timedelta(minutes=15)
"""MEMORY.DMP is finished while the next boot starts: its mtime may follow that boot's start."""
_DUMP_BEFORE_CRASH: Final = timedelta(minutes=10)
"""6008's time is Windows' last "alive" stamp: the crash (and its dump) may come a little later."""
_VERDICT_TEXT_MAX: Final = 80


def _boot_marker(e: RawEvent) -> bool:
    eid, provider = e.event.event_id, e.event.provider
    return (
        (eid in (6005, 6009, 6008) and "EventLog" in provider)
        or (eid == 12 and "Kernel-General" in provider)
        or (eid == 41 and "Kernel-Power" in provider)
    )


def _logged_at_next_boot(e: RawEvent) -> bool:
    eid, provider = e.event.event_id, e.event.provider
    return (
        _is(e, 41, "Kernel-Power")
        or _is(e, 6008, "EventLog")
        or (eid in _DUMP_FAILED and "volmgr" in provider)
        or _bugcheck(e) is not None
    )


def _boot_starts(events: Sequence[RawEvent], last_boot: datetime | None) -> list[datetime]:
    """One start per boot, newest first. Records after the running boot's start are no boot."""
    times = [e.event.time for e in events if _boot_marker(e) and e.event.time is not None]
    if last_boot is not None:
        times = [t for t in times if t <= last_boot + SAME_BOOT]
        times.append(last_boot)
    out: list[datetime] = []
    for t in sorted(times, reverse=True):
        if out and out[-1] - t <= SAME_BOOT:
            # the same boot: the earliest record is nearest to its start, LastBootUpTime first
            if out[-1] != last_boot:
                out[-1] = t
            continue
        out.append(t)
    return out


def _zone(value: str) -> tzinfo:
    """The collector's ``tz=+0800``; UTC when absent or malformed."""
    match = re.fullmatch(r"([+-])(\d\d)(\d\d)", value.strip())
    if match is None:
        return UTC
    offset = timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
    return timezone(-offset if match.group(1) == "-" else offset)


def _shutdown_time(e: RawEvent, zone: tzinfo) -> datetime | None:
    """When the unclean shutdown 6008 reports happened (its insertion strings are local time in
    the format of the guest's locale; None when that format is not a common English one)."""
    clock, day = _clean(_field(e, 0)), _clean(_field(e, 1))
    if not clock or not day:
        return None
    for day_format in ("%m/%d/%Y", "%Y/%m/%d", "%Y-%m-%d"):
        for clock_format in ("%I:%M:%S %p", "%H:%M:%S"):
            try:
                local = datetime.strptime(f"{day} {clock}", f"{day_format} {clock_format}")
            except ValueError:
                continue
            return local.replace(tzinfo=zone).astimezone(UTC)
    return None


def _short(text: str) -> str:
    """A guest string fit for a one-line verdict: printable, one line, bounded."""
    flat = "".join(ch if ch.isprintable() else " " for ch in text)
    flat = " ".join(flat.split())
    return flat if len(flat) <= _VERDICT_TEXT_MAX else flat[: _VERDICT_TEXT_MAX - 3] + "..."


def _episode_end(findings: Sequence[Finding]) -> EpisodeEnd:
    kinds = {f.kind for f in findings}
    if "bugcheck" in kinds:
        return "crash"
    if "unexpected_shutdown" in kinds:
        return "unclean"
    if "clean_reboot" in kinds:
        return "clean_reboot"
    if "clean_shutdown" in kinds:
        return "clean_shutdown"
    return "unknown"


def _by_whom(findings: Sequence[Finding], kind: str) -> tuple[str, str]:
    """The process and the user of the newest 1074 behind a clean-end finding."""
    for f in findings:
        if f.kind != kind:
            continue
        for ev in f.evidence:
            fields = _fields(ev.text)
            if fields.get("id") == "1074":
                process = _field_text(fields, "p0").split(" (", 1)[0]
                return _short(process), _short(_field_text(fields, "p6"))
    return "", ""


def _field_text(fields: Mapping[str, str], key: str) -> str:
    return (fields.get(key) or "").strip()


def _episode_verdict(findings: Sequence[Finding]) -> Text:
    """How one boot ended, in one line of each language."""
    end = _episode_end(findings)
    if end == "crash":
        check = next(f for f in findings if f.kind == "bugcheck")
        code = check.facts.bugcheck_code or "?"
        name = f" ({check.facts.bugcheck_name})" if check.facts.bugcheck_name else ""
        zh_name = f"（{check.facts.bugcheck_name}）" if check.facts.bugcheck_name else ""
        return Text(en=f"Blue screen {code}{name}", zh_CN=f"蓝屏 {code}{zh_name}")
    if end == "unclean":
        unclean = next(f for f in findings if f.kind == "unexpected_shutdown")
        if "power button was held down" in unclean.summary.en:
            return Text(
                en="Unexpected shutdown: the power button was held down (a forced power-off)",
                zh_CN="意外关机：电源按钮被长按（强制断电）",
            )
        return Text(
            en="Unexpected shutdown, no bug check",
            zh_CN="意外关机，没有蓝屏错误代码",
        )
    if end in ("clean_reboot", "clean_shutdown"):
        process, user = _by_whom(findings, end)
        en_verb, zh_verb = (
            ("Clean restart", "正常重启")
            if end == "clean_reboot"
            else ("Clean shutdown", "正常关机")
        )
        if not process:
            return Text(
                en=f"{en_verb} (the event log service stopped normally)",
                zh_CN=f"{zh_verb}（事件日志服务正常停止）",
            )
        en_user = f" (user {user})" if user else ""
        zh_user = f"（用户 {user}）" if user else ""
        return Text(
            en=f"{en_verb} by {process}{en_user}",
            zh_CN=f"由 {process} 发起的{zh_verb}{zh_user}",
        )
    return Text(en="No record of how this boot ended", zh_CN="没有记录本次启动是如何结束的")


@dataclass(frozen=True, slots=True)
class Episodes:
    """The boot episodes of one envelope and what the verdict rests on."""

    episodes: list[BootEpisode]
    findings: list[Finding]
    target_reboot: datetime | None
    reboot_in_window: bool | None


def _dump_position(
    dump: CrashDumpFile, starts: Sequence[datetime], crashes: Mapping[int, datetime]
) -> int | None:
    """The position (0 = running, 1 = the boot before, ...) of the episode whose crash ``dump``
    records, from its mtime; None when it fits none of the known episodes."""
    when = dump.modified
    if when is None:
        return None
    if when > starts[0] + _DUMP_AFTER_BOOT:
        return 0  # written during the running boot: no crash of an ended boot
    for p in range(1, len(starts) + 1):
        upper = starts[p - 1] + _DUMP_AFTER_BOOT
        lower: datetime | None = starts[p] if p < len(starts) else None
        if p in crashes:
            lower = crashes[p] - _DUMP_BEFORE_CRASH
        if when <= upper and (lower is None or when >= lower):
            return p
    return None


def build_episodes(
    events: Sequence[RawEvent],
    *,
    last_boot: datetime | None,
    window_start: datetime | None = None,
    target_time: datetime | None = None,
    dumps: Sequence[CrashDumpFile] = (),
    zone: tzinfo = UTC,
    context: DumpContext | None = None,
) -> Episodes:
    """Assign every event and dump to the boot it belongs to and pick the target episode.

    The target reboot is the running boot's start, or the boot start nearest ``target_time``;
    the target episode is the one that ended in it. When the running boot started before the
    log window, no reboot is in the window: the findings are those of the running boot.
    """
    system = [e for e in events if e.channel != "Application"]
    application = [e for e in events if e.channel == "Application"]
    starts = _boot_starts(events, last_boot)
    if not starts:
        return Episodes([], _findings(system, application, None, context), None, None)
    count = len(starts)
    in_window = window_start is None or starts[0] >= window_start

    def slot(t: datetime, late: timedelta = timedelta(0)) -> int:
        return next((i for i, s in enumerate(starts) if s <= t + late), count)

    target_boot = 0
    if target_time is not None:
        target_boot = min(
            range(count), key=lambda i: abs((starts[i] - target_time).total_seconds())
        )
    target = target_boot + 1 if in_window else None
    positions: dict[int, list[RawEvent]] = {p: [] for p in range(count + 1)}
    for e in events:
        if e.event.time is None:
            positions[target if target is not None else 0].append(e)
        elif _logged_at_next_boot(e):
            positions[min(slot(e.event.time, _LOGGED_LATE) + 1, count)].append(e)
        else:
            positions[slot(e.event.time)].append(e)
    crashes: dict[int, datetime] = {}
    for p, group in positions.items():
        if p == 0:
            continue
        for e in _newest([e for e in group if _is(e, 6008, "EventLog")]):
            when = _shutdown_time(e, zone)
            if when is None or when > starts[p - 1] or (p < count and when < starts[p]):
                continue
            crashes[p] = when
    files: dict[int, list[CrashDumpFile]] = {p: [] for p in range(count + 1)}
    for dump in dumps:
        if dump.modified is None:
            if target is not None:
                files[target].append(dump)
            continue
        position = _dump_position(dump, starts, crashes)
        if position is not None:
            files[position].append(dump)
    episodes: list[BootEpisode] = []
    by_position: dict[int, list[Finding]] = {}
    for p in range(count + 1):
        group = positions[p]
        ended_at = starts[p - 1] if p > 0 else None
        found = _findings(
            [e for e in group if e.channel != "Application"],
            [e for e in group if e.channel == "Application"],
            ended_at,
            context,
        )
        by_position[p] = found
        oldest = p == count
        if oldest and not found and not files[p] and p != target:
            continue  # nothing is known of the boot before the oldest one
        if oldest and window_start is not None and starts[-1] < window_start and p != target:
            continue  # it ended before the log window: its records were not read
        end = crashes.get(p, ended_at)
        episodes.append(
            BootEpisode(
                index=-p,
                start=starts[p] if p < count else None,
                end=end,
                ended="running" if p == 0 else _episode_end(found),
                target=p == target,
                findings=found,
                crash_files=files[p],
                verdict=None if p == 0 else _episode_verdict(found),
            )
        )
    return Episodes(
        episodes,
        by_position[target if target is not None else 0],
        starts[target_boot] if target is not None else None,
        in_window,
    )


def _file_line(line: str) -> CrashDumpFile | None:
    f = _fields(line)
    path = f.get("path")
    if not path:
        return None
    size = f.get("size_bytes", "")
    return CrashDumpFile(
        path=path,
        kind="minidump",
        size_bytes=int(size) if size.isdigit() else None,
        modified=_time(f.get("modified_utc")),
    )


def analyze_windows(envelope: Envelope, *, target_time: datetime | None = None) -> GuestEvidence:
    """Parse the sections of a Windows envelope, assign its events and dumps to boot episodes
    and take the findings of the episode that ended in the target reboot (the latest one, or
    the one nearest ``target_time``)."""
    meta = envelope.section("meta")
    kv = meta.kv() if meta is not None else {}
    epoch = kv.get("collected_at", "")
    collected = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else None
    since = kv.get("since_days", "")
    window_start = (
        collected - timedelta(days=int(since))
        if collected is not None and since.isdigit() and 0 < len(since) <= 3
        else None
    )
    os_sec = envelope.ok("os")
    os_kv = os_sec.kv() if os_sec is not None else {}
    uptime = os_kv.get("uptime_seconds", "")
    boot = _time(os_kv.get("last_boot_utc"))
    cc_sec = envelope.ok("crash_control")
    cc = cc_sec.kv() if cc_sec is not None else {}
    enabled = cc.get("CrashDumpEnabled", "")
    pf_sec = envelope.ok("pagefile")
    pagefile: bool | None = None
    if pf_sec is not None:
        pf = pf_sec.kv()
        files = [ln for ln in pf_sec.lines if ln.startswith("name=")]
        pagefile = bool(files) or pf.get("automatic_managed", "").lower() == "true"
    md_sec = envelope.ok("memory_dump")
    memory_dump: CrashDumpFile | None = None
    if md_sec is not None:
        md = md_sec.kv()
        if md.get("exists") == "1" and md.get("path"):
            size = md.get("size_bytes", "")
            memory_dump = CrashDumpFile(
                path=md["path"],
                kind="memory_dmp",
                size_bytes=int(size) if size.isdigit() else None,
                modified=_time(md.get("modified_utc")),
            )
    mini_sec = envelope.ok("minidumps")
    minidumps: list[CrashDumpFile] | None = None
    wer: list[Evidence] = []
    if mini_sec is not None:
        minidumps = [f for f in map(_file_line, mini_sec.lines) if f is not None]
        wer = [
            Evidence(source="guest:WER report archive", line_no=n, text=line)
            for n, line in enumerate(mini_sec.lines, start=1)
            if line.startswith("wer_report=")
        ]
    free = (pf_sec.kv() if pf_sec is not None else {}).get("system_drive_free_mb", "")
    memory = os_kv.get("total_memory_mb", "")
    auto_reboot = cc.get("AutoReboot", "")
    context = DumpContext(
        wer_reports=wer,
        system_drive_free_mb=int(free) if free.isdigit() else None,
        total_memory_mb=int(memory) if memory.isdigit() else None,
        auto_reboot=int(auto_reboot) if auto_reboot.isdigit() else None,
    )
    system = _events(envelope, "events_system", _SYSTEM)
    application = _events(envelope, "events_application", _APPLICATION)
    events = None
    if system is not None or application is not None:
        events = [e.event for e in (system or []) + (application or [])]
    episodes = build_episodes(
        [*(system or []), *(application or [])],
        last_boot=boot,
        window_start=window_start,
        target_time=target_time,
        dumps=[*([memory_dump] if memory_dump else []), *(minidumps or [])],
        zone=_zone(kv.get("tz", "")),
        context=context,
    )
    guest = WindowsGuest(
        product_name=os_kv.get("product_name") or None,
        last_boot_time=boot,
        uptime_seconds=int(uptime) if uptime.isdigit() else None,
        crash_dump_enabled=int(enabled) if enabled.isdigit() else None,
        dump_file_path=cc.get("DumpFile") or None,
        minidump_dir=cc.get("MinidumpDir") or None,
        pagefile_configured=pagefile,
        memory_dump=memory_dump,
        memory_dump_checked=md_sec is not None,
        minidumps=minidumps,
        events=events,
    )
    return GuestEvidence(
        os_type="windows",
        schema_version=envelope.schema_version,
        collector_version=envelope.version,
        collected_at=collected,
        sections=envelope.statuses(WINDOWS_SECTIONS),
        windows=guest,
        findings=episodes.findings,
        episodes=episodes.episodes,
        target_reboot=episodes.target_reboot,
        reboot_in_window=episodes.reboot_in_window,
        last_boot=boot,
        asked_reboot_time=target_time,
        log_window_days=int(since) if since.isdigit() and len(since) < 4 else None,
    )
