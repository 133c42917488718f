"""One UTC timeline of everything a diagnosis learned, each entry citing its source."""

from __future__ import annotations

from datetime import UTC, datetime

from ecs_reboot_diagnosis.analysis.log_lines import quoted
from ecs_reboot_diagnosis.analysis.reboot_records import parse_last_records
from ecs_reboot_diagnosis.diagnosis import Diagnosis
from ecs_reboot_diagnosis.glosses import gloss
from ecs_reboot_diagnosis.models import Text, TimelineEntry

MAX_ENTRIES = 60
RECORD_KINDS_ZH = {"reboot": "启动", "shutdown": "关机", "down": "系统关闭", "crash": "崩溃"}
"""The kinds of ``last -x`` records, in Chinese (a record named "reboot" marks a boot)."""
WINDOWS_BOOT_EVENTS = {41, 1001, 1074, 6005, 6006, 6008}


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def build_timeline(d: Diagnosis) -> list[TimelineEntry]:
    out: list[TimelineEntry] = []

    def add(when: datetime | None, source: str, en: str, zh: str) -> None:
        if when is not None:
            text = Text(en=en[:300], zh_CN=zh[:300])
            out.append(TimelineEntry(time=_utc(when), source=source, text=text))

    for c in d.events.events if d.events else []:
        e = c.event
        reason = f": {e.reason}" if e.reason else ""
        reason_zh = f"，原因：{quoted(e.reason)}" if e.reason else ""
        source = "api:DescribeInstanceHistoryEvents"
        kind = gloss("event", e.event_type, "zh-CN")
        add(e.publish_time, source, f"{e.event_type} published", f"发布系统事件 {kind}")
        add(
            e.finish_time or e.not_before,
            source,
            f"{e.event_type} {e.cycle_status}{reason}",
            f"系统事件 {kind}：{gloss('cycle', e.cycle_status, 'zh-CN')}{reason_zh}",
        )
    for call in d.api_calls or ():
        who = call.caller or "unknown caller"
        who_zh = quoted(call.caller) if call.caller else "未知调用者"
        where = f" from {call.source_ip}" if call.source_ip else ""
        where_zh = f"（来源 {call.source_ip}）" if call.source_ip else ""
        failed = f" (failed: {call.error_code})" if call.error_code else ""
        failed_zh = f"（失败：{call.error_code}）" if call.error_code else ""
        add(
            call.event_time,
            "api:ActionTrail",
            f"{call.event_name} by {who}{where}{failed}",
            f"{who_zh}{where_zh}调用了 {call.event_name}{failed_zh}",
        )
    guest = d.guest
    if guest is not None and guest.linux is not None:
        for record in parse_last_records(guest.linux.reboot_records, guest.collected_at):
            label = "crash (no clean shutdown)" if record.crash else record.kind
            label_zh = "崩溃（未正常关机）" if record.crash else RECORD_KINDS_ZH.get(record.kind)
            add(
                record.start,
                "guest:last -x",
                f"{label}: {record.text}",
                f"{label_zh or quoted(record.kind)}：{quoted(record.text)}",
            )
        for f in guest.findings:
            source = f.evidence[0].source if f.evidence else "guest"
            add(f.facts.timestamp, source, f.summary.en, f.summary.zh_CN)
        for dump in guest.linux.crash_files or []:
            add(
                dump.modified,
                "guest:crash_files",
                f"crash file {dump.path}",
                f"崩溃转储文件 {quoted(dump.path)}",
            )
    if guest is not None and guest.windows is not None:
        for ev in guest.windows.events or []:
            if ev.event_id in WINDOWS_BOOT_EVENTS:
                add(
                    ev.time,
                    f"guest:System/{ev.provider}",
                    f"event {ev.event_id} {ev.message}",
                    f"事件 {ev.event_id}：{quoted(ev.message[:280])}",
                )
        dumps = list(guest.windows.minidumps or [])
        if guest.windows.memory_dump is not None:
            dumps.append(guest.windows.memory_dump)
        for win_dump in dumps:
            add(
                win_dump.modified,
                "guest:dump_files",
                f"dump file {win_dump.path}",
                f"转储文件 {quoted(win_dump.path)}",
            )
    if d.console is not None:
        add(
            d.console.last_update_time,
            "api:GetInstanceConsoleOutput",
            "console last updated",
            "串口控制台最后更新",
        )
    if d.cloud_assistant is not None:
        add(
            d.cloud_assistant.last_heartbeat,
            "api:DescribeCloudAssistantStatus",
            "Cloud Assistant last heartbeat",
            "云助手最后一次心跳",
        )
    for m in d.metrics or ():
        if m.climbed_to_full:
            peak = f"{m.maximum:.1f}{m.unit}"
            add(m.peak_time, "api:CloudMonitor", f"{m.metric} peaked at {peak}",
                f"{m.metric} 达到峰值 {peak}")  # fmt: skip
        add(m.last_point_time, "api:CloudMonitor", f"{m.metric} last data point",
            f"{m.metric} 最后一个数据点")  # fmt: skip
    unique = {(e.time, e.source, e.text.en): e for e in out}
    ordered = sorted(unique.values(), key=lambda e: e.time)
    return ordered[-MAX_ENTRIES:]
