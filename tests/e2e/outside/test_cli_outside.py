"""``diagnose --simulator SCENARIO_DIR`` for s18..s26: the JSON report and both Markdown reports.

Each scenario adds one source of evidence from outside the guest (serial console, screenshot,
CloudMonitor, ActionTrail, a platform event still being executed, a denied optional source);
the tests check the conclusion it leads to and that the report shows the facts it rests on.
"""

from __future__ import annotations

import struct
from datetime import timedelta

import pytest

from tests.e2e.outside.outside_cases import (
    CONSOLE_SOURCE,
    LANGS,
    S18,
    S19,
    S20,
    S21,
    S22,
    S23,
    S24,
    S25,
    S26,
    SCENARIOS,
    CliResult,
    Scenario,
    block,
    cli_result,
    near,
    outside_headings_in_order,
    section,
)

Run = tuple[pytest.CaptureFixture[str], pytest.TempPathFactory]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], tmp_path_factory: pytest.TempPathFactory) -> Run:
    return capsys, tmp_path_factory


def result(scenario: Scenario, run: Run) -> CliResult:
    return cli_result(scenario, *run)


# --- every scenario -------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.directory)
def test_cli_concludes_and_renders_the_outside_sections(scenario: Scenario, run: Run) -> None:
    r = result(scenario, run)
    assert r.code == 0, r.stderr
    assert r.markdown_codes == dict.fromkeys(LANGS, 0)
    assert "Traceback" not in r.stderr and "error" not in r.stderr.lower(), r.stderr
    report = r.report
    assert report.instance.instance_id == scenario.instance_id
    assert report.instance.os_type == scenario.os
    assert (report.conclusion.rule_id, report.conclusion.verdict) == (
        scenario.rule_id,
        scenario.verdict,
    )
    times = [e.time for e in report.timeline]
    assert times == sorted(times)
    assert all(e.source and e.text for e in report.timeline)
    for lang, markdown in r.markdown.items():
        assert outside_headings_in_order(markdown, lang), (lang, markdown)
        assert scenario.instance_id in markdown
        marker = "rule" if lang == "en" else "规则"
        assert f"{marker} `{scenario.rule_id}`" in markdown, lang
        for name in ("api_calls", "metrics", "console", "screenshot", "unavailable"):
            assert block(markdown, lang, name).strip(), (lang, name)


# Which outside sources each report holds: ActionTrail calls (None: not read), CloudMonitor
# series with data, console and screenshot read (the agent was down), the sources noted missing.
OUTSIDE_FIELDS: dict[str, tuple[int | None, int, bool, bool, tuple[str, ...]]] = {
    "s18": (0, 0, True, True, ()),
    "s19": (0, 0, True, True, ()),
    "s20": (0, 0, False, True, ("ecs:GetInstanceConsoleOutput",)),
    "s21": (0, 3, False, False, ()),
    "s22": (3, 0, False, False, ()),
    "s23": (0, 0, False, False, ()),
    "s24": (None, 0, False, False, ("actiontrail:LookupEvents",)),
    "s26": (0, 1, False, False, ()),
    "s25": (4, 0, True, False, ("ecs:GetInstanceScreenshot",)),
}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.directory)
def test_cli_json_holds_each_outside_source(scenario: Scenario, run: Run) -> None:
    report = result(scenario, run).report
    calls, with_data, console, screenshot, missing = OUTSIDE_FIELDS[scenario.key]
    assert (len(report.api_calls) if report.api_calls is not None else None) == calls
    assert report.metrics is not None
    assert [m.metric for m in report.metrics] == [
        "memory_usedutilization",
        "CPUUtilization",
        "load_1m",
    ]
    assert sum(1 for m in report.metrics if m.points) == with_data
    assert (report.console is not None, report.screenshot is not None) == (console, screenshot)
    assert tuple(n.source for n in report.unavailable) == missing
    assert report.timeline, "every scenario has dated evidence"


