"""Read a Linux collector envelope into :class:`~ecs_reboot_diagnosis.models.GuestEvidence`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Final

from ecs_reboot_diagnosis.analysis.boot_episodes import (
    SAME_BOOT,
    Boot,
    crash_time_from_path,
    episode_index,
    merge_boots,
    nearest_boot,
    parse_list_boots,
)
from ecs_reboot_diagnosis.analysis.conclusions import episode_verdict
from ecs_reboot_diagnosis.analysis.envelope import LINUX_SECTIONS, Envelope
from ecs_reboot_diagnosis.analysis.findings import analyze_log_lines
from ecs_reboot_diagnosis.analysis.incident_context import (
    is_entry_frame,
    parse_call_trace_frame,
    parse_modules,
    parse_rip,
    strip_trace_markers,
)
from ecs_reboot_diagnosis.analysis.log_lines import (
    LogLine,
    cut_line,
    kernel_message,
    parse_syslog_time,
    quoted,
    syslog_host,
)
from ecs_reboot_diagnosis.analysis.reboot_records import RebootRecord, parse_last_records
from ecs_reboot_diagnosis.analysis.signatures import reports_unclean_end
from ecs_reboot_diagnosis.models import (
    BootEpisode,
    Confidence,
    CrashDumpFile,
    DumpKind,
    EpisodeEnd,
    Evidence,
    Finding,
    FindingFacts,
    FindingKind,
    GuestEvidence,
    KdumpStatus,
    LinuxGuest,
    Text,
)
from ecs_reboot_diagnosis.tables import linux_results

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
    """The newest dump of ``files`` (one episode's, or all of them) as a finding.

    Only the crash log lying beside that dump (same directory) and not itself suspicious gives
    the panic reason, RIP and trace: a ``vmcore-dmesg.txt`` of another directory is another crash.
    """
    honest = [f for f in files if f.suspicious is None]
    pool = honest or files
    dumps = [f for f in pool if f.kind in ("vmcore", "dump")]
    texts = [f for f in pool if f.kind in ("vmcore_dmesg", "dmesg")]
    if not dumps and not texts:
        return None
    newest = (dumps or texts)[0]
    directory = newest.path.rsplit("/", 1)[0]
    readable = {
        "guest:" + f.path
        for f in texts
        if f.suspicious is None and f.path.rsplit("/", 1)[0] == directory
    }
    evidence = [
        Evidence(
            source="guest:crash_files",
            text=f"{newest.path} {newest.size_bytes} bytes, modified "
            f"{newest.modified.isoformat() if newest.modified else 'unknown'}",
        )
    ]
    facts: dict[str, object] = {"timestamp": newest.crash_time or newest.modified}
    crash = env.ok("crash_dmesg")
    crash_lines: list[LogLine] = []
    if crash is not None:
        for source, line_no, text in _data_lines(crash.lines, ""):
            if source not in readable:
                continue
            crash_lines.append(LogLine(source=source, line_no=line_no, text=text))
    for line in crash_lines:
        _, msg = kernel_message(line.text)
        keep = False
        if _PANIC_LINE.search(msg):
            facts["panic_reason"] = msg.split("not syncing:", 1)[-1].strip()
            keep = True
        elif (rip := parse_rip(msg)) is not None and "rip_function" not in facts:
            facts["rip_function"], facts["rip_module"] = rip
            keep = True
        elif (mods := parse_modules(msg)) is not None and "modules" not in facts:
            facts["modules"] = mods
            keep = True
        if keep:
            evidence.append(Evidence(source=line.source, line_no=line.line_no, text=line.text))
    trace = _crash_trace(crash_lines)
    evidence.extend(
        Evidence(source=line.source, line_no=line.line_no, text=line.text) for line in trace
    )
    if "rip_function" not in facts:
        # no RIP line: the first frame of the crashing CPU's trace past the entry frames
        for line in trace:
            frame = parse_call_trace_frame(strip_trace_markers(kernel_message(line.text)[1]))
            if frame is not None and frame[2] and not is_entry_frame(frame[0]):
                facts["rip_function"], facts["rip_module"] = frame[0], frame[1]
                break
    oops = None if "panic_reason" in facts else _captured_oops(crash_lines)
    if oops is not None:
        # kdump loaded and panic_on_oops=1: the kernel jumps to the capture kernel from the oops
        # itself, so the crash log ends with the oops and its trace and holds no panic line
        _, header = kernel_message(oops.evidence[0].text)
        facts["panic_reason"] = header.strip()
        facts["panicked"] = False
        for name in ("rip_function", "rip_module", "modules", "process", "pid", "kernel_version"):
            value = getattr(oops.facts, name)
            if value is not None and value != []:
                facts[name] = value
        if oops.evidence[0] not in evidence:
            evidence.insert(1, oops.evidence[0])
    incomplete = newest.path.endswith("-incomplete")
    stale = (
        window_start is not None
        and newest.modified is not None
        and (newest.modified < window_start)
    )
    what = "a crash dump" if dumps else "a crash log (no vmcore or dump file beside it)"
    what_zh = "崩溃转储" if dumps else "崩溃日志（旁边没有 vmcore 或转储文件）"
    summary = f"kdump saved {what}: {newest.path}"
    summary_zh = f"kdump 保存了{what_zh}：{quoted(newest.path)}"
    reason = str(facts.get("panic_reason") or "")
    if incomplete:
        summary += " (incomplete: the dump did not finish)"
        summary_zh += "（不完整：转储未完成）"
    if oops is not None:
        summary += f"; kdump captured the oops itself (no panic line): {reason}"
        summary_zh += f"；kdump 直接捕获了 oops（没有 panic 行）：{quoted(reason)}"
    elif reason:
        summary += f"; panic reason: {reason}"
        summary_zh += f"；panic 原因：{quoted(reason)}"
    if stale:
        summary += "; it is older than the log window"
        summary_zh += "；它早于日志时间窗口"
    confidence: Confidence = "high" if dumps and not incomplete and not stale else "medium"
    if stale:
        confidence = "low"
    trusted = newest.suspicious is None
    if newest.suspicious is not None:
        summary += f"; suspicious: {newest.suspicious.en}"
        summary_zh += f"；可疑：{newest.suspicious.zh_CN}"
        confidence = "low"
        evidence = [e.model_copy(update={"trust": "unconfirmed"}) for e in evidence]
    return Finding(
        kind="kdump_saved",
        severity="critical",
        summary=Text(en=summary, zh_CN=summary_zh),
        evidence=evidence,
        facts=FindingFacts.model_validate(facts),
        confidence=confidence,
        trusted=trusted,
    )


MAX_TRACE_FRAMES: Final = 16
_CPU_OF: Final = re.compile(r"\bCPU: (?P<cpu>\d+) (?:UID: \d+ )?PID: ")
_CRASH_CPU: Final = re.compile(
    r"(?:soft lockup - CPU#|hard LOCKUP on cpu |LOCKUP on cpu |CPU (?=\d+: Machine Check))"
    r"(?P<cpu>\d+)"
)


def _crash_trace(lines: list[LogLine]) -> list[LogLine]:
    """The call trace of the crashing CPU: ``Call Trace:`` and its frames, up to
    :data:`MAX_TRACE_FRAMES`, without ``?`` unreliable frames.

    Several CPUs may print a trace (an NMI-triggered panic backtraces the others first): the
    block printed under the crashing CPU's ``CPU: N PID:`` line wins (N from the lockup header
    or the CPU line after the panic), else the block nearest before the panic line, else the
    first one.
    """
    blocks: list[tuple[int | None, int, list[LogLine]]] = []  # (cpu, index, lines)
    crash_cpu: int | None = None
    panic_at: int | None = None
    cpu: int | None = None
    current: list[LogLine] | None = None
    for index, line in enumerate(lines):
        _, msg = kernel_message(line.text)
        if (m := _CRASH_CPU.search(msg)) is not None and crash_cpu is None:
            crash_cpu = int(m.group("cpu"))
        if (m := _CPU_OF.search(msg)) is not None:
            cpu = int(m.group("cpu"))
            if panic_at is not None and crash_cpu is None:
                crash_cpu = cpu  # the panic dumps its own stack right after its line
        if _PANIC_LINE.search(msg):
            panic_at = index
        if "Call Trace" in msg:
            current = [line]
            blocks.append((cpu, index, current))
            continue
        if current is None:
            continue
        # "<NMI>  [<addr>] dump_stack+0x19/0x1b", "<IRQ> [ 10.5]  [<addr>] ? panic+..": markers
        # (and a stamp printed after one) before the frame
        rest = strip_trace_markers(msg)
        frame = parse_call_trace_frame(rest)
        if frame is not None:
            if frame[2] and len(current) <= MAX_TRACE_FRAMES:
                current.append(line)
        elif rest.strip():
            current = None
    if not blocks:
        return []
    if crash_cpu is not None:
        mine = [b for b in blocks if b[0] == crash_cpu]
        if mine:
            return mine[0][2]
    if panic_at is not None:
        before = [b for b in blocks if b[1] < panic_at]
        if before:
            return before[-1][2]
    return blocks[0][2]


_OOPS_KINDS: Final[frozenset[FindingKind]] = frozenset(
    {"null_pointer", "gpf", "kernel_bug", "oops"}
)


def _captured_oops(lines: list[LogLine]) -> Finding | None:
    """The oops a crash log ends with when it holds no panic line, as its finding (the cause
    first: a NULL dereference or BUG rather than the generic oops)."""
    findings = analyze_log_lines(lines)
    if any(f.kind == "kernel_panic" for f in findings):
        return None
    return next((f for f in findings if f.kind in _OOPS_KINDS and f.evidence), None)


def _journal_tail(env: Envelope) -> list[tuple[str, str]]:
    tail = env.ok("journal_tail")
    if tail is None:
        return []
    return [(m.group("n"), m.group("text")) for m in map(_DATA_LINE.match, tail.lines) if m]


def _abrupt_journal_end(env: Envelope, findings: list[Finding]) -> Finding | None:
    """The previous boot's journal ends without any shutdown step and no finding explains it."""
    lines = _journal_tail(env)
    if not lines or any(_CLEAN_TAIL.search(text) for _, text in lines):
        return None
    explained = {"kernel_panic", "clean_reboot", "clean_shutdown", "unexpected_shutdown"}
    if any(f.kind in explained and f.trusted for f in findings):
        return None
    n, text = lines[-1]
    return Finding(
        kind="unexpected_shutdown",
        severity="warning",
        summary=Text(
            en="The previous boot's journal stops without a shutdown sequence: "
            "the system stopped abruptly (crash, hang and forced restart, or power loss)",
            zh_CN="上一次启动的 journal 日志在没有任何关机流程的情况下中断：系统突然停止"
            "（崩溃、挂起后被强制重启，或断电）",
        ),
        evidence=[
            Evidence(source=source_label("journal.prev"), line_no=int(n), text=cut_line(text))
        ],
        confidence="low",
    )


