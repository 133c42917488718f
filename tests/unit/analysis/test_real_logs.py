# ruff: noqa: E501 - log lines are test data and keep their real length
"""Real kernel and system logs (tests/fixtures/real_logs) through the kernel log analyzer.

Every ``<kind>-<n>.log`` is an excerpt of what a real system printed, found in a public bug
report; its ``.json`` sidecar says where it comes from and what the analyzer must find:
``expected_kinds`` (exactly), ``expected_facts`` (per kind; ``null`` means "not reported") and
optionally ``expected_summary_contains`` (per kind). For ``benchmarks/accuracy.py`` every sidecar
also says ``expected_primary`` (the kind that is the cause, the headline; ``null`` for none) and
``is_crash``. Excerpts the current analyzer does not get right yet carry
``"analyzer_ready": false``: their exact-kinds check is skipped (the benchmark counts them all)
until the analyzer work of issue 11 lands and the flag is removed.
Windows excerpts live in ``real_logs/windows/`` with the same sidecar and ``"os": "windows"``;
tests/unit/analysis/test_windows_formats.py runs them through analyze-log.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from ecs_reboot_diagnosis.analysis.findings import analyze_log_text
from ecs_reboot_diagnosis.analysis.incident_context import parse_rip
from ecs_reboot_diagnosis.analysis.log_lines import cut_line, kernel_message, parse_syslog_time
from ecs_reboot_diagnosis.models import FINDING_KINDS, Finding

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "real_logs"
LOGS = sorted(CORPUS.glob("*.log"))
WINDOWS = sorted(p for p in (CORPUS / "windows").glob("*") if p.suffix in (".txt", ".xml"))
# every excerpt with a sidecar: Linux logs, the older Windows exports beside them, windows/
ALL = sorted(
    [*LOGS, *CORPUS.glob("windows_*.txt"), *CORPUS.glob("windows_*.xml"), *WINDOWS],
    key=lambda p: str(p.relative_to(CORPUS)),
)
# sources reserved for independent evaluation: never part of this corpus
RESERVED_SOURCES = ("syzkaller/pkg/report/testdata", "syzkaller.appspot.com", "syzbot")
REF = datetime(2025, 3, 21, 10, 0, tzinfo=timezone(timedelta(hours=8)))

# what a normal boot must never produce
CRASH_KINDS = frozenset(FINDING_KINDS) - {
    "clean_reboot",
    "clean_shutdown",
    "unexpected_shutdown",
    "app_crash",
}
# the vocabulary the corpus has to cover with real excerpts
VOCABULARY = tuple(
    k for k in FINDING_KINDS
    if k not in {"kdump_saved", "unexpected_shutdown", "bugcheck", "app_crash"}
)  # fmt: skip


def meta(log: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(log.with_suffix(".json").read_text("utf-8"))
    return data


def analyze(log: Path) -> dict[str, Finding]:
    findings = analyze_log_text(log.read_text("utf-8"), source=f"file:{log.name}")
    return {f.kind: f for f in findings}


def awaiting_analyzer(path: Path, m: dict[str, Any]) -> None:
    if m.get("analyzer_ready") is False:
        pytest.skip(f"{path.name}: awaiting issue 11 analyzer work")


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.stem)
def test_real_log(log: Path) -> None:
    m = meta(log)
    awaiting_analyzer(log, m)
    found = analyze(log)
    assert sorted(found) == sorted(m["expected_kinds"])
    for kind, facts in m["expected_facts"].items():
        got = found[kind].facts.model_dump(mode="json")
        for key, value in facts.items():
            if value is None:
                assert got[key] in (None, []), (kind, key)
            else:
                assert got[key] == value, (kind, key)
    for kind, text in m.get("expected_summary_contains", {}).items():
        assert text in found[kind].summary.en
    lines = log.read_text("utf-8").splitlines()
    for finding in found.values():
        assert finding.evidence, finding.kind
        for ev in finding.evidence:
            # evidence quotes the line as the analyzer matched it: cut to the collector's limits
            assert ev.line_no is not None and cut_line(lines[ev.line_no - 1]) == ev.text


@pytest.mark.parametrize("log", ALL, ids=lambda p: str(p.relative_to(CORPUS)))
def test_sidecar_names_a_public_source(log: Path) -> None:
    m = meta(log)
    assert m["source_url"].startswith("https://")
    assert not any(reserved in m["source_url"] for reserved in RESERVED_SOURCES)
    assert m["repository_or_site"]
    assert set(m["expected_kinds"]) <= set(FINDING_KINDS)
    assert set(m["expected_facts"]) <= set(m["expected_kinds"])
    # the headline the benchmark expects: one of the expected kinds, or none at all
    assert m["expected_primary"] in (*m["expected_kinds"], None)
    assert (m["expected_primary"] is None) == (not m["expected_kinds"])
    assert isinstance(m["is_crash"], bool)
    assert m.get("analyzer_ready", True) in (True, False)
    if log.parent.name == "windows":
        # named for their format (tests/unit/analysis/test_windows_formats.py checks them)
        assert m["os"] == "windows"
        return
    assert m["kernel"]
    kind = log.stem.rsplit("-", 1)[0].removeprefix("windows_")
    # clean_boot and negative excerpts are named for what they are, not for a finding
    assert kind in m["expected_kinds"] or kind in ("clean_boot", "negative")


def test_corpus_size() -> None:
    # issue 11: at least 150 real excerpts, each from a public source
    assert len(ALL) >= 150, len(ALL)


def test_corpus_covers_the_vocabulary() -> None:
    assert len(LOGS) >= 30
    covered = {kind for log in LOGS for kind in meta(log)["expected_kinds"]}
    assert set(VOCABULARY) <= covered, set(VOCABULARY) - covered
    by_file_kind = {log.stem.rsplit("-", 1)[0] for log in LOGS}
    assert set(VOCABULARY) <= by_file_kind | {"kernel_panic"}


@pytest.mark.parametrize(
    "log",
    sorted([*CORPUS.glob("clean_boot-*.log"), *CORPUS.glob("negative-*.log")]),
    ids=lambda p: p.stem,
)
def test_a_normal_boot_has_no_crash_finding(log: Path) -> None:
    awaiting_analyzer(log, meta(log))
    assert not set(analyze(log)) & CRASH_KINDS


# --- the formats the corpus taught the analyzer ---------------------------------------------


@pytest.mark.parametrize(
    ("line", "tag", "message"),
    [
        # pstore / ramoops and serial consoles keep the printk level
        ("<0>[    3.985537] Kernel panic - not syncing: x", None, "Kernel panic - not syncing: x"),
        # dmesg -T
        ("[Wed Dec 19 03:36:07 2018] INFO: task a:1 blocked", None, "INFO: task a:1 blocked"),
        ("[Thu Dec  7 00:05:15 2017] Killed process 1 (java)", None, "Killed process 1 (java)"),
        # dmesg -x -T with caller ids
        (
            "kern  :err   : [  +0.001354] [Tue Jan 13 04:33:10 2026] [T88977] Aborting journal on device sda-8.",
            None,
            "Aborting journal on device sda-8.",
        ),
        # dmesg --time-format iso
        ("2022-01-27T15:01:57,611476+01:00 Oops: 0000 [#1] SMP", None, "Oops: 0000 [#1] SMP"),
        # rsyslog forwarding kernel lines without a tag
        (
            "Aug 29 18:25:03 201.234.113.15 [  956.350849] RIP: 0010:nf_xfrm_me_harder+0x3b/0x120 [nf_nat]",
            "kernel",
            "RIP: 0010:nf_xfrm_me_harder+0x3b/0x120 [nf_nat]",
        ),
        # wall message of syslogd
        (
            " kernel:[405108.698255] watchdog: BUG: soft lockup - CPU#2 stuck for 22s! [chia_plot:29632]",
            "kernel",
            "watchdog: BUG: soft lockup - CPU#2 stuck for 22s! [chia_plot:29632]",
        ),
        # systemd's lines in the ring buffer, on a console, and imported by syslog as kernel's
        (
            "[  128.233235] systemd[1]: Reached target Power-Off.",
            "systemd",
            "Reached target Power-Off.",
        ),
        ("[  OK  ] Reached target Reboot.", "systemd", "Reached target Reboot."),
        (
            "Mar 20 10:30:00 host kernel: [    4.2] systemd[1]: Reached target Reboot.",
            "systemd",
            "Reached target Reboot.",
        ),
        # a kernel message that starts with a subsystem name stays the kernel's
        (
            "[ 9.1] watchdog: BUG: soft lockup - CPU#3 stuck for 23s! [java:4242]",
            None,
            "watchdog: BUG: soft lockup - CPU#3 stuck for 23s! [java:4242]",
        ),
    ],
)
def test_line_formats(line: str, tag: str | None, message: str) -> None:
    assert kernel_message(line) == (tag, message)


def test_line_times() -> None:
    # dmesg -T carries the year but no zone: it takes the reference's
    assert parse_syslog_time("[Wed Dec 19 03:36:07 2018] INFO: task", REF) == datetime(
        2018, 12, 19, 3, 36, 7, tzinfo=REF.tzinfo
    )
    assert parse_syslog_time("[Wed Dec 19 03:36:07 2018] INFO: task") is None
    assert parse_syslog_time("2022-01-27T15:01:57,611476+01:00 Oops") == datetime(
        2022, 1, 27, 15, 1, 57, 611476, tzinfo=timezone(timedelta(hours=1))
    )
    assert parse_syslog_time("<4>[ 1.0] x", REF) is None
    assert parse_syslog_time("Aug 29 18:25:03 10.0.0.5 [  956.1] RIP: x", REF) == datetime(
        2024, 8, 29, 18, 25, 3, tzinfo=REF.tzinfo
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("epc : kmem_cache_alloc+0x246/0x570", ("kmem_cache_alloc", None)),  # riscv
        ("epc   : 8026a400 proc_register+0x74/0x130", ("proc_register", None)),  # mips
        ("NIP [c00000000069d168] sysrq_handle_crash+0x28/0x30", ("sysrq_handle_crash", None)),
        ("RIP: 0010: init_module+0x0/0x1000 [compat]", ("init_module", "compat")),
        ("RIP: 0033:0x7fb78036ee00", None),
        (" ra : kmem_cache_alloc+0x44c/0x570", None),
        ("pc : [<c01f3218>]    lr : [<c01f32a0>]    psr: 60000013", None),
    ],
)
def test_rip_of_other_architectures(line: str, expected: tuple[str, str | None] | None) -> None:
    assert parse_rip(line) == expected


def test_old_oom_announcement_is_not_a_second_kill() -> None:
    text = "\n".join(
        [
            "Memory cgroup out of memory: Kill process 24572 (java) score 0 or sacrifice child",
            "Killed process 28438 (java) total-vm:20255636kB, anon-rss:466160kB, file-rss:13684kB",
            "Out of memory: Kill process 7 (lonely) score 1 or sacrifice child",
        ]
    )
    found = {f.kind: f for f in analyze_log_text(text)}
    assert found["cgroup_oom"].facts.oom_victim_pid == 28438
    assert "1 process(es) were killed" in found["cgroup_oom"].summary.en
    # an announcement without its kill line (a cut log) still counts
    assert found["oom_kill"].facts.oom_victim_pid == 7


def test_corrected_and_fatal_machine_checks() -> None:
    corrected = analyze_log_text("mce: [Hardware Error]: Machine check events logged")
    assert corrected[0].confidence == "low" and "Corrected" in corrected[0].summary.en
    fatal = analyze_log_text(
        "mce: [Hardware Error]: Machine check events logged\n"
        "mce: [Hardware Error]: CPU 7: Machine Check Exception: 5 Bank 0"
    )
    assert fatal[0].confidence == "high" and "Corrected" not in fatal[0].summary.en
