"""Every row of the decision tables: the platform-event table and the two result tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ecs_reboot_diagnosis.analysis import conclusions, platform_events
from ecs_reboot_diagnosis.analysis.conclusions import Signal, match
from ecs_reboot_diagnosis.models import (
    CrashDumpFile,
    DumpTriage,
    Evidence,
    Finding,
    FindingFacts,
    GuestEvidence,
    KdumpStatus,
    LinuxGuest,
    PlatformEvent,
    Skip,
    Text,
    WindowsGuest,
)
from ecs_reboot_diagnosis.tables import (
    LINUX_SIGNALS,
    WINDOWS_SIGNALS,
    linux_results,
    windows_results,
)
from ecs_reboot_diagnosis.tables import (
    platform_events as event_table,
)

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
START = NOW - timedelta(days=7)
SEED_EVENT_TYPES = [
    "SystemMaintenance.Reboot",
    "SystemFailure.Reboot",
    "InstanceFailure.Reboot",
    "InstanceExpiration.Stop",
]


def event(event_type: str, status: str = "Executed", hours_ago: int = 2) -> PlatformEvent:
    t = NOW - timedelta(hours=hours_ago)
    return PlatformEvent(
        event_id=f"e-{abs(hash((event_type, status, hours_ago))) % 10**12:012d}",
        event_type=event_type,
        cycle_status=status,
        publish_time=t - timedelta(minutes=5),
        not_before=t,
        finish_time=t + timedelta(minutes=3),
    )


# --- the platform-event table ----------------------------------------------------------------


def test_the_table_holds_the_seed_types_and_the_documented_ones() -> None:
    types = {r.type for r in event_table().event}
    assert set(SEED_EVENT_TYPES) <= types
    for documented in [
        "SystemMaintenance.Redeploy",
        "SystemFailure.Redeploy",
        "SystemFailure.Delete",
        "InstanceExpiration.Delete",
        "AccountUnbalanced.Stop",
        "AccountUnbalanced.Delete",
        "SystemMaintenance.RebootAndIsolateErrorDisk",
        "SystemMaintenance.RebootAndReInitErrorDisk",
        "SystemMaintenance.StopAndRepair",
    ]:
        assert documented in types
    assert len(types) == len(event_table().event), "an event type appears twice"


@pytest.mark.parametrize("row", event_table().event, ids=lambda r: r.type)
def test_each_event_row(row: object) -> None:
    from ecs_reboot_diagnosis.tables import EventRow

    assert isinstance(row, EventRow)
    for text in (row.meaning, row.determination, row.next_step):
        assert text.en.strip() and text.zh_CN.strip()
    verdict = platform_events.judge([event(row.type)], START, NOW)
    (classified,) = verdict.events
    assert classified.known_type and classified.happened
    assert classified.category == row.category
    assert classified.meaning == row.meaning
    if row.ends_diagnosis:
        assert verdict.outcome == "platform_cause"
        assert verdict.decisive == classified
    else:
        assert verdict.outcome == "continue"
        assert verdict.decisive is None
    if row.type == "InstanceFailure.Reboot":
        assert verdict.instance_failure == classified


def test_seed_determinations() -> None:
    outcome = {t: platform_events.judge([event(t)], START, NOW).outcome for t in SEED_EVENT_TYPES}
    assert outcome == {
        "SystemMaintenance.Reboot": "platform_cause",
        "SystemFailure.Reboot": "platform_cause",
        "InstanceFailure.Reboot": "continue",
        "InstanceExpiration.Stop": "platform_cause",
    }


def test_no_event_goes_on() -> None:
    verdict = platform_events.judge([], START, NOW)
    assert verdict.outcome == "continue" and verdict.events == []
    assert "No platform event" in verdict.summary.en


def test_an_unknown_type_is_reported_not_dropped() -> None:
    verdict = platform_events.judge([event("SomethingNew.Reboot")], START, NOW)
    (classified,) = verdict.events
    assert classified.category == "unknown" and not classified.known_type
    assert classified.event.event_type == "SomethingNew.Reboot"
    assert verdict.outcome == "continue"


@pytest.mark.parametrize(
    ("status", "ends"),
    [("Executed", True), ("Executing", True), ("Avoided", False), ("Canceled", False),
     ("Failed", False), ("Scheduled", False), ("Inquiring", False)],
)  # fmt: skip
def test_only_events_that_happened_explain_a_reboot(status: str, ends: bool) -> None:
    verdict = platform_events.judge([event("SystemMaintenance.Reboot", status)], START, NOW)
    assert (verdict.outcome == "platform_cause") is ends
    assert len(verdict.events) == 1


def test_the_most_recent_decisive_event_wins() -> None:
    verdict = platform_events.judge(
        [
            event("SystemMaintenance.Reboot", hours_ago=50),
            event("InstanceFailure.Reboot", hours_ago=1),
            event("SystemFailure.Reboot", hours_ago=5),
        ],
        START,
        NOW,
    )
    assert verdict.decisive is not None
    assert verdict.decisive.event.event_type == "SystemFailure.Reboot"
    assert verdict.events[0].event.event_type == "InstanceFailure.Reboot"


def test_platform_conclusion_cites_the_event() -> None:
    verdict = platform_events.judge([event("InstanceExpiration.Stop")], START, NOW)
    assert verdict.decisive is not None
    conclusion, recs = conclusions.conclude_platform(verdict.decisive)
    assert conclusion.verdict == "billing"
    assert "InstanceExpiration.Stop" in conclusion.root_cause.en
    assert "InstanceExpiration.Stop" in conclusion.root_cause.zh_CN
    assert conclusion.evidence[0].source == "api:DescribeInstanceHistoryEvents"
    assert recs[0].text.en.startswith("Renew")


# --- the result tables: each row is reachable and fires on its own signals ------------------


@pytest.mark.parametrize(
    ("table", "signals"),
    [(linux_results, LINUX_SIGNALS), (windows_results, WINDOWS_SIGNALS)],
    ids=["linux", "windows"],
)
def test_every_rule_fires_on_exactly_its_signals(table: object, signals: frozenset[str]) -> None:
    rules = table().rule  # type: ignore[operator]
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids))
    for rule in rules:
        state = {name: Signal(None) for name in signals}
        state.update({name: Signal(value) for name, value in rule.when.items()})
        assert match(rules, state).id == rule.id
        for text in (rule.root_cause, rule.impact, *(r.text for r in rule.recommendations)):
            assert text.en.strip() and text.zh_CN.strip()


@pytest.mark.parametrize(
    ("table", "signals"),
    [(linux_results, LINUX_SIGNALS), (windows_results, WINDOWS_SIGNALS)],
    ids=["linux", "windows"],
)
def test_nothing_collected_means_unknown(table: object, signals: frozenset[str]) -> None:
    rules = table().rule  # type: ignore[operator]
    state = {name: Signal(None) for name in signals}
    assert match(rules, state).verdict == "unknown"


# --- the result tables on evidence ------------------------------------------------------------


def finding(kind: str, text: str, **facts: object) -> Finding:
    return Finding(
        kind=kind,
        severity="critical",
        summary=text,
        evidence=[Evidence(source="guest:/var/log/messages", line_no=7, text=text)],
        facts=FindingFacts(**facts),
    )


def linux(findings: list[Finding], panic_on_oom: str = "0", dumps: int = 0) -> GuestEvidence:
    files = [
        CrashDumpFile(path=f"/var/crash/127.0.0.1-2026-11-20-10:30:0{i}/vmcore", kind="vmcore")
        for i in range(dumps)
    ]
    return GuestEvidence(
        os_type="linux",
        schema_version=1,
        collector_version="1.0.0",
        linux=LinuxGuest(
            sysctls={"vm.panic_on_oom": panic_on_oom},
            kdump=KdumpStatus(service_name="kdump", service_state="active", crashkernel="auto"),
            crash_files=files,
        ),
        findings=findings,
    )


PANIC = finding(
    "kernel_panic",
    "Kernel panic - not syncing: Fatal exception in interrupt",
    panic_reason="Fatal exception in interrupt",
)
OOM = finding(
    "oom_kill",
    "Out of memory: Killed process 4242 (java)",
    oom_victim_process="java",
    oom_victim_pid=4242,
)


def conclude(guest: GuestEvidence | None, triage: DumpTriage | None = None) -> str:
    return conclusions.conclude_guest("linux", guest, triage, None)[0].rule_id


def test_linux_seed_rows_on_evidence() -> None:
    dump = DumpTriage(
        dump_found=True,
        dump_file=CrashDumpFile(path="/var/crash/x/vmcore", kind="vmcore", size_bytes=2 << 30),
        panic_reason="Fatal exception in interrupt",
        rip="0010:nvme_queue_rq+0x1a2/0x4d0 [nvme]",
        evidence=[Evidence(source="guest:/var/crash/x/vmcore-dmesg.txt", text="RIP: ...")],
    )
    assert conclude(linux([PANIC], dumps=1), dump) == "linux.kernel_panic_with_dump"
    assert conclude(linux([PANIC])) == "linux.kernel_panic_no_dump"
    assert conclude(linux([OOM], panic_on_oom="1")) == "linux.oom_panic"
    assert conclude(linux([OOM], panic_on_oom="0")) == "linux.oom_killer"
    assert conclude(linux([finding("sysrq_crash", "sysrq: Trigger a crash")])) == (
        "linux.sysrq_crash"
    )
    assert conclude(linux([finding("clean_reboot", "reboot: Restarting system")])) == (
        "linux.clean_reboot"
    )
    assert conclude(linux([])) == "linux.no_abnormal_records"
    assert conclude(None) == "linux.unknown"


def test_linux_conclusion_rests_on_its_evidence_and_fills_its_sentence() -> None:
    c, recs = conclusions.conclude_guest("linux", linux([OOM], panic_on_oom="0"), None, None)
    assert "java pid 4242" in c.root_cause.en and "`java`（pid 4242）" in c.root_cause.zh_CN
    assert any("Killed process 4242" in e.text for e in c.evidence)
    # a signal the rule requires to be false is not cited as evidence
    assert not any(e.source == "guest:sysctl" for e in c.evidence)
    assert recs and "{" not in recs[0].text.en


def test_an_unread_sysctl_cannot_clear_panic_on_oom() -> None:
    guest = linux([OOM])
    assert guest.linux is not None
    guest = guest.model_copy(update={"linux": guest.linux.model_copy(update={"sysctls": {}})})
    assert conclude(guest) == "linux.oom_unknown_panic_setting"


def test_unknown_names_what_is_missing() -> None:
    skip = Skip(
        step="run_guest",
        code="cloud_assistant_unavailable",
        detail=Text(en="Cloud Assistant is not running", zh_CN="云助手未运行"),
    )
    c, _ = conclusions.conclude_guest("linux", None, None, None, [skip])
    assert c.verdict == "unknown"
    assert "Cloud Assistant is not running" in c.root_cause.en
    assert "云助手未运行" in c.root_cause.zh_CN


def windows(findings: list[Finding], **fields: object) -> GuestEvidence:
    base: dict[str, object] = {
        "crash_dump_enabled": 7,
        "pagefile_configured": True,
        "memory_dump": None,
        "memory_dump_checked": True,
        "minidumps": [],
        "events": [],
    }
    base.update(fields)
    return GuestEvidence(
        os_type="windows",
        schema_version=1,
        collector_version="1.0.0",
        windows=WindowsGuest.model_validate(base),
        findings=findings,
    )


KP41 = finding("unexpected_shutdown", "Kernel-Power 41", event_ids=[41])


def wconclude(guest: GuestEvidence | None) -> str:
    return conclusions.conclude_guest("windows", guest, None, None)[0].rule_id


def test_windows_seed_rows_on_evidence() -> None:
    dmp = CrashDumpFile(path="C:\\Windows\\MEMORY.DMP", kind="memory_dmp", size_bytes=4 << 30)
    mini = CrashDumpFile(path="C:\\Windows\\Minidump\\032025-12345-01.dmp", kind="minidump")
    assert wconclude(windows([KP41], memory_dump=dmp)) == "windows.bsod_memory_dump"
    assert wconclude(windows([KP41], crash_dump_enabled=0)) == "windows.bsod_dump_disabled"
    assert wconclude(windows([KP41], pagefile_configured=False)) == "windows.bsod_no_pagefile"
    assert wconclude(windows([KP41], crash_dump_enabled=3, minidumps=[mini])) == (
        "windows.bsod_minidump"
    )
    assert wconclude(windows([KP41])) == "windows.crash_no_dump"
    app = finding("app_crash", "Application Error 1000 app.exe", process="app.exe")
    assert wconclude(windows([app])) == "windows.app_crash_only"
    assert wconclude(windows([])) == "windows.no_abnormal_events"
    assert wconclude(None) == "windows.unknown"


def test_a_dump_older_than_the_logs_lowers_the_confidence() -> None:
    dump = DumpTriage(dump_found=True, panic_reason="Fatal exception")
    saved = finding("kdump_saved", "kdump saved a vmcore; it is older than the log window")
    old = saved.model_copy(update={"confidence": "low"})
    fresh = saved.model_copy(update={"confidence": "high"})
    c_old, _ = conclusions.conclude_guest("linux", linux([PANIC, old], dumps=1), dump, None)
    c_new, _ = conclusions.conclude_guest("linux", linux([PANIC, fresh], dumps=1), dump, None)
    assert c_old.rule_id == c_new.rule_id == "linux.kernel_panic_with_dump"
    assert c_old.confidence == "low" and c_new.confidence == "high"
    assert "earlier crash" in c_old.root_cause.en and "earlier crash" not in c_new.root_cause.en


def test_a_log_section_cut_to_nothing_makes_no_hit_unknown() -> None:
    from ecs_reboot_diagnosis.models import SectionStatus

    lost = SectionStatus(name="oom", present=True, truncated=True, has_data=False)
    kept = SectionStatus(name="oom", present=True, truncated=True, has_data=True)
    guest = linux([], panic_on_oom="0")
    assert conclude(guest.model_copy(update={"sections": [kept]})) == "linux.no_abnormal_records"
    assert conclude(guest.model_copy(update={"sections": [lost]})) == "linux.unknown"