# --- boot episodes ----------------------------------------------------------------------------

# Sources only the kernel (or root) writes; everything else is text any program can log.
_TEXT_SOURCE_PREFIXES: Final = ("guest:/var/log/",)
_TEXT_SOURCES: Final = frozenset({source_label("journal.prev")})
_PREV_BOOT_SOURCES: Final = frozenset(
    {source_label("journal.prev"), source_label("journal.prev.kernel")}
)
# Events that end a boot: when the boot goes on long after them, they did not end it.
_TERMINAL: Final[frozenset[FindingKind]] = frozenset(
    {
        "kernel_panic",
        "oom_panic",
        "sysrq_crash",
        "init_killed",
        "vfs_root_mount",
        "clean_reboot",
        "clean_shutdown",
    }
)
_CLEAN: Final[frozenset[FindingKind]] = frozenset({"clean_reboot", "clean_shutdown"})
# Findings about how the boot came to an end, not about a kernel event.
_NOT_KERNEL: Final[frozenset[FindingKind]] = _CLEAN | {"unexpected_shutdown", "kdump_saved"}
_LIVED_ON: Final = timedelta(minutes=10)
_BOOT_TIME: Final = timedelta(minutes=10)  # how long after a boot its start-up lines come
_BANNER: Final = re.compile(r"^(?:Linux version \d|Command line: )")
_WORLD_WRITABLE: Final = re.compile(r"^[0-7]?[0-7][0-7][2367]$")
_DIR_LINE: Final = re.compile(
    r"^#dir=(?P<mtime>\d{1,12}) (?P<uid>\d{1,10}) (?P<mode>[0-7]{3,4}) (?P<path>/.*)$"
)


