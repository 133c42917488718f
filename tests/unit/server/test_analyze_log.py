# ruff: noqa: E501 - log lines are test data and keep their real length
"""``analyze-log``: saved evidence of every supported form, read from real fixture files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ecs_reboot_diagnosis.models import FINDING_KINDS, FindingFacts
from ecs_reboot_diagnosis_mcp.analyze_log import run

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
REAL = FIXTURES / "real_logs"
WINDOWS = FIXTURES / "guest" / "windows"
FACT_KEYS = set(FindingFacts.model_fields)


def analyze(path: Path, os_hint: str = "auto") -> dict[str, Any]:
    code, out = run(path, os_hint, "json")  # type: ignore[arg-type]
    assert code == 0, out
    document: dict[str, Any] = json.loads(out)
    return document


def check_shape(doc: dict[str, Any]) -> None:
    assert list(doc) == ["primary_kind", "kinds", "findings"]
    assert doc["kinds"] == list(dict.fromkeys(f["kind"] for f in doc["findings"]))
    assert doc["primary_kind"] == (doc["kinds"][0] if doc["kinds"] else None)
    for f in doc["findings"]:
        assert list(f) == ["kind", "severity", "summary", "confidence", "evidence", "facts"]
        assert f["kind"] in FINDING_KINDS
        assert all(list(e) == ["line_no", "text"] for e in f["evidence"])
        assert set(f["facts"]) <= FACT_KEYS
        assert all(v is not None and v != [] for v in f["facts"].values())
    ranks = [("critical", "warning", "info").index(f["severity"]) for f in doc["findings"]]
    assert ranks == sorted(ranks)


# --- Linux text logs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "primary", "kinds"),
    [
        ("oom_panic-1.log", "oom_panic", ["oom_panic", "kernel_panic"]),  # vmcore-dmesg style
        ("kernel_panic-2.log", "kernel_panic", ["kernel_panic"]),  # pstore, <level> prefixes
        ("soft_lockup-1.log", "soft_lockup", ["soft_lockup", "kernel_panic"]),  # serial console
        ("hung_task-3.log", "hung_task", ["hung_task"]),  # dmesg -T
        ("fs_error-2.log", "fs_error", ["fs_error"]),  # rsyslog ISO / short-iso
        ("cgroup_oom-4.log", "cgroup_oom", ["cgroup_oom"]),  # /var/log/messages
        ("clean_shutdown-1.log", "clean_shutdown", ["clean_shutdown"]),  # journalctl
    ],
)
def test_linux_logs(name: str, primary: str, kinds: list[str]) -> None:
    doc = analyze(REAL / name)
    check_shape(doc)
    assert doc["primary_kind"] == primary
    assert doc["kinds"] == kinds


def test_json_carries_the_design_facts() -> None:
    doc = analyze(REAL / "oom_panic-1.log")
    panic = doc["findings"][0]
    assert panic["kind"] == "oom_panic"  # the cause, then the panic it caused
    assert [f["kind"] for f in doc["findings"]] == ["oom_panic", "kernel_panic"]
    assert panic["facts"] == {
        "panic_reason": "Out of memory: system-wide panic_on_oom is enabled",
        "panicked": True,
        "process": "webservice",
        "pid": 35943,
        "kernel_version": "3.10.0-327.28.2.el7.x86_64",
        # the panic's own trace (dump_stack and panic left out): who decided to panic
        "call_trace": ["check_panic_on_oom", "out_of_memory"],
    }
    assert panic["severity"] == "critical" and panic["confidence"] == "high"
    assert panic["evidence"][0] == {
        "line_no": 6,
        "text": "[890563.635409] Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled",
    }
    dated = analyze(REAL / "fs_error-2.log")["findings"][0]
    assert dated["facts"]["timestamp"] == "2016-09-12T14:15:22.562783+01:00"


def test_a_clean_log_has_no_finding() -> None:
    doc = analyze(REAL / "clean_boot-2.log")
    assert doc == {"primary_kind": None, "kinds": [], "findings": []}
    code, out = run(REAL / "clean_boot-2.log", "auto", "text")
    assert code == 0
    assert out == f"{REAL / 'clean_boot-2.log'}: no crash or reboot signature found (Linux log)"


def test_text_format_is_one_block_per_finding() -> None:
    code, out = run(REAL / "sysrq_crash-2.log", "linux", "text")
    assert code == 0
    header, *blocks = out.split("\n\n")
    assert header.endswith("3 finding(s) (Linux log)")
    assert [b.splitlines()[0] for b in blocks] == [
        "[critical] sysrq_crash (confidence high)",
        "[warning] null_pointer (confidence high)",  # the NULL dereference explains the oops
        "[warning] oops (confidence high)",
    ]
    assert "  facts: rip_function=sysrq_handle_crash," in blocks[0]
    assert "  line 1: [1568872.292681] sysrq: SysRq : Trigger a crash" in blocks[0]


# --- journald exports ----------------------------------------------------------------------


def journal_entries(log: Path) -> list[dict[str, str]]:
    """The lines of a real kernel log as journald would store them (the text is unchanged)."""
    entries = []
    for n, line in enumerate(log.read_text("utf-8").splitlines()):
        message = line.split("] ", 1)[1] if line.startswith("[") else line
        entries.append(
            {
                "__REALTIME_TIMESTAMP": str(1_700_000_000_000_000 + n),
                "_HOSTNAME": "node-1",
                "_TRANSPORT": "kernel",
                "SYSLOG_IDENTIFIER": "kernel",
                "MESSAGE": message,
            }
        )
    return entries


def test_journal_export(tmp_path: Path) -> None:
    entries = journal_entries(REAL / "soft_lockup-2.log")
    out = bytearray()
    for i, entry in enumerate(entries):
        for key, value in entry.items():
            if key == "MESSAGE" and i == 0:  # journald writes a field with odd bytes in binary
                data = value.encode()
                out += b"MESSAGE\n" + len(data).to_bytes(8, "little") + data + b"\n"
            else:
                out += f"{key}={value}\n".encode()
        out += b"\n"
    path = tmp_path / "boot.export"
    path.write_bytes(bytes(out))
    doc = analyze(path)
    check_shape(doc)
    lockup = doc["findings"][0]
    assert lockup["kind"] == "soft_lockup"
    assert lockup["facts"]["process"] == "docker"
    assert lockup["facts"]["rip_function"] == "smp_call_function_many"
    assert lockup["facts"]["timestamp"] == "2023-11-14T22:13:20Z"
    assert lockup["evidence"][0]["text"].startswith(
        "2023-11-14T22:13:20.000000+00:00 node-1 kernel: NMI watchdog: BUG: soft lockup"
    )


@pytest.mark.parametrize("pretty", [False, True])
def test_journal_json(tmp_path: Path, pretty: bool) -> None:
    entries = journal_entries(REAL / "cgroup_oom-1.log")
    entries[0]["MESSAGE"] = list(entries[0]["MESSAGE"].encode())  # type: ignore[assignment]
    text = "\n".join(json.dumps(e, indent=2 if pretty else None) for e in entries)
    path = tmp_path / "journal.json"
    path.write_text(text)
    doc = analyze(path)
    assert doc["kinds"] == ["cgroup_oom"]
    assert doc["findings"][0]["facts"]["oom_victim_process"] == "uwsgi"


# --- collector envelopes -----------------------------------------------------------------------


def test_windows_envelope_takes_the_nonce_from_its_header() -> None:
    doc = analyze(WINDOWS / "bsod_dump_write_failed.txt")
    check_shape(doc)
    assert doc["primary_kind"] == "bugcheck"
    assert doc["findings"][0]["facts"]["bugcheck_code"] == "0x00000139"
    code, out = run(WINDOWS / "bsod_memory_dmp.txt", "auto", "text")
    assert code == 0
    assert "(collector envelope (windows, version 1.1.0))" in out.splitlines()[0]
    assert "guest:System event log line" in out


def test_linux_envelope(tmp_path: Path) -> None:
    nonce = "5a0c3f9e7d1b4a6c8e2f0d9b7a5c3e1f"
    real = (REAL / "kernel_bug-1.log").read_text("utf-8").splitlines()
    lines = [
        f"ECS_DIAG_ENVELOPE schema_version=1 collector=linux version=1.0.0 nonce={nonce}",
        f"====={nonce} SECTION meta=====",
        "collected_at=1767225600",
        "tz=+0800",
        "since_days=7",
        f"====={nonce} END meta status=ok truncated=0 note=-=====",
        f"====={nonce} SECTION dmesg=====",
        "#source=dmesg",
        *(f"{n}:{line}" for n, line in enumerate(real, start=100)),
        f"====={nonce} END dmesg status=ok truncated=0 note=-=====",
        f"====={nonce} EOF sections=2=====",
    ]
    path = tmp_path / "collector-output.txt"
    path.write_text("\n".join(lines) + "\n")
    doc = analyze(path)
    assert doc["kinds"] == ["kernel_bug", "oops"]  # the BUG explains the oops
    bug = doc["findings"][0]
    assert bug["facts"]["process"] == "Execution worke"
    assert bug["evidence"][0]["line_no"] == 101  # the guest's own line number
    code, out = run(path, "windows", "json")
    assert (code, out) == (2, "the file is a linux collector envelope, not windows")


def test_broken_envelope_is_an_input_error(tmp_path: Path) -> None:
    nonce = "5a0c3f9e7d1b4a6c8e2f0d9b7a5c3e1f"
    path = tmp_path / "cut.txt"
    path.write_text(
        f"ECS_DIAG_ENVELOPE schema_version=1 collector=linux version=1.0.0 nonce={nonce}\n"
        f"====={nonce} END dmesg status=ok truncated=0 note=-=====\n"
    )
    code, out = run(path, "auto", "json")
    assert code == 2 and out.startswith("not a valid collector envelope: ")
    assert "\n" not in out


# --- Windows exports ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kinds"),
    [
        ("windows_bugcheck-1.xml", ["bugcheck", "unexpected_shutdown"]),
        ("windows_unexpected_shutdown-1.txt", ["unexpected_shutdown"]),
        ("windows_bugcheck-3.txt", ["bugcheck"]),
        ("windows_clean_reboot-1.txt", ["clean_reboot"]),
    ],
)
def test_windows_exports(name: str, kinds: list[str]) -> None:
    doc = analyze(REAL / name)
    check_shape(doc)
    assert doc["kinds"] == kinds


def test_utf16_event_viewer_export(tmp_path: Path) -> None:
    """PowerShell's `>` and Event Viewer write UTF-16 with a byte order mark."""
    text = (REAL / "windows_bugcheck-1.xml").read_text("utf-8")
    path = tmp_path / "system.xml"
    path.write_bytes(text.encode("utf-16"))
    doc = analyze(path, "windows")
    assert doc["findings"][0]["facts"]["bugcheck_name"] == "MEMORY_MANAGEMENT"


def test_windows_hint_on_a_linux_log_finds_nothing() -> None:
    assert analyze(REAL / "kernel_bug-1.log", "windows")["findings"] == []


# --- what cannot be read ------------------------------------------------------------------------


def test_errors_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_text("\n \n")
    assert run(empty, "auto", "text") == (2, f"{empty} is empty")
    missing = tmp_path / "missing.log"
    assert run(missing, "auto", "json") == (
        2,
        f"cannot read {missing}: No such file or directory",
    )
    code, out = run(tmp_path, "auto", "text")
    assert code == 2 and out.startswith(f"cannot read {tmp_path}: ")
    dtd = tmp_path / "bomb.xml"
    dtd.write_text(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "a">]>'
        '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">&a;</Event>'
    )
    code, out = run(dtd, "auto", "json")
    assert code == 2 and "document type declaration" in out and "\n" not in out
