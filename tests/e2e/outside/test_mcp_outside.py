"""s18, s20, s22, s25 and s26 through a real MCP client, step by step, in both protocol eras.

The agent starts a diagnosis, reads the guest from outside when the scenario is about the screen
or the console (``ecs_collect_agentless_evidence``), then calls whatever ``next_step`` each
result names until ``ecs_render_report``. Every test has a simulator of its own, on a manual
clock: screenshots of one instance must be 10 s apart, so the clock is moved on between two
reads of the screen, as the minutes an agent spends between steps would.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ImageContent

from ecs_api_simulator import ManualClock, SimulatorServer
from ecs_reboot_diagnosis_mcp.app import build_gateway, build_outside_gateways, build_service
from ecs_reboot_diagnosis_mcp.mcp_server import build_server
from ecs_reboot_diagnosis_mcp.settings import Settings
from tests.e2e.outside.outside_cases import (
    CONSOLE_SOURCE,
    REGION,
    S18,
    S20,
    S22,
    S25,
    S26,
    Scenario,
    block,
    outside_headings_in_order,
    section,
)

pytestmark = pytest.mark.anyio
MODES = ["legacy", "default"]
MAX_CALLS = 16
PNG = b"\x89PNG\r\n\x1a\n"
SCREENSHOT_INTERVAL = 11.0  # the simulator, like the API, wants 10 s between two screenshots
AGENT_DOWN = (
    "ecs_check_platform_events",
    "ecs_check_cloud_assistant",
    "ecs_collect_agentless_evidence",
    "ecs_render_report",
)
FULL = (
    "ecs_check_platform_events",
    "ecs_check_cloud_assistant",
    "ecs_run_guest_diagnostics",
    "ecs_get_guest_results",
    "ecs_triage_crash_dumps",
    "ecs_recommend_dump_setup",
    "ecs_render_report",
)


@asynccontextmanager
async def session(
    scenario: Scenario, mode: str, *, manual_clock: bool = True
) -> AsyncIterator[tuple[Client, ManualClock | None]]:
    """An MCP client on the real server, over a simulator of this one scenario. The manual
    clock also holds Cloud Assistant invocations still: scenarios that run the collector use
    the system clock."""
    clock = ManualClock() if manual_clock else None
    with SimulatorServer([scenario.path], clock=clock) as sim:
        settings = Settings().model_copy(
            update={"endpoint": sim.url, "simulated": True, "wait_deadline_s": 60.0}
        )
        keys = {"access_key_id": sim.access_key_id, "access_key_secret": sim.access_key_secret}
        metrics, audit = build_outside_gateways(settings, **keys)
        service = build_service(
            settings, build_gateway(settings, **keys), metrics=metrics, audit=audit
        )
        server: MCPServer = build_server(service)
        client = Client(server) if mode == "default" else Client(server, mode="legacy")
        async with client:
            yield client, clock


def text(result: CallToolResult) -> str:
    first = result.content[0] if result.content else None
    return getattr(first, "text", "")


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    return dict(result.structured_content)


def images(result: CallToolResult) -> list[bytes]:
    shots = [c for c in result.content if isinstance(c, ImageContent)]
    assert all(c.mime_type == "image/png" for c in shots)
    return [base64.b64decode(c.data) for c in shots]


async def start(client: Client, scenario: Scenario) -> str:
    args = {"instance_id": scenario.instance_id, "region_id": REGION}
    started = structured(await client.call_tool("ecs_start_diagnosis", args))
    assert started["instance"]["os_type"] == scenario.os
    assert started["next_step"]["tool"] == "ecs_check_platform_events"
    return str(started["diagnosis_id"])


async def agentless(client: Client, did: str) -> tuple[dict[str, Any], list[bytes]]:
    raw = await client.call_tool("ecs_collect_agentless_evidence", {"diagnosis_id": did})
    data = structured(raw)
    return data, images(raw)


async def follow(
    client: Client, step: dict[str, Any], seen: Callable[[str, dict[str, Any]], None]
) -> tuple[list[str], dict[str, Any]]:
    """Call each ``next_step`` from ``step`` until there is none; return the tools and the
    report. ``seen`` gets every tool's structured result."""
    called: list[str] = []
    for _ in range(MAX_CALLS):
        tool, arguments = step["tool"], dict(step["arguments"])
        if tool == "ecs_render_report":
            assert arguments["lang"] == "en", arguments
        data = structured(await client.call_tool(tool, arguments))
        if not called or called[-1] != tool:
            called.append(tool)
        seen(tool, data)
        if data["next_step"] is None:
            return called, data
        if data["next_step"]["tool"] == tool == "ecs_get_guest_results":
            await anyio.sleep(0.5)  # still running: poll again, as the result asks
        step = data["next_step"]
    raise AssertionError(f"no report after {MAX_CALLS} calls: {called}")