# --- s18: Cloud Assistant down, a kernel panic on the serial console ------------------------------


def test_s18_the_panic_on_the_serial_console_is_the_conclusion(run: Run) -> None:
    r = result(S18, run)
    report = r.report
    assert report.guest is None and report.guest_run is None
    agent = report.cloud_assistant
    assert agent is not None and not agent.running and not agent.usable
    assert near(agent.last_heartbeat, timedelta(hours=2), timedelta(minutes=2))
    console = report.console
    assert console is not None
    assert near(console.last_update_time, timedelta(minutes=20), timedelta(minutes=2))
    assert console.stale_seconds is not None and 15 * 60 < console.stale_seconds < 30 * 60
    assert {"kernel_panic", "oops", "null_pointer"} <= {f.kind for f in console.findings}
    panic = next(f for f in console.findings if f.kind == "kernel_panic")
    assert panic.facts.rip_function == "ext4_writepages"
    assert panic.facts.rip_module == "ext4"
    # the conclusion rests on the console, and cites it line by line
    evidence = report.conclusion.evidence
    assert evidence and {e.source for e in evidence} == {CONSOLE_SOURCE}
    texts = [e.text for e in evidence]
    assert any("Kernel panic - not syncing: Fatal exception" in t for t in texts), texts
    assert any("RIP: 0010:ext4_writepages+0x2b4/0xf60 [ext4]" in t for t in texts), texts
    assert report.screenshot is not None and report.unavailable == []
    assert report.api_calls == []
    assert report.metrics is not None and [m.points for m in report.metrics] == [0, 0, 0]
    entries = {(e.source, e.text.en) for e in report.timeline}
    assert (CONSOLE_SOURCE, "console last updated") in entries
    assert ("api:DescribeCloudAssistantStatus", "Cloud Assistant last heartbeat") in entries
    # no crash dump can be looked for without the agent: the generic panic rule
    assert "whether a crash dump exists could not be checked" in report.conclusion.root_cause.en


@pytest.mark.parametrize("lang", LANGS)
def test_s18_markdown_shows_the_console(lang: str, run: Run) -> None:
    markdown = result(S18, run).markdown[lang]
    console = block(markdown, lang, "console")
    shows = "The serial console shows: " if lang == "en" else "串口控制台显示："
    assert shows + "kernel\\_panic" in console
    assert "RIP: 0010:ext4_writepages+0x2b4/0xf60 [ext4]" in console
    assert "[259201.126701] Kernel panic - not syncing: Fatal exception\n" in console  # excerpt
    conclusion = section(markdown, "## Diagnostic Conclusion" if lang == "en" else "## 诊断结论")
    assert f"`{CONSOLE_SOURCE}`" in conclusion
    assert "`[259201.126701] Kernel panic - not syncing: Fatal exception`" in conclusion
    # fresh output (20 min): no "printed nothing since" sentence
    assert "printed nothing since" not in markdown and "此后实例没有任何输出" not in markdown
    timeline = section(markdown, "### Timeline (UTC)" if lang == "en" else "### 时间线（UTC）")
    assert f"`{CONSOLE_SOURCE}`" in timeline


def test_s18_the_console_panic_reason_is_read_without_the_trailer(run: Run) -> None:
    """panic() ends a console with '---[ end Kernel panic - not syncing: ... ]---': the
    reason is read without the trailer's brackets."""
    console = result(S18, run).report.console
    assert console is not None
    panic = next(f for f in console.findings if f.kind == "kernel_panic")
    assert panic.facts.panic_reason == "Fatal exception"


def test_s18_the_root_cause_names_the_panic_reason_from_the_console(run: Run) -> None:
    root_cause = result(S18, run).report.conclusion.root_cause
    assert "Fatal exception" in root_cause.en
    assert "panic reason not recorded" not in root_cause.en


