"""Read a Windows collector envelope into :class:`~ecs_reboot_diagnosis.models.GuestEvidence`.

Event lines are tab-separated ``key=value`` fields (``time``, ``id``, ``provider``, ``level``,
``p0``..``p9`` = the event's insertion strings, ``msg``). The analysis reads the insertion strings,
not the message, because messages are localised and the collector prints ASCII only.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from ecs_reboot_diagnosis.analysis.envelope import WINDOWS_SECTIONS, Envelope
from ecs_reboot_diagnosis.models import (
    FINDING_KINDS,
    CrashDumpFile,
    Evidence,
    Finding,
    FindingFacts,
    FindingKind,
    GuestEvidence,
    WindowsEvent,
    WindowsGuest,
)

__all__ = [
    "BUGCHECK_NAMES",
    "analyze_windows",
    "bugcheck_name",
    "normalize_bugcheck_code",
]

BUGCHECK_NAMES: Final[dict[str, str]] = {
    "0x00000001": "APC_INDEX_MISMATCH",
    "0x0000000A": "IRQL_NOT_LESS_OR_EQUAL",
    "0x0000001A": "MEMORY_MANAGEMENT",
    "0x0000001E": "KMODE_EXCEPTION_NOT_HANDLED",
    "0x00000024": "NTFS_FILE_SYSTEM",
    "0x0000002E": "DATA_BUS_ERROR",
    "0x0000003B": "SYSTEM_SERVICE_EXCEPTION",
    "0x0000003D": "INTERRUPT_EXCEPTION_NOT_HANDLED",
    "0x0000004E": "PFN_LIST_CORRUPT",
    "0x00000050": "PAGE_FAULT_IN_NONPAGED_AREA",
    "0x0000007A": "KERNEL_DATA_INPAGE_ERROR",
    "0x0000007B": "INACCESSIBLE_BOOT_DEVICE",
    "0x0000007E": "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED",
    "0x0000007F": "UNEXPECTED_KERNEL_MODE_TRAP",
    "0x0000008E": "KERNEL_MODE_EXCEPTION_NOT_HANDLED",
    "0x0000009C": "MACHINE_CHECK_EXCEPTION",
    "0x0000009E": "USER_MODE_HEALTH_MONITOR",
    "0x0000009F": "DRIVER_POWER_STATE_FAILURE",
    "0x000000C2": "BAD_POOL_CALLER",
    "0x000000C5": "DRIVER_CORRUPTED_EXPOOL",
    "0x000000D1": "DRIVER_IRQL_NOT_LESS_OR_EQUAL",
    "0x000000E2": "MANUALLY_INITIATED_CRASH",
    "0x000000EF": "CRITICAL_PROCESS_DIED",
    "0x000000F4": "CRITICAL_OBJECT_TERMINATION",
    "0x000000FC": "ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY",
    "0x00000101": "CLOCK_WATCHDOG_TIMEOUT",
    "0x00000109": "CRITICAL_STRUCTURE_CORRUPTION",
    "0x00000116": "VIDEO_TDR_FAILURE",
    "0x00000124": "WHEA_UNCORRECTABLE_ERROR",
    "0x00000133": "DPC_WATCHDOG_VIOLATION",
    "0x00000139": "KERNEL_SECURITY_CHECK_FAILURE",
    "0x0000013A": "KERNEL_MODE_HEAP_CORRUPTION",
    "0x00000144": "BUGCODE_USB3_DRIVER",
    "0x00000154": "UNEXPECTED_STORE_EXCEPTION",
    "0x0000015F": "CONNECTED_STANDBY_WATCHDOG_TIMEOUT_LIVEDUMP",
    "0x00000187": "VIDEO_DWMINIT_TIMEOUT_FALLBACK_BDD",
    "0x000001C8": "MANUALLY_INITIATED_POWER_BUTTON_HOLD",
    "0x000001CA": "SYNTHETIC_WATCHDOG_TIMEOUT",
    "0xC000021A": "STATUS_SYSTEM_PROCESS_TERMINATED",
    "0xDEADDEAD": "MANUALLY_INITIATED_CRASH1",
}
_HEX: Final = re.compile(r"^(?:0x)?([0-9a-fA-F]{1,8})$")
_BUGCHECK_IN_TEXT: Final = re.compile(r"\b0x([0-9a-fA-F]{1,8})\b")
_SYSTEM: Final = "guest:System event log"
_APPLICATION: Final = "guest:Application event log"


def normalize_bugcheck_code(value: str | int) -> str | None:
    """``0x0000009f``, ``9f`` or ``159`` (decimal, as Kernel-Power 41 has it) -> ``0x0000009F``."""
    if isinstance(value, int):
        number = value
    else:
        text = value.strip()
        if text.isdigit() and not text.startswith("0x"):
            number = int(text)
        else:
            match = _HEX.match(text)
            if match is None:
                return None
            number = int(match.group(1), 16)
    if not 0 < number <= 0xFFFFFFFF:
        return None
    return f"0x{number:08X}"


def bugcheck_name(code: str) -> str | None:
    return BUGCHECK_NAMES.get(code)


@dataclass(frozen=True, slots=True)
class _Event:
    event: WindowsEvent
    fields: dict[str, str]
    evidence: Evidence


def _fields(line: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in line.split("\t"):
        key, sep, value = part.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def _events(env: Envelope, section: str, source: str) -> list[_Event] | None:
    sec = env.section(section)
    if sec is None or sec.status != "ok":
        return None
    out: list[_Event] = []
    for n, line in enumerate(sec.lines, start=1):
        if line.startswith("#"):
            continue
        f = _fields(line)
        if not f.get("id", "").isdigit():
            continue
        event = WindowsEvent(
            event_id=int(f["id"]),
            provider=f.get("provider", ""),
            time=_time(f.get("time")),
            message=f.get("msg", ""),
        )
        out.append(_Event(event, f, Evidence(source=source, line_no=n, text=line)))
    return out


def _finding(
    kind: FindingKind,
    summary: str,
    events: Sequence[_Event],
    facts: dict[str, object] | None = None,
    confidence: str = "high",
) -> Finding:
    newest = sorted(events, key=lambda e: e.event.time or datetime.min.replace(tzinfo=UTC))
    facts = dict(facts or {})
    facts.setdefault("event_ids", sorted({e.event.event_id for e in events}))
    if newest and newest[-1].event.time is not None:
        facts.setdefault("timestamp", newest[-1].event.time)
    severity = {"bugcheck": "critical", "clean_reboot": "info", "clean_shutdown": "info"}.get(
        kind, "warning"
    )
    return Finding(
        kind=kind,
        severity=severity,
        summary=summary,
        evidence=[e.evidence for e in reversed(newest)][:5],
        facts=FindingFacts.model_validate(facts),
        confidence=confidence,
    )


def _bugcheck_code(e: _Event) -> str | None:
    f = e.fields
    eid, provider = e.event.event_id, e.event.provider
    if eid == 41 and "Kernel-Power" in provider:
        return normalize_bugcheck_code(f.get("p0", "0")) if f.get("p0", "0") != "0" else None
    if eid == 1001 and ("SystemErrorReporting" in provider or provider == "BugCheck"):
        for text in (f.get("p0", ""), e.event.message):
            match = _BUGCHECK_IN_TEXT.search(text)
            if match is not None:
                return normalize_bugcheck_code(match.group(1))
    if eid == 1001 and provider == "Windows Error Reporting" and f.get("p2") == "BlueScreen":
        return normalize_bugcheck_code(f.get("p5", ""))
    return None


def _findings(
    system: list[_Event], application: list[_Event], boot: datetime | None
) -> list[Finding]:
    findings: list[Finding] = []
    unexpected = [
        e
        for e in system
        if (e.event.event_id == 41 and "Kernel-Power" in e.event.provider)
        or (e.event.event_id == 6008 and "EventLog" in e.event.provider)
    ]
    if unexpected:
        counts = Counter(e.event.event_id for e in unexpected)
        parts = [f"Kernel-Power 41 x{counts[41]}" if counts[41] else "",
                 f"EventLog 6008 x{counts[6008]}" if counts[6008] else ""]  # fmt: skip
        button = any(e.fields.get("p6", "0") not in ("", "0") for e in unexpected)
        findings.append(
            _finding(
                "unexpected_shutdown",
                "Unexpected shutdown recorded ("
                + ", ".join(p for p in parts if p)
                + ")"
                + ("; the power button was held" if button else ""),
                unexpected,
            )
        )
    checks = [(e, code) for e in [*system, *application] if (code := _bugcheck_code(e))]
    if checks:
        newest = max(checks, key=lambda ec: ec[0].event.time or datetime.min.replace(tzinfo=UTC))
        code = newest[1]
        name = bugcheck_name(code)
        findings.append(
            _finding(
                "bugcheck",
                f"Blue screen (bug check {code}{' ' + name if name else ''})",
                [e for e, _ in checks],
                {"bugcheck_code": code, "bugcheck_name": name},
            )
        )
    reboots: list[_Event] = []
    shutdowns: list[_Event] = []
    for e in system:
        if e.event.event_id != 1074:
            continue
        kind = e.fields.get("p4", "").lower().strip()
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
    stopped = [e for e in system if e.event.event_id == 6006 and "EventLog" in e.event.provider]
    for kind, group in (("clean_reboot", reboots), ("clean_shutdown", shutdowns)):
        if not group:
            continue
        last = max(group, key=lambda e: e.event.time or datetime.min.replace(tzinfo=UTC))
        who = last.fields.get("p6", "")
        process = last.fields.get("p0", "").split(" (", 1)[0]
        verb = "restart" if kind == "clean_reboot" else "shutdown"
        text = f"Orderly {verb} requested by {process or 'a process'}"
        text += f" as {who}" if who else ""
        reason = last.fields.get("p2", "")
        text += f" (reason: {reason})" if reason else ""
        related = [
            s for s in stopped
            if last.event.time and s.event.time
            and timedelta(0) <= s.event.time - last.event.time <= timedelta(minutes=10)
        ]  # fmt: skip
        findings.append(
            _finding(
                kind,  # type: ignore[arg-type]
                text,
                [*group, *related],
                {"process": process.rsplit("\\", 1)[-1] or None},
            )
        )
        stopped = [s for s in stopped if s not in related]
    if stopped and not reboots and not shutdowns:
        findings.append(
            _finding(
                "clean_shutdown",
                "The event log service stopped normally (orderly shutdown)",
                stopped,
                confidence="medium",
            )
        )
    crashes: list[tuple[_Event, str]] = []
    for e in application:
        eid, provider = e.event.event_id, e.event.provider
        if eid == 1000 and provider == "Application Error" and e.fields.get("p0"):
            crashes.append((e, e.fields["p0"]))
        elif (
            eid == 1001
            and provider == "Windows Error Reporting"
            and (e.fields.get("p2") == "APPCRASH" and e.fields.get("p5"))
        ):
            crashes.append((e, e.fields["p5"]))
    if crashes:
        app_counts = Counter(app for ev, app in crashes if ev.event.event_id == 1000) or Counter(
            app for _ev, app in crashes
        )
        newest_app = max(
            crashes, key=lambda ec: ec[0].event.time or datetime.min.replace(tzinfo=UTC)
        )
        listed = ", ".join(f"{app} x{n}" for app, n in app_counts.most_common(5))
        findings.append(
            _finding(
                "app_crash",
                f"Application crashes: {listed}",
                [e for e, _ in crashes],
                {"process": newest_app[1]},
            )
        )
    rank = {"critical": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda f: (rank[f.severity], FINDING_KINDS.index(f.kind)))
    return findings


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


def analyze_windows(envelope: Envelope) -> GuestEvidence:
    """Parse the sections of a Windows envelope and turn its events into findings."""
    meta = envelope.section("meta")
    kv = meta.kv() if meta is not None else {}
    epoch = kv.get("collected_at", "")
    collected = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else None
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
    if mini_sec is not None:
        minidumps = [f for f in map(_file_line, mini_sec.lines) if f is not None]
    system = _events(envelope, "events_system", _SYSTEM)
    application = _events(envelope, "events_application", _APPLICATION)
    events = None
    if system is not None or application is not None:
        events = [e.event for e in (system or []) + (application or [])]
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
        findings=_findings(system or [], application or [], boot),
    )
