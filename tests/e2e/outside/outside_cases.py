"""Scenarios s18..s26 (evidence from outside the guest) and the helpers their tests share.

The CLI of one scenario runs once per test session: the JSON report to stdout and the English
and Chinese Markdown reports to files, three runs at the same time so that their collector waits
overlap. Every test of the scenario reads that one result (:func:`cli_result`).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest

from ecs_api_simulator.server import builtin_scenarios_dir
from ecs_reboot_diagnosis.models import Report
from ecs_reboot_diagnosis.report.render import load_report
from ecs_reboot_diagnosis_mcp.cli import main

REGION = "cn-hangzhou"
SCENARIOS_DIR: Path = builtin_scenarios_dir()
LANGS: tuple[str, ...] = ("en", "zh-CN")
CONSOLE_SOURCE = "api:GetInstanceConsoleOutput"


@dataclass(frozen=True)
class Scenario:
    key: str
    directory: str
    instance_id: str
    os: Literal["linux", "windows"]
    rule_id: str
    verdict: str

    @property
    def path(self) -> Path:
        return SCENARIOS_DIR / self.directory


S18 = Scenario("s18", "s18-agent-down-console-panic", "i-bp1out18consolepanic", "linux",
               "linux.kernel_panic", "guest_crash")  # fmt: skip
S19 = Scenario("s19", "s19-agent-down-short-console", "i-bp1out19shortconsole", "linux",
               "linux.unknown", "unknown")  # fmt: skip
S20 = Scenario("s20", "s20-windows-bsod-screenshot", "i-bp1out20bsodscreen", "windows",
               "windows.unknown", "unknown")  # fmt: skip
S21 = Scenario("s21", "s21-oom-memory-climb", "i-bp1out21oomclimb", "linux",
               "linux.oom_panic", "guest_crash")  # fmt: skip
S22 = Scenario("s22", "s22-api-reboot", "i-bp1out22apireboot", "linux",
               "linux.api_reboot", "api_initiated")  # fmt: skip
S23 = Scenario("s23", "s23-platform-event-executing", "i-bp1out23eventexecuting", "linux",
               "event.SystemFailure.Reboot", "platform")  # fmt: skip
S24 = Scenario("s24", "s24-actiontrail-denied", "i-bp1out24traildenied", "linux",
               "linux.clean_reboot", "guest_initiated")  # fmt: skip
S26 = Scenario("s26", "s26-windows-hang-platform-reset", "i-bp1out26winhangreset", "windows",
               "windows.hang_platform_reset", "guest_crash")  # fmt: skip
S25 = Scenario("s25", "s25-stopped-by-api", "i-bp1out25stoppedbyapi", "linux",
               "stopped.api_stop", "api_initiated")  # fmt: skip
SCENARIOS: tuple[Scenario, ...] = (S18, S19, S20, S21, S22, S23, S24, S25, S26)

# The two sections of the outside evidence, in both languages, and what must follow them.
OUTSIDE_HEADINGS: dict[str, tuple[str, ...]] = {
    "en": (
        "### Evidence From Outside the Guest",
        "### Timeline (UTC)",
        "## Diagnostic Conclusion",
        "## Recommendations",
    ),
    "zh-CN": ("### 实例外部证据", "### 时间线（UTC）", "## 诊断结论", "## 建议"),
}
# The bold labels of the outside-evidence blocks, in template order.
BLOCKS: dict[str, dict[str, str]] = {
    "en": {
        "api_calls": "**API Calls on the Instance (ActionTrail):**",
        "metrics": "**Metrics Before the Diagnosis (CloudMonitor):**",
        "console": "**Serial Console:**",
        "screenshot": "**Screenshot:**",
        "unavailable": "**Sources Not Available:**",
    },
    "zh-CN": {
        "api_calls": "**实例相关的 API 调用（操作审计）：**",
        "metrics": "**诊断前的监控指标（云监控）：**",
        "console": "**串口控制台：**",
        "screenshot": "**屏幕截图：**",
        "unavailable": "**不可用的证据来源：**",
    },
}


def headings(markdown: str) -> list[str]:
    """The ``##`` and ``###`` heading lines outside code blocks, in order."""
    found: list[str] = []
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith(("## ", "### ")):
            found.append(line)
    return found


def outside_headings_in_order(markdown: str, lang: str) -> bool:
    found = iter(headings(markdown))
    return all(required in found for required in OUTSIDE_HEADINGS[lang])


def section(markdown: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of any level (code blocks included)."""
    start = markdown.index(heading + "\n") + len(heading) + 1
    following = re.compile(r"^#{2,3} ", re.M)
    fences = [m.start() for m in re.finditer(r"^```", markdown, re.M)]
    for match in following.finditer(markdown, start):
        inside = sum(1 for f in fences if start <= f < match.start()) % 2 == 1
        if not inside:
            return markdown[start : match.start()]
    return markdown[start:]


def block(markdown: str, lang: str, name: str) -> str:
    """One labelled block of the outside evidence (API calls, metrics, console, ...)."""
    outside = section(markdown, OUTSIDE_HEADINGS[lang][0])
    labels = list(BLOCKS[lang].values())
    label = BLOCKS[lang][name]
    start = outside.index(label) + len(label)
    ends = [outside.index(other) for other in labels[labels.index(label) + 1 :]]
    return outside[start : min(ends)] if ends else outside[start:]


def near(when: datetime | None, ago: timedelta, tolerance: timedelta) -> bool:
    """``when`` is about ``ago`` before now (relative scenario times)."""
    assert when is not None
    return abs(datetime.now(UTC) - ago - when) <= tolerance


@dataclass(frozen=True)
class CliResult:
    code: int
    markdown_codes: dict[str, int]
    report: Report
    markdown: dict[str, str]
    outputs: dict[str, Path]
    stdout: str
    stderr: str


_RESULTS: dict[str, CliResult] = {}


def diagnose_args(scenario: Scenario) -> list[str]:
    return ["diagnose", "--simulator", str(scenario.path), "--instance-id",
            scenario.instance_id, "--region", REGION]  # fmt: skip


def cli_result(
    scenario: Scenario, capsys: pytest.CaptureFixture[str], tmp_path_factory: pytest.TempPathFactory
) -> CliResult:
    """The CLI's reports of ``scenario`` (run once per session, in-process)."""
    if scenario.key in _RESULTS:
        return _RESULTS[scenario.key]
    base = diagnose_args(scenario)
    root = tmp_path_factory.mktemp(scenario.key)
    outputs = {lang: root / lang / "report.md" for lang in LANGS}
    for path in outputs.values():
        path.parent.mkdir()
    capsys.readouterr()
    with ThreadPoolExecutor(max_workers=len(LANGS)) as pool:
        runs = {
            lang: pool.submit(main, [*base, "--lang", lang, "--output", str(path)])
            for lang, path in outputs.items()
        }
        code = main([*base, "--format", "json"])
        markdown_codes = {lang: run.result() for lang, run in runs.items()}
    out, err = capsys.readouterr()
    result = CliResult(
        code=code,
        markdown_codes=markdown_codes,
        report=load_report(out),
        markdown={lang: path.read_text(encoding="utf-8") for lang, path in outputs.items()},
        outputs=outputs,
        stdout=out,
        stderr=err,
    )
    _RESULTS[scenario.key] = result
    return result