def test_s18_the_agent_line_has_one_full_stop(run: Run) -> None:
    markdown = result(S18, run).markdown["en"]
    line = next(x for x in markdown.splitlines() if x.startswith("- If no: "))
    assert ".." not in line, line


# --- s19: Cloud Assistant down, a console too short to tell ---------------------------------------


def test_s19_a_short_stale_console_proves_nothing(run: Run) -> None:
    report = result(S19, run).report
    console = report.console
    assert console is not None and console.findings == []
    assert console.line_count == 7
    assert console.stale_seconds is not None and 8.5 * 3600 < console.stale_seconds < 9.5 * 3600
    note = console.note.en
    assert "No crash signature in the serial console buffer." in note
    assert "The buffer is bounded" in note
    assert "this does not mean there was no crash" in note
    assert "The console was last updated 9.0 h before this diagnosis" in note
    assert report.conclusion.evidence == []
    assert report.guest is None and report.manual_steps


@pytest.mark.parametrize("lang", LANGS)
def test_s19_markdown_says_the_buffer_is_bounded_and_stale(lang: str, run: Run) -> None:
    console = block(result(S19, run).markdown[lang], lang, "console")
    if lang == "en":
        wanted = (
            "The buffer is bounded and may not reach back to the incident: this does not mean "
            "there was no crash.",
            "The console was last updated 9.0 h before this diagnosis: the guest has printed "
            "nothing since (a hang, or a quiet system).",
            "7 line(s) in the buffer",
        )
    else:
        wanted = (
            "缓冲区有限，可能未覆盖故障发生时刻：这并不表示没有发生崩溃。",
            "控制台最后更新于本次诊断前 9.0 小时：此后实例没有任何输出",
            "缓冲区共 7 行",
        )
    for fact in wanted:
        assert fact in console, (fact, console)
    assert "iZbp1out19shortconsoleZ login:" in console


def test_s19_the_unknown_root_cause_names_the_missing_source_once(run: Run) -> None:
    root_cause = result(S19, run).report.conclusion.root_cause.en
    assert root_cause.count("Cloud Assistant is not running or not installed") == 1, root_cause


# --- s20: Windows, Cloud Assistant down, a blue screen on the screenshot --------------------------


def test_s20_the_screenshot_is_saved_beside_each_report(run: Run) -> None:
    r = result(S20, run)
    expected = (S20.path / "screenshot.png").read_bytes()
    width, height = struct.unpack(">II", expected[16:24])
    assert expected[:8] == b"\x89PNG\r\n\x1a\n" and (width, height) == (160, 120)
    saved = {"en": "screenshot saved to", "zh-CN": "屏幕截图已保存到"}  # in the run's language
    for lang, path in r.outputs.items():
        shot = path.with_name("report.screenshot.png")
        assert shot.read_bytes() == expected, shot
        assert f"{saved[lang]} {shot}" in r.stderr
    report = r.report
    assert report.screenshot is not None and report.screenshot.size_bytes == len(expected)
    # Windows has no serial console output: noted, never fatal
    assert report.console is None
    notes = [n for n in report.unavailable if n.source == "ecs:GetInstanceConsoleOutput"]
    assert notes and "NotSupported" in notes[0].detail.en
    assert report.guest is None
    agent = report.cloud_assistant
    assert agent is not None and not agent.usable
    assert near(agent.last_heartbeat, timedelta(minutes=40), timedelta(minutes=2))


@pytest.mark.parametrize("lang", LANGS)
def test_s20_markdown_reports_the_screenshot(lang: str, run: Run) -> None:
    r = result(S20, run)
    markdown = r.markdown[lang]
    size = len((S20.path / "screenshot.png").read_bytes())
    shot = block(markdown, lang, "screenshot")
    captured = "Captured " if lang == "en" else "截取于 "
    assert captured in shot and f"{size} B" in shot, shot
    assert "ecs:GetInstanceConsoleOutput" in block(markdown, lang, "console")
    assert "NotSupported" in block(markdown, lang, "unavailable")


