"""Linux boot episodes: which reboot a piece of evidence explains, and which lines we trust.

Each case is a collector envelope in the real section formats (``last -x -F``, traditional
syslog, ``journalctl -o short-iso``, ``crash_files`` with owner and mode) around one story of
issue 10: several reboots in the window, old dumps, log hosts, text any user can write.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ecs_reboot_diagnosis.analysis import conclusions
from ecs_reboot_diagnosis.analysis.crash_dump import triage_dumps
from ecs_reboot_diagnosis.analysis.guest import parse_guest_output
from ecs_reboot_diagnosis.models import Conclusion, GuestEvidence

N = "abcdefabcdefabcdefabcdefabcdefab"
NOW = datetime(2026, 12, 3, 7, 30, tzinfo=UTC)  # the guest's zone is UTC in these cases
BOOT = datetime(2026, 12, 3, 5, 22, 0, tzinfo=UTC)  # the running boot
PREV = datetime(2026, 12, 1, 8, 0, 0, tzinfo=UTC)  # the boot before it
OLDER = datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC)


def syslog_time(t: datetime) -> str:
    return t.strftime("%b %e %H:%M:%S")


def last_time(t: datetime) -> str:
    return t.strftime("%a %b %e %H:%M:%S %Y")


def envelope(**sections: list[str] | str) -> str:
    out = [f"ECS_DIAG_ENVELOPE schema_version=1 collector=linux version=1.1.0 nonce={N}"]
    for name, body in sections.items():
        out.append(f"====={N} SECTION {name}=====")
        if isinstance(body, str):
            out.append(f"====={N} END {name} status={body} truncated=0 note=why=====")
            continue
        out += body
        out.append(f"====={N} END {name} status=ok truncated=0 note=-=====")
    out.append(f"====={N} EOF sections={len(sections)}=====")
    return "\n".join(out) + "\n"


def guest(
    *,
    syslog: list[str] | None = None,
    boot: datetime = BOOT,
    records: list[str] | None = None,
    crash_files: list[str] | None = None,
    crash_dmesg: list[str] | None = None,
    journal_tail: list[str] | None = None,
    journal_kernel: list[str] | None = None,
    sysctl: tuple[str, ...] = ("vm.panic_on_oom=0", "kernel.panic=10"),
    target_time: datetime | None = None,
) -> GuestEvidence:
    if records is None:
        records = [
            f"reboot   system boot  5.10.134-16.3.al8 {last_time(boot)}   still running",
            f"shutdown system down  5.10.134-16.3.al8 {last_time(boot - timedelta(seconds=30))}"
            f" - {last_time(boot)} (00:00)",
            f"reboot   system boot  5.10.134-16.3.al8 {last_time(PREV)} - "
            f"{last_time(boot - timedelta(seconds=30))} (1+21:21)",
            f"reboot   system boot  5.10.134-16.3.al8 {last_time(OLDER)} - {last_time(PREV)}"
            " (0+22:00)",
        ]
    sections: dict[str, list[str] | str] = {
        "meta": [f"collected_at={int(NOW.timestamp())}", "tz=+0000", "since_days=7"],
        "os": ["pretty_name=Alibaba Cloud Linux 3", "kernel=5.10.134-16.3.al8.x86_64"],
        "boot": [f"btime={int(boot.timestamp())}", "hostname=web01", "etc_hostname=web01"],
        "reboot_history": records,
        "journal_boots": "missing",
        "journal_tail": [
            "#source=journal.prev",
            *(f"{i}:{line}" for i, line in enumerate(journal_tail or [], 1)),
        ]
        if journal_tail is not None
        else "missing",
        "journal_kernel": ["#source=journal.prev.kernel", *(journal_kernel or [])]
        if journal_kernel is not None
        else "missing",
        "syslog": [
            "#source=/var/log/messages",
            *(f"{i}:{s}" for i, s in enumerate(syslog or [], 1)),
        ],
        "dmesg": "missing",
        "oom": [],
        "sysctl": list(sysctl),
        "kdump": ["service=kdump", "service_state=active", "dump_path=/var/crash"],
        "crash_files": [*(crash_files or []), f"#found={len(crash_files or [])}"],
        "crash_dmesg": crash_dmesg if crash_dmesg is not None else "missing",
        "pstore": "missing",
    }
    return parse_guest_output("linux", envelope(**sections), N, target_time=target_time)


def conclude(g: GuestEvidence) -> Conclusion:
    return conclusions.conclude_guest("linux", g, triage_dumps(g), None)[0]


def line(t: datetime, rest: str, host: str = "web01") -> str:
    return f"{syslog_time(t)} {host} {rest}"


PANIC_BEFORE_PREV = [
    line(PREV - timedelta(minutes=3), "kernel: BUG: unable to handle page fault for address: 0"),
    line(PREV - timedelta(minutes=3), "kernel: Oops: 0000 [#1] SMP NOPTI"),
    line(PREV - timedelta(minutes=3), "kernel: RIP: 0010:nvme_queue_rq+0x1a2/0x4d0 [nvme]"),
    line(PREV - timedelta(minutes=3), "kernel: Kernel panic - not syncing: Fatal exception"),
    line(PREV + timedelta(seconds=20), "kernel: Linux version 5.10.134-16.3.al8.x86_64 #1 SMP"),
]
SUDO_REBOOT = [
    line(
        BOOT - timedelta(minutes=2),
        "sudo:    admin : TTY=pts/0 ; PWD=/home/admin ; USER=root ; COMMAND=/sbin/reboot",
    ),
    line(BOOT - timedelta(minutes=1), "systemd[1]: Reached target Reboot."),
    line(BOOT + timedelta(seconds=15), "kernel: Linux version 5.10.134-16.3.al8.x86_64 #1 SMP"),
]


def test_an_older_panic_does_not_explain_a_newer_clean_reboot() -> None:
    g = guest(syslog=PANIC_BEFORE_PREV + SUDO_REBOOT)
    assert {f.kind for f in g.findings} >= {"clean_reboot"}
    assert "kernel_panic" not in {f.kind for f in g.findings}
    assert g.target_reboot is not None and abs(g.target_reboot - BOOT) < timedelta(minutes=1)
    assert conclude(g).rule_id == "linux.clean_reboot"
    earlier = [e for e in g.episodes if e.index < 0 and not e.target]
    crashed = next(e for e in earlier if "kernel_panic" in {f.kind for f in e.findings})
    assert crashed.ended == "crash" and crashed.rule_id is not None
    assert crashed.verdict is not None and "Fatal exception" in crashed.verdict.en


def test_asking_about_the_older_reboot_explains_that_one() -> None:
    g = guest(syslog=PANIC_BEFORE_PREV + SUDO_REBOOT, target_time=PREV + timedelta(minutes=20))
    assert g.asked_reboot_time is not None
    assert g.target_reboot is not None and abs(g.target_reboot - PREV) < timedelta(minutes=1)
    assert conclude(g).rule_id.startswith("linux.kernel_panic")


def test_oom_kills_hours_before_a_deliberate_reboot_are_not_its_cause() -> None:
    oom = [
        line(
            BOOT - timedelta(hours=5),
            "kernel: Out of memory: Killed process 4321 (java) "
            "total-vm:8123456kB, anon-rss:6987654kB, file-rss:0kB, shmem-rss:0kB, UID:0",
        ),
    ]
    g = guest(syslog=oom + SUDO_REBOOT)
    assert {"oom_kill", "clean_reboot"} <= {f.kind for f in g.findings}
    assert conclude(g).rule_id == "linux.clean_reboot"


def test_a_dump_of_an_earlier_crash_does_not_explain_a_clean_reboot() -> None:
    stamp = int((PREV - timedelta(minutes=2)).timestamp())
    d = "/var/crash/127.0.0.1-" + (PREV - timedelta(minutes=3)).strftime("%Y-%m-%d-%H:%M:%S")
    g = guest(
        syslog=SUDO_REBOOT,
        crash_files=[
            f"{stamp} 2147483648 0 600 {d}/vmcore",
            f"{stamp} 41234 0 600 {d}/vmcore-dmesg.txt",
        ],
        crash_dmesg=[
            f"#source={d}/vmcore-dmesg.txt",
            "36:[ 99.1] Kernel panic - not syncing: Fatal exception in interrupt",
        ],
    )
    assert "kdump_saved" not in {f.kind for f in g.findings}
    triage = triage_dumps(g)
    assert not triage.dump_found
    assert triage.note is not None and "earlier reboot" in triage.note.en
    c = conclude(g)
    assert c.rule_id == "linux.clean_reboot"
    old = next(e for e in g.episodes if e.crash_files)
    assert not old.target and "kdump_saved" in {f.kind for f in old.findings}


def test_a_log_host_keeps_other_machines_panics_out() -> None:
    others = [
        line(
            BOOT - timedelta(minutes=9),
            "kernel: Kernel panic - not syncing: Fatal exception",
            host="db07",
        ),
        line(
            BOOT - timedelta(minutes=9),
            "kernel: Out of memory: Killed process 99 (mysqld) "
            "total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB",
            host="db07.example.com",
        ),
    ]
    g = guest(syslog=others + SUDO_REBOOT)
    assert {f.kind for f in g.findings} & {"kernel_panic", "oom_kill"} == set()
    assert conclude(g).rule_id == "linux.clean_reboot"
    assert g.host_names == ["web01"]


def test_logger_t_kernel_cannot_flip_the_verdict() -> None:
    forged = [
        line(BOOT - timedelta(minutes=40), "kernel: Kernel panic - not syncing: Fatal exception"),
    ]
    g = guest(
        syslog=forged + SUDO_REBOOT,
        journal_tail=[
            (BOOT - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S+0000")
            + " web01 systemd[1]: Reached target Reboot."
        ],
        journal_kernel=[],
    )
    panic = next(f for f in g.findings if f.kind == "kernel_panic")
    assert not panic.trusted and "unconfirmed" in panic.summary.en
    assert all(e.trust == "unconfirmed" for e in panic.evidence)
    c = conclude(g)
    assert c.rule_id == "linux.clean_reboot"
    assert c.confidence != "high" and "Unconfirmed" in c.root_cause.en


def test_a_forged_panic_right_before_the_end_is_still_unconfirmed_by_journal_k() -> None:
    forged = [line(BOOT - timedelta(minutes=1), "kernel: Kernel panic - not syncing: forged")]
    g = guest(
        syslog=forged,
        records=[
            f"reboot   system boot  5.10 {last_time(BOOT)}   still running",
            f"reboot   system boot  5.10 {last_time(PREV)} - {last_time(BOOT)} (1+21:22)",
        ],
        journal_tail=[
            (BOOT - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%S+0000")
            + " web01 CRON[1]: (root) CMD (true)"
        ],
        journal_kernel=[],
    )
    assert not next(f for f in g.findings if f.kind == "kernel_panic").trusted
    assert not conclude(g).rule_id.startswith("linux.kernel_panic")


def test_a_refused_sudo_reboot_is_not_a_reboot() -> None:
    refused = [
        line(
            BOOT - timedelta(minutes=2),
            "sudo:    mallory : user NOT in sudoers ; TTY=pts/1 ;"
            " PWD=/home/mallory ; USER=root ; COMMAND=/sbin/reboot",
        ),
        line(
            BOOT - timedelta(minutes=2),
            "sudo:    eve : 3 incorrect password attempts ; "
            "TTY=pts/2 ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/systemctl reboot",
        ),
    ]
    g = guest(
        syslog=refused,
        records=[
            f"reboot   system boot  5.10 {last_time(BOOT)}   still running",
            f"reboot   system boot  5.10 {last_time(PREV)} - {last_time(BOOT)} (1+21:22)",
        ],
    )
    assert "clean_reboot" not in {f.kind for f in g.findings}
    assert all("mallory" not in f.summary.en for f in g.findings)


def test_a_user_program_named_oops_is_not_a_kernel_oops() -> None:
    fake = [
        line(BOOT - timedelta(hours=1), "Oops[4242]: Oops: 0000 [#1] SMP NOPTI"),
        line(BOOT - timedelta(hours=1), "BUG:[4243] kernel BUG at mm/slub.c:42!"),
        f"{syslog_time(BOOT - timedelta(hours=1))} general protection fault: 0000 [#1] SMP",
    ]
    g = guest(syslog=fake + SUDO_REBOOT)
    assert {f.kind for f in g.findings} & {"oops", "kernel_bug", "gpf"} == set()


def test_planted_and_future_dated_crash_files_decide_nothing() -> None:
    future = int((NOW + timedelta(days=3)).timestamp())
    recent = int((BOOT - timedelta(minutes=5)).timestamp())
    d = "/var/crash/127.0.0.1-" + (BOOT - timedelta(minutes=6)).strftime("%Y-%m-%d-%H:%M:%S")
    g = guest(
        syslog=SUDO_REBOOT,
        crash_files=[
            f"{future} 4096 0 600 {d}/vmcore",
            f"{recent} 900 1000 644 /var/crash/vmcore-dmesg.txt",
            f"{recent} 900 0 666 {d}/vmcore-dmesg.txt",
        ],
        crash_dmesg=[
            "#source=/var/crash/vmcore-dmesg.txt",
            "1:[ 1.0] Kernel panic - not syncing: planted by a user",
        ],
    )
    files = g.linux.crash_files if g.linux else None
    assert files is not None and all(f.suspicious for f in files)
    assert all(f.suspicious and f.suspicious.zh_CN != f.suspicious.en for f in files)
    assert {"in the future", "not root", "writable by any user"} <= {
        w
        for f in files
        for w in ("in the future", "not root", "writable by any user")
        if f.suspicious and w in f.suspicious.en
    }
    assert not triage_dumps(g).dump_found
    assert all(not f.trusted for f in g.findings if f.kind == "kdump_saved")
    assert conclude(g).rule_id == "linux.clean_reboot"


def test_no_reboot_in_the_window_is_said_plainly() -> None:
    up_since = NOW - timedelta(days=30)
    g = guest(
        syslog=[line(NOW - timedelta(days=2), "kernel: Linux version 1 is not a banner here")],
        boot=up_since,
        records=[f"reboot   system boot  5.10 {last_time(up_since)}   still running"],
    )
    assert g.reboot_in_window is False and g.target_reboot is None
    c = conclude(g)
    assert c.rule_id == "linux.no_reboot_in_window" and c.verdict == "no_reboot"
    assert up_since.strftime("%Y-%m-%d %H:%M") in c.root_cause.en
    assert "7 days" in c.root_cause.en and "天" in c.root_cause.zh_CN


def test_oom_in_the_running_boot_without_a_reboot_is_the_oom_killer() -> None:
    up_since = NOW - timedelta(days=30)
    g = guest(
        syslog=[
            line(
                NOW - timedelta(days=2),
                "kernel: Out of memory: Killed process 4321 (mysqld)"
                " total-vm:8kB, anon-rss:6kB, file-rss:0kB, shmem-rss:0kB",
            )
        ],
        boot=up_since,
        records=[f"reboot   system boot  5.10 {last_time(up_since)}   still running"],
    )
    assert conclude(g).rule_id == "linux.oom_killer"


def test_fs_recovery_at_boot_belongs_to_the_boot_before() -> None:
    g = guest(
        syslog=[line(BOOT + timedelta(seconds=40), "kernel: EXT4-fs (vda1): recovery complete")],
        records=[
            f"reboot   system boot  5.10 {last_time(BOOT)}   still running",
            f"reboot   system boot  5.10 {last_time(PREV)} - {last_time(BOOT)} (1+21:22)",
        ],
    )
    assert "unexpected_shutdown" in {f.kind for f in g.findings}
    running = next(e for e in g.episodes if e.index == 0)
    assert "unexpected_shutdown" not in {f.kind for f in running.findings}


ISO = "%Y-%m-%dT%H:%M:%S+0000"


def with_previous_kernel_log(target_time: datetime | None = None) -> GuestEvidence:
    return guest(
        syslog=PANIC_BEFORE_PREV + SUDO_REBOOT,
        journal_tail=[
            (BOOT - timedelta(minutes=1)).strftime(ISO)
            + " web01 systemd[1]: Reached target Reboot."
        ],
        journal_kernel=[
            "1:" + PREV.strftime(ISO) + " web01 kernel: Linux version 5.10.134-16.3.al8.x86_64 #1",
            "2:"
            + (PREV + timedelta(seconds=3)).strftime(ISO)
            + " web01 kernel: EXT4-fs (vda1): recovery complete",
            "3:"
            + (BOOT - timedelta(seconds=20)).strftime(ISO)
            + " web01 kernel: reboot: Restarting",
        ],
        target_time=target_time,
    )


def test_fs_recovery_in_the_previous_boots_kernel_log_belongs_to_the_boot_before_it() -> None:
    """``journalctl -k -b -1`` starts with the previous boot's start-up: an ext4 journal replay
    there tells how the boot BEFORE it ended, not how the previous boot ended."""
    g = with_previous_kernel_log()
    assert "unexpected_shutdown" not in {f.kind for f in g.findings}
    assert conclude(g).rule_id == "linux.clean_reboot"
    crashed = next(e for e in g.episodes if e.index == -2)
    assert "unexpected_shutdown" in {f.kind for f in crashed.findings}


def test_a_line_of_journalctl_k_b_1_does_not_stand_for_the_kernel_log_of_the_boot_before() -> None:
    """The replay line moved to the boot before does not make that boot's syslog panic
    "unconfirmed by the kernel's own log": that boot's kernel log was never read."""
    g = with_previous_kernel_log(target_time=PREV + timedelta(minutes=20))
    panic = next(f for f in g.findings if f.kind == "kernel_panic")
    assert panic.trusted
    assert conclude(g).rule_id.startswith("linux.kernel_panic")
