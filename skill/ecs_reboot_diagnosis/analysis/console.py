"""The serial console (GetInstanceConsoleOutput), read with the same analyzers as guest logs.

The console is a bounded ring buffer of what the kernel and the boot printed. It often ends with
the last boot, so "no panic in the buffer" is never read as "no panic". A console that has not
changed for long before the diagnosis is itself evidence: the guest stopped printing (a hang, or
a quiet system).
"""

from __future__ import annotations

from datetime import datetime

from ecs_reboot_diagnosis.analysis.findings import analyze_log_text
from ecs_reboot_diagnosis.models import ConsoleEvidence, Text

EXCERPT_LINES = 15
MAX_LINE = 300
STALE_AFTER_SECONDS = 6 * 3600


def _clean(line: str) -> str:
    printable = "".join(ch if ch.isprintable() or ch == "\t" else " " for ch in line)
    return printable.rstrip()[:MAX_LINE]


def read_console(text: str, last_update: datetime | None, now: datetime) -> ConsoleEvidence:
    lines = [_clean(line) for line in text.splitlines()]
    lines = [line for line in lines if line.strip()]
    findings = analyze_log_text("\n".join(lines), source="api:GetInstanceConsoleOutput")
    stale = (now - last_update).total_seconds() if last_update is not None else None
    kinds = sorted({f.kind for f in findings})
    if not lines:
        note = Text(
            en="The serial console buffer is empty: it says nothing about the incident.",
            zh_CN="串口控制台缓冲区为空：无法据此判断故障。",
        )
    elif findings:
        note = Text(
            en=f"The serial console shows: {', '.join(kinds)}. It is a bounded buffer; older "
            "output may be lost.",
            zh_CN=f"串口控制台显示：{', '.join(kinds)}。控制台是有限缓冲区，更早的输出可能已丢失。",
        )
    else:
        note = Text(
            en="No crash signature in the serial console buffer. The buffer is bounded and may "
            "not reach back to the incident: this does not mean there was no crash.",
            zh_CN="串口控制台缓冲区中没有崩溃特征。缓冲区有限，可能未覆盖故障发生时刻："
            "这并不表示没有发生崩溃。",
        )
    if stale is not None and stale > STALE_AFTER_SECONDS:
        hours = stale / 3600
        note = Text(
            en=f"{note.en} The console was last updated {hours:.1f} h before this diagnosis: "
            "the guest has printed nothing since (a hang, or a quiet system).",
            zh_CN=f"{note.zh_CN}控制台最后更新于本次诊断前 {hours:.1f} 小时："
            "此后实例没有任何输出（系统挂起，或系统处于静默状态）。",
        )
    return ConsoleEvidence(
        last_update_time=last_update,
        stale_seconds=stale,
        line_count=len(lines),
        excerpt=lines[-EXCERPT_LINES:],
        findings=findings,
        note=note,
    )