def ignore(tool: str, data: dict[str, Any]) -> None:
    return None


async def render_zh(client: Client, did: str) -> dict[str, Any]:
    args = {"diagnosis_id": did, "lang": "zh-CN"}
    return structured(await client.call_tool("ecs_render_report", args))


def ago(value: str, expected: timedelta, tolerance: timedelta) -> bool:
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return abs(datetime.now(UTC) - expected - when) <= tolerance


# --- s18 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_s18_console_panic_step_by_step(mode: str) -> None:
    async with session(S18, mode) as (client, clock):
        did = await start(client, S18)
        outside, shots = await agentless(client, did)
        assert outside["console_note"].startswith("The serial console shows: ")
        assert ago(outside["console_last_update"], timedelta(minutes=20), timedelta(minutes=2))
        panic = next(f for f in outside["console_findings"] if f["kind"] == "kernel_panic")
        lines = [e["text"] for e in panic["evidence"]]
        assert all(e["source"] == CONSOLE_SOURCE for e in panic["evidence"])
        assert any("RIP: 0010:ext4_writepages+0x2b4/0xf60 [ext4]" in x for x in lines), lines
        excerpt = outside["console_excerpt"]
        assert "[259201.126701] Kernel panic - not syncing: Fatal exception" in excerpt
        assert outside["screenshot_captured"] and len(shots) == 1 and shots[0].startswith(PNG)
        assert outside["unavailable"] == []
        assert outside["api_calls"] is None and outside["metrics"] is None  # read at step 2
        assert outside["next_step"]["tool"] == "ecs_check_platform_events"

        assert clock is not None
        clock.advance(SCREENSHOT_INTERVAL)
        agent: dict[str, Any] = {}

        def keep_agent(tool: str, data: dict[str, Any]) -> None:
            if tool == "ecs_check_cloud_assistant":
                agent.update(data)

        called, report = await follow(client, outside["next_step"], keep_agent)
        assert tuple(called) == AGENT_DOWN
        assert not agent["usable"] and not agent["running"] and agent["manual_steps"]
        assert "ecs_collect_agentless_evidence reads the serial console" in agent["summary"]
        assert (report["rule_id"], report["verdict"]) == (S18.rule_id, S18.verdict)
        markdown = report["report_markdown"]
        assert outside_headings_in_order(markdown, "en"), markdown
        conclusion = section(markdown, "## Diagnostic Conclusion")
        assert f"`{CONSOLE_SOURCE}`" in conclusion
        assert "Kernel panic - not syncing: Fatal exception" in conclusion
        assert "The serial console shows: kernel\\_panic" in block(markdown, "en", "console")

        zh = await render_zh(client, did)
        assert zh["rule_id"] == S18.rule_id
        assert outside_headings_in_order(zh["report_markdown"], "zh-CN")
        assert "串口控制台显示：kernel\\_panic" in zh["report_markdown"]
        # the report is final: the outside cannot be read into it any more
        late = await client.call_tool("ecs_collect_agentless_evidence", {"diagnosis_id": did})
        assert late.is_error


