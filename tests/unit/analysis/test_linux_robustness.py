"""Issue 11 item 5: every Linux analyzer entry point takes any text without raising.

Random, adversarial (fragments of every signature, repeated) and very long lines go to the
kernel log analyzer, ``last -x`` records, the Linux guest analysis (through a synthetic collector
envelope), the envelope parser, the serial console analyzer and ``analyze-log``. Lines are cut to
the collector's limits before matching and evidence quotes the cut line. Timing lives in
``benchmarks/log_robustness.py``, not here.
"""

from __future__ import annotations

import io
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ecs_reboot_diagnosis_mcp.analyze_log as analyze_log
from ecs_reboot_diagnosis.analysis.console import read_console
from ecs_reboot_diagnosis.analysis.envelope import parse_envelope
from ecs_reboot_diagnosis.analysis.findings import analyze_log_lines, analyze_log_text
from ecs_reboot_diagnosis.analysis.guest import parse_guest_output
from ecs_reboot_diagnosis.analysis.incident_context import TRACE_HEADER, TRACE_LINES
from ecs_reboot_diagnosis.analysis.log_lines import (
    MAX_LINE,
    MAX_MODULES_LINE,
    LogLine,
    cut_line,
)
from ecs_reboot_diagnosis.analysis.reboot_records import parse_last_records
from ecs_reboot_diagnosis.analysis.signatures import PREFILTER
from ecs_reboot_diagnosis.errors import CollectorIntegrityError
from ecs_reboot_diagnosis.models import Finding

N = "0123456789abcdef0123456789abcdef"
NOW = datetime(2026, 12, 3, 7, 30, tzinfo=UTC)

# the start of every signature and context line, and the stamps and prefixes lines carry
FRAGMENTS = [
    "Kernel panic - not syncing: ",
    "---[ end Kernel panic - not syncing: Fatal exception ]---",
    "BUG: soft lockup - CPU#3 stuck for 22s! [",
    "BUG: kernel NULL pointer dereference",
    "BUG: ",
    "kernel BUG at ",
    "general protection fault",
    "Oops: 0002 [#1] SMP",
    "Oops",
    "[#",
    "INFO: task ",
    ":1234 blocked for more than 120 seconds",
    "Watchdog detected hard LOCKUP on cpu 2",
    "rcu_",
    "rcu_sched detected stalls",
    "mce: ",
    "Machine check",
    "[Hardware Error]",
    "Memory cgroup out of memory: Killed process 12 (",
    "Out of memory (",
    "Out of memory: Kill process 12 (java) score 9 or sacrifice child",
    "Killed process 4321 (mysqld) total-vm:123kB, anon-rss:45kB",
    "oom-kill:constraint=CONSTRAINT_NONE,",
    ",task=",
    ",pid=",
    " invoked oom-killer",
    "x invoked oom-killer: gfp_mask=0x0",
    "EXT4-fs error (device ",
    "EXT4-fs (",
    "XFS (",
    "): ",
    "BTRFS error (device ",
    "Aborting journal on device ",
    "RIP: 0010:",
    "RIP: ",
    "pc : ",
    "[<ffffffff8100>] ",
    "nvme_queue_rq+0x1a2/0x4d0 [nvme]",
    "Modules linked in: ",
    "CPU: 3 PID: 0 Comm: ",
    "Pid: 0, comm: ",
    "Tainted: ",
    " Not tainted ",
    "Call Trace:",
    "sysrq: Trigger a crash",
    "Attempted to kill init!",
    "VFS: Unable to mount root fs",
    "reboot: Restarting system",
    "systemd[1]: Reached target ",
    "Reached target ",
    "System is rebooting",
    "sudo:  root : TTY=pts/0 ; COMMAND=/sbin/reboot",
    "COMMAND=",
    "reboot   system boot  5.10.134 Thu Dec  3 05:22:00 2026   still running",
    "shutdown system down  5.10.134 Thu Dec  3 05:21:30 2026 - crash",
    "[2] [00000] [~~  ] [reboot  ] [~   ] [5.10] [0.0.0.0] [",
    "Mar 20 10:30:00 web01 kernel: ",
    "2026-12-03T05:22:00.123456+08:00 web01 kernel: ",
    "2022-01-27T15:01:57,611476+01:00 ",
    "<4>[  12.345678] ",
    "[Thu Mar 25 00:50:20 2021] ",
    "kern  :err   : ",
    "[  +0.001354] ",
    "[  OK  ] ",
    " ",
    "\t",
    "(",
    ")",
    "[",
    "]",
    ":",
    ",",
    "\ufffd",
    "\u200e",
    "\x00",
    "\x85",
]

fragment = st.sampled_from(FRAGMENTS)
line = st.one_of(
    st.text(max_size=120),
    st.lists(fragment, max_size=12).map("".join),
    st.lists(st.one_of(fragment, st.text(max_size=8)), max_size=16).map("".join),
    # very long: a fragment repeated, or a run without spaces after a fragment
    st.tuples(fragment, st.integers(1, 3000)).map(lambda t: t[0] * t[1]),
    st.tuples(fragment, st.sampled_from("x :(["), st.integers(1, 50_000)).map(
        lambda t: t[0] + t[1] * t[2]
    ),
)
lines = st.lists(line, max_size=25)
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _bounded(findings: list[Finding]) -> None:
    for finding in findings:
        for ev in finding.evidence:
            assert len(ev.text) <= MAX_MODULES_LINE


