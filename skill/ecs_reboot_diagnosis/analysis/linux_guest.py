"""Read a Linux collector envelope into :class:`~ecs_reboot_diagnosis.models.GuestEvidence`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Final

from ecs_reboot_diagnosis.analysis.envelope import LINUX_SECTIONS, Envelope
from ecs_reboot_diagnosis.analysis.kernel_log import (
    LogLine,
    analyze_log_lines,
    kernel_message,
    parse_call_trace_frame,
    parse_modules,
    parse_rip,
)
from ecs_reboot_diagnosis.models import (
    CrashDumpFile,
    DumpKind,
    Evidence,
    Finding,
    FindingFacts,
    GuestEvidence,
    KdumpStatus,
    LinuxGuest,
)

__all__ = ["LOG_SECTIONS", "analyze_linux", "dump_kind", "source_label"]

LOG_SECTIONS: Final = (
    "syslog",
    "oom",
    "journal_kernel",
    "journal_tail",
    "dmesg",
    "pstore",
    "crash_dmesg",
)
_SOURCE_LABELS: Final = {
    "journal.prev": "journalctl -b -1",
    "journal.prev.kernel": "journalctl -k -b -1",
    "dmesg": "dmesg",
}
_DATA_LINE: Final = re.compile(r"^(?P<n>\d+):(?P<text>.*)$")
_MONO: Final = re.compile(r"\[\s*(?P<mono>\d+\.\d+)\]")
# "MTIME SIZE PATH" (collector 1.0) or "MTIME SIZE UID MODE PATH" (1.1: owner and octal mode)
_CRASH_LINE: Final = re.compile(
    r"^(?P<mtime>\d{1,12}) (?P<size>\d{1,20}) "
    r"(?:(?P<uid>\d{1,10}) (?P<mode>[0-7]{3,4}) )?(?P<path>/.*)$"
)
_CLEAN_TAIL: Final = re.compile(
    r"Reached target|System is (?:rebooting|powering down|halting)|systemd-shutdown|"
    r"Journal stopped|Shutting down|reboot: |Power key pressed"
)
_PANIC_LINE: Final = re.compile(r"Kernel panic - not syncing")


def source_label(label: str) -> str:
    """``guest:<file or command>`` for a ``#source=`` label of the envelope."""
    return "guest:" + _SOURCE_LABELS.get(label, label)


def dump_kind(path: str) -> DumpKind | None:
    name = path.rsplit("/", 1)[-1]
    if name == "vmcore-dmesg.txt":
        return "vmcore_dmesg"
    if name.startswith("vmcore"):
        return "vmcore"
    if name.startswith("dump."):
        return "dump"
    if name.startswith("dmesg."):
        return "dmesg"
    return None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if re.fullmatch(r"-?\d{1,18}", value) else None


def _zone(offset: str | None) -> tzinfo:
    match = re.fullmatch(r"([+-])(\d\d)(\d\d)", offset or "")
    if match is None:
        return UTC
    sign = 1 if match.group(1) == "+" else -1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


def _data_lines(lines: Iterable[str], source: str) -> Iterator[tuple[str, int, str]]:
    """(source, line number, text) of a log section's data lines; ``#source=`` switches file."""
    for raw in lines:
        if raw.startswith("#source="):
            source = source_label(raw.removeprefix("#source="))
            continue
        match = _DATA_LINE.match(raw)
        if match is not None:
            yield source, int(match.group("n")), match.group("text")


def _log_lines(
    env: Envelope, section: str, time_of: dict[str, datetime], boot: datetime | None
) -> Iterable[LogLine]:
    sec = env.section(section)
    if sec is None:
        return
    for source, line_no, text in _data_lines(sec.lines, "guest:" + section):
        time = time_of.get(source)
        if time is None and boot is not None and source == "guest:dmesg":
            mono = _MONO.match(text)
            if mono is not None:
                time = boot + timedelta(seconds=float(mono.group("mono")))
        yield LogLine(source=source, line_no=line_no, text=text, time=time)


def _crash_files(env: Envelope, zone: tzinfo) -> list[CrashDumpFile] | None:
    sec = env.ok("crash_files")
    if sec is None:
        return None
    files: list[CrashDumpFile] = []
    for raw in sec.lines:
        match = _CRASH_LINE.match(raw)
        if match is None:
            continue
        kind = dump_kind(match.group("path"))
        if kind is None:
            continue
        files.append(
            CrashDumpFile(
                path=match.group("path"),
                kind=kind,
                size_bytes=int(match.group("size")),
                modified=datetime.fromtimestamp(int(match.group("mtime")), zone),
                owner_uid=_int(match.group("uid")),
                mode=match.group("mode"),
            )
        )
    return files


def _kdump(env: Envelope) -> KdumpStatus:
    sec = env.ok("kdump")
    if sec is None:
        return KdumpStatus()
    kv = sec.kv()
    service = kv.get("service")
    state = kv.get("service_state")
    config = kv.get("config_file")
    loaded = kv.get("kexec_crash_loaded")
    crashkernel = kv.get("crashkernel")
    return KdumpStatus(
        service_name=service if service and service != "none" else None,
        service_state=state if state and state != "unknown" else None,
        crashkernel=crashkernel or None,
        crash_kernel_loaded=None if loaded is None else loaded.strip() == "1",
        config_file=config or None,
        config_exists=bool(config),
        dump_path=kv.get("dump_path") or None,
    )