# --- s21: an OOM panic after a memory climb -------------------------------------------------------


def test_s21_the_memory_climb_and_the_oom_panic(run: Run) -> None:
    report = result(S21, run).report
    assert report.guest is not None
    assert {"oom_panic", "kernel_panic"} <= {f.kind for f in report.guest.findings}
    assert report.guest.linux is not None and report.guest.linux.panic_on_oom == 1
    assert report.metrics is not None
    metrics = {m.metric: m for m in report.metrics}
    memory = metrics["memory_usedutilization"]
    assert memory.climbed_to_full and memory.maximum == 99.0
    assert memory.first is not None and memory.first < 45
    assert memory.last == 22.0
    assert near(memory.peak_time, timedelta(minutes=17), timedelta(minutes=6))
    assert "It climbed from below 80% to 99.0%." in memory.note.en
    assert "peak 99.0% at " in memory.note.en
    assert not metrics["CPUUtilization"].climbed_to_full
    # the peak comes before the panic, which comes before the new boot
    timeline = report.timeline
    peak = next(e for e in timeline if e.text.en == "memory_usedutilization peaked at 99.0%")
    assert peak.source == "api:CloudMonitor"
    panic = next(e for e in timeline if e.text.en.startswith("Kernel panic: Out of memory"))
    assert peak.time <= panic.time
    assert near(panic.time, timedelta(minutes=15), timedelta(minutes=2))
    evidence = " ".join(e.text for e in report.conclusion.evidence)
    assert "Out of memory: system-wide panic_on_oom is enabled" in evidence


@pytest.mark.parametrize("lang", LANGS)
def test_s21_markdown_says_memory_climbed_and_gives_the_peak(lang: str, run: Run) -> None:
    markdown = result(S21, run).markdown[lang]
    metrics = block(markdown, lang, "metrics")
    line = next(x for x in metrics.splitlines() if x.startswith("- memory\\_usedutilization"))
    if lang == "en":
        assert "peak 99.0% at " in line and "last 22.0%" in line
        assert line.endswith("It climbed from below 80% to 99.0%."), line
    else:
        assert "峰值 99.0%" in line and "最后 22.0%" in line
        assert line.endswith("数值从低于 80% 攀升至 99.0%。"), line
    timeline = section(markdown, "### Timeline (UTC)" if lang == "en" else "### 时间线（UTC）")
    peak = "peaked at 99.0%" if lang == "en" else "达到峰值 99.0%"
    assert f"memory\\_usedutilization {peak}" in timeline


@pytest.mark.parametrize("lang", LANGS)
def test_s21_the_sparkline_shows_the_climb_to_the_reboot(lang: str, run: Run) -> None:
    metrics = block(result(S21, run).markdown[lang], lang, "metrics")
    lines = metrics.splitlines()
    memory = lines[lines.index(next(x for x in lines if x.startswith("- memory"))) + 1]
    drawn = memory.split("`")[1]
    before, mark, after = drawn.partition("│")
    # A five-minute point can hold minutes on both sides of the reboot: the bar next to the
    # mark may fall on either side of it.
    assert mark and "█" in before[-2:] + after[:1], drawn
    assert list(before[:-1]) == sorted(before[:-1]), drawn
    assert after[1:] and max(after[1:]) < "▄", drawn
    assert ("min 22.0%, max 99.0%" if lang == "en" else "最小 22.0%，最大 99.0%") in memory


def test_s21_a_missing_kdump_service_is_not_called_not_collected(run: Run) -> None:
    step3 = section(
        result(S21, run).markdown["en"], "### Step 3A: Linux System Diagnosis (if needed)"
    )
    assert "Service Status: Not collected" not in step3, step3


# --- s22: a reboot through the API ----------------------------------------------------------------


