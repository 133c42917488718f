"""linux.sh 1.1: the boot section, the reboot history fallbacks, owner and mode of crash files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

import pytest

from ecs_reboot_diagnosis.analysis.envelope import Envelope, parse_envelope
from ecs_reboot_diagnosis.analysis.guest import parse_guest_output
from ecs_reboot_diagnosis.analysis.reboot_records import parse_last_records
from tests.collectors import linux_harness
from tests.collectors.linux_harness import LinuxRun, run_linux_case

Run = Callable[..., LinuxRun]
UID = os.getuid()


def _envelope(run: LinuxRun) -> Envelope:
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert len(run.output.encode()) < 20_000
    envelope = parse_envelope(run.output, run.nonce)
    assert envelope.complete
    return envelope


def _kv(envelope: Envelope, name: str) -> dict[str, str]:
    section = envelope.section(name)
    assert section is not None and section.status == "ok", name
    return section.kv()


# --- boot ----------------------------------------------------------------------------------------


def test_boot_section_comes_right_after_os(linux_case: Run) -> None:
    envelope = _envelope(linux_case("rhel_panic_vmcore"))
    names = list(envelope.sections)
    assert names[names.index("os") + 1] == "boot"
    assert names.index("boot") < names.index("reboot_history") < names.index("syslog")
    assert _kv(envelope, "boot") == {
        "btime": str(1742522400 - 84255),  # the case's clock minus its uptime
        "hostname": "iZbp1f0000000000000abcZ",
        "etc_hostname": "iZbp1f0000000000000abcZ",
    }


@pytest.mark.parametrize("shell", ["bash", "dash"])
def test_padded_btime_and_only_etc_hostname(linux_case: Run, shell: str) -> None:
    # btime padded with spaces; no /proc/sys/kernel/hostname and no hostname tool
    envelope = _envelope(linux_case("minimal_busybox", shell=shell))
    assert envelope.lines("boot") == ("btime=1742451388", "etc_hostname=minimal")


def test_garbage_btime_and_hostname_bytes_are_not_taken(linux_case: Run) -> None:
    envelope = _envelope(linux_case("hostile"))
    lines = envelope.lines("boot")
    assert not [line for line in lines if line.startswith("btime")]  # "btime 17424x8800"
    (etc,) = lines  # only the first line of /etc/hostname, control bytes and UTF-8 replaced
    assert etc.startswith("etc_hostname=") and etc.endswith("-host??[31m")
    assert etc.isascii() and "\x1b" not in etc and "second-line" not in etc


def test_boot_section_without_any_source_is_empty_but_ok(linux_case: Run) -> None:
    def strip(root: Path) -> None:
        for rel in ("proc/stat", "proc/sys/kernel/hostname", "etc/hostname"):
            (root / rel).unlink()

    envelope = _envelope(linux_case("clean_reboot", prepare=strip))
    boot = envelope.section("boot")
    assert boot is not None and boot.status == "ok" and boot.lines == ()


@pytest.mark.parametrize(
    ("uptime", "expected"),
    [
        ("2025-03-20 10:31:20\n", "2025-03-20 10:31:20"),
        # an uptime without -s (busybox) prints its usual line: not a boot time
        (" 10:31:20 up 23:24,  0 users,  load average: 0.00, 0.01, 0.05\n", None),
    ],
)
def test_uptime_since_and_the_hostname_command(
    linux_case: Run, uptime: str, expected: str | None
) -> None:
    def tools(root: Path) -> None:
        (root.parent / "tools" / "uptime.txt").write_text(uptime)
        (root.parent / "tools" / "hostname.txt").write_text("iZfromthecommandZ\n")
        (root / "proc/sys/kernel/hostname").unlink()

    boot = _kv(_envelope(linux_case("rhel_panic_vmcore", prepare=tools)), "boot")
    assert boot.get("uptime_since") == expected
    assert boot["hostname"] == "iZfromthecommandZ"  # /proc/sys/kernel/hostname is gone


def test_a_huge_host_name_is_clipped_to_the_section_budget(linux_case: Run) -> None:
    def grow(root: Path) -> None:
        (root / "etc/hostname").write_text("h" * 5000)  # no newline: head -c bounds the read
        (root / "proc/sys/kernel/hostname").write_text("k" * 5000 + "\n")

    envelope = _envelope(linux_case("rhel_panic_vmcore", prepare=grow))
    boot = envelope.section("boot")
    assert boot is not None and boot.truncated
    assert sum(len(line) + 1 for line in boot.lines) <= 400
    assert boot.lines[0].startswith("btime=")


# --- reboot history ------------------------------------------------------------------------------

UTMPDUMP = [
    "[2] [00000] [~~  ] [reboot  ] [~           ] [5.10.134-16.al8.x86_64] [0.0.0.0        ] "
    "[2025-02-{day:02d}T08:00:00,000000+08:00]",
    "[1] [00051] [~~  ] [runlevel] [~           ] [5.10.134-16.al8.x86_64] [0.0.0.0        ] "
    "[2025-02-{day:02d}T08:00:09,000000+08:00]",
    "[7] [01234] [ts/0] [admin   ] [pts/0       ] [10.0.0.1            ] [10.0.0.1       ] "
    "[2025-02-{day:02d}T09:00:00,000000+08:00]",
    "[8] [01234] [    ] [        ] [pts/0       ] [                    ] [0.0.0.0        ] "
    "[2025-02-{day:02d}T10:00:00,000000+08:00]",
    "[1] [00000] [~~  ] [shutdown] [~~          ] [5.10.134-16.al8.x86_64] [0.0.0.0        ] "
    "[2025-02-{day:02d}T23:59:30,000000+08:00]",
]


def _no_last(utmpdump: str | None) -> Callable[[Path], None]:
    def prepare(root: Path) -> None:
        (root.parent / "tools" / "last.txt").unlink()
        if utmpdump is not None:
            (root.parent / "tools" / "utmpdump.txt").write_text(utmpdump)

    return prepare


def test_utmpdump_when_last_is_missing(linux_case: Run) -> None:
    dump = "".join(line.format(day=day) + "\n" for day in range(1, 21) for line in UTMPDUMP)
    run = linux_case("rhel_panic_vmcore", prepare=_no_last(dump))
    envelope = _envelope(run)
    section = envelope.section("reboot_history")
    assert section is not None and (section.status, section.note) == ("ok", "utmpdump")
    lines = section.lines
    assert section.truncated and 8 <= len(lines) < 16  # the newest of 16, clipped to 1100 bytes
    assert sum(len(line) + 1 for line in lines) <= 1100
    # newest first, padding dropped; logins, logouts and run-level changes are not collected
    assert lines[0] == _compact(UTMPDUMP[4].format(day=20))
    assert lines[1] == _compact(UTMPDUMP[0].format(day=20))
    assert lines[2] == _compact(UTMPDUMP[4].format(day=19))
    records = parse_last_records(lines)
    assert [r.kind for r in records[:4]] == ["shutdown", "reboot", "shutdown", "reboot"]
    assert records[1].start is not None and records[1].start.isoformat() == (
        "2025-02-20T08:00:00+08:00"
    )
    guest = parse_guest_output("linux", run.output, run.nonce)
    assert guest.linux is not None and guest.linux.reboot_records == list(lines)


def _compact(line: str) -> str:
    return re.sub(r" +\]", "]", line)


def test_without_last_and_utmpdump_the_history_is_missing(linux_case: Run) -> None:
    envelope = _envelope(linux_case("rhel_panic_vmcore", prepare=_no_last(None)))
    section = envelope.section("reboot_history")
    assert section is not None
    assert (section.status, section.note) == ("missing", "last not available")


def test_last_time_format_iso_when_full_times_are_refused(linux_case: Run) -> None:
    iso = (
        "reboot   system boot  5.10.134-16.al8. 2025-03-20T10:31:20+08:00   still running\n"
        "runlevel (to lvl 3)   5.10.134-16.al8. 2025-03-20T10:31:29+08:00   still running\n"
        "shutdown system down  5.10.134-16.al8. 2025-03-20T10:30:02+08:00 - "
        "2025-03-20T10:31:20+08:00  (00:01)\n"
    )

    def prepare(root: Path) -> None:
        tools = root.parent / "tools"
        (tools / "last.txt").unlink()  # this last refuses -F
        (tools / "last-iso.txt").write_text(iso)
        (tools / "last-plain.txt").write_text("reboot   system boot  5.10 Thu Mar 20 10:31\n")

    lines = _envelope(linux_case("rhel_panic_vmcore", prepare=prepare)).lines("reboot_history")
    assert lines == (iso.splitlines()[0], iso.splitlines()[2])
    records = parse_last_records(lines)
    assert [r.kind for r in records] == ["reboot", "shutdown"]
    assert records[1].start is not None and records[1].start.isoformat() == (
        "2025-03-20T10:30:02+08:00"
    )


UTMPDUMP_BIN = shutil.which("utmpdump")


@pytest.mark.skipif(UTMPDUMP_BIN is None, reason="utmpdump is not installed")
def test_real_utmpdump_over_a_real_wtmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert UTMPDUMP_BIN is not None
    lines = (line.format(day=day) for day in (1, 2) for line in UTMPDUMP)
    text = "".join(line.replace("+08:00", "+00:00") + "\n" for line in lines)  # -r reads UTC

    def wtmp(root: Path) -> None:
        (root.parent / "tools" / "last.txt").unlink()
        binary = subprocess.run(
            [UTMPDUMP_BIN, "-r"], input=text.encode(), capture_output=True, check=True
        ).stdout
        (root / "var/log/wtmp").write_bytes(binary)

    real = linux_harness._tool_dir

    def with_utmpdump(dest: Path, tools: list[str], case_dir: Path) -> Path:
        bin_dir = real(dest, tools, case_dir)
        (bin_dir / "utmpdump").symlink_to(UTMPDUMP_BIN)
        return bin_dir

    monkeypatch.setattr(linux_harness, "_tool_dir", with_utmpdump)
    run = run_linux_case("rhel_panic_vmcore", tmp_path, prepare=wtmp)
    section = _envelope(run).section("reboot_history")
    assert section is not None and section.note == "utmpdump"
    records = parse_last_records(section.lines)
    # utmpdump prints UTC or local time with its offset, by version: the instants are the same
    assert [
        (r.kind, r.start.astimezone(UTC).isoformat() if r.start else None) for r in records
    ] == [
        ("shutdown", "2025-02-02T23:59:30+00:00"),
        ("reboot", "2025-02-02T08:00:00+00:00"),
        ("shutdown", "2025-02-01T23:59:30+00:00"),
        ("reboot", "2025-02-01T08:00:00+00:00"),
    ]


# --- crash files and dump directories ------------------------------------------------------------

FILE_LINE = re.compile(r"^(\d+) (\d+) (\d+) ([0-7]{3,4}) (/.*)$")
DIR_LINE = re.compile(r"^#dir=(\d+) (\d+) ([0-7]{3,4}) (/.*)$")


def test_crash_files_and_dirs_carry_owner_and_mode(linux_case: Run) -> None:
    other = 1000 if UID == 0 else UID  # a non-root owner (only root can give files away)

    def plant(root: Path) -> None:
        crash = root / "var/crash"
        crash.chmod(0o1777)  # world-writable, sticky
        new = crash / "127.0.0.1-2025-03-20-10-30-42"
        (new / "vmcore").chmod(0o600)
        debian = crash / "202503201105"  # kdump-tools layout
        debian.mkdir()
        (debian / "dmesg.202503201105").write_text("Kernel panic - not syncing: planted\n")
        debian.chmod(0o777)
        if UID == 0:
            os.chown(debian, other, other)
            os.chown(debian / "dmesg.202503201105", other, other)
        os.utime(debian / "dmesg.202503201105", (1742430000, 1742430000))
        os.utime(debian, (1742440100, 1742440100))

    run = linux_case("rhel_panic_vmcore", prepare=plant)
    lines = _envelope(run).lines("crash_files")
    files = [m.groups() for line in lines if (m := FILE_LINE.match(line))]
    dirs = [m.groups() for line in lines if (m := DIR_LINE.match(line))]
    assert [f[4] for f in files] == [  # newest first
        "/var/crash/127.0.0.1-2025-03-20-10-30-42/vmcore",
        "/var/crash/127.0.0.1-2025-03-20-10-30-42/vmcore-dmesg.txt",
        "/var/crash/202503201105/dmesg.202503201105",
        "/var/crash/127.0.0.1-2025-01-05-04-11-09/vmcore-dmesg.txt",
    ]
    assert files[0][2:4] == (str(UID), "600")
    assert files[2][0] == "1742430000" and files[2][2] == str(other)
    assert "#found=4" in lines
    assert dirs[0][1:] == (str(UID), "1777", "/var/crash")  # the dump path first
    assert ("1742440100", str(other), "777", "/var/crash/202503201105") in dirs
    assert {d[3] for d in dirs[1:]} == {
        "/var/crash/127.0.0.1-2025-03-20-10-30-42",
        "/var/crash/127.0.0.1-2025-01-05-04-11-09",
        "/var/crash/202503201105",
    }
    assert lines.index("#found=4") < lines.index(next(x for x in lines if x.startswith("#dir=")))
    # the analyser still reads the files, now with their owner and mode
    guest = parse_guest_output("linux", run.output, run.nonce)
    assert guest.linux is not None and guest.linux.crash_files is not None
    vmcore = guest.linux.crash_files[0]
    assert (vmcore.owner_uid, vmcore.mode) == (UID, "600")


def test_dump_path_and_var_crash_dirs_are_both_listed(linux_case: Run) -> None:
    def second(root: Path) -> None:
        (root / "var/crash").mkdir()

    lines = _envelope(linux_case("oom_panic", prepare=second)).lines("crash_files")
    dirs = [m.group(4) for line in lines if (m := DIR_LINE.match(line))]
    assert dirs[:2] == ["/data/crash", "/var/crash"]
    assert dirs[2:] == ["/data/crash/127.0.0.1-2025-03-20-03-15-42"]


def test_at_most_20_dump_dirs_newest_first(linux_case: Run) -> None:
    def many(root: Path) -> None:
        for k in range(30):
            dump = root / f"var/crash/127.0.0.1-2025-02-{k % 28 + 1:02d}-04-11-{k:02d}"
            dump.mkdir()
            os.utime(dump, (1740000000 + k * 600, 1740000000 + k * 600))

    lines = _envelope(linux_case("softlockup_panic", prepare=many)).lines("crash_files")
    assert lines[0] == "#found=0"
    dirs = [m.groups() for line in lines if (m := DIR_LINE.match(line))]
    assert len(dirs) == 20 and dirs[0][3] == "/var/crash"
    assert [int(d[0]) for d in dirs[1:]] == [1740000000 + k * 600 for k in range(29, 10, -1)]


def test_pstore_file_lines_carry_owner_and_mode(linux_case: Run) -> None:
    def mode(root: Path) -> None:
        (root / "sys/fs/pstore/dmesg-ramoops-0").chmod(0o440)

    lines = _envelope(linux_case("lockup_panic_oversized", prepare=mode)).lines("pstore")
    files = [line for line in lines if line.startswith("#file=")]
    assert files and all(re.match(r"#file=\d+ \d+ \d+ [0-7]{3,4} /", f) for f in files)
    assert any(f.endswith(f" {UID} 440 /sys/fs/pstore/dmesg-ramoops-0") for f in files)
