"""Every bundled scenario through a real MCP client, step by step, as an agent would go.

The agent starts a diagnosis and then calls whatever ``next_step.tool`` each structured result
names, until the report. The tools it was sent to must be the scenario's branch of the workflow,
and the report must reach the conclusion the CLI reaches (the same entry of the table).

The journeys of all scenarios run at the same time (one client each, one server, one simulator),
so that their collector waits overlap; each scenario is then checked by its own test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult

from ecs_api_simulator import SimulatorServer
from tests.e2e.scenarios.cases import (
    BY_KEY,
    CASES,
    REGION,
    TOOLS,
    UNKNOWN_INSTANCE,
    Case,
    headings,
    headings_in_order,
    missing_facts,
    rule_marker,
)
from tests.e2e.scenarios.conftest import SCENARIOS_DIR, make_mcp_server

MAX_CALLS = 16
# Every scenario in the legacy protocol era; one of each branch and OS also with the client's
# default connect mode (auto).
BOTH_ERAS = ("s01", "s02", "s06", "s11", "s17")
RUNS: list[tuple[Case, str]] = [
    (case, mode)
    for case in CASES
    for mode in (("legacy", "default") if case.key in BOTH_ERAS else ("legacy",))
]


def connect(server: MCPServer, mode: str) -> Client:
    return Client(server) if mode == "default" else Client(server, mode="legacy")


def text(result: CallToolResult) -> str:
    first = result.content[0] if result.content else None
    return getattr(first, "text", "")


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    return dict(result.structured_content)


@dataclass
class Journey:
    """What an agent saw: the tools it called, the last result, or what went wrong."""

    called: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    refusal: str = ""
    failure: BaseException | None = None


async def follow_next_steps(client: Client, case: Case) -> Journey:
    """Start, then call each ``next_step`` until there is none or a tool refuses.

    A pending poll of the same tool is counted once.
    """
    tool, arguments = "ecs_start_diagnosis", {"instance_id": case.instance_id, "region_id": REGION}
    journey = Journey()
    for _ in range(MAX_CALLS):
        if tool == "ecs_render_report":
            assert arguments.get("lang") == "en", arguments
        raw = await client.call_tool(tool, arguments)
        if not journey.called or journey.called[-1] != tool:
            journey.called.append(tool)
        if raw.is_error:
            journey.refusal = text(raw)
            return journey
        journey.data = structured(raw)
        step = journey.data["next_step"]
        if step is None:
            return journey
        if step["tool"] == tool == "ecs_get_guest_results":
            await anyio.sleep(0.5)  # still running: poll again, as the result asks
        tool, arguments = step["tool"], dict(step["arguments"])
    raise AssertionError(f"no report after {MAX_CALLS} calls: {journey.called}")


@pytest.fixture(scope="module")
def journeys(bundled_sim: SimulatorServer) -> dict[tuple[str, str], Journey]:
    """Every (scenario, connect mode) journey, run concurrently against one server."""
    server = make_mcp_server(bundled_sim)
    found: dict[tuple[str, str], Journey] = {}

    async def one(case: Case, mode: str) -> None:
        try:
            async with connect(server, mode) as client:
                found[(case.key, mode)] = await follow_next_steps(client, case)
        except Exception as exc:  # reported by the scenario's own test
            found[(case.key, mode)] = Journey(failure=exc)

    async def all_of_them() -> None:
        async with anyio.create_task_group() as group:
            for case, mode in RUNS:
                group.start_soon(one, case, mode)

    anyio.run(all_of_them)
    return found


@pytest.mark.parametrize(("case", "mode"), RUNS, ids=[f"{c.id}-{m}" for c, m in RUNS])
def test_mcp_follows_next_step_to_the_report(
    journeys: dict[tuple[str, str], Journey], case: Case, mode: str
) -> None:
    journey = journeys[(case.key, mode)]
    if journey.failure is not None:
        raise journey.failure
    assert tuple(journey.called) == TOOLS[case.branch]
    if case.branch == "forbidden":
        assert case.stderr in journey.refusal, journey.refusal
        assert "Forbidden.RAM" in journey.refusal
        return
    assert not journey.refusal
    data = journey.data
    assert (data["rule_id"], data["verdict"], data["lang"]) == (case.rule_id, case.verdict, "en")
    assert data["phase"] == "reported"
    markdown = data["report_markdown"]
    assert headings_in_order(markdown, case.os, "en"), headings(markdown)
    assert rule_marker(case, "en") in markdown
    assert not missing_facts(case, "en", markdown), missing_facts(case, "en", markdown)


@pytest.mark.anyio
async def test_mcp_unknown_instance_is_refused_at_the_start(mcp_server: MCPServer) -> None:
    async with Client(mcp_server, mode="legacy") as client:
        result = await client.call_tool(
            "ecs_start_diagnosis", {"instance_id": UNKNOWN_INSTANCE, "region_id": REGION}
        )
    assert result.is_error
    message = text(result)
    assert f"Instance {UNKNOWN_INSTANCE} was not found in region {REGION}" in message, message
    assert "do not guess" in message


@pytest.mark.anyio
@pytest.mark.parametrize("key", ["s01", "s11"])
async def test_mcp_steps_the_branch_made_unnecessary_are_refused(key: str) -> None:
    """After a platform cause or with the agent down, the guest steps are "not needed".

    A simulator of its own: the journeys above already took this instance's screenshot, and
    screenshots of one instance are rate-limited (10 s), as on the real API.
    """
    case = BY_KEY[key]
    with SimulatorServer([SCENARIOS_DIR / case.directory]) as sim:
        async with Client(make_mcp_server(sim), mode="legacy") as client:
            zh_markdown = await refused_then_chinese(client, case)
    assert headings_in_order(zh_markdown, case.os, "zh-CN"), headings(zh_markdown)
    assert not missing_facts(case, "zh-CN", zh_markdown)


async def refused_then_chinese(client: Client, case: Case) -> str:
    """Follow the journey, check the skipped steps are refused, render the report in Chinese."""
    journey = await follow_next_steps(client, case)
    assert journey.called[-1] == "ecs_render_report"
    did = journey.data["diagnosis_id"]
    for tool in ("ecs_run_guest_diagnostics", "ecs_triage_crash_dumps"):
        refused = await client.call_tool(tool, {"diagnosis_id": did})
        assert refused.is_error
        assert "not needed" in text(refused), text(refused)
    zh = structured(
        await client.call_tool("ecs_render_report", {"diagnosis_id": did, "lang": "zh-CN"})
    )
    assert zh["rule_id"] == case.rule_id
    return str(zh["report_markdown"])
