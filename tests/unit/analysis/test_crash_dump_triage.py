"""triage_dumps on Linux and Windows evidence, and the Linux envelope edge cases behind it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ecs_reboot_diagnosis.analysis.crash_dump import triage_dumps
from ecs_reboot_diagnosis.analysis.guest import parse_guest_output
from ecs_reboot_diagnosis.models import GuestEvidence, LinuxGuest

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "guest" / "windows"
WIN_NONCE = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
N = "abcdefabcdefabcdefabcdefabcdefab"


def linux_envelope(**sections: list[str] | str) -> str:
    out = [f"ECS_DIAG_ENVELOPE schema_version=1 collector=linux version=1.0.0 nonce={N}"]
    for name, body in sections.items():
        out.append(f"====={N} SECTION {name}=====")
        if isinstance(body, str):  # a status: missing or error
            out.append(f"====={N} END {name} status={body} truncated=0 note=why=====")
            continue
        out += body
        out.append(f"====={N} END {name} status=ok truncated=0 note=-=====")
    out.append(f"====={N} EOF sections={len(sections)}=====")
    return "\n".join(out) + "\n"


META = ["collected_at=1742522400", "tz=+0000", "since_days=7"]


def linux(**sections: list[str] | str) -> GuestEvidence:
    return parse_guest_output("linux", linux_envelope(meta=META, **sections), N)


def dump_beside(stamp: str, lines: list[str]) -> GuestEvidence:
    """A vmcore with its vmcore-dmesg.txt (``lines``) in the kdump directory ``stamp``."""
    return linux(
        kdump=["service=kdump", "dump_path=/var/crash"],
        crash_files=[
            f"1742437858 1048576 /var/crash/{stamp}/vmcore",
            f"1742437858 2893 /var/crash/{stamp}/vmcore-dmesg.txt",
            "#found=2",
        ],
        crash_dmesg=[
            f"#source=/var/crash/{stamp}/vmcore-dmesg.txt",
            *(f"{n}:{line}" for n, line in enumerate(lines, start=1)),
        ],
    )


@pytest.mark.parametrize(
    ("case", "found", "path", "code", "note"),
    [
        ("bsod_memory_dmp", True, r"C:\Windows\MEMORY.DMP", "0x000000D1", None),
        ("minidump_only", True, r"C:\Windows\Minidump\032025-12345-01.dmp", "0x0000007E", None),
        ("bsod_dumps_disabled", False, None, "0x0000007E", "crash dumps are disabled"),
        ("no_pagefile", False, None, None, "there is no page file"),
        ("app_crashes_only", False, None, None, "No MEMORY.DMP and no minidump"),
    ],
)
def test_windows(
    case: str, found: bool, path: str | None, code: str | None, note: str | None
) -> None:
    guest = parse_guest_output("windows", (RECORDED / f"{case}.txt").read_text("ascii"), WIN_NONCE)
    triage = triage_dumps(guest)
    assert triage.dump_found is found
    assert (triage.dump_file.path if triage.dump_file else None) == path
    assert triage.bugcheck_code == code
    if note is None:
        assert triage.note is None
    else:
        assert triage.note is not None and note in triage.note.en and triage.note.zh_CN


def test_linux_dump_directory_not_reported() -> None:
    guest = linux(crash_files="missing")
    assert guest.linux is not None and guest.linux.crash_files is None
    triage = triage_dumps(guest)
    assert not triage.dump_found
    assert triage.note is not None and "could not be checked" in triage.note.en


def test_linux_only_a_crash_log_left() -> None:
    guest = linux(
        kdump=["service=kdump", "dump_path=/var/crash"],
        crash_files=[
            "1742437858 2893 /var/crash/127.0.0.1-2025-03-20-02:30:58/vmcore-dmesg.txt",
            "#found=1",
        ],
        crash_dmesg=[
            "#source=/var/crash/127.0.0.1-2025-03-20-02:30:58/vmcore-dmesg.txt",
            "3:[ 5.0] sysrq: Trigger a crash",
            "4:[ 5.0] Kernel panic - not syncing: sysrq triggered crash",
            "5:[ 5.0] CPU: 0 PID: 4242 Comm: bash Not tainted 4.18.0-425.el8.x86_64 #1",
            "6:[ 5.0] RIP: 0010:sysrq_handle_crash+0x12/0x20",
            "7:[ 5.0] Call Trace:",
            "8:[ 5.0]  __handle_sysrq.cold.11+0x48/0xfb",
            "9:[ 5.0]  write_sysrq_trigger+0x2b/0x30",
        ],
    )
    kinds = {f.kind: f for f in guest.findings}
    saved = kinds["kdump_saved"]
    assert saved.confidence == "medium"
    assert "crash log (no vmcore" in saved.summary.en
    assert kinds["sysrq_crash"].facts.process == "bash"
    triage = triage_dumps(guest)
    assert triage.dump_found and triage.dump_file is not None
    assert triage.dump_file.kind == "vmcore_dmesg"
    assert triage.panic_reason == "sysrq triggered crash"
    assert triage.rip_function == "sysrq_handle_crash"
    assert triage.call_trace == ["__handle_sysrq.cold.11", "write_sysrq_trigger"]
    assert triage.note is not None and "memory dump itself is missing" in triage.note.en


def test_linux_stale_dump_and_ubuntu_layout() -> None:
    guest = linux(
        crash_files=[
            "1700000000 1048576 /var/crash/202311141613/dump.202311141613",
            "1700000000 20480 /var/crash/202311141613/dmesg.202311141613",
            "#found=2",
        ]
    )
    saved = next(f for f in guest.findings if f.kind == "kdump_saved")
    assert saved.confidence == "low" and "older than the log window" in saved.summary.en
    triage = triage_dumps(guest)
    assert triage.dump_file is not None and triage.dump_file.kind == "dump"
    assert triage.dump_kind_label is not None and "kdump-tools" in triage.dump_kind_label


def test_journal_that_stops_abruptly_is_an_unclean_shutdown() -> None:
    guest = linux(
        journal_tail=[
            "#source=journal.prev",
            "1:2025-03-20T14:02:10+0000 web nginx[811]: GET /health 200",
            "2:2025-03-20T14:02:11+0000 web nginx[811]: GET /health 200",
        ]
    )
    (finding,) = guest.findings
    assert finding.kind == "unexpected_shutdown" and finding.confidence == "low"
    assert finding.evidence[0].source == "guest:journalctl -b -1"
    assert finding.evidence[0].line_no == 2
    clean = linux(
        journal_tail=[
            "#source=journal.prev",
            "1:2025-03-20T14:02:10+0000 web systemd[1]: Reached target Shutdown.",
            "2:2025-03-20T14:02:11+0000 web systemd-journald[301]: Journal stopped",
        ]
    )
    assert {f.kind for f in clean.findings} == {"clean_shutdown"}


def test_sections_that_failed_leave_fields_unknown() -> None:
    guest = linux(os="error", sysctl="missing", kdump="error")
    assert guest.linux == LinuxGuest()
    status = {s.name: s for s in guest.sections}
    assert status["os"].note == "error: why"
    assert not status["syslog"].present


def test_linux_oops_captured_by_kdump_is_a_crash_with_a_dump() -> None:
    """kdump loaded and panic_on_oops=1: vmcore-dmesg.txt ends with the oops, no panic line."""
    from ecs_reboot_diagnosis.analysis.conclusions import conclude_guest

    real = Path(__file__).resolve().parents[2] / "fixtures" / "real_logs" / "null_pointer-6.log"
    lines = real.read_text("utf-8").splitlines()
    assert not any("Kernel panic" in line for line in lines)
    stamp = "127.0.0.1-2025-03-20-02:30:58"
    guest = dump_beside(stamp, lines)
    saved = next(f for f in guest.findings if f.kind == "kdump_saved")
    assert saved.facts.panicked is False
    assert (
        saved.facts.panic_reason
        == "BUG: kernel NULL pointer dereference, address: 000000000000000b"
    )
    assert (saved.facts.rip_function, saved.facts.rip_module) == ("dbuf_sync_list", "zfs")
    assert (saved.facts.process, saved.facts.pid) == ("dp_sync_taskq", 1214)
    assert "zfs" in saved.facts.modules or saved.facts.modules == []
    assert "kdump captured the oops itself" in saved.summary.en
    triage = triage_dumps(guest)
    assert triage.dump_found and triage.dump_file is not None
    assert triage.dump_file.kind == "vmcore"
    assert triage.panic_reason == saved.facts.panic_reason  # the oops is the crash reason
    assert triage.rip_function == "dbuf_sync_list"
    assert triage.note is not None and "oops" in triage.note.en and "oops" in triage.note.zh_CN
    conclusion, _ = conclude_guest("linux", guest, triage, None)
    assert conclusion.rule_id == "linux.kernel_panic_with_dump"
    assert conclusion.verdict == "guest_crash"
    assert conclusion.root_cause.en.startswith(
        "A NULL pointer dereference in dbuf_sync_list [zfs] crashed the kernel and kdump "
        "captured the oops"
    )
    assert "kdump 在 oops 时直接捕获了转储" in conclusion.root_cause.zh_CN
    # without the dump triage the guest findings alone say the same
    conclusion, _ = conclude_guest("linux", guest, None, None)
    assert conclusion.rule_id.startswith("linux.kernel_panic")


def test_linux_nmi_panic_trace_skips_entry_frames() -> None:
    """An NMI-triggered hard-lockup panic: the trace starts inside the NMI handler and panic()."""
    from ecs_reboot_diagnosis.analysis.incident_context import (
        is_entry_frame,
        parse_call_trace_frame,
        strip_trace_markers,
    )

    real = Path(__file__).resolve().parents[2] / "fixtures" / "real_logs"
    # the excerpt was pasted with the viewer's line numbers: the file itself holds the rest
    pasted = (real / "hard_lockup-2.log").read_text("utf-8").splitlines()
    lines = [re.sub(r"^\s*\d+ ", "", line) for line in pasted]
    frame = parse_call_trace_frame(
        strip_trace_markers("<NMI>  [<ffffffffa7313562>] dump_stack+0x19/0x1b")
    )
    assert frame == ("dump_stack", None, True) and is_entry_frame("dump_stack")
    assert strip_trace_markers("<<EOE>> ") == "" and not is_entry_frame("nvme_queue_rq")
    assert is_entry_frame("end_repeat_nmi") and is_entry_frame("panic.cold.12")
    stamp = "127.0.0.1-2019-03-08-10:00:00"
    guest = dump_beside(stamp, lines)
    saved = next(f for f in guest.findings if f.kind == "kdump_saved")
    texts = [e.text for e in saved.evidence]
    assert any("Call Trace:" in t for t in texts)
    assert any("<NMI>" in t and "dump_stack" in t for t in texts)  # the marker does not end it
    assert any("watchdog_overflow_callback" in t for t in texts)
    assert saved.facts.rip_function is None  # panic() and the NMI handler are not the fault
    assert saved.facts.panic_reason == "Hard LOCKUP"
    triage = triage_dumps(guest)
    assert triage.call_trace == []  # every frame printed is NMI entry or panic machinery