def _is_text_source(source: str) -> bool:
    return source in _TEXT_SOURCES or source.startswith(_TEXT_SOURCE_PREFIXES)


def _same_host(name: str, hosts: frozenset[str]) -> bool:
    name = name.lower()
    return name in hosts or name.split(".", 1)[0] in hosts


def _boot_kv(env: Envelope) -> dict[str, str]:
    sec = env.ok("boot")
    return sec.kv() if sec is not None else {}


def _host_names(boot: dict[str, str]) -> list[str]:
    names: list[str] = []
    for key in ("hostname", "etc_hostname"):
        value = boot.get(key, "").strip().lower()
        if re.fullmatch(r"[a-z0-9][a-z0-9.-]{0,252}", value) and value not in names:
            names.append(value)
    return names


def _last_boot(
    boot: dict[str, str], local_now: datetime | None, uptime: int | None, zone: tzinfo
) -> datetime | None:
    btime = _int(boot.get("btime"))
    if btime is not None and btime > 0:
        return datetime.fromtimestamp(btime, zone)
    if local_now is not None and uptime:
        return local_now - timedelta(seconds=uptime)
    return None


def _dirs(env: Envelope) -> dict[str, tuple[int | None, str]]:
    """``#dir=`` lines of ``crash_files``: directory -> (owner uid, octal mode)."""
    sec = env.ok("crash_files")
    out: dict[str, tuple[int | None, str]] = {}
    for raw in sec.lines if sec is not None else ():
        match = _DIR_LINE.match(raw)
        if match is not None:
            out[match.group("path").rstrip("/")] = (_int(match.group("uid")), match.group("mode"))
    return out


