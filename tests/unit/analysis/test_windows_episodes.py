"""Windows boot episodes: which boot each event and dump belongs to, and which reboot is explained.

Kernel-Power 41, EventLog 6008 and the bug check reports are written at the start of the boot
after an unclean end, so they describe the episode before; 1074 and 6006 end the episode they
were logged in. The verdict rests on the episode that ended in the target reboot.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ecs_api_simulator.guest_templates import guest_zone, render_text
from ecs_reboot_diagnosis.analysis.conclusions import conclude_guest
from ecs_reboot_diagnosis.analysis.crash_dump import triage_dumps
from ecs_reboot_diagnosis.analysis.guest import parse_guest_output
from ecs_reboot_diagnosis.analysis.platform_events import judge
from ecs_reboot_diagnosis.analysis.windows_guest import RawEvent, build_episodes
from ecs_reboot_diagnosis.models import (
    BootEpisode,
    EventVerdict,
    Evidence,
    GuestEvidence,
    PlatformEvent,
    WindowsEvent,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "guest" / "windows"
NONCE = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
S26 = (
    Path(__file__).resolve().parents[3]
    / "server/ecs_api_simulator/scenarios/s26-windows-hang-platform-reset/recorded/output.txt"
)


def load(case: str, target_time: datetime | None = None) -> GuestEvidence:
    text = (FIXTURES / f"{case}.txt").read_text("ascii")
    return parse_guest_output("windows", text, NONCE, target_time=target_time)


S26_NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)  # the run the times below are written for


def load_s26(target_time: datetime | None = None) -> GuestEvidence:
    """s26's recorded output, its time tokens rendered for a run at S26_NOW (guest zone +08:00)."""
    nonce = "a" * 32
    text = render_text(S26.read_text("ascii"), S26_NOW, guest_zone("CST-8"))
    text = text.replace("{{nonce}}", nonce)
    return parse_guest_output("windows", text, nonce, target_time=target_time)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def target(guest: GuestEvidence) -> BootEpisode:
    found = [e for e in guest.episodes if e.target]
    assert len(found) == 1, guest.episodes
    return found[0]


def event(eid: int, provider: str, time: str, channel: str = "System", **fields: str) -> RawEvent:
    line = "\t".join(
        [
            f"time={time}",
            f"id={eid}",
            f"provider={provider}",
            *(f"{k}={v}" for k, v in fields.items()),
        ]
    )
    return RawEvent(
        WindowsEvent(event_id=eid, provider=provider, time=utc(time)),
        fields,
        Evidence(source="guest:System event log", text=line),
        channel,
    )


def instance_failure() -> EventVerdict:
    failure = PlatformEvent(
        event_id="e-bp1test000001",
        event_type="InstanceFailure.Reboot",
        cycle_status="Executed",
        not_before=utc("2026-03-10T06:00:00Z"),
        finish_time=utc("2026-03-10T06:02:00Z"),
    )
    return judge([failure], utc("2026-03-03T08:00:00Z"), utc("2026-03-10T08:00:00Z"))


# --- assignment -------------------------------------------------------------------------------


def test_41_and_6008_describe_the_boot_before_the_one_they_were_logged_in() -> None:
    guest = load_s26()
    assert guest.last_boot == utc("2026-03-10T06:02:10Z")
    assert [e.index for e in guest.episodes] == [0, -1, -2, -3]
    running, hung, restarted, oldest = guest.episodes
    # logged at 06:02:29 and 06:02:33, in the running boot, but about the one before
    assert running.findings == [] and running.ended == "running" and running.verdict is None
    assert hung.target and hung.ended == "unclean"
    assert [f.kind for f in hung.findings] == ["unexpected_shutdown"]
    assert {41, 6008} == set(hung.findings[0].facts.event_ids)
    assert "no bug check (Kernel-Power 41 BugcheckCode 0)" in hung.findings[0].summary.en
    assert hung.start == utc("2026-03-07T02:01:52Z")
    # the end is the unclean shutdown 6008 reports: 1:54:20 PM local, tz +0800
    assert hung.end == utc("2026-03-10T05:54:20Z")
    assert hung.verdict is not None
    assert hung.verdict.en == "Unexpected shutdown, no bug check"
    assert hung.verdict.zh_CN == "意外关机，没有蓝屏错误代码"
    assert restarted.ended == "clean_reboot" and not restarted.target
    assert restarted.verdict is not None
    assert (
        restarted.verdict.en
        == "Clean restart by C:\\Windows\\system32\\shutdown.exe (user WIN-APP26\\Administrator)"
    )
    assert (
        restarted.verdict.zh_CN
        == "由 C:\\Windows\\system32\\shutdown.exe 发起的正常重启（用户 WIN-APP26\\Administrator）"
    )
    assert oldest.start is None and oldest.end == utc("2026-03-05T11:21:30Z")
    assert oldest.verdict is not None and "svchost.exe" in oldest.verdict.en
    # what the verdict rests on: the target episode only, not the earlier clean restarts
    assert guest.findings == hung.findings
    assert guest.target_reboot == utc("2026-03-10T06:02:10Z")
    assert guest.reboot_in_window is True and guest.asked_reboot_time is None


def test_a_clean_restart_belongs_to_the_episode_it_ends_even_a_minute_before_the_boot() -> None:
    guest = load("planned_restart_with_comment")
    running, ended = guest.episodes
    assert running.findings == []  # 6006 at 02:03:12 is before the boot at 02:04:10
    assert ended.target and ended.ended == "clean_reboot"
    assert [f.kind for f in guest.findings] == ["clean_reboot"]