@SETTINGS
@given(lines)
def test_the_kernel_log_analyzer_takes_any_lines(parts: list[str]) -> None:
    text = "\n".join(parts)
    _bounded(analyze_log_text(text, source="log", reference=NOW))
    _bounded(
        analyze_log_lines(
            [LogLine(source="dmesg", line_no=n, text=t) for n, t in enumerate(parts, 1)],
            reference=NOW,
            reboot_records=parts,
        )
    )


@SETTINGS
@given(lines)
def test_last_records_take_any_lines(parts: list[str]) -> None:
    for record in parse_last_records(parts, NOW):
        assert len(record.text) <= MAX_MODULES_LINE


@SETTINGS
@given(lines)
def test_the_console_analyzer_takes_any_text(parts: list[str]) -> None:
    _bounded(read_console("\n".join(parts), NOW, NOW).findings)


def _envelope(body: list[str]) -> str:
    numbered = [f"{n}:{t}" for n, t in enumerate(body, 1)]
    sections: dict[str, list[str]] = {
        "meta": [f"collected_at={int(NOW.timestamp())}", "tz=+0000", "since_days=7"],
        "boot": [f"btime={int(NOW.timestamp()) - 3600}", "hostname=web01"],
        "reboot_history": body,
        "journal_tail": ["#source=journal.prev", *numbered],
        "journal_kernel": ["#source=journal.prev.kernel", *numbered],
        "syslog": ["#source=/var/log/messages", *numbered],
        "dmesg": ["#source=dmesg", *numbered],
        "oom": numbered,
        "pstore": ["#source=/sys/fs/pstore/dmesg-ramoops-0", *numbered],
        "crash_files": [
            "1764740000 2048 0 600 /var/crash/127.0.0.1-2026-12-03-05:20:00/vmcore",
            "1764740000 99 0 600 /var/crash/127.0.0.1-2026-12-03-05:20:00/vmcore-dmesg.txt",
            "#found=2",
        ],
        "crash_dmesg": [
            "#source=/var/crash/127.0.0.1-2026-12-03-05:20:00/vmcore-dmesg.txt",
            *numbered,
        ],
    }
    out = [f"ECS_DIAG_ENVELOPE schema_version=1 collector=linux version=1.1.0 nonce={N}"]
    for name, section in sections.items():
        out += [f"====={N} SECTION {name}=====", *section]
        out.append(f"====={N} END {name} status=ok truncated=0 note=-=====")
    out.append(f"====={N} EOF sections={len(sections)}=====")
    return "\n".join(out) + "\n"


@SETTINGS
@given(lines)
def test_the_linux_guest_analysis_takes_any_section_text(parts: list[str]) -> None:
    body = [p.replace("\n", " ").replace("\r", " ") for p in parts]
    guest = parse_guest_output("linux", _envelope(body), N)
    _bounded(list(guest.findings))


@SETTINGS
@given(lines)
def test_the_envelope_parser_takes_any_text(parts: list[str]) -> None:
    for text in ("\n".join(parts), _envelope(parts)):
        try:
            parse_envelope(text, N)
        except CollectorIntegrityError:
            pass


@SETTINGS
@given(st.binary(max_size=3000), lines, st.sampled_from(["auto", "linux", "windows"]))
def test_analyze_log_takes_any_file(raw: bytes, parts: list[str], hint: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "saved.log"
        for content in (raw, "\n".join(parts).encode("utf-8", errors="replace")):
            path.write_bytes(content)
            for fmt in ("text", "json"):
                code, out = analyze_log.run(path, hint, fmt)  # type: ignore[arg-type]
                assert code in (0, 2)
                assert out


@SETTINGS
@given(
    st.lists(
        st.one_of(
            line,
            st.sampled_from(["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x85", "\u2028"]),
        ),
        max_size=30,
    ),
    st.integers(1, 64),
)
def test_streamed_lines_are_the_lines_of_the_whole_text(parts: list[str], chunk: int) -> None:
    text = "".join(parts)
    stream = analyze_log._Stream(
        io.BytesIO(text.encode("utf-8")), "utf-8-sig", "f", windows=False, chunk=chunk
    )
    got = [(ln.line_no, ln.text) for ln in stream]
    # the pre-filter's lines, and the lines that follow a "Call Trace:" line (its frames)
    expected = []
    trace_until = 0
    for n, t in enumerate(text.splitlines(), 1):
        kept = cut_line(t[:MAX_MODULES_LINE])
        if n <= trace_until or PREFILTER.search(kept):
            expected.append((n, kept))
            if TRACE_HEADER.search(kept):
                trace_until = max(trace_until, n + TRACE_LINES)
    assert got == expected
    assert stream.seen_text == bool(text.strip())


def test_a_file_without_newlines_is_read_in_bounded_lines(tmp_path: Path) -> None:
    path = tmp_path / "one-line.log"
    path.write_bytes(b"Kernel panic - not syncing: " + b"x" * (3 * 1024 * 1024))
    with path.open("rb") as fh:
        got = list(analyze_log._Stream(fh, "utf-8-sig", "f", windows=True))
    assert [ln.line_no for ln in got] == [1]
    assert len(got[0].text) == MAX_LINE
    code, out = analyze_log.run(path, "auto", "json")
    assert code == 0 and '"kernel_panic"' in out


@pytest.mark.parametrize(
    "text",
    [
        "Modules linked in: " + "mod_a " * 400,
        "kernel: " + "word " * 100_000,
        "x" * 1_000_000 + " invoked oom-killer",
    ],
)
def test_lines_and_evidence_are_cut(text: str) -> None:
    cut = cut_line(text)
    assert len(cut) == (MAX_MODULES_LINE if "Modules linked in" in text[:100] else MAX_LINE)
    assert LogLine(source="s", line_no=1, text=text).text == cut
    _bounded(analyze_log_text("BUG: " + text))
