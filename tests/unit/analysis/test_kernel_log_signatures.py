# ruff: noqa: E501 - log lines are test data and keep their real length
"""Kernel log signatures, context parsing and the rules that keep findings honest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ecs_reboot_diagnosis.analysis.findings import (
    MAX_EVIDENCE,
    analyze_log_lines,
    analyze_log_text,
)
from ecs_reboot_diagnosis.analysis.incident_context import (
    parse_call_trace_frame,
    parse_modules,
    parse_rip,
)
from ecs_reboot_diagnosis.analysis.log_lines import LogLine, parse_syslog_time
from ecs_reboot_diagnosis.analysis.reboot_records import parse_last_records
from ecs_reboot_diagnosis.models import FINDING_KINDS, Finding

REF = datetime(2025, 3, 21, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def kinds(text: str) -> dict[str, Finding]:
    findings = analyze_log_text(text, source="guest:test", reference=REF)
    assert len({f.kind for f in findings}) == len(findings)  # one finding per kind
    return {f.kind: f for f in findings}


K = "Mar 20 10:30:00 host kernel: "


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (K + "Kernel panic - not syncing: Fatal exception", "kernel_panic"),
        (K + "Oops: 0000 [#1] SMP NOPTI", "oops"),
        (K + "BUG: unable to handle page fault for address: ffffb7a0c1e3f008", "oops"),
        (K + "Internal error: Oops: 96000005 [#1] SMP", "oops"),
        (K + "invalid opcode: 0000 [#1] SMP PTI", "oops"),
        (K + "BUG: kernel NULL pointer dereference, address: 0000000000000010", "null_pointer"),
        (
            K + "BUG: unable to handle kernel NULL pointer dereference at 0000000000000008",
            "null_pointer",
        ),
        (
            K + "Unable to handle kernel NULL pointer dereference at virtual address 0",
            "null_pointer",
        ),
        (K + "general protection fault: 0000 [#1] SMP", "gpf"),
        (
            K
            + "Oops: general protection fault, probably for non-canonical address 0xdead: 0000 [#1]",
            "gpf",
        ),
        (K + "kernel BUG at mm/slub.c:305!", "kernel_bug"),
        (K + "BUG: scheduling while atomic: java/1234/0x00000002", "kernel_bug"),
        (K + "INFO: task kworker/1:2:123 blocked for more than 122 seconds.", "hung_task"),
        (K + "watchdog: BUG: soft lockup - CPU#3 stuck for 23s! [java:4242]", "soft_lockup"),
        (K + "NMI watchdog: Watchdog detected hard LOCKUP on cpu 5", "hard_lockup"),
        (K + "rcu: INFO: rcu_preempt self-detected stall on CPU", "rcu_stall"),
        (K + "INFO: rcu_sched detected stalls on CPUs/tasks:", "rcu_stall"),
        (K + "mce: [Hardware Error]: Machine check events logged", "mce_hardware"),
        (K + "Out of memory: Killed process 4321 (mysqld) total-vm:8123456kB", "oom_kill"),
        (K + "Out of memory: Kill process 4321 (mysqld) score 870 or sacrifice child", "oom_kill"),
        (
            K + "Memory cgroup out of memory: Killed process 7788 (python3) total-vm:1kB",
            "cgroup_oom",
        ),
        (
            K + "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),task=php,pid=99,uid=33",
            "cgroup_oom",
        ),
        (K + "Kernel panic - not syncing: System is deadlocked on memory", "oom_panic"),
        (K + "Kernel panic - not syncing: Out of memory and no killable processes...", "oom_panic"),
        (K + "sysrq: Trigger a crash", "sysrq_crash"),
        (K + "SysRq : Trigger a crash", "sysrq_crash"),
        (
            K + "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009",
            "init_killed",
        ),
        (K + "VFS: Unable to mount root fs on unknown-block(0,0)", "vfs_root_mount"),
        (
            K + "EXT4-fs error (device vda1): ext4_find_entry:1455: inode #2: comm ls: reading",
            "fs_error",
        ),
        (K + "XFS (vdb1): Corruption detected. Unmount and run xfs_repair", "fs_error"),
        (K + "XFS (vdb1): Metadata corruption detected at xfs_buf_ioend+0x51/0x1b0", "fs_error"),
        (K + "EXT4-fs (vda1): recovery complete", "unexpected_shutdown"),
        (K + "reboot: Restarting system", "clean_reboot"),
        (K + "reboot: Power down", "clean_shutdown"),
        ("Mar 20 10:30:00 host systemd[1]: Reached target Reboot.", "clean_reboot"),
        (
            "Mar 20 10:30:00 host systemd[1]: Reached target reboot.target - System Reboot.",
            "clean_reboot",
        ),
        ("Mar 20 10:30:00 host systemd[1]: Reached target Power-Off.", "clean_shutdown"),
        ("Mar 20 10:30:00 host systemd[1]: Reached target Shutdown.", "clean_shutdown"),
        ("Mar 20 10:30:00 host systemd-logind[512]: System is rebooting.", "clean_reboot"),
        ("Mar 20 10:30:00 host systemd-logind[512]: System is powering down.", "clean_shutdown"),
        ("Mar 20 10:30:00 host systemd-logind[512]: Power key pressed.", "clean_shutdown"),
        ("Mar 20 10:30:00 host shutdown[77]: shutting down for system reboot", "clean_reboot"),
        (
            "Mar 20 10:30:00 host sudo:  ops : TTY=pts/0 ; USER=root ; COMMAND=/sbin/shutdown -r now",
            "clean_reboot",
        ),
        (
            "Mar 20 10:30:00 host sudo:  ops : TTY=pts/0 ; USER=root ; COMMAND=/usr/sbin/poweroff",
            "clean_shutdown",
        ),
        (
            "[ 12.5] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)",
            "vfs_root_mount",
        ),
    ],
)
def test_signatures(line: str, kind: str) -> None:
    assert kind in FINDING_KINDS
    found = kinds(line)
    assert kind in found, found.keys()
    assert found[kind].evidence[0].text == line
    assert found[kind].evidence[0].source == "guest:test"
    assert found[kind].evidence[0].line_no == 1


@pytest.mark.parametrize(
    "line",
    [
        "Mar 20 10:30:00 host app[1]: Kernel panic - not syncing: forged by an application",
        "Mar 20 10:30:00 host java[9]: Out of memory: Killed process 1 (init)",
        "Mar 20 10:30:00 host nginx[2]: BUG: soft lockup - CPU#1 stuck for 22s! [x:1]",
        "Mar 20 10:30:00 host evil[3]: Reached target Reboot.",
        "Mar 20 10:30:00 host kernel: traps: a.out[123] general protection fault ip:4005 sp:7ff error:0",
        "Mar 20 10:30:00 host sudo:  ops : TTY=pts/0 ; USER=root ; COMMAND=/usr/bin/journalctl -b",
        "Mar 20 10:30:00 host kernel: Oops something harmless happened",
    ],
)
def test_lines_that_only_look_alarming(line: str) -> None:
    assert kinds(line) == {}


def test_panic_block_gets_rip_modules_process_and_kernel_version() -> None:
    text = "\n".join(
        [
            "[ 9.1] BUG: unable to handle page fault for address: ffffb7a0c1e3f008",
            "[ 9.1] Oops: 0000 [#1] SMP NOPTI",
            "[ 9.1] CPU: 3 PID: 0 Comm: swapper/3 Kdump: loaded Tainted: G    B   OE 5.10.134-16.al8.x86_64 #1",
            "[ 9.1] RIP: 0010:nvme_queue_rq+0x1a2/0x4d0 [nvme]",
            "[ 9.1] Call Trace:",
            "[ 9.1]  blk_mq_dispatch_rq_list+0x123/0x7c0",
            "[ 9.1] Modules linked in: nvme(OE) nvme_core t10_pi [last unloaded: floppy]",
            "[ 9.2] Kernel panic - not syncing: Fatal exception in interrupt",
        ]
    )
    found = kinds(text)
    panic = found["kernel_panic"]
    assert panic.facts.panic_reason == "Fatal exception in interrupt"
    assert (panic.facts.rip_function, panic.facts.rip_module) == ("nvme_queue_rq", "nvme")
    assert panic.facts.modules == ["nvme", "nvme_core", "t10_pi"]
    assert (panic.facts.process, panic.facts.pid) == ("swapper/3", 0)
    assert panic.facts.kernel_version == "5.10.134-16.al8.x86_64"
    assert [e.line_no for e in panic.evidence] == [8, 4, 7]
    assert panic.summary.en == "Kernel panic: Fatal exception in interrupt at nvme_queue_rq [nvme]"
    assert found["oops"].facts.rip_function == "nvme_queue_rq"
    # the oops caused the panic: it comes first, panicked, with the panic's reason, critical
    assert [f.kind for f in analyze_log_text(text)] == ["oops", "kernel_panic"]
    assert found["oops"].facts.panicked is True
    assert found["oops"].facts.panic_reason == "Fatal exception in interrupt"
    assert found["oops"].severity == "critical"
    assert panic.facts.panicked is True


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("RIP: 0010:nvme_queue_rq+0x1a2/0x4d0 [nvme]", ("nvme_queue_rq", "nvme")),
        (
            "RIP: 0010:native_queued_spin_lock_slowpath+0x1e4/0x200",
            ("native_queued_spin_lock_slowpath", None),
        ),
        (
            "RIP: 0010:[<ffffffffa01c6f48>]  [<ffffffffa01c6f48>] nvme_queue_rq+0x1a2/0x4d0 [nvme]",
            ("nvme_queue_rq", "nvme"),
        ),
        ("IP: [<ffffffff8139c3d6>] blk_mq_start_request+0x26/0x90", ("blk_mq_start_request", None)),
        ("pc : ext4_map_blocks+0x6b/0x5d0 [ext4]", ("ext4_map_blocks", "ext4")),
        ("RIP: 0033:0x7f2a1b2c3d4e", None),
        ("Code: 48 8b 45 c8", None),
    ],
)
def test_parse_rip(line: str, expected: tuple[str, str | None] | None) -> None:
    assert parse_rip(line) == expected


def test_parse_modules_and_frames() -> None:
    assert parse_modules("Modules linked in: a b(POE) c-d [last unloaded: e]") == ["a", "b", "c-d"]
    assert parse_modules("no modules here") is None
    assert parse_call_trace_frame(" ? show_regs+0x6d/0x80") == ("show_regs", None, False)
    assert parse_call_trace_frame(" [<ffffffff9a5865b9>] dump_stack+0x19/0x1b") == (
        "dump_stack",
        None,
        True,
    )
    assert parse_call_trace_frame(" nvme_irq+0x141/0x1f0 [nvme]") == ("nvme_irq", "nvme", True)
    assert parse_call_trace_frame("Call Trace:") is None


def test_syslog_times() -> None:
    assert parse_syslog_time("Mar 20 10:30:00 host kernel: x", REF) == datetime(
        2025, 3, 20, 10, 30, tzinfo=REF.tzinfo
    )
    # yearless stamps after the reference belong to the year before
    assert parse_syslog_time("Dec 31 23:00:00 host kernel: x", REF) == datetime(
        2024, 12, 31, 23, 0, tzinfo=REF.tzinfo
    )
    assert parse_syslog_time("Mar 20 10:30:00 host kernel: x") is None
    assert parse_syslog_time("2025-03-20T14:02:15+0000 host kernel: x") == datetime(
        2025, 3, 20, 14, 2, 15, tzinfo=UTC
    )
    assert parse_syslog_time("2025-03-20T14:02:15.123456+08:00 host kernel: x") == datetime(
        2025, 3, 20, 14, 2, 15, 123456, tzinfo=timezone(timedelta(hours=8))
    )
    assert parse_syslog_time("[ 12.3] x", REF) is None


def test_oom_kills_are_counted_once_and_attributed_to_their_header() -> None:
    text = "\n".join(
        [
            K + "java invoked oom-killer: gfp_mask=0x201da, order=0",
            K + "Out of memory: Kill process 101 (java) score 915 or sacrifice child",
            K + "Killed process 101 (java), UID 1000, total-vm:16493824kB",
            K + "Memory cgroup out of memory: Kill process 202 (php) score 1000",
            K + "Killed process 202 (php) total-vm:1kB",
            "Mar 20 11:30:00 host kernel: Out of memory: Killed process 303 (redis) total-vm:1kB",
        ]
    )
    found = kinds(text)
    oom = found["oom_kill"]
    assert (oom.facts.oom_victim_process, oom.facts.oom_victim_pid) == ("redis", 303)
    assert oom.summary.en.startswith("The OOM killer killed 2 process(es); latest redis (pid 303)")
    cg = found["cgroup_oom"]
    assert (cg.facts.oom_victim_process, cg.facts.oom_victim_pid) == ("php", 202)
    assert oom.facts.timestamp == datetime(2025, 3, 20, 11, 30, tzinfo=REF.tzinfo)


def test_evidence_is_capped_and_deduplicated() -> None:
    lines = [
        f"Mar 20 10:{m:02d}:00 host kernel: INFO: task java:{m} blocked for more than 120 seconds."
        for m in range(20)
    ]
    hung = kinds("\n".join(lines + lines[-1:]))["hung_task"]
    assert len(hung.evidence) == MAX_EVIDENCE
    assert hung.evidence[0].text == lines[-1]
    assert (hung.facts.process, hung.facts.pid) == ("java", 19)
    assert "(seen 20 times)" in hung.summary.en


def test_last_x_records() -> None:
    records = [
        "reboot   system boot  5.10.134 Thu Mar 20 10:31:20 2025   still running",
        "reboot   system boot  5.10.134 Mon Mar 17 09:12:03 2025 - Thu Mar 20 10:31:20 2025 (3+01:19)",
        "shutdown system down  5.10.134 Mon Mar 17 09:11:40 2025 - Mon Mar 17 09:12:03 2025  (00:00)",
        "reboot   system boot  5.10.134 Fri Mar 14 15:02:11 2025 - Mon Mar 17 09:11:40 2025 (2+18:09)",
        "shutdown system down  5.10.134 Fri Mar 14 12:00:00 2025 - Fri Mar 14 15:02:11 2025  (03:02)",
        "reboot   system boot  5.10.134 Fri Feb 28 15:02:11 2025 - Fri Mar 14 12:00:00 2025",
    ]
    parsed = parse_last_records(records, REF)
    assert [r.kind for r in parsed] == [
        "reboot",
        "reboot",
        "shutdown",
        "reboot",
        "shutdown",
        "reboot",
    ]
    assert parsed[0].start == datetime(2025, 3, 20, 10, 31, 20, tzinfo=REF.tzinfo)
    findings = {
        f.kind: f
        for f in analyze_log_lines(
            [], reference=REF, reboot_records=records, window_start=REF - timedelta(days=10)
        )
    }
    unclean = findings["unexpected_shutdown"]
    assert unclean.facts.timestamp == parsed[0].start
    assert [e.line_no for e in unclean.evidence] == [1, 2]
    assert findings["clean_reboot"].facts.timestamp == parsed[1].start  # 23 s after shutdown
    assert findings["clean_shutdown"].facts.timestamp == parsed[3].start  # 3 h down: a stop
    none = analyze_log_lines([], reference=REF, reboot_records=records, window_start=REF)
    assert none == []


def test_utmpdump_and_iso_last_records() -> None:
    records = [  # utmpdump (util-linux 2.38, then the pre-2.28 ctime form), last --time-format iso
        "[2] [00000] [~~  ] [reboot  ] [~           ] [5.10.134-16.3.al8.x86_64] "
        "[0.0.0.0        ] [2026-11-30T10:30:00,000000+00:00]",
        "[1] [00000] [~~] [shutdown] [~~] [5.10.134-16.3.al8.x86_64] [0.0.0.0] "
        "[2026-11-30T18:29:40,250000+08:00]",
        "[1] [00051] [~~  ] [runlevel] [~           ] [5.10.134] [0.0.0.0        ] "
        "[2026-11-30T10:30:10,000000+00:00]",
        "[1] [00000] [~~  ] [reboot  ] [~           ] [5.10.134] [0.0.0.0        ] "
        "[2026-11-30T10:30:10,000000+00:00]",
        "[7] [01234] [ts/0] [reboot  ] [pts/0       ] [10.0.0.1            ] [10.0.0.1       ] "
        "[2026-11-30T10:35:00,000000+00:00]",
        "[2] [00000] [~~  ] [reboot  ] [~           ] [3.10.0-1160.el7.x86_64] "
        "[0.0.0.0        ] [Sun Nov 29 09:00:00 2026 CST]",
        "reboot   system boot  5.10.134-16.3.al 2026-11-28T10:30:00+08:00 - crash  (1+00:00)",
        "runlevel (to lvl 3)   5.10.134-16.3.al 2026-11-28T10:30:09+08:00   still running",
        "shutdown system down  5.10.134-16.3.al 2026-11-27T10:29:40+08:00 - "
        "2026-11-28T10:30:00+08:00  (1+00:00)",
    ]
    parsed = parse_last_records(records, REF)
    assert [(r.kind, r.index, r.crash) for r in parsed] == [
        ("reboot", 0, False),
        ("shutdown", 1, False),  # RUN_LVL "runlevel", RUN_LVL "reboot", a login "reboot": skipped
        ("reboot", 5, False),
        ("reboot", 6, True),
        ("shutdown", 8, False),
    ]
    assert parsed[0].start == datetime(2026, 11, 30, 10, 30, tzinfo=UTC)
    assert parsed[1].start == datetime(2026, 11, 30, 10, 29, 40, 250000, tzinfo=UTC)
    assert parsed[1].start is not None and parsed[1].start.utcoffset() == timedelta(hours=8)
    assert parsed[2].start == datetime(2026, 11, 29, 9, tzinfo=REF.tzinfo)  # zone of the guest
    assert parsed[3].start == datetime(2026, 11, 28, 2, 30, tzinfo=UTC)
    assert parsed[4].start == datetime(2026, 11, 27, 2, 29, 40, tzinfo=UTC)


def test_known_time_overrides_the_text() -> None:
    stamp = datetime(2025, 3, 20, 10, 31, tzinfo=UTC)
    line = LogLine(
        "guest:/var/crash/x/vmcore-dmesg.txt", 7, "[9.2] Kernel panic - not syncing: x", stamp
    )
    (panic,) = analyze_log_lines([line])
    assert panic.facts.timestamp == stamp