def test_s22_the_api_call_is_the_cause_with_its_caller_and_ip(run: Run) -> None:
    report = result(S22, run).report
    assert report.api_calls is not None
    reboot = next(c for c in report.api_calls if c.event_name == "RebootInstance")
    assert (reboot.caller, reboot.caller_type, reboot.source_ip, reboot.error_code) == (
        "ops-alice",
        "ram-user",
        "198.51.100.23",
        "",
    )
    assert near(reboot.event_time, timedelta(hours=1), timedelta(minutes=2))
    said = "RebootInstance by ops-alice from 198.51.100.23 at "
    assert said in report.conclusion.root_cause.en
    assert [e.source for e in report.conclusion.evidence] == ["api:ActionTrail"]
    assert report.conclusion.evidence[0].text.startswith(said)
    # the guest agrees: an orderly reboot, at the minute of the call
    assert report.guest is not None
    kinds = {f.kind for f in report.guest.findings}
    assert "clean_reboot" in kinds and "kernel_panic" not in kinds
    entry = next(e for e in report.timeline if e.source == "api:ActionTrail"
                 and e.text.en == "RebootInstance by ops-alice from 198.51.100.23")  # fmt: skip
    shutdown = next(
        e
        for e in report.timeline
        if e.source == "guest:last -x" and e.text.en.startswith("shutdown")
    )
    assert abs(entry.time - shutdown.time) <= timedelta(minutes=1)


@pytest.mark.parametrize("lang", LANGS)
def test_s22_markdown_names_the_caller_and_ip(lang: str, run: Run) -> None:
    markdown = result(S22, run).markdown[lang]
    calls = block(markdown, lang, "api_calls")
    if lang == "en":
        assert "`RebootInstance` by ops-alice" in calls
        assert "Source IP: `198.51.100.23`" in calls
        timeline_line = "· `api:ActionTrail`: RebootInstance by ops-alice from 198.51.100.23"
    else:
        assert "ops-alice 调用了 `RebootInstance`" in calls
        assert "来源 IP：`198.51.100.23`" in calls
        timeline_line = (
            "· `api:ActionTrail` · `ops-alice`（来源 198.51.100.23）调用了 RebootInstance"
        )
    timeline = section(markdown, "### Timeline (UTC)" if lang == "en" else "### 时间线（UTC）")
    assert timeline_line in timeline
    conclusion = section(markdown, "## Diagnostic Conclusion" if lang == "en" else "## 诊断结论")
    said = (
        "RebootInstance by ops-alice from 198.51.100.23"
        if lang == "en"
        else "ops-alice（来源 198.51.100.23）于 "
    )
    assert said in conclusion


# --- s23: a platform event still being executed ---------------------------------------------------


def test_s23_an_executing_platform_event_ends_the_diagnosis(run: Run) -> None:
    report = result(S23, run).report
    assert report.events is not None and report.events.decisive is not None
    event = report.events.decisive.event
    assert (event.event_type, event.cycle_status) == ("SystemFailure.Reboot", "Executing")
    assert event.finish_time is None
    assert near(event.not_before, timedelta(minutes=10), timedelta(minutes=2))
    assert report.cloud_assistant is None and report.guest_run is None
    assert "Executing" in report.conclusion.evidence[0].text
    assert report.conclusion.root_cause.en.startswith("Platform event SystemFailure.Reboot at ")
    texts = [e.text.en for e in report.timeline]
    assert "SystemFailure.Reboot published" in texts
    assert any(t.startswith("SystemFailure.Reboot Executing: The physical host") for t in texts)


@pytest.mark.parametrize("lang", LANGS)
def test_s23_markdown_names_the_event_and_its_status(lang: str, run: Run) -> None:
    markdown = result(S23, run).markdown[lang]
    if lang == "en":
        assert "Platform event SystemFailure.Reboot (Executing) explains the reboot." in markdown
        assert "`SystemFailure.Reboot`, status Executing, " in markdown
    else:
        assert (
            "系统事件因系统错误实例重启（SystemFailure.Reboot）解释了此次重启，"
            "事件状态为执行中（Executing）。" in markdown
        )
        assert (
            "因系统错误实例重启（`SystemFailure.Reboot`），状态为执行中（Executing），" in markdown
        )
    conclusion = section(markdown, "## Diagnostic Conclusion" if lang == "en" else "## 诊断结论")
    assert "`SystemFailure.Reboot Executing " in conclusion


