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
from ecs_reboot_diagnosis.models import BUGCHECK_CODE_PATTERN, GuestEvidence

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "guest" / "windows"
NONCE = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def load(case: str) -> GuestEvidence:
    return parse_guest_output("windows", (RECORDED / f"{case}.txt").read_text("ascii"), NONCE)


def by_kind(guest: GuestEvidence) -> dict[str, object]:
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
    assert bug.facts.bugcheck_code == "0x000000D1"  # type: ignore[attr-defined]
    assert bug.facts.bugcheck_name == "DRIVER_IRQL_NOT_LESS_OR_EQUAL"  # type: ignore[attr-defined]
    assert bug.severity == "critical"  # type: ignore[attr-defined]
    unexpected = found["unexpected_shutdown"]
    assert unexpected.facts.event_ids == [41, 6008]  # type: ignore[attr-defined]
    assert unexpected.evidence[0].source == "guest:System event log"  # type: ignore[attr-defined]
    assert guest.collected_at is not None and guest.collected_at.year == 2025


def test_bsod_with_dumps_disabled() -> None:
    guest = load("bsod_dumps_disabled")
    assert guest.windows is not None and guest.windows.crash_dump_enabled == 0
    assert guest.windows.memory_dump is None and guest.windows.minidumps == []
    # the BlueScreen report (Application log, WER 1001) still names the bug check
    bug = by_kind(guest)["bugcheck"]
    assert bug.facts.bugcheck_code == "0x0000007E"  # type: ignore[attr-defined]
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
    assert by_kind(guest)["bugcheck"].facts.bugcheck_name == "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED"  # type: ignore[attr-defined]


def test_app_crashes_only() -> None:
    guest = load("app_crashes_only")
    found = by_kind(guest)
    assert set(found) == {"app_crash"}
    crash = found["app_crash"]
    assert crash.summary == "Application crashes: java.exe x3, w3wp.exe x1"  # type: ignore[attr-defined]
    assert crash.facts.process == "w3wp.exe"  # type: ignore[attr-defined]
    assert crash.facts.event_ids == [1000, 1001]  # type: ignore[attr-defined]
    assert crash.evidence[0].source == "guest:Application event log"  # type: ignore[attr-defined]


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
    assert reboot.summary == (  # type: ignore[attr-defined]
        r"Orderly restart requested by C:\Windows\system32\shutdown.exe as HOST\Administrator "
        "(reason: Other (Planned))"
    )
    assert reboot.facts.process == "shutdown.exe"  # type: ignore[attr-defined]
    assert reboot.facts.event_ids == [1074, 6006]  # type: ignore[attr-defined]
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
