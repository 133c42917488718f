# ruff: noqa: E501 - log lines are test data and keep their real length
"""Windows envelopes (recorded from windows.ps1) -> WindowsGuest and findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecs_reboot_diagnosis.analysis.guest import parse_guest_output
from ecs_reboot_diagnosis.analysis.windows_guest import (
    BUGCHECK_NAMES,
    bugcheck_name,
    normalize_bugcheck_code,
)
from ecs_reboot_diagnosis.errors import CollectorIntegrityError
from ecs_reboot_diagnosis.models import BUGCHECK_CODE_PATTERN, Finding, GuestEvidence

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "guest" / "windows"
NONCE = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def load(case: str) -> GuestEvidence:
    return parse_guest_output("windows", (RECORDED / f"{case}.txt").read_text("ascii"), NONCE)


def by_kind(guest: GuestEvidence) -> dict[str, Finding]:
    return {f.kind: f for f in guest.findings}


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("0x0000009f", "0x0000009F"),
        ("9f", "0x0000009F"),
        ("0xd1", "0x000000D1"),
        ("159", "0x0000009F"),
        (209, "0x000000D1"),
        ("0xc000021a", "0xC000021A"),
        ("0", None),
        ("zz", None),
        ("0x1ffffffff", None),
    ],
)
def test_normalize_bugcheck_code(value: str | int, code: str | None) -> None:
    assert normalize_bugcheck_code(value) == code


def test_bugcheck_table() -> None:
    import re

    assert all(re.fullmatch(BUGCHECK_CODE_PATTERN, code) for code in BUGCHECK_NAMES)
    for code, name in [
        ("0x0000000A", "IRQL_NOT_LESS_OR_EQUAL"),
        ("0x0000001E", "KMODE_EXCEPTION_NOT_HANDLED"),
        ("0x0000003B", "SYSTEM_SERVICE_EXCEPTION"),
        ("0x00000050", "PAGE_FAULT_IN_NONPAGED_AREA"),
        ("0x0000007E", "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED"),
        ("0x0000009F", "DRIVER_POWER_STATE_FAILURE"),
        ("0x000000D1", "DRIVER_IRQL_NOT_LESS_OR_EQUAL"),
        ("0x000000EF", "CRITICAL_PROCESS_DIED"),
        ("0x00000133", "DPC_WATCHDOG_VIOLATION"),
        ("0x00000139", "KERNEL_SECURITY_CHECK_FAILURE"),
        ("0x00000154", "UNEXPECTED_STORE_EXCEPTION"),
    ]:
        assert bugcheck_name(code) == name
    assert bugcheck_name("0x12345678") is None


def test_bsod_with_memory_dmp() -> None:
    guest = load("bsod_memory_dmp")
    win = guest.windows
    assert win is not None
    assert win.product_name == "Windows Server 2019 Datacenter"
    assert win.crash_dump_enabled == 7
    assert win.pagefile_configured is True
    assert win.memory_dump is not None and win.memory_dump.size_bytes == 4509715660
    assert win.memory_dump.path == r"C:\Windows\MEMORY.DMP"
    assert win.memory_dump_checked and win.minidumps == []
    assert win.last_boot_time is not None and win.uptime_seconds == 84870
    assert win.events is not None and {e.event_id for e in win.events} == {41, 1001, 6005, 6008}
    found = by_kind(guest)
    bug = found["bugcheck"]
    assert bug.facts.bugcheck_code == "0x000000D1"
    assert bug.facts.bugcheck_name == "DRIVER_IRQL_NOT_LESS_OR_EQUAL"
    assert bug.severity == "critical"
    unexpected = found["unexpected_shutdown"]
    assert unexpected.facts.event_ids == [41, 6008]
    assert unexpected.evidence[0].source == "guest:System event log"
    assert guest.collected_at is not None and guest.collected_at.year == 2025


def test_bsod_with_dumps_disabled() -> None:
    guest = load("bsod_dumps_disabled")
    assert guest.windows is not None and guest.windows.crash_dump_enabled == 0
    assert guest.windows.memory_dump is None and guest.windows.minidumps == []
    # the BlueScreen report (Application log, WER 1001) still names the bug check
    bug = by_kind(guest)["bugcheck"]
    assert bug.facts.bugcheck_code == "0x0000007E"
    assert "unexpected_shutdown" in by_kind(guest)


def test_no_pagefile() -> None:
    guest = load("no_pagefile")
    assert guest.windows is not None
    assert guest.windows.pagefile_configured is False
    assert guest.windows.crash_dump_enabled == 7
    assert set(by_kind(guest)) == {"unexpected_shutdown"}


def test_minidump_only() -> None:
    guest = load("minidump_only")
    win = guest.windows
    assert win is not None and win.crash_dump_enabled == 3
    assert win.minidumps is not None
    assert [m.path.rsplit("\\", 1)[-1] for m in win.minidumps] == [
        "032025-12345-01.dmp",
        "021125-10984-01.dmp",
    ]
    assert win.minidumps[0].size_bytes == 131072 and win.minidumps[0].kind == "minidump"
    assert by_kind(guest)["bugcheck"].facts.bugcheck_name == "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED"


def test_app_crashes_only() -> None:
    guest = load("app_crashes_only")
    found = by_kind(guest)
    assert set(found) == {"app_crash"}
    crash = found["app_crash"]
    assert crash.summary.en == "Application crashes: java.exe x3, w3wp.exe x1"
    assert crash.facts.process == "w3wp.exe"
    assert crash.facts.event_ids == [1000, 1001]
    assert crash.evidence[0].source == "guest:Application event log"


def test_clean_restart_and_error_sections() -> None:
    n = NONCE
    t = "\t"
    lines = [
        f"ECS_DIAG_ENVELOPE schema_version=1 collector=windows version=1.0.0 nonce={n}",
        f"====={n} SECTION os=====",
        "last_boot_utc=2025-03-20T02:05:00Z",
        f"====={n} END os status=ok truncated=0 note=-=====",
        f"====={n} SECTION events_system=====",
        "#count=2",
        t.join(["time=2025-03-20T02:01:10Z", "id=6006", "provider=EventLog", "level=4", "msg=x"]),
        t.join(
            [
                "time=2025-03-20T02:01:00Z",
                "id=1074",
                "provider=User32",
                "level=4",
                r"p0=C:\Windows\system32\shutdown.exe (HOST)",
                "p1=HOST",
                "p2=Other (Planned)",
                "p3=0x80000000",
                "p4=????",
                "p5=",
                r"p6=HOST\Administrator",
                "msg=The process shutdown.exe has initiated the ??? of computer HOST",
            ]
        ),
        f"====={n} END events_system status=ok truncated=0 note=-=====",
        f"====={n} SECTION crash_control=====",
        f"====={n} END crash_control status=error truncated=0 note=Requested registry access is not allowed.=====",
        f"====={n} EOF sections=3=====",
    ]
    guest = parse_guest_output("windows", "\r\n".join(lines) + "\r\n", n)
    reboot = by_kind(guest)["clean_reboot"]
    # the restart type was localised away: the boot 4 minutes later decides
    assert reboot.summary.en == (
        r"Orderly restart requested by C:\Windows\system32\shutdown.exe as HOST\Administrator "
        "(reason: Other (Planned), reason code 0x80000000)"
    )
    assert reboot.facts.process == "shutdown.exe"
    assert reboot.facts.event_ids == [1074, 6006]
    assert guest.windows is not None and guest.windows.crash_dump_enabled is None
    status = {s.name: s for s in guest.sections}
    assert status["crash_control"].note == "error: Requested registry access is not allowed."
    assert not status["memory_dump"].present


def test_a_linux_envelope_is_not_a_windows_one() -> None:
    text = (
        (RECORDED / "no_pagefile.txt")
        .read_text("ascii")
        .replace("collector=windows", "collector=linux")
    )
    with pytest.raises(CollectorIntegrityError, match="not 'windows'"):
        parse_guest_output("windows", text, NONCE)


# --- what the events say beyond "there was a crash" ------------------------------------------


def test_bugcheck_table_names_the_common_codes() -> None:
    assert len(BUGCHECK_NAMES) >= 40
    assert len(set(BUGCHECK_NAMES.values())) == len(BUGCHECK_NAMES)
    for code, name in [
        ("0x00000019", "BAD_POOL_HEADER"),
        ("0x000000C4", "DRIVER_VERIFIER_DETECTED_VIOLATION"),
        ("0x0000018B", "SECURE_KERNEL_ERROR"),
        ("0x00000080", "NMI_HARDWARE_FAILURE"),
        ("0x000000ED", "UNMOUNTABLE_BOOT_VOLUME"),
    ]:
        assert bugcheck_name(code) == name
    # Kernel-Power 41 logs the code in decimal: 313 is 0x139
    assert normalize_bugcheck_code("313") == "0x00000139"


def test_bugcheck_whose_dump_could_not_be_written() -> None:
    guest = load("bsod_dump_write_failed")
    found = by_kind(guest)
    bug = found["bugcheck"]
    assert bug.facts.bugcheck_code == "0x00000139"
    assert bug.facts.bugcheck_name == "KERNEL_SECURITY_CHECK_FAILURE"
    assert bug.facts.event_ids == [41, 161]
    summary = bug.summary.en
    assert "parameters 0xa, 0x0, 0x0, 0xffffe2809452e7f0" in summary
    assert "no dump could be written (volmgr 161: dump file creation failed" in summary
    assert "system drive free: 812 MiB for 16 GiB of memory" in summary
    assert "AutoReboot=1" in summary
    sources = [e.source for e in bug.evidence]
    assert "guest:WER report archive" in sources
    unexpected = found["unexpected_shutdown"]
    # the LEFT-TO-RIGHT MARK of the date (collected as '?') is dropped
    assert "the shutdown at 5:49:54 PM on 3/1/2026 was unexpected" in unexpected.summary.en


def test_power_button_held_down() -> None:
    found = by_kind(load("power_button_hold"))
    assert set(found) == {"unexpected_shutdown"}
    assert (
        "the power button was held down (a forced power-off)"
        in found["unexpected_shutdown"].summary.en
    )


def test_planned_restart_reason_code_and_comment() -> None:
    reboot = by_kind(load("planned_restart_with_comment"))["clean_reboot"]
    assert reboot.summary.en == (
        r"Orderly restart requested by C:\Windows\system32\shutdown.exe as "
        r"WIN-7Q2B8K1M3N4\Administrator (reason: Application: Maintenance (Planned), "
        "reason code 0x80040001); comment: patch window"
    )
    assert reboot.facts.process == "shutdown.exe"


def test_1001_parameters_and_dump_path() -> None:
    bug = by_kind(load("bsod_memory_dmp"))["bugcheck"]
    assert "parameters 0x28, 0x2, 0x0, 0xfffff80612a3b1c4" in bug.summary.en
    assert r"dump saved in C:\Windows\MEMORY.DMP" in bug.summary.en


# --- saved exports: XML and Event Viewer text ------------------------------------------------

REAL = RECORDED.parents[1] / "real_logs"
WINDOWS_EXPORTS = sorted([*REAL.glob("windows_*.xml"), *REAL.glob("windows_*.txt")])


def analyze_export(path: Path) -> dict[str, Finding]:
    from ecs_reboot_diagnosis.analysis.windows_guest import (
        analyze_windows_events,
        events_from_text,
        events_from_xml,
    )

    text = path.read_text("utf-8")
    events = (
        events_from_xml(text, path.name)
        if path.suffix == ".xml"
        else events_from_text(text, path.name)
    )
    return {f.kind: f for f in analyze_windows_events(events)}


@pytest.mark.parametrize("path", WINDOWS_EXPORTS, ids=lambda p: p.stem)
def test_real_windows_exports(path: Path) -> None:
    import json

    meta = json.loads(path.with_suffix(".json").read_text("utf-8"))
    assert meta["source_url"].startswith("https://")
    found = analyze_export(path)
    assert sorted(found) == sorted(meta["expected_kinds"])
    for kind, facts in meta["expected_facts"].items():
        got = found[kind].facts.model_dump(mode="json")
        for key, value in facts.items():
            assert got[key] == value, (kind, key)
    for kind, text in meta.get("expected_summary_contains", {}).items():
        assert text in found[kind].summary.en


def test_wevtutil_output_without_a_root_element() -> None:
    from ecs_reboot_diagnosis.analysis.windows_guest import events_from_xml

    one = (REAL / "windows_bugcheck-1.xml").read_text("utf-8")
    events = events_from_xml(one + one.replace("2019-10-15T01:14:02", "2019-10-16T08:00:00"))
    assert [e.event.event_id for e in events] == [41, 41]
    assert events[0].fields["p0"] == events[0].fields["BugcheckCode"] == "26"
    assert [e.evidence.line_no for e in events] == [1, 30]
    saved_as = (
        '<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n<Events>' + one + "</Events>"
    )
    assert len(events_from_xml(saved_as)) == 1


def test_xml_with_a_dtd_is_refused() -> None:
    from ecs_reboot_diagnosis.analysis.windows_guest import events_from_xml

    bomb = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><Events>&lol;</Events>'
    with pytest.raises(ValueError, match="document type"):
        events_from_xml(bomb)
    with pytest.raises(ValueError, match="not well-formed"):
        events_from_xml("<Event><System>")


def test_event_viewer_text_with_event_xml() -> None:
    from ecs_reboot_diagnosis.analysis.windows_guest import analyze_windows_events, events_from_text

    xml = (REAL / "windows_bugcheck-1.xml").read_text("utf-8")
    text = (REAL / "windows_unexpected_shutdown-1.txt").read_text("utf-8") + "Event Xml:\n" + xml
    events = events_from_text(text, "copy.txt")
    assert len(events) == 1 and events[0].fields["BugcheckCode"] == "26"
    assert events[0].event.message.startswith("The system has rebooted without cleanly")
    found = {f.kind: f for f in analyze_windows_events(events)}
    assert found["bugcheck"].facts.bugcheck_code == "0x0000001A"
