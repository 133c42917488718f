"""First look at the crash dumps the guest collector found (step 5 of the workflow).

Pure: it reads :class:`~ecs_reboot_diagnosis.models.GuestEvidence` only. On Linux the facts come
from the ``kdump_saved`` finding, whose evidence holds the key lines of the newest
``vmcore-dmesg.txt`` / ``dmesg.*`` (panic line, RIP, modules, the top of the call trace); on
Windows from the dump files and the bug check events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from ecs_reboot_diagnosis.analysis.incident_context import (
    is_entry_frame,
    parse_call_trace_frame,
    parse_modules,
    parse_rip,
    strip_trace_markers,
)
from ecs_reboot_diagnosis.analysis.log_lines import kernel_message
from ecs_reboot_diagnosis.models import (
    CrashDumpFile,
    DumpTriage,
    Evidence,
    Finding,
    GuestEvidence,
    Text,
)

__all__ = ["MAX_FRAMES", "triage_dumps"]

MAX_FRAMES: Final = 16  # the crashing CPU's whole trace, up to a cap

_LINUX_LABELS: Final = {
    "vmcore": "vmcore (kdump, RHEL / CentOS / Alibaba Cloud Linux layout)",
    "dump": "dump.* (kdump-tools, Ubuntu / Debian layout)",
    "vmcore_dmesg": "vmcore-dmesg.txt only (the vmcore itself is missing)",
    "dmesg": "dmesg.* only (the dump.* file is missing)",
}


def _finding(guest: GuestEvidence, kind: str) -> Finding | None:
    return next((f for f in guest.findings if f.kind == kind), None)


def _newest(files: list[CrashDumpFile]) -> CrashDumpFile | None:
    def key(f: CrashDumpFile) -> float:
        return f.modified.timestamp() if f.modified is not None else float("-inf")

    return max(files, key=key) if files else None


def _none(note_en: str, note_zh: str) -> DumpTriage:
    return DumpTriage(dump_found=False, note=Text(en=note_en, zh_CN=note_zh))


def _not_this_reboot(files: list[CrashDumpFile], reboot: bool) -> DumpTriage:
    """Dumps exist, but none records the crash that ended the boot being explained."""
    honest = [f for f in files if f.suspicious is None]
    odd = [f for f in files if f.suspicious is not None]
    parts_en: list[str] = []
    parts_zh: list[str] = []
    newest = _newest(honest)
    if newest is not None:
        when = newest.crash_time or newest.modified
        stamp = when.strftime("%Y-%m-%d %H:%M %z") if when else "an unknown time"
        parts_en.append(
            f"the newest dump ({newest.path}, crash of {stamp}) belongs to an earlier reboot"
            if reboot
            else f"the newest dump ({newest.path}, crash of {stamp}) is from before the window"
        )
        parts_zh.append(f"最新的转储（{newest.path}，{stamp} 的崩溃）属于更早的一次重启")
    if odd:
        for f in odd[:3]:
            assert f.suspicious is not None
            parts_en.append(f"{f.path} cannot be trusted: {f.suspicious.en}")
            parts_zh.append(f"{f.path} 不可信：{f.suspicious.zh_CN}")
        if len(odd) > 3:
            parts_en.append(f"and {len(odd) - 3} more suspicious file(s)")
            parts_zh.append(f"另有 {len(odd) - 3} 个可疑文件")
    head_en = "No crash dump records the crash of this reboot" if reboot else "No recent reboot"
    head_zh = "没有记录本次重启对应崩溃的转储文件" if reboot else "时间窗口内没有重启"
    return _none(
        f"{head_en}: " + "; ".join(parts_en) + ".",
        f"{head_zh}：" + "；".join(parts_zh) + "。",
    )


def _linux(guest: GuestEvidence) -> DumpTriage:
    linux = guest.linux
    files = linux.crash_files if linux is not None else None
    path = (linux.kdump.dump_path if linux is not None else None) or "/var/crash"
    if files is None:
        return _none(
            f"The dump directory {path} could not be checked (the collector did not report it).",
            f"未能检查转储目录 {path}（采集脚本没有返回该部分）。",
        )
    if guest.episodes:
        # only a dump of the crash that ended the target episode can explain the reboot
        target = next((e for e in guest.episodes if e.target), None)
        mine = [f for f in (target.crash_files if target else []) if f.suspicious is None]
        if not mine and files:
            return _not_this_reboot(files, target is not None)
        files = mine
    dumps = [f for f in files if f.kind in ("vmcore", "dump")]
    texts = [f for f in files if f.kind in ("vmcore_dmesg", "dmesg")]
    newest = _newest(dumps) or _newest(texts)
    if newest is None:
        return _none(
            f"No crash dump was found under {path}.",
            f"在 {path} 下没有找到崩溃转储文件。",
        )
    saved = _finding(guest, "kdump_saved")
    rip_line: str | None = None
    frames: list[str] = []
    modules: list[str] = []
    evidence: list[Evidence] = []
    in_trace = False
    for ev in saved.evidence if saved is not None else []:
        if not ev.source.startswith("guest:/"):
            evidence.append(ev)
            continue
        _, msg = kernel_message(ev.text)
        if "Call Trace" in msg:
            in_trace = True
        elif parse_rip(msg) is not None and rip_line is None:
            rip_line = msg.strip()
            in_trace = False
        elif (mods := parse_modules(msg)) is not None:
            modules = mods
            in_trace = False
        elif in_trace and (frame := parse_call_trace_frame(strip_trace_markers(msg))) is not None:
            func, mod, reliable = frame
            # the NMI/IRQ entry and the panic machinery say where the report came from
            if reliable and not is_entry_frame(func) and len(frames) < MAX_FRAMES:
                frames.append(f"{func} [{mod}]" if mod else func)
        evidence.append(ev)
    facts = saved.facts if saved is not None else None
    note = None
    if newest.kind in ("vmcore_dmesg", "dmesg"):
        note = Text(
            en="Only the kernel log of the crash was kept; the memory dump itself is missing.",
            zh_CN="只保留了崩溃时的内核日志，内存转储文件本身不存在。",
        )
    elif newest.path.endswith("-incomplete"):
        note = Text(
            en="The vmcore is incomplete: the dump did not finish (disk space or timeout).",
            zh_CN="vmcore 不完整：转储没有完成（磁盘空间不足或超时）。",
        )
    elif facts is not None and facts.panicked is False and facts.panic_reason:
        note = Text(
            en="kdump captured the kernel oops itself (panic_on_oops): the crash log holds the "
            "oops and its call trace but no panic line; the oops is the crash reason.",
            zh_CN="kdump 在内核 oops 时直接捕获了转储（panic_on_oops）：崩溃日志中有 oops 及其"
            "调用栈，但没有 panic 行；oops 即崩溃原因。",
        )
    elif facts is None or facts.panic_reason is None:
        note = Text(
            en="A dump exists but no vmcore-dmesg.txt / dmesg.* was read; analyse it with crash.",
            zh_CN="存在转储文件，但没有读取到 vmcore-dmesg.txt / dmesg.*，请用 crash 工具分析。",
        )
    return DumpTriage(
        dump_found=True,
        dump_file=newest,
        dump_kind_label=_LINUX_LABELS[newest.kind],
        panic_reason=facts.panic_reason if facts else None,
        rip=rip_line,
        rip_function=facts.rip_function if facts else None,
        rip_module=facts.rip_module if facts else None,
        modules=modules or (list(facts.modules) if facts else []),
        call_trace=frames,
        evidence=evidence,
        note=note,
    )


def _windows(guest: GuestEvidence) -> DumpTriage:
    win = guest.windows
    if win is None or (not win.memory_dump_checked and win.minidumps is None):
        return _none(
            "The dump files could not be checked (the collector did not report them).",
            "未能检查转储文件（采集脚本没有返回该部分）。",
        )
    bugcheck = _finding(guest, "bugcheck")
    code = bugcheck.facts.bugcheck_code if bugcheck else None
    name = bugcheck.facts.bugcheck_name if bugcheck else None
    evidence = list(bugcheck.evidence[:2]) if bugcheck else []
    memory_dump, minidumps = win.memory_dump, list(win.minidumps or [])
    target = next((e for e in guest.episodes if e.target), None)
    if guest.episodes:
        # only a dump of the crash that ended the target episode explains the target reboot
        owned = target.crash_files if target is not None else []
        memory_dump = memory_dump if memory_dump in owned else None
        minidumps = [m for m in minidumps if m in owned]
    dump = memory_dump
    label = "MEMORY.DMP (kernel, complete or automatic memory dump)"
    if dump is None:
        dump = _newest(minidumps)
        label = "minidump (small memory dump)"
    if dump is None:
        if win.memory_dump is not None or win.minidumps:
            en = "The dump files found record an earlier crash, not the reboot being explained."
            zh = "找到的转储文件记录的是更早的一次崩溃，而不是本次要解释的重启。"
        elif win.crash_dump_enabled == 0:
            en = "No dump file: crash dumps are disabled (CrashDumpEnabled=0)."
            zh = "没有转储文件：内存转储已禁用（CrashDumpEnabled=0）。"
        elif win.pagefile_configured is False:
            en = "No dump file: there is no page file, which Windows needs to write a dump."
            zh = "没有转储文件：系统没有页面文件，Windows 需要页面文件才能写入转储。"
        else:
            en = "No MEMORY.DMP and no minidump were found."
            zh = "没有找到 MEMORY.DMP 或小型转储文件。"
        return DumpTriage(
            dump_found=False,
            bugcheck_code=code,
            bugcheck_name=name,
            evidence=evidence,
            note=Text(en=en, zh_CN=zh),
        )
    evidence.insert(
        0,
        Evidence(
            source="guest:dump files",
            text=f"{dump.path} {dump.size_bytes} bytes, modified "
            f"{dump.modified.isoformat() if dump.modified else 'unknown'}",
        ),
    )
    note = None
    stamp = bugcheck.facts.timestamp if bugcheck else None
    if _older(dump.modified, stamp):
        note = Text(
            en="The dump file is older than the latest bug check event: it may be from an "
            "earlier crash.",
            zh_CN="转储文件早于最近一次蓝屏事件，可能属于更早的一次崩溃。",
        )
    return DumpTriage(
        dump_found=True,
        dump_file=dump,
        dump_kind_label=label,
        bugcheck_code=code,
        bugcheck_name=name,
        evidence=evidence,
        note=note,
    )


def _older(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and b is not None and (b - a).total_seconds() > 3600


def triage_dumps(guest: GuestEvidence) -> DumpTriage:
    """The newest crash dump and what its kernel log or the bug check events say about it."""
    if guest.os_type == "linux":
        return _linux(guest)
    return _windows(guest)