def _judge_crash_file(
    f: CrashDumpFile,
    zone: tzinfo,
    now: datetime | None,
    boots: list[Boot],
    dirs: dict[str, tuple[int | None, str]],
    dump_roots: tuple[str, ...],
) -> CrashDumpFile:
    """Date a crash file by the crash it records and say why it cannot be trusted, if so."""
    crash_time = crash_time_from_path(f.path, zone)
    why: list[tuple[str, str]] = []  # (en, zh-CN)
    parent = f.path.rsplit("/", 1)[0]
    if f.modified is not None and now is not None and f.modified > now + timedelta(minutes=5):
        why.append(("its modification time is in the future", "其修改时间在未来"))
    if f.owner_uid is not None and f.owner_uid != 0:
        why.append(
            (
                f"it is owned by uid {f.owner_uid}, not root",
                f"其属主为 uid {f.owner_uid}，不是 root",
            )
        )
    if f.mode is not None and _WORLD_WRITABLE.match(f.mode):
        why.append(
            (f"it is writable by any user (mode {f.mode})", f"任何用户都可写（权限 {f.mode}）")
        )
    owner_mode = dirs.get(parent)
    if owner_mode is not None:
        uid, mode = owner_mode
        if uid not in (None, 0):
            why.append(
                (
                    f"its directory is owned by uid {uid}, not root",
                    f"其目录属主为 uid {uid}，不是 root",
                )
            )
        elif _WORLD_WRITABLE.match(mode) and parent.rstrip("/") not in dump_roots:
            why.append(
                (
                    f"its directory is writable by any user (mode {mode})",
                    f"其目录任何用户都可写（权限 {mode}）",
                )
            )
    if parent.rstrip("/") in dump_roots or crash_time is None:
        why.append(
            (
                "it is not in a kdump crash directory (no crash time in the directory name)",
                "它不在 kdump 崩溃目录中（目录名中没有崩溃时间）",
            )
        )
    if crash_time is not None and f.modified is not None:
        if f.modified < crash_time - timedelta(minutes=5):
            why.append(
                (
                    "it was modified before the crash it claims to record",
                    "其修改时间早于它所记录的崩溃",
                )
            )
        else:
            after = [b.start for b in boots if b.start > crash_time]
            next_boot = min(after) if after else None
            if next_boot is not None and f.modified > next_boot + timedelta(minutes=30):
                why.append(
                    (
                        "it was written long after the boot that followed the crash it records",
                        "它在所记录崩溃之后的那次启动很久以后才写入",
                    )
                )
    if crash_time is not None and boots and crash_time >= boots[0].start:
        why.append(
            ("it claims a crash during the running boot", "它声称崩溃发生在当前这次启动期间")
        )
    suspicious = (
        Text(en="; ".join(en for en, _ in why), zh_CN="；".join(zh for _, zh in why))
        if why
        else None
    )
    return f.model_copy(update={"crash_time": crash_time, "suspicious": suspicious})