def test_s23_the_report_does_not_claim_cloud_assistant_was_usable(run: Run) -> None:
    markdown = result(S23, run).markdown["en"]
    assert "Cloud Assistant was usable" not in markdown


# --- s24: ActionTrail denied ----------------------------------------------------------------------


def test_s24_a_denied_actiontrail_is_noted_and_the_diagnosis_goes_on(run: Run) -> None:
    r = result(S24, run)
    assert r.code == 0
    report = r.report
    assert report.api_calls is None
    notes = [n for n in report.unavailable if n.source == "actiontrail:LookupEvents"]
    assert len(notes) == 1, report.unavailable
    assert "permission denied" in notes[0].detail.en
    assert "权限不足" in notes[0].detail.zh_CN
    # the other sources were read: metrics, and the guest through Cloud Assistant
    assert report.metrics is not None and len(report.metrics) == 3
    assert report.guest is not None and report.guest_run is not None
    assert report.guest_run.status == "Success"
    assert not any(n.source.startswith("cms:") for n in report.unavailable)


@pytest.mark.parametrize("lang", LANGS)
def test_s24_markdown_lists_actiontrail_as_not_available(lang: str, run: Run) -> None:
    markdown = result(S24, run).markdown[lang]
    unavailable = block(markdown, lang, "unavailable")
    if lang == "en":
        assert "actiontrail:LookupEvents could not be read (permission denied" in unavailable
        assert "Not collected: actiontrail:LookupEvents" in block(markdown, lang, "api_calls")
    else:
        assert "无法读取 actiontrail:LookupEvents（权限不足" in unavailable
        assert "actiontrail:LookupEvents" in block(markdown, lang, "api_calls")


# --- s26: Windows hung, the platform reset it; an earlier clean restart in the window -------------


def test_s26_a_hang_reset_by_the_platform_is_not_a_crash_without_a_dump(run: Run) -> None:
    report = result(S26, run).report
    events = report.events
    assert events is not None and events.outcome == "continue"
    assert events.instance_failure is not None
    assert near(events.instance_failure.event.finish_time, timedelta(hours=1, minutes=58),
                timedelta(minutes=3))  # fmt: skip
    guest = report.guest
    assert guest is not None and guest.windows is not None
    assert guest.windows.crash_dump_enabled == 7 and guest.windows.memory_dump is None
    # the verdict rests on the boot that hung, not on the clean restart three days before
    assert [f.kind for f in guest.findings] == ["unexpected_shutdown"]
    assert [(e.index, e.ended, e.target) for e in guest.episodes] == [
        (0, "running", False),
        (-1, "unclean", True),
        (-2, "clean_reboot", False),
        (-3, "clean_reboot", False),
    ]
    earlier = guest.episodes[2].verdict
    assert earlier is not None and "shutdown.exe" in earlier.en and "shutdown.exe" in earlier.zh_CN
    assert guest.target_reboot == guest.last_boot
    assert report.dump_triage is not None and not report.dump_triage.dump_found
    assert "crash_no_dump" not in report.conclusion.rule_id
    texts = [r.text.en for r in report.recommendations]
    assert any("NMI" in t for t in texts) and any("CloudMonitor" in t for t in texts)
    assert not any("forced restart" in t for t in texts)


