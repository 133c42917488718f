"""An agent that only follows ``next_step``, over every bundled scenario, through a real client.

It cannot sleep: whatever a result names, it calls at once. The server waits for the guest on its
side, so the agent reaches each report with at most one ``pending`` answer, and it gets the report
as a Markdown text block of its own (not inside escaped JSON). Where Cloud Assistant is down, the
walk goes through ``ecs_collect_agentless_evidence`` before the report, and the blue screen of
s20 comes back as a PNG image.

The journeys run a few at a time against one server and one simulator of every scenario, with the
server's default waits (25 s a step call).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ImageContent, TextContent

from ecs_api_simulator import SimulatorServer
from ecs_api_simulator.server import builtin_scenarios_dir
from ecs_reboot_diagnosis_mcp.app import build_gateway, build_outside_gateways, build_service
from ecs_reboot_diagnosis_mcp.mcp_server import build_server
from ecs_reboot_diagnosis_mcp.settings import Settings
from tests.e2e.outside.outside_cases import S18, S19, S20, S21, S22, S23, S24, S25, S26
from tests.e2e.scenarios.cases import CASES, REGION

MAX_CALLS = 16
AT_ONCE = 4
PNG = b"\x89PNG\r\n\x1a\n"
INSTANCES: dict[str, str] = {
    **{case.directory: case.instance_id for case in CASES},
    **{s.path.name: s.instance_id for s in (S18, S19, S20, S21, S22, S23, S24, S25, S26)},
}
"""Scenario directory -> its instance."""
AGENT_DOWN = {
    "s11-cloud-assistant-down",
    S18.path.name,
    S19.path.name,
    S20.path.name,
    S25.path.name,
}
FORBIDDEN = {"s17-ram-denied-events"}


@dataclass
class Journey:
    tools: list[str] = field(default_factory=list)
    pending: int = 0
    refusal: str = ""
    report: dict[str, Any] = field(default_factory=dict)
    report_blocks: list[str] = field(default_factory=list)
    images: list[bytes] = field(default_factory=list)
    failure: BaseException | None = None


def texts(result: CallToolResult) -> list[str]:
    return [c.text for c in result.content if isinstance(c, TextContent)]


async def walk(client: Client, instance_id: str) -> Journey:
    """Start, then call each next_step at once until there is none or a tool refuses."""
    journey = Journey()
    tool, arguments = "ecs_start_diagnosis", {"instance_id": instance_id, "region_id": REGION}
    for _ in range(MAX_CALLS):
        raw = await client.call_tool(tool, arguments)
        journey.tools.append(tool)
        if raw.is_error:
            journey.refusal = " ".join(texts(raw))
            return journey
        assert raw.structured_content is not None
        data = dict(raw.structured_content)
        if tool == "ecs_get_guest_results" and data["status"] == "pending":
            journey.pending += 1
        if tool == "ecs_collect_agentless_evidence":
            journey.images += [
                base64.b64decode(c.data) for c in raw.content if isinstance(c, ImageContent)
            ]
        if data["next_step"] is None:
            journey.report, journey.report_blocks = data, texts(raw)
            return journey
        tool, arguments = data["next_step"]["tool"], dict(data["next_step"]["arguments"])
    raise AssertionError(f"no report after {MAX_CALLS} calls: {journey.tools}")


@pytest.fixture(scope="module")
def journeys() -> Iterator[dict[str, Journey]]:
    with SimulatorServer([builtin_scenarios_dir()]) as sim:
        settings = Settings().model_copy(update={"endpoint": sim.url, "simulated": True})
        assert settings.wait_deadline_s is None and settings.long_poll_s == 25.0  # the defaults
        keys = {"access_key_id": sim.access_key_id, "access_key_secret": sim.access_key_secret}
        metrics, audit = build_outside_gateways(settings, **keys)
        server: MCPServer = build_server(
            build_service(settings, build_gateway(settings, **keys), metrics=metrics, audit=audit)
        )
        found: dict[str, Journey] = {}
        limit = anyio.Semaphore(AT_ONCE)

        async def one(key: str, instance_id: str) -> None:
            async with limit:
                try:
                    async with Client(server, mode="legacy") as client:
                        found[key] = await walk(client, instance_id)
                except Exception as exc:  # reported by the scenario's own test
                    found[key] = Journey(failure=exc)

        async def all_of_them() -> None:
            async with anyio.create_task_group() as group:
                for key, instance_id in INSTANCES.items():
                    group.start_soon(one, key, instance_id)

        anyio.run(all_of_them)
        yield found


def test_every_bundled_scenario_is_walked() -> None:
    bundled = {p.name for p in builtin_scenarios_dir().iterdir() if p.is_dir()}
    assert set(INSTANCES) == bundled


@pytest.mark.parametrize("key", sorted(INSTANCES))
def test_next_step_reaches_the_report_with_at_most_one_pending(
    journeys: dict[str, Journey], key: str
) -> None:
    journey = journeys[key]
    if journey.failure is not None:
        raise journey.failure
    assert journey.pending <= 1, journey.tools
    if key in FORBIDDEN:
        assert "Forbidden.RAM" in journey.refusal
        return
    assert not journey.refusal, journey.refusal
    assert journey.tools[-1] in ("ecs_render_report",), journey.tools
    report = journey.report
    markdown = report["report_markdown"]
    # the report is its own Markdown text block, exactly as in the structured result
    assert markdown in journey.report_blocks
    assert "\n## " in markdown  # real line breaks and headings, not JSON escapes
    # the other block is the result without the report: nothing is sent twice
    (meta,) = [b for b in journey.report_blocks if b != markdown]
    assert "report_markdown" not in json.loads(meta)
    assert report["report_uri"] == f"diagnosis://{report['diagnosis_id']}/report.md?lang=en"


@pytest.mark.parametrize("key", sorted(AGENT_DOWN))
def test_the_agent_down_path_goes_through_the_evidence_from_outside(
    journeys: dict[str, Journey], key: str
) -> None:
    journey = journeys[key]
    if journey.failure is not None:
        raise journey.failure
    assert journey.tools[-3:] == [
        "ecs_check_cloud_assistant",
        "ecs_collect_agentless_evidence",
        "ecs_render_report",
    ], journey.tools
    assert "ecs_run_guest_diagnostics" not in journey.tools


def test_the_blue_screen_on_screen_comes_back_as_an_image_before_the_report(
    journeys: dict[str, Journey],
) -> None:
    journey = journeys[S20.path.name]
    if journey.failure is not None:
        raise journey.failure
    assert journey.images == [(S20.path / "screenshot.png").read_bytes()]
    assert journey.images[0].startswith(PNG)
    assert (journey.report["rule_id"], journey.report["verdict"]) == (S20.rule_id, S20.verdict)
    assert "Captured " in journey.report["report_markdown"]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_one_call_tool_brings_the_blue_screen_along(mode: str) -> None:
    with SimulatorServer([S20.path]) as sim:  # its own: screenshots are 10 s apart per instance
        settings = Settings().model_copy(update={"endpoint": sim.url, "simulated": True})
        keys = {"access_key_id": sim.access_key_id, "access_key_secret": sim.access_key_secret}
        server = build_server(build_service(settings, build_gateway(settings, **keys)))
        async with Client(server, mode=mode) as client:
            args = {"instance_id": S20.instance_id, "region_id": REGION, "lang": "en"}
            result = await client.call_tool("ecs_diagnose_instance", args)
    assert not result.is_error and result.structured_content is not None
    shots = [base64.b64decode(c.data) for c in result.content if isinstance(c, ImageContent)]
    assert shots == [(S20.path / "screenshot.png").read_bytes()]
    assert result.structured_content["report_markdown"] in texts(result)