def _boots(
    env: Envelope,
    zone: tzinfo,
    last_boot: datetime | None,
    records: list[RebootRecord],
    banners: list[datetime],
) -> list[Boot]:
    found: list[Boot] = []
    if last_boot is not None:
        found.append(Boot(last_boot, "btime"))
    boots_sec = env.ok("journal_boots")
    if boots_sec is not None:
        found.extend(
            Boot(row.first, "journal", row.boot_id)
            for row in parse_list_boots(boots_sec.lines, zone)
            if row.first is not None
        )
    found.extend(
        Boot(rec.start, "wtmp") for rec in records if rec.kind == "reboot" and rec.start is not None
    )
    found.extend(Boot(t, "banner") for t in banners)
    return merge_boots(found, latest=last_boot)


def _records_ending(parsed: list[RebootRecord], boot: Boot) -> list[str]:
    """The ``last -x`` reboot record of ``boot`` and the record before it (how the boot before
    ended), or nothing when wtmp has no record of that boot."""
    for i, rec in enumerate(parsed):
        if (
            rec.kind == "reboot"
            and rec.start is not None
            and abs(rec.start - boot.start) <= SAME_BOOT
            and i + 1 < len(parsed)
        ):
            return [rec.text, parsed[i + 1].text]
    return []


LIVED_ON: Final = Text(en="the boot went on long after this line", zh_CN="此行之后系统又运行了很久")
NO_WTMP_SHUTDOWN: Final = Text(
    en="wtmp has no shutdown record for this boot", zh_CN="wtmp 中没有本次启动的关机记录"
)
NOT_IN_KERNEL_LOG: Final = Text(
    en="not in the kernel's own log of this boot", zh_CN="本次启动的内核日志中没有这一行"
)


def _unconfirmed(f: Finding, why: Text) -> Finding:
    summary = Text(
        en=f"{f.summary.en} [unconfirmed: {why.en}]",
        zh_CN=f"{f.summary.zh_CN}（未经确认：{why.zh_CN}）",
    )
    return f.model_copy(
        update={
            "trusted": False,
            "confidence": "low",
            "summary": summary,
            "evidence": [e.model_copy(update={"trust": "unconfirmed"}) for e in f.evidence],
        }
    )