@pytest.mark.parametrize("lang", LANGS)
def test_s26_markdown_says_hang_and_platform_reset(lang: str, run: Run) -> None:
    markdown = result(S26, run).markdown[lang]
    expected = {
        "en": ("Windows stopped responding and the platform reset the instance at ",
               "so the system hung rather than crashed", "NMICrashDump"),
        "zh-CN": ("Windows 停止响应，平台于 ", "说明系统是挂起而非崩溃", "NMICrashDump"),
    }[lang]  # fmt: skip
    for text in expected:
        assert text in markdown, (lang, text)
    assert "InstanceFailure.Reboot" in markdown
    assert "p0=0 p1=0x0" in markdown  # the Kernel-Power 41 line without a bug check code


# --- s25: a Stopped instance, stopped through the API ---------------------------------------------


def test_s25_the_conclusion_is_why_it_stopped_with_the_caller(run: Run) -> None:
    report = result(S25, run).report
    assert report.instance.status == "Stopped"
    assert report.events is not None and report.events.decisive is None
    said = "stopped through the Alibaba Cloud API: StopInstance by ops-bob from 198.51.100.47 at "
    assert said in report.conclusion.root_cause.en
    assert "reboot" not in report.conclusion.root_cause.en.replace("not a reboot", "")
    assert report.conclusion.confidence == "high"
    # the refused StopInstance of another user is listed, never the cause
    assert [e.text.split(" at ")[0] for e in report.conclusion.evidence] == [
        "StopInstance by ops-bob from 198.51.100.47"
    ]
    stop = next(c for c in report.api_calls or [] if c.caller == "ops-bob"
                and c.event_name == "StopInstance")  # fmt: skip
    assert near(stop.event_time, timedelta(hours=3), timedelta(minutes=2))
    assert "the platform did not stop the instance" in report.events.summary.en
    assert "reboot" not in report.events.summary.en


def test_s25_the_advice_starts_the_instance_first_and_never_logs_in(run: Run) -> None:
    report = result(S25, run).report
    first = report.recommendations[0]
    assert first.text.en.startswith("Start the instance first")
    assert first.text.zh_CN.startswith("请先启动实例")
    start = f"aliyun ecs StartInstance --RegionId cn-hangzhou --InstanceId {S25.instance_id}"
    assert first.commands == [start]
    texts = " ".join(r.text.en for r in report.recommendations)
    assert "restart Cloud Assistant" not in texts and "restarted" not in texts
    assert "why the instance was stopped" in texts
    commands = [c for r in report.recommendations for c in r.commands] + report.manual_steps
    assert not [c for c in commands if c.startswith(("ssh ", "mstsc"))]
    assert report.manual_steps[0].startswith("# The instance is Stopped")
    assert start in report.manual_steps
    assert report.cloud_assistant is not None and not report.cloud_assistant.usable
    assert "cannot run while the instance is stopped" in report.cloud_assistant.reason.en


@pytest.mark.parametrize("lang", LANGS)
def test_s25_markdown_says_stopped_and_start_first(lang: str, run: Run) -> None:
    markdown = result(S25, run).markdown[lang]
    conclusion = section(markdown, "## Diagnostic Conclusion" if lang == "en" else "## 诊断结论")
    recommendations = section(markdown, "## Recommendations" if lang == "en" else "## 建议")
    if lang == "en":
        assert "The instance is Stopped because it was stopped through the Alibaba Cloud API" in (
            conclusion
        )
        assert recommendations.lstrip().startswith("1. Start the instance first")
        assert "the reboot was not initiated by the platform" not in markdown
        assert "not even Cloud Assistant, and it cannot be reached over SSH or RDP" in markdown
        assert "install or restart Cloud Assistant" not in markdown
    else:
        assert "实例处于已停止状态，原因是它通过阿里云 API 被停止" in conclusion
        assert "ops-bob（来源 198.51.100.47）于 " in conclusion
        assert recommendations.lstrip().startswith("1. 请先启动实例")
        assert "此次重启不是平台发起的" not in markdown
        assert "安装/重启云助手" not in markdown
    assert "ssh root@" not in markdown
    assert f"aliyun ecs StartInstance --RegionId cn-hangzhou --InstanceId {S25.instance_id}" in (
        markdown
    )