def _kdump_saved(
    files: list[CrashDumpFile], env: Envelope, window_start: datetime | None
) -> Finding | None:
    dumps = [f for f in files if f.kind in ("vmcore", "dump")]
    texts = [f for f in files if f.kind in ("vmcore_dmesg", "dmesg")]
    if not dumps and not texts:
        return None
    newest = (dumps or texts)[0]
    evidence = [
        Evidence(
            source="guest:crash_files",
            text=f"{newest.path} {newest.size_bytes} bytes, modified "
            f"{newest.modified.isoformat() if newest.modified else 'unknown'}",
        )
    ]
    facts: dict[str, object] = {"timestamp": newest.modified}
    crash = env.ok("crash_dmesg")
    in_trace = False
    frames = 0
    if crash is not None:
        for source, line_no, text in _data_lines(crash.lines, ""):
            _, msg = kernel_message(text)
            keep = False
            if _PANIC_LINE.search(msg):
                facts["panic_reason"] = msg.split("not syncing:", 1)[-1].strip()
                keep, in_trace = True, False
            elif (rip := parse_rip(msg)) is not None and "rip_function" not in facts:
                facts["rip_function"], facts["rip_module"] = rip
                keep = True
            elif (mods := parse_modules(msg)) is not None and "modules" not in facts:
                facts["modules"] = mods
                keep = True
            elif "Call Trace" in msg:
                in_trace, keep = frames == 0, frames == 0
            elif in_trace and parse_call_trace_frame(msg) is not None and frames < 8:
                frames += 1
                keep = True
            if keep:
                evidence.append(Evidence(source=source, line_no=line_no, text=text))
    incomplete = newest.path.endswith("-incomplete")
    stale = (
        window_start is not None
        and newest.modified is not None
        and (newest.modified < window_start)
    )
    what = "a crash dump" if dumps else "a crash log (no vmcore or dump file beside it)"
    summary = f"kdump saved {what}: {newest.path}"
    if incomplete:
        summary += " (incomplete: the dump did not finish)"
    if facts.get("panic_reason"):
        summary += f"; panic reason: {facts['panic_reason']}"
    if stale:
        summary += "; it is older than the log window"
    confidence = "high" if dumps and not incomplete and not stale else "medium"
    if stale:
        confidence = "low"
    return Finding(
        kind="kdump_saved",
        severity="critical",
        summary=summary,
        evidence=evidence,
        facts=FindingFacts.model_validate(facts),
        confidence=confidence,
    )


def _abrupt_journal_end(env: Envelope, findings: list[Finding]) -> Finding | None:
    """The previous boot's journal ends without any shutdown step and no finding explains it."""
    tail = env.ok("journal_tail")
    if tail is None:
        return None
    lines = [(m.group("n"), m.group("text")) for m in map(_DATA_LINE.match, tail.lines) if m]
    if not lines or any(_CLEAN_TAIL.search(text) for _, text in lines):
        return None
    explained = {"kernel_panic", "clean_reboot", "clean_shutdown", "unexpected_shutdown"}
    if any(f.kind in explained for f in findings):
        return None
    n, text = lines[-1]
    return Finding(
        kind="unexpected_shutdown",
        severity="warning",
        summary="The previous boot's journal stops without a shutdown sequence: "
        "the system stopped abruptly (crash, hang and forced restart, or power loss)",
        evidence=[Evidence(source=source_label("journal.prev"), line_no=int(n), text=text)],
        confidence="low",
    )


def analyze_linux(envelope: Envelope) -> GuestEvidence:
    """Parse the sections of a Linux envelope and run the log analyzers over them."""
    meta = envelope.section("meta")
    kv = meta.kv() if meta is not None else {}
    zone = _zone(kv.get("tz"))
    epoch = _int(kv.get("collected_at"))
    collected = datetime.fromtimestamp(epoch, UTC) if epoch is not None else None
    local_now = collected.astimezone(zone) if collected is not None else None
    since_days = _int(kv.get("since_days"))
    window_start = (
        local_now - timedelta(days=since_days) if local_now and since_days is not None else None
    )
    os_sec = envelope.section("os")
    os_kv = os_sec.kv() if os_sec is not None else {}
    uptime = _int(os_kv.get("uptime_seconds"))
    boot = local_now - timedelta(seconds=uptime) if local_now is not None and uptime else None
    sysctl = envelope.section("sysctl")
    files = _crash_files(envelope, zone)
    time_of: dict[str, datetime] = {}
    for f in files or ():
        if f.modified is not None and f.kind in ("vmcore_dmesg", "dmesg"):
            time_of.setdefault("guest:" + f.path, f.modified)
    reboot = envelope.ok("reboot_history")
    records = list(reboot.lines) if reboot is not None else []
    lines = [
        line for section in LOG_SECTIONS for line in _log_lines(envelope, section, time_of, boot)
    ]
    findings = analyze_log_lines(
        lines, reference=local_now, reboot_records=records, window_start=window_start
    )
    saved = _kdump_saved(files or [], envelope, window_start)
    if saved is not None:
        findings.insert(0, saved)
    abrupt = _abrupt_journal_end(envelope, findings)
    if abrupt is not None:
        findings.append(abrupt)
    guest = LinuxGuest(
        os_release=os_kv.get("pretty_name") or os_kv.get("release") or os_kv.get("name") or None,
        kernel_version=os_kv.get("kernel") or None,
        uptime_seconds=uptime,
        boot_id=os_kv.get("boot_id") or None,
        sysctls=sysctl.kv() if sysctl is not None and sysctl.status == "ok" else {},
        kdump=_kdump(envelope),
        crash_files=files,
        reboot_records=records,
    )
    return GuestEvidence(
        os_type="linux",
        schema_version=envelope.schema_version,
        collector_version=envelope.version,
        collected_at=local_now,
        sections=envelope.statuses(LINUX_SECTIONS),
        linux=guest,
        findings=findings,
    )
