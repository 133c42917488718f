"""Rendering the scenario reports of tests/fixtures/reports: structure, facts, safety, JSON.

Golden files in tests/fixtures/reports/golden/ pin the skeleton of every render (headings, bold
sub-headings, rules, fences). Regenerate them with ``UPDATE_GOLDEN=1`` after a deliberate change.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from ecs_reboot_diagnosis.models import LANGS, Lang, Report
from ecs_reboot_diagnosis.report import ReportLoadError, load_report, render_json, render_markdown
from ecs_reboot_diagnosis.report.catalog import load_catalog
from ecs_reboot_diagnosis.report.render import _finalize
from ecs_reboot_diagnosis.report.view import basename, format_size, format_time

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "reports"
GOLDEN = FIXTURES / "golden"
SCENARIOS = sorted(p.stem for p in FIXTURES.glob("*.json"))
SEED_SCENARIOS = [s for s in SCENARIOS if int(s[1:3]) <= 10]
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
BOLD_LINE = re.compile(r"^\*\*[^*]+\*\*$")
PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_/ .|-]*\}")
LEAK = re.compile(r"\bNone\b(?! \()|\bnull\b|\bTrue\b|\bFalse\b")

EVIL = (
    "evil ``` ~~~~ ` ``\n## Diagnostic Conclusion\n# heading\n<script>alert(1)</script>"
    " |table| **bold** [link](http://x) &#10; \r\n---\n- item\n1. item\n> quote"
)


def load(name: str) -> Report:
    return load_report((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def skeleton(markdown: str) -> list[str]:
    """The structure of a render: headings, bold sub-headings, rules and fences, in order."""
    out: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        m = FENCE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                assert not m.group(2).strip(), line
                out.append("```")
                fence = None
            continue
        if m:
            fence = m.group(1)
            out.append("```" + m.group(2).strip())
        elif line.startswith("#") or BOLD_LINE.match(line) or line == "---":
            out.append(line)
    assert fence is None, "unclosed fence"
    return out


def headings(markdown: str) -> list[str]:
    return [line for line in skeleton(markdown) if line.startswith("#")]


def strip_code_spans(line: str) -> str:
    """``line`` without its CommonMark code spans (unmatched backtick runs stay literal)."""
    out: list[str] = []
    i = 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            out.append(line[i : i + 2])
            i += 2
            continue
        if line[i] != "`":
            out.append(line[i])
            i += 1
            continue
        run = len(line[i:]) - len(line[i:].lstrip("`"))
        close = re.compile(rf"(?<!`)`{{{run}}}(?!`)")
        m = close.search(line, i + run)
        if m is None:
            out.append(line[i : i + run])
            i += run
        else:
            i = m.end()
    return "".join(out)


def outside_code(markdown: str) -> list[str]:
    """The lines outside fenced blocks, with code spans removed."""
    lines: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        m = FENCE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        lines.append(strip_code_spans(line))
    return lines


def poison(report: Report) -> Report:
    """``report`` with EVIL appended to every string field that still validates with it."""
    data = json.loads(render_json(report))

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            if isinstance(value, str):
                node[key] = value + EVIL
                try:
                    Report.model_validate(data)
                except ValueError:
                    node[key] = value
            elif isinstance(value, dict | list):
                walk(value)

    walk(data)
    return Report.model_validate(data)


# --- every scenario, every language ------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", SCENARIOS)
def test_skeleton_matches_golden(name: str, lang: Lang) -> None:
    got = "\n".join(skeleton(render_markdown(load(name), lang))) + "\n"
    path = GOLDEN / f"{name}.{lang}.headings.txt"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"missing golden file {path.name}; run with UPDATE_GOLDEN=1"
    assert got == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", SCENARIOS)
def test_every_section_of_the_template_is_present_in_order(name: str, lang: Lang) -> None:
    report = load(name)
    catalog = load_catalog()
    steps = ["step1", "step2"]
    steps += ["step3a", "step4a", "step5"] if report.instance.os_type == "linux" else ["step3b"]
    steps += ["outside", "reboot", "timeline"]
    expected = [
        "## " + catalog.raw("heading.progress", lang),
        *("### " + catalog.raw(f"heading.{s}", lang) for s in steps),
        "## " + catalog.raw("heading.conclusion", lang),
        "## " + catalog.raw("heading.recommendations", lang),
    ]
    assert headings(render_markdown(report, lang)) == expected


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", SCENARIOS)
def test_no_placeholder_or_python_value_leaks(name: str, lang: Lang) -> None:
    text = render_markdown(load(name), lang)
    assert not PLACEHOLDER.findall(text)
    assert not LEAK.findall("\n".join(outside_code(text)))  # code may say 2>/dev/null
    assert not re.search(r"`(None|null|True|False)`", text)
    assert "\n\n\n" not in text
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert all(line == line.rstrip() for line in text.split("\n"))


@pytest.mark.parametrize("name", SCENARIOS)
def test_header_line_names_the_diagnosis(name: str) -> None:
    report = load(name)
    first = render_markdown(report, "en").split("\n")[0]
    assert report.diagnosis_id in first
    assert format_time(report.generated_at) in first
    assert f"Tool version: {report.tool_version}" in first


@pytest.mark.parametrize("name", SCENARIOS)
def test_chinese_render_has_chinese_headings_only(name: str) -> None:
    catalog = load_catalog()
    english = {catalog.raw(k, "en") for k in catalog.keys if k.startswith(("heading.", "block."))}
    text = render_markdown(load(name), "zh-CN")
    for line in headings(text):
        assert re.search(r"[\u4e00-\u9fff]", line), line
    for label in english:
        assert label not in text, label
    assert "**发现：**" in text and "## 诊断结论" in text


@pytest.mark.parametrize("name", SCENARIOS)
def test_json_round_trips(name: str) -> None:
    stored = (FIXTURES / f"{name}.json").read_text(encoding="utf-8")
    report = load_report(stored)
    text = render_json(report)
    assert text == stored.rstrip("\n")  # the fixtures are canonical render_json output
    assert Report.model_validate_json(text) == report
    assert load_report(text) == report
    assert '"zh-CN"' in text


# --- key facts of the seed scenarios ------------------------------------------------------------


FACTS: dict[str, list[str]] = {
    "s01_linux_maintenance_reboot": [
        "`SystemMaintenance.Reboot`, status Executed, 2025-03-20 10:00:00 UTC",
        "Reason: `SystemMaintenance` Planned system maintenance",
        "This event explains the reboot.",
        "> **Not performed**: platform cause found (`SystemMaintenance.Reboot`), guest not checked",
        "2. Subscribe to ECS system event notifications",
    ],
    "s02_linux_panic_vmcore": [
        "RIP: `RIP: 0010:nvme_queue_rq+0x1a2/0x4d0 [nvme]`",
        "Latest dump: `/var/crash/127.0.0.1-2025-03-20-10:30:00/vmcore`, 2.5 GiB,"
        " 2025-03-20 10:30:00 UTC",
        "Service Status: active",
        "- `Kernel panic - not syncing: Fatal exception in interrupt`",
        "Involved Modules: `nvme`, `nvme_core`",
        "```\n<IRQ>\nnvme_queue_rq+0x1a2/0x4d0 [nvme]\nblk_mq_dispatch_rq_list+0x13c/0x7d0\n",
        "Found crash dumps: Yes (2 files)",
        "Dump type: vmcore (RHEL)",
    ],
    "s03_linux_panic_no_vmcore": [
        "Service Status: inactive",
        "Found crash dumps: No",
        "crashkernel Parameter: Absent from /proc/cmdline",
        "Config File Exists: Yes (`/etc/kdump.conf`)",
        "**Configuration Steps for RHEL/CentOS/Alibaba Cloud Linux:**",
        "1. `yum install -y kexec-tools`",
        '2. `grubby --update-kernel=ALL --args="crashkernel=auto"` (or crashkernel=256M',
        "> **Not performed**: No vmcore or dump file was found in /var/crash",
    ],
    "s04_linux_oom_panic": [
        "- vm.panic_on_oom: 1\n- Impact: OOM triggers a kernel panic and reboot",
        "OOM killer (warning, high confidence): Out of memory: Kill process 23456 (java)",
        "1. Disable panic\\_on\\_oom",
        "   - `sysctl -w vm.panic_on_oom=0`",
    ],
    "s05_linux_oom_killer": [
        "- vm.panic_on_oom: 0\n- Impact: OOM kills a process only; the system keeps running",
        "Service Type: kdump-tools (Ubuntu/Debian)",
        "Panic reason (from dmesg): No panic message found in the collected logs",
    ],
    "s06_windows_bsod_memory_dump": [
        "- CrashDumpEnabled: 7\n- Dump Type: Automatic memory dump",
        "Memory dump file: Found (`C:\\Windows\\MEMORY.DMP`)",
        "File size: 4.2 GiB",
        "Last modified: 2025-03-20 10:30:00 UTC",
        "Event ID 41 (`Microsoft-Windows-Kernel-Power`), 2025-03-20 10:32:15 UTC",
        "Bug check: `0x0000007E` (`SYSTEM_THREAD_EXCEPTION_NOT_HANDLED`)",
    ],
    "s07_windows_bsod_dump_disabled": [
        "- CrashDumpEnabled: 0\n- Dump Type: None (memory dumps disabled)",
        "Memory dump file: Not found",
        "File size: Not applicable: no memory dump file",
        "**Memory Dump Configuration Recommendation:**\nMemory dumps are disabled"
        " (CrashDumpEnabled=0).\n\n1. `Set-ItemProperty",
    ],
    "s08_windows_bsod_no_pagefile": [
        "Pagefile: Not configured",
        "CrashDumpEnabled: 7",
        "1. Configure pagefile: System Properties \\> Advanced",
    ],
    "s09_windows_minidump": [
        "- Count: 1 (`C:\\Windows\\Minidump`)",
        "- Latest: `032025-12345-01.dmp`, 128 KiB, 2025-03-20 10:30:00 UTC",
        "Dump Type: Small memory dump (minidump)",
    ],
    "s10_windows_app_crash": [
        "No unexpected shutdown events found.",
        "Application crash (warning, high confidence): OrderService.exe crashed 3 times",
        "Uptime: 14 days, 8 hours",
        "No BSOD events found.",
    ],
    "s11_linux_agent_unavailable": [
        "> The platform reported `InstanceFailure.Reboot` (an instance-level failure), checking",
        "Cloud Assistant Running: No (last heartbeat 2025-03-19 08:02:11 UTC)",
        "Service Status: Not collected: Cloud Assistant not available",
        "```bash\nssh root@47.96.12.34\nlast -x reboot shutdown | head -20\n",
        "> **Not performed**: Cloud Assistant not available (Cloud Assistant is not running",
    ],
    "s12_windows_agent_unavailable": [
        "Cloud Assistant Running: Yes (last heartbeat 2025-03-20 09:40:00 UTC)",
        "Pagefile: Not collected: Cloud Assistant not available",
        "```powershell\nGet-WinEvent -FilterHashtable @{LogName='System'; ID=41,1074,6008,6006}",
    ],
    "s13_linux_sections_missing": [
        "Service Status: Not collected: section `kdump` missing from collector output"
        " (timed out after 10 s)",
        "vm.panic_on_oom: Not collected: section `sysctl` missing from collector output",
        "Sections missing from the output: `kdump`, `sysctl`, `crash_files`",
        "Sections truncated: `logs`",
    ],
    "s14_linux_collection_failed": [
        "Not collected: the diagnostic script did not finish: invocation `t-hz02ffee0000dead`"
        " ended with status Failed (`ExecutionTimeout` The command did not finish",
        "ssh root@172.16.0.12",
    ],
}

FACTS_ZH: dict[str, list[str]] = {
    "s04_linux_oom_panic": ["- vm.panic_on_oom：1\n- 影响：OOM 触发内核 panic 并导致重启"],
    "s05_linux_oom_killer": ["影响：OOM 只终止进程，系统继续运行"],
    "s07_windows_bsod_dump_disabled": ["转储类型：无（已禁用内存转储）", "内存转储文件：未找到"],
    "s09_windows_minidump": [
        "数量：1",
        "最新：`032025-12345-01.dmp`，128 KiB，2025-03-20 10:30:00 UTC",
    ],
    "s11_linux_agent_unavailable": ["云助手是否运行：否", "服务状态：未采集（云助手不可用）"],
    "s02_linux_panic_vmcore": ["是否发现崩溃转储：是（2 个文件）", "> **未执行**：kdump 已就绪"],
}


def test_every_scenario_has_facts() -> None:
    assert sorted(FACTS) == SCENARIOS
    assert len(SEED_SCENARIOS) == 10


@pytest.mark.parametrize("name", sorted(FACTS))
def test_key_facts_appear(name: str) -> None:
    text = render_markdown(load(name), "en")
    for fact in FACTS[name]:
        assert fact in text


@pytest.mark.parametrize("name", sorted(FACTS_ZH))
def test_key_facts_appear_in_chinese(name: str) -> None:
    text = render_markdown(load(name), "zh-CN")
    for fact in FACTS_ZH[name]:
        assert fact in text


@pytest.mark.parametrize("name", SCENARIOS)
def test_conclusion_evidence_is_listed(name: str) -> None:
    report = load(name)
    text = render_markdown(report, "en")
    conclusion = text[text.index("## Diagnostic Conclusion") :]
    for evidence in report.conclusion.evidence:
        assert f"`{evidence.source}`" in conclusion
        if evidence.line_no is not None:
            assert f"(line {evidence.line_no})" in conclusion


@pytest.mark.parametrize("name", SCENARIOS)
def test_alternatives_shown_exactly_when_the_guest_was_not_reached(name: str) -> None:
    report = load(name)
    text = render_markdown(report, "en")
    needs = report.guest is None and (
        report.events is None or report.events.outcome != "platform_cause"
    )
    assert ("Cloud Assistant cannot run the diagnostic script" in text) == needs


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("os_type", ["linux", "windows"])
def test_a_bare_report_still_has_every_section(os_type: str, lang: Lang) -> None:
    """Only the instance and a conclusion: every value says why it is missing."""
    source = load(
        "s11_linux_agent_unavailable" if os_type == "linux" else "s12_windows_agent_unavailable"
    )
    bare = Report(
        tool_version="0.1.0",
        diagnosis_id=source.diagnosis_id,
        generated_at=source.generated_at,
        instance=source.instance,
        conclusion=source.conclusion,
    )
    text = render_markdown(bare, lang)
    reference = render_markdown(source, lang)
    assert headings(text) == headings(reference)
    assert [line for line in skeleton(text) if line.startswith("**")] == [
        line for line in skeleton(reference) if line.startswith("**")
    ]
    not_collected = "Not collected: " if lang == "en" else "未采集（"
    assert text.count(not_collected) >= 8
    assert not PLACEHOLDER.findall(text)
    assert not LEAK.findall("\n".join(outside_code(text)))
    if lang == "en":
        assert "Not collected: maintenance events were not checked" in text
        assert "Not collected: Cloud Assistant status was not checked" in text
        assert "1. No specific action is recommended by this diagnosis." in text


def test_guest_system_and_triage_evidence_are_shown() -> None:
    text = render_markdown(load("s02_linux_panic_vmcore"), "en")
    assert "  - Alibaba Cloud Linux 3 (Soaring Falcon), kernel `5.10.134-16.al8.x86_64`\n" in text
    step4 = text[text.index("**Panic Reason:**") : text.index("**Crash Location:**")]
    assert "  - `/var/crash/127.0.0.1-2025-03-20-10:30:00/vmcore-dmesg.txt` (line 1893)" in step4


def test_long_lists_are_capped() -> None:
    report = load("s05_linux_oom_killer")
    assert report.guest is not None
    finding = report.guest.findings[0]
    guest = report.guest.model_copy(update={"findings": [finding] * 25})
    text = render_markdown(report.model_copy(update={"guest": guest}), "en")
    assert text.count("OOM killer (warning, high confidence)") == 20
    assert "- … and 5 more\n" in text


def test_default_manual_commands_when_the_report_has_none() -> None:
    report = load("s11_linux_agent_unavailable").model_copy(update={"manual_steps": []})
    text = render_markdown(report, "en")
    assert "```bash\n# Provide these commands to user for manual execution via SSH\n" in text
    assert "ssh root@47.96.12.34\n" in text
    windows = load("s12_windows_agent_unavailable").model_copy(update={"manual_steps": []})
    text = render_markdown(windows, "zh-CN")
    assert "```powershell\n# 通过 RDP 连接 172.16.0.12，以管理员身份在 PowerShell 中执行" in text


# --- untrusted text cannot break the structure --------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", SCENARIOS)
def test_injected_text_keeps_the_structure(name: str, lang: Lang) -> None:
    clean = load(name)
    evil = poison(clean)
    assert evil != clean
    clean_md = render_markdown(clean, lang)
    evil_md = render_markdown(evil, lang)
    assert skeleton(evil_md) == skeleton(clean_md)
    assert headings(evil_md) == headings(clean_md)
    # Outside code, nothing from the payload is live Markdown or HTML.
    for line in outside_code(evil_md):
        assert not re.search(r"(?<!\\)<script", line), line
        assert not re.search(r"(?<!\\)\[link\]", line), line
        assert not re.search(r"(?<![\\*])\*\*bold", line), line
        assert not re.search(r"(?<!\\)\|table", line), line


def test_injection_reaches_the_untrusted_fields() -> None:
    evil = poison(load("s02_linux_panic_vmcore"))
    assert evil.dump_triage is not None and evil.dump_triage.panic_reason is not None
    assert EVIL in evil.dump_triage.panic_reason
    assert EVIL in evil.dump_triage.call_trace[0]
    assert EVIL in evil.conclusion.evidence[0].text
    text = render_markdown(evil, "en")
    call_stack = text[text.index("**Call Stack:**") :]
    assert call_stack.split("\n")[1] == "`````"  # longer than the ```` run in the payload


# --- value formatting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1 KiB"),
        (128 * 1024, "128 KiB"),
        (1024**2 - 1, "1 MiB"),
        (int(2.5 * 1024**3), "2.5 GiB"),
        (int(4.2 * 1024**3), "4.2 GiB"),
        (3 * 1024**4, "3 TiB"),
    ],
)
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text


def test_format_time_is_utc() -> None:
    assert format_time(datetime(2025, 3, 20, 10, 30, tzinfo=UTC)) == "2025-03-20 10:30:00 UTC"
    east8 = timezone(timedelta(hours=8))
    assert format_time(datetime(2025, 3, 20, 18, 30, tzinfo=east8)) == "2025-03-20 10:30:00 UTC"
    assert format_time(datetime(2025, 3, 20, 10, 30)) == "2025-03-20 10:30:00 UTC"


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("C:\\Windows\\Minidump\\032025-12345-01.dmp", "032025-12345-01.dmp"),
        ("/var/crash/x/vmcore", "vmcore"),
        ("vmcore", "vmcore"),
    ],
)
def test_basename(path: str, name: str) -> None:
    assert basename(path) == name


def with_linux_sysctl(value: str) -> Report:
    report = load("s04_linux_oom_panic")
    assert report.guest is not None and report.guest.linux is not None
    linux = report.guest.linux.model_copy(update={"sysctls": {"vm.panic_on_oom": value}})
    guest = report.guest.model_copy(update={"linux": linux})
    return report.model_copy(update={"guest": guest})


@pytest.mark.parametrize(
    ("value", "impact"),
    [
        ("0", "OOM kills a process only; the system keeps running"),
        ("1", "OOM triggers a kernel panic and reboot"),
        ("2", "OOM triggers a kernel panic and reboot"),
        ("3", "Unrecognized value 3; the impact cannot be determined"),
        ("yes", "Unrecognized value yes; the impact cannot be determined"),
    ],
)
def test_panic_on_oom_impact(value: str, impact: str) -> None:
    text = render_markdown(with_linux_sysctl(value), "en")
    assert f"- vm.panic_on_oom: {value}\n- Impact: {impact}\n" in text


def with_windows(name: str, **update: object) -> Report:
    report = load(name)
    assert report.guest is not None and report.guest.windows is not None
    windows = report.guest.windows.model_copy(update=update)
    return report.model_copy(update={"guest": report.guest.model_copy(update={"windows": windows})})


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (0, "None (memory dumps disabled)"),
        (1, "Complete memory dump"),
        (2, "Kernel memory dump"),
        (3, "Small memory dump (minidump)"),
        (7, "Automatic memory dump"),
        (5, "unknown (5)"),
    ],
)
def test_crash_dump_enabled_names_the_dump_type(value: int, name: str) -> None:
    text = render_markdown(
        with_windows("s07_windows_bsod_dump_disabled", crash_dump_enabled=value), "en"
    )
    assert f"- CrashDumpEnabled: {value}\n- Dump Type: {name}\n" in text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(90000, "1 day, 1 hour"), (3599, "0 days, 0 hours"), (2 * 86400 + 7200, "2 days, 2 hours")],
)
def test_uptime_in_days_and_hours(seconds: int, text: str) -> None:
    md = render_markdown(with_windows("s09_windows_minidump", uptime_seconds=seconds), "en")
    assert f"- Uptime: {text}\n" in md


def test_uptime_is_derived_from_the_last_boot_when_missing() -> None:
    md = render_markdown(with_windows("s09_windows_minidump", uptime_seconds=None), "en")
    assert "- Uptime: 0 days, 0 hours\n" in md  # booted 10:32:05, collected 10:58:12
    md = render_markdown(
        with_windows("s09_windows_minidump", uptime_seconds=None, last_boot_time=None), "en"
    )
    assert "- Uptime: Not collected: not reported\n" in md


def test_booleans_are_yes_and_no_in_both_languages() -> None:
    report = load("s03_linux_panic_no_vmcore")
    assert "Found crash dumps: No" in render_markdown(report, "en")
    assert "是否发现崩溃转储：否" in render_markdown(report, "zh-CN")
    assert "Config File Exists: Yes" in render_markdown(report, "en")


# --- API edges ----------------------------------------------------------------------------------


def test_unknown_language_is_rejected() -> None:
    with pytest.raises(ValueError, match="unsupported report language"):
        render_markdown(load("s01_linux_maintenance_reboot"), "fr")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"schema_version": 99}', "schema_version 99"),
        ('{"schema_version": 1, "tool_version": "0.1.0"}', "instance: Field required"),
    ],
)
def test_load_report_explains_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ReportLoadError, match=message):
        load_report(text)


def test_load_report_rejects_unknown_fields() -> None:
    data = json.loads((FIXTURES / "s01_linux_maintenance_reboot.json").read_text(encoding="utf-8"))
    data["instance"]["colour"] = "blue"
    with pytest.raises(ReportLoadError, match=r"instance\.colour: Extra inputs"):
        load_report(json.dumps(data))


def test_load_report_accepts_bytes() -> None:
    raw = (FIXTURES / "s09_windows_minidump.json").read_bytes()
    assert load_report(raw) == load("s09_windows_minidump")


@pytest.mark.parametrize("value", [None, True, 1.5, object()])
def test_templates_cannot_print_unformatted_values(value: object) -> None:
    with pytest.raises(TypeError):
        _finalize(value)


def test_templates_escape_plain_strings() -> None:
    assert _finalize("<b>") == "\\<b\\>"
    assert _finalize(3) == "3"