def _weigh(
    findings: list[Finding],
    lines: list[LogLine],
    kernel_kinds: set[FindingKind],
    covered: bool,
    wtmp_unclean: bool,
) -> list[Finding]:
    """Mark findings that rest only on text any user can write and that nothing confirms."""
    times = [line.time for line in lines if line.time is not None]
    last_seen = max(times, default=None)
    out: list[Finding] = []
    for f in findings:
        sources = {e.source for e in f.evidence} - {"guest:crash_files"}
        text_only = bool(sources) and all(_is_text_source(source) for source in sources)
        when = f.facts.timestamp
        lived_on = (
            f.kind in _TERMINAL
            and when is not None
            and last_seen is not None
            and last_seen - when > _LIVED_ON
        )
        if not text_only:
            out.append(f)
        elif lived_on:
            out.append(_unconfirmed(f, LIVED_ON))
        elif f.kind in _CLEAN and wtmp_unclean:
            out.append(_unconfirmed(f, NO_WTMP_SHUTDOWN))
        elif f.kind not in _NOT_KERNEL and covered and f.kind not in kernel_kinds:
            out.append(_unconfirmed(f, NOT_IN_KERNEL_LOG))
        else:
            out.append(f)
    return out


def _assign(
    lines: list[LogLine],
    files: list[CrashDumpFile],
    pstore_times: dict[str, datetime],
    boots: list[Boot],
) -> tuple[dict[int, list[LogLine]], dict[int, list[CrashDumpFile]]]:
    by_file: dict[str, int] = {}
    files_of: dict[int, list[CrashDumpFile]] = {}
    for f in files:
        when = f.crash_time or f.modified
        ended = episode_index(when, boots) if when is not None else -1
        ended = min(ended, -1)  # a dump always records a boot that has ended
        by_file["guest:" + f.path] = ended
        files_of.setdefault(ended, []).append(f)
    lines_of: dict[int, list[LogLine]] = {}
    for line in lines:
        index: int | None
        if line.source in _PREV_BOOT_SOURCES:
            index = -1
            start = boots[1].start if len(boots) > 1 else None
            if (
                start is not None
                and line.time is not None
                and -SAME_BOOT <= line.time - start <= _BOOT_TIME
                and reports_unclean_end(line.text)
            ):
                index = -2  # the previous boot's start-up lines tell how the boot before ended
        elif line.source == "guest:dmesg":
            index = 0
        elif line.source in by_file:
            index = by_file[line.source]
        elif line.source in pstore_times:
            index = min(episode_index(pstore_times[line.source], boots), -1)
        elif line.time is not None:
            index = episode_index(line.time, boots)
            start = boots[-index].start if -index < len(boots) else None
            if (
                start is not None
                and line.time - start <= _BOOT_TIME
                and reports_unclean_end(line.text)
            ):
                index -= 1  # logged while booting, about how the boot before ended
        else:
            index = None
        if index is not None:
            lines_of.setdefault(index, []).append(line)
    return lines_of, files_of


_ENDED: Final[dict[str, EpisodeEnd]] = {
    "guest_crash": "crash",
    "guest_initiated": "clean_reboot",
    "api_initiated": "clean_reboot",
}


def _with_verdict(base: GuestEvidence, episode: BootEpisode) -> BootEpisode:
    """An ended episode's own verdict line, from its own evidence."""
    if episode.index == 0:
        return episode
    alone = base.model_copy(
        update={"findings": episode.findings, "reboot_in_window": True, "episodes": []}
    )
    rule_id, verdict = episode_verdict("linux", alone)
    rule = next(r for r in linux_results().rule if r.id == rule_id)
    ended: EpisodeEnd = _ENDED.get(rule.verdict, "unknown")
    if ended == "unknown" and any(f.kind == "unexpected_shutdown" for f in episode.findings):
        ended = "unclean"
    if ended == "clean_reboot" and any(
        f.kind == "clean_shutdown" and f.trusted for f in episode.findings
    ):
        ended = "clean_shutdown"
    return episode.model_copy(update={"verdict": verdict, "rule_id": rule_id, "ended": ended})