# --- s20 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_s20_blue_screen_is_returned_as_an_image(mode: str) -> None:
    expected = (S20.path / "screenshot.png").read_bytes()
    async with session(S20, mode) as (client, clock):
        did = await start(client, S20)
        outside, shots = await agentless(client, did)
        assert shots == [expected]
        assert outside["screenshot_captured"] and outside["screenshot_bytes"] == len(expected)
        assert "A screenshot is attached as an image." in outside["summary"]
        # Windows has no serial console output: noted, not fatal
        assert outside["console_note"] is None and outside["console_excerpt"] == []
        assert any("GetInstanceConsoleOutput" in n and "NotSupported" in n
                   for n in outside["unavailable"])  # fmt: skip
        assert outside["next_step"]["tool"] == "ecs_check_platform_events"

        assert clock is not None
        clock.advance(SCREENSHOT_INTERVAL)
        called, report = await follow(client, outside["next_step"], ignore)
        assert tuple(called) == AGENT_DOWN
        assert (report["rule_id"], report["verdict"]) == (S20.rule_id, S20.verdict)
        markdown = report["report_markdown"]
        assert outside_headings_in_order(markdown, "en"), markdown
        shot = block(markdown, "en", "screenshot")
        assert "Captured " in shot and f"{len(expected)} B" in shot
        zh = await render_zh(client, did)
        assert outside_headings_in_order(zh["report_markdown"], "zh-CN")
        assert "截取于 " in block(zh["report_markdown"], "zh-CN", "screenshot")


async def test_s20_reading_the_outside_twice_lists_each_missing_source_once() -> None:
    async with session(S20, "legacy") as (client, clock):
        did = await start(client, S20)
        outside, _ = await agentless(client, did)
        assert clock is not None
        clock.advance(SCREENSHOT_INTERVAL)
        _, report = await follow(client, outside["next_step"], ignore)
        unavailable = block(report["report_markdown"], "en", "unavailable")
    assert unavailable.count("ecs:GetInstanceConsoleOutput could not be read") == 1, unavailable


async def test_s20_a_throttled_second_screenshot_is_not_reported_missing() -> None:
    async with session(S20, "legacy") as (client, _):
        did = await start(client, S20)
        first, _ = await agentless(client, did)  # the agent reads the screen early
        assert first["screenshot_captured"]
        for tool in AGENT_DOWN[:2]:
            structured(await client.call_tool(tool, {"diagnosis_id": did}))
        outside, shots = await agentless(client, did)  # the workflow's step, at once: throttled
        assert outside["screenshot_captured"] and shots  # the first screenshot is kept
        assert outside["next_step"]["tool"] == "ecs_render_report"
        report = structured(
            await client.call_tool("ecs_render_report", {"diagnosis_id": did, "lang": "en"})
        )
        markdown = report["report_markdown"]
    assert "Captured " in block(markdown, "en", "screenshot")
    assert "GetInstanceScreenshot" not in block(markdown, "en", "unavailable"), markdown


# --- s22 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_s22_api_reboot_step_by_step(mode: str) -> None:
    async with session(S22, mode, manual_clock=False) as (client, _):
        did = await start(client, S22)
        results: dict[str, dict[str, Any]] = {}

        def keep(tool: str, data: dict[str, Any]) -> None:
            results[tool] = data

        first = {"tool": "ecs_check_platform_events", "arguments": {"diagnosis_id": did}}
        called, report = await follow(client, first, keep)
        assert tuple(called) == FULL
        assert results["ecs_check_platform_events"]["outcome"] == "continue"
        assert results["ecs_get_guest_results"]["status"] == "collected"
        kinds = {f["kind"] for f in results["ecs_get_guest_results"]["findings"]}
        assert "clean_reboot" in kinds and "kernel_panic" not in kinds
        assert (report["rule_id"], report["verdict"]) == (S22.rule_id, S22.verdict)
        assert "RebootInstance by ops-alice from 198.51.100.23 at " in report["root_cause"]
        markdown = report["report_markdown"]
        assert outside_headings_in_order(markdown, "en"), markdown
        calls = block(markdown, "en", "api_calls")
        assert "`RebootInstance` by ops-alice" in calls
        assert "Source IP: `198.51.100.23`" in calls
        timeline = section(markdown, "### Timeline (UTC)")
        assert "· `api:ActionTrail`: RebootInstance by ops-alice from 198.51.100.23" in timeline

        zh = await render_zh(client, did)
        assert zh["rule_id"] == S22.rule_id
        zh_markdown = zh["report_markdown"]
        assert outside_headings_in_order(zh_markdown, "zh-CN")
        assert "ops-alice 调用了 `RebootInstance`" in block(zh_markdown, "zh-CN", "api_calls")
        assert "来源 IP：`198.51.100.23`" in block(zh_markdown, "zh-CN", "api_calls")


