"""Evidence from outside the guest: serial console, metrics, API calls, and the timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ecs_reboot_diagnosis.analysis import conclusions
from ecs_reboot_diagnosis.analysis.console import read_console
from ecs_reboot_diagnosis.analysis.metrics import summarize
from ecs_reboot_diagnosis.analysis.timeline import build_timeline
from ecs_reboot_diagnosis.diagnosis import Diagnosis, new_diagnosis_id
from ecs_reboot_diagnosis.models import ApiCall, InstanceFacts
from ecs_reboot_diagnosis.ports import MetricPoint, MetricSeries
from ecs_reboot_diagnosis.workflow import WorkflowState

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
PANIC_CONSOLE = """\
[    0.000000] Linux version 5.10.134-16.al8.x86_64
[ 8812.123456] BUG: kernel NULL pointer dereference, address: 0000000000000008
[ 8812.123999] RIP: 0010:ext4_da_write_begin+0x1c3/0x4a0 [ext4]
[ 8812.124500] Kernel panic - not syncing: Fatal exception
"""


def test_a_panic_on_the_console_is_found_with_its_source() -> None:
    console = read_console(PANIC_CONSOLE, NOW - timedelta(minutes=5), NOW)
    kinds = {f.kind for f in console.findings}
    assert "kernel_panic" in kinds
    panic = next(f for f in console.findings if f.kind == "kernel_panic")
    assert panic.evidence[0].source == "api:GetInstanceConsoleOutput"
    assert console.line_count == 4
    assert "bounded buffer" in console.note.en


def test_a_quiet_console_is_not_read_as_no_panic() -> None:
    console = read_console("[    0.000000] Linux version 5.10\nlogin: \n", NOW, NOW)
    assert console.findings == []
    assert "does not mean there was no crash" in console.note.en
    c, _ = conclusions.conclude_guest("linux", None, None, None, console=console)
    assert c.verdict == "unknown"


def test_a_stale_console_is_itself_evidence() -> None:
    console = read_console("login: \n", NOW - timedelta(hours=30), NOW)
    assert console.stale_seconds == 30 * 3600
    assert "30.0 h before this diagnosis" in console.note.en
    assert "30.0 小时" in console.note.zh_CN


def test_control_characters_from_the_console_are_dropped() -> None:
    console = read_console("boot\x1b[2J ok\x00\n", NOW, NOW)
    assert console.excerpt == ["boot [2J ok"]


def test_the_console_panic_decides_when_the_guest_cannot_be_read() -> None:
    console = read_console(PANIC_CONSOLE, NOW, NOW)
    c, _ = conclusions.conclude_guest("linux", None, None, None, console=console)
    assert c.rule_id == "linux.kernel_panic"
    assert any(e.source == "api:GetInstanceConsoleOutput" for e in c.evidence)


def series(values: list[float], metric: str = "memory_usedutilization") -> MetricSeries:
    start = NOW - timedelta(minutes=5 * len(values))
    return MetricSeries(
        metric=metric,
        unit="%",
        period_seconds=300,
        points=[
            MetricPoint(timestamp=start + timedelta(minutes=5 * i), average=v, maximum=v)
            for i, v in enumerate(values)
        ],
    )


def test_a_memory_climb_is_reported_with_numbers() -> None:
    summary = summarize(series([42.0, 55.0, 71.0, 88.0, 97.5, 99.1]), NOW - timedelta(hours=1), NOW)
    assert summary.climbed_to_full
    assert summary.maximum == 99.1 and summary.first == 42.0 and summary.points == 6
    assert "peak 99.1%" in summary.note.en
    assert "climbed from below 80%" in summary.note.en


def test_a_flat_metric_is_not_a_climb_and_no_data_is_said() -> None:
    flat = summarize(series([30.0] * 6), NOW - timedelta(hours=1), NOW)
    assert not flat.climbed_to_full and flat.maximum == 30.0
    empty = summarize(series([]), NOW - timedelta(hours=1), NOW)
    assert empty.points == 0 and "no data points" in empty.note.en


def call(name: str, minutes_ago: int, error: str = "") -> ApiCall:
    return ApiCall(
        event_id=f"ev-{name}-{minutes_ago}",
        event_name=name,
        event_time=NOW - timedelta(minutes=minutes_ago),
        caller="ops-robot",
        source_ip="203.0.113.7",
        error_code=error,
    )


def test_an_api_reboot_is_attributed_to_its_caller() -> None:
    calls = [call("DescribeInstances", 50), call("RebootInstance", 40)]
    c, _ = conclusions.conclude_guest("linux", None, None, None, api_calls=calls)
    assert c.rule_id == "linux.api_reboot_unverified" and c.verdict == "api_initiated"
    assert "RebootInstance by ops-robot from 203.0.113.7" in c.root_cause.en
    assert c.evidence[0].source == "api:ActionTrail"
    c, _ = conclusions.conclude_guest("windows", None, None, None, api_calls=calls)
    assert c.rule_id == "windows.api_reboot_unverified"


def test_a_failed_api_call_does_not_count() -> None:
    calls = [call("RebootInstance", 40, error="IncorrectInstanceStatus")]
    c, _ = conclusions.conclude_guest("linux", None, None, None, api_calls=calls)
    assert c.verdict == "unknown"


def test_the_timeline_is_sorted_utc_and_cites_sources() -> None:
    instance = InstanceFacts(
        instance_id="i-bp1timeline0001", region_id="cn-hangzhou", status="Running", os_type="linux"
    )
    d = Diagnosis(
        id=new_diagnosis_id(),
        created_at=NOW,
        updated_at=NOW,
        workflow=WorkflowState(),
        instance=instance,
        api_calls=(call("RebootInstance", 40), call("StopInstance", 90)),
        console=read_console(PANIC_CONSOLE, NOW - timedelta(minutes=45), NOW),
    )
    timeline = build_timeline(d)
    assert [e.time for e in timeline] == sorted(e.time for e in timeline)
    assert all(e.time.tzinfo is not None for e in timeline)
    sources = {e.source for e in timeline}
    assert {"api:ActionTrail", "api:GetInstanceConsoleOutput"} <= sources
    assert timeline[0].text.en.startswith("StopInstance by ops-robot")