def _pstore_times(env: Envelope, zone: tzinfo) -> dict[str, datetime]:
    sec = env.ok("pstore")
    out: dict[str, datetime] = {}
    for raw in sec.lines if sec is not None else ():
        match = re.match(r"^#file=(\d{1,12}) \d{1,20} (?:\d{1,10} [0-7]{3,4} )?(/.*)$", raw)
        if match is not None:
            out[source_label(match.group(2))] = datetime.fromtimestamp(int(match.group(1)), zone)
    return out


def analyze_linux(envelope: Envelope, *, target_time: datetime | None = None) -> GuestEvidence:
    """Parse the sections of a Linux envelope, split the evidence into boot episodes and analyse
    the episode that ended in the reboot being explained (the latest, or the one nearest
    ``target_time``)."""
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
    boot_kv = _boot_kv(envelope)
    last_boot = _last_boot(boot_kv, local_now, uptime, zone)
    hosts = frozenset(_host_names(boot_kv))
    sysctl = envelope.section("sysctl")
    files = _crash_files(envelope, zone)
    time_of: dict[str, datetime] = {}
    for f in files or ():
        if f.modified is not None and f.kind in ("vmcore_dmesg", "dmesg"):
            time_of.setdefault("guest:" + f.path, f.modified)
    reboot = envelope.ok("reboot_history")
    records = list(reboot.lines) if reboot is not None else []
    lines: list[LogLine] = []
    banners: list[datetime] = []
    for section in LOG_SECTIONS:
        for raw_line in _log_lines(envelope, section, time_of, last_boot):
            line = raw_line
            if line.time is None:
                line = replace(line, time=parse_syslog_time(line.text, local_now))
            if not _is_text_source(line.source):
                lines.append(line)
                continue
            host = syslog_host(line.text) if line.source != source_label("journal.prev") else None
            if host is not None and hosts and not _same_host(host, hosts):
                continue  # a log host's copy of another machine's line
            text_line = replace(line, text_source=True)
            lines.append(text_line)
            tag, msg = kernel_message(line.text)
            if tag == "kernel" and _BANNER.match(msg) and line.time is not None:
                banners.append(line.time)
    parsed_records = parse_last_records(records, local_now)
    boots = _boots(envelope, zone, last_boot, parsed_records, banners)
    kdump = _kdump(envelope)
    dump_roots = tuple(
        dict.fromkeys(p.rstrip("/") for p in (kdump.dump_path or "/var/crash", "/var/crash"))
    )
    dirs = _dirs(envelope)
    if files is not None:
        files = [_judge_crash_file(f, zone, local_now, boots, dirs, dump_roots) for f in files]
        # a crash log nobody can vouch for is text like any other: no tag, no kernel line
        planted = {"guest:" + f.path for f in files if f.suspicious}
        lines = [replace(x, text_source=True) if x.source in planted else x for x in lines]
    guest = LinuxGuest(
        os_release=os_kv.get("pretty_name") or os_kv.get("release") or os_kv.get("name") or None,
        kernel_version=os_kv.get("kernel") or None,
        uptime_seconds=uptime,
        boot_id=os_kv.get("boot_id") or None,
        sysctls=sysctl.kv() if sysctl is not None and sysctl.status == "ok" else {},
        kdump=kdump,
        crash_files=files,
        reboot_records=records,
    )
    base = GuestEvidence(
        os_type="linux",
        schema_version=envelope.schema_version,
        collector_version=envelope.version,
        collected_at=local_now,
        sections=envelope.statuses(LINUX_SECTIONS),
        linux=guest,
        last_boot=last_boot,
        host_names=sorted(hosts),
        asked_reboot_time=target_time,
        log_window_days=since_days,
    )
    if not boots:
        return _pooled(base, envelope, lines, records, files or [], local_now, window_start)
    return _by_episode(
        base,
        envelope,
        lines,
        parsed_records,
        files or [],
        boots,
        local_now,
        window_start,
        target_time,
    )