def test_a_bug_check_reported_at_the_next_boot_belongs_to_the_crashed_episode() -> None:
    boots = [
        event(6005, "EventLog", "2026-01-02T00:00:20Z"),
        event(41, "Microsoft-Windows-Kernel-Power", "2026-01-02T00:00:10Z", p0="209", p1="0x28"),
        # WER files the blue screen in the Application log many minutes into the next boot
        event(
            1001,
            "Windows Error Reporting",
            "2026-01-02T00:25:00Z",
            "Application",
            p0="0",
            p1="0",
            p2="BlueScreen",
            p5="d1",
        ),
        event(1000, "Application Error", "2026-01-02T00:30:00Z", "Application", p0="app.exe"),
    ]
    episodes = build_episodes(boots, last_boot=utc("2026-01-02T00:00:00Z"))
    running, crashed = episodes.episodes
    assert [f.kind for f in running.findings] == ["app_crash"]
    assert {f.kind for f in crashed.findings} == {"bugcheck", "unexpected_shutdown"}
    assert crashed.verdict is not None
    assert crashed.verdict.en == "Blue screen 0x000000D1 (DRIVER_IRQL_NOT_LESS_OR_EQUAL)"
    assert crashed.verdict.zh_CN == "蓝屏 0x000000D1（DRIVER_IRQL_NOT_LESS_OR_EQUAL）"


# --- the target reboot ------------------------------------------------------------------------


def test_target_time_chooses_the_nearest_boot_and_the_episode_that_ended_in_it() -> None:
    asked = utc("2026-03-07T03:00:00Z")  # an hour after the clean restart of 3 days before
    guest = load_s26(target_time=asked)
    chosen = target(guest)
    assert chosen.index == -2 and chosen.ended == "clean_reboot"
    assert guest.target_reboot == utc("2026-03-07T02:01:52Z")
    assert guest.asked_reboot_time == asked
    assert [f.kind for f in guest.findings] == ["clean_reboot"]
    # the default, the latest reboot, is the hang
    assert target(load_s26()).index == -1


def test_no_reboot_in_the_window_explains_nothing_and_keeps_the_running_boots_findings() -> None:
    guest = load("app_crashes_only")  # up since 2025-02-28, 7-day window up to 2025-03-21
    assert guest.reboot_in_window is False
    assert guest.target_reboot is None
    assert not any(e.target for e in guest.episodes)
    assert [e.index for e in guest.episodes] == [0]
    assert [f.kind for f in guest.findings] == ["app_crash"]
    conclusion, _ = conclude_guest("windows", guest, triage_dumps(guest), None)
    assert conclusion.rule_id == "windows.app_crash_only"


# --- several reboots in the window ------------------------------------------------------------


def test_an_older_blue_screen_does_not_explain_a_newer_clean_restart() -> None:
    guest = load("bsod_then_clean_restart")
    _running, restarted, crashed = guest.episodes
    assert restarted.target and restarted.ended == "clean_reboot"
    assert restarted.verdict is not None
    assert (
        restarted.verdict.en
        == "Clean restart by C:\\Windows\\system32\\shutdown.exe (user WIN-IIS01\\ADMIN)"
    )
    assert crashed.index == -2 and not crashed.target and crashed.ended == "crash"
    assert crashed.verdict is not None
    assert crashed.verdict.en == "Blue screen 0x000000D1 (DRIVER_IRQL_NOT_LESS_OR_EQUAL)"
    # the dump of the old crash stays with it
    assert [d.path for d in crashed.crash_files] == ["C:\\Windows\\MEMORY.DMP"]
    assert restarted.crash_files == []
    assert [f.kind for f in guest.findings] == ["clean_reboot"]
    triage = triage_dumps(guest)
    assert not triage.dump_found
    assert triage.note is not None and "earlier crash" in triage.note.en
    conclusion, _ = conclude_guest("windows", guest, triage, None)
    assert (conclusion.rule_id, conclusion.verdict) == ("windows.clean_reboot", "guest_initiated")
    # asked about the blue screen's reboot, the same data explains that one
    asked = load("bsod_then_clean_restart", target_time=utc("2025-03-17T02:40:00Z"))
    assert target(asked).index == -2
    conclusion, _ = conclude_guest("windows", asked, triage_dumps(asked), None)
    assert conclusion.rule_id == "windows.bsod_memory_dump"


def test_a_minidump_older_than_the_crash_belongs_to_no_episode_of_the_window() -> None:
    guest = load("minidump_only")
    crashed = target(guest)
    assert [d.path for d in crashed.crash_files] == ["C:\\Windows\\Minidump\\032025-12345-01.dmp"]
    assert all(
        "021125" not in d.path for e in guest.episodes for d in e.crash_files
    )  # written on 11 February, long before the crash of 20 March
    assert triage_dumps(guest).dump_file is not None


# --- the hang -------------------------------------------------------------------------------------


def test_41_without_a_bug_check_and_an_instance_failure_is_a_hang_not_a_crash_without_dump() -> (
    None
):
    guest = load_s26()
    with_event, recommendations = conclude_guest(
        "windows", guest, triage_dumps(guest), instance_failure()
    )
    assert (with_event.rule_id, with_event.verdict) == (
        "windows.hang_platform_reset",
        "guest_crash",
    )
    assert "2026-03-10 06:02:00 UTC" in with_event.root_cause.en
    assert "2026-03-10 06:02:00 UTC" in with_event.root_cause.zh_CN
    assert "挂起" in with_event.root_cause.zh_CN
    texts = " ".join(r.text.en for r in recommendations)
    assert "NMI" in texts and "CloudMonitor" in texts
    assert all(r.text.zh_CN and r.text.zh_CN != r.text.en for r in recommendations)
    # without the platform's event the same guest is an unexplained crash without a dump
    alone, _ = conclude_guest("windows", guest, triage_dumps(guest), None)
    assert alone.rule_id == "windows.crash_no_dump"