# --- s26 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_s26_windows_hang_reset_by_the_platform_step_by_step(mode: str) -> None:
    async with session(S26, mode, manual_clock=False) as (client, _):
        did = await start(client, S26)
        results: dict[str, dict[str, Any]] = {}

        def keep(tool: str, data: dict[str, Any]) -> None:
            results[tool] = data

        first = {"tool": "ecs_check_platform_events", "arguments": {"diagnosis_id": did}}
        called, report = await follow(client, first, keep)
        assert tuple(called) == FULL
        assert results["ecs_check_platform_events"]["outcome"] == "continue"
        assert results["ecs_get_guest_results"]["status"] == "collected"
        kinds = [f["kind"] for f in results["ecs_get_guest_results"]["findings"]]
        assert kinds == ["unexpected_shutdown"]  # the clean restart 3 days before is history
        assert (report["rule_id"], report["verdict"]) == (S26.rule_id, S26.verdict)
        assert "the platform reset the instance at " in report["root_cause"]
        assert "hung rather than crashed" in report["root_cause"]
        markdown = report["report_markdown"]
        assert "rule `windows.hang_platform_reset`" in markdown
        assert "NMICrashDump" in markdown

        zh = await render_zh(client, did)
        assert (zh["rule_id"], zh["verdict"]) == (S26.rule_id, S26.verdict)
        assert "说明系统是挂起而非崩溃" in zh["root_cause"]
        assert "规则 `windows.hang_platform_reset`" in zh["report_markdown"]


# --- s25 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_s25_stopped_instance_step_by_step(mode: str) -> None:
    async with session(S25, mode) as (client, _):
        did = await start(client, S25)
        results: dict[str, dict[str, Any]] = {}

        def keep(tool: str, data: dict[str, Any]) -> None:
            results[tool] = data

        first = {"tool": "ecs_check_platform_events", "arguments": {"diagnosis_id": did}}
        called, report = await follow(client, first, keep)
        assert tuple(called) == AGENT_DOWN
        agent = results["ecs_check_cloud_assistant"]
        assert not agent["usable"]
        assert "cannot run while the instance is stopped" in agent["reason"]
        assert not [c for c in agent["manual_steps"] if c.startswith("ssh ")]
        assert any("aliyun ecs StartInstance" in c for c in agent["manual_steps"])
        assert (report["rule_id"], report["verdict"]) == (S25.rule_id, S25.verdict)
        assert "StopInstance by ops-bob from 198.51.100.47 at " in report["root_cause"]
        markdown = report["report_markdown"]
        recommendations = section(markdown, "## Recommendations")
        assert recommendations.lstrip().startswith("1. Start the instance first")
        assert "restart Cloud Assistant" not in recommendations
        assert "ssh root@" not in markdown

        zh = await render_zh(client, did)
        assert zh["rule_id"] == S25.rule_id
        zh_markdown = zh["report_markdown"]
        assert "实例处于已停止状态，原因是它通过阿里云 API 被停止" in zh_markdown
        assert section(zh_markdown, "## 建议").lstrip().startswith("1. 请先启动实例")
        assert "ssh root@" not in zh_markdown