def _pooled(
    base: GuestEvidence,
    envelope: Envelope,
    lines: list[LogLine],
    records: list[str],
    files: list[CrashDumpFile],
    local_now: datetime | None,
    window_start: datetime | None,
) -> GuestEvidence:
    """No boot time is known (an old collector, no wtmp): every finding of the window counts."""
    findings = analyze_log_lines(
        lines, reference=local_now, reboot_records=records, window_start=window_start
    )
    saved = _kdump_saved(files, envelope, window_start)
    if saved is not None:
        findings.insert(0, saved)
    abrupt = _abrupt_journal_end(envelope, findings)
    if abrupt is not None:
        findings.append(abrupt)
    return base.model_copy(update={"findings": findings})


def _by_episode(
    base: GuestEvidence,
    envelope: Envelope,
    lines: list[LogLine],
    records: list[RebootRecord],
    files: list[CrashDumpFile],
    boots: list[Boot],
    local_now: datetime | None,
    window_start: datetime | None,
    target_time: datetime | None,
) -> GuestEvidence:
    zone = local_now.tzinfo if local_now is not None and local_now.tzinfo else UTC
    lines_of, files_of = _assign(lines, files, _pstore_times(envelope, zone), boots)
    pos = nearest_boot(boots, target_time) if target_time is not None else 0
    assert pos is not None
    target_boot = boots[pos]
    in_window = window_start is None or target_boot.start >= window_start
    target_index = -(pos + 1) if in_window else 0
    journal_prev = bool(_journal_tail(envelope))
    kernel_prev = envelope.ok("journal_kernel") is not None and journal_prev
    dmesg_ok = envelope.ok("dmesg") is not None
    oldest = -len(boots)
    episodes: list[BootEpisode] = []
    target_findings: list[Finding] = []
    for index in range(0, oldest - 1, -1):
        start = boots[-index].start if -index < len(boots) else None
        end = boots[-index - 1].start if index < 0 else None
        if window_start is not None and end is not None and end < window_start:
            break  # ended before the window: not ours to explain
        ep_lines = lines_of.get(index, [])
        ep_files = files_of.get(index, [])
        ending = _records_ending(records, boots[-index - 1]) if index < 0 else []
        if not (ep_lines or ep_files or ending or index in (0, target_index)):
            continue
        findings = analyze_log_lines(ep_lines, reference=local_now, reboot_records=ending)
        kernel_kinds = {
            f.kind
            for f in analyze_log_lines(
                [line for line in ep_lines if not line.text_source], reference=local_now
            )
        }
        covered = (  # the kernel's own log of this boot was read
            any(not line.text_source and line.source not in _PREV_BOOT_SOURCES for line in ep_lines)
            or (index == -1 and kernel_prev)
            or (index == 0 and dmesg_ok)
        )
        wtmp_unclean = any(
            f.kind == "unexpected_shutdown" and any(e.source == "guest:last -x" for e in f.evidence)
            for f in findings
        )
        findings = _weigh(findings, ep_lines, kernel_kinds, covered, wtmp_unclean)
        saved = _kdump_saved(ep_files, envelope, None)
        if saved is not None:
            findings.insert(0, saved)
        if index == -1 and journal_prev:
            abrupt = _abrupt_journal_end(envelope, findings)
            if abrupt is not None:
                findings.append(abrupt)
        boot_id = boots[-index].boot_id if -index < len(boots) else None
        if index == target_index:
            target_findings = findings
        episodes.append(
            BootEpisode(
                index=index,
                boot_id=boot_id,
                start=start,
                end=end,
                ended="running" if index == 0 else "unknown",
                target=index == target_index and in_window,
                findings=findings,
                crash_files=ep_files,
            )
        )
    episodes = [_with_verdict(base, e) for e in episodes]
    return base.model_copy(
        update={
            "findings": target_findings,
            "episodes": episodes,
            "target_reboot": target_boot.start if in_window else None,
            "reboot_in_window": in_window,
        }
    )
