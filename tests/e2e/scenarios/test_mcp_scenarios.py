"""Every bundled scenario through a real MCP client, step by step, as an agent would go.

The agent starts a diagnosis and then calls whatever ``next_step.tool`` each structured result
names, until the report. The tools it was sent to must be the scenario's branch of the workflow,
and the report must reach the conclusion the CLI reaches (the same entry of the table).
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult

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

pytestmark = pytest.mark.anyio
MAX_CALLS = 16
# The default (auto) protocol era as well, for one scenario of each branch and OS.
BOTH_ERAS = ("s01", "s02", "s06", "s11", "s17")
RUNS = [
    pytest.param(case, mode, id=f"{case.id}-{mode}")
    for case in CASES
    for mode in (("legacy", "auto") if case.key in BOTH_ERAS else ("legacy",))
]


def text(result: CallToolResult) -> str:
    first = result.content[0] if result.content else None
    return getattr(first, "text", "")


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    return dict(result.structured_content)


async def follow_next_steps(
    client: Client, case: Case
) -> tuple[list[str], dict[str, Any], CallToolResult]:
    """Start, then call each ``next_step`` until there is none or a tool refuses.

    Returns the tools called (a pending poll of the same tool counted once), the last
    structured result and the last raw result.
    """
    tool, arguments = "ecs_start_diagnosis", {"instance_id": case.instance_id, "region_id": REGION}
    called: list[str] = []
    data: dict[str, Any] = {}
    for _ in range(MAX_CALLS):
        if tool == "ecs_render_report":
            assert arguments.get("lang") == "en", arguments
        raw = await client.call_tool(tool, arguments)
        if not called or called[-1] != tool:
            called.append(tool)
        if raw.is_error:
            return called, data, raw
        data = structured(raw)
        step = data["next_step"]
        if step is None:
            return called, data, raw
        if step["tool"] == tool == "ecs_get_guest_results":
            await anyio.sleep(0.5)  # still running: poll again, as the result asks
        tool, arguments = step["tool"], dict(step["arguments"])
    raise AssertionError(f"no report after {MAX_CALLS} calls: {called}")


@pytest.mark.parametrize(("case", "mode"), RUNS)
async def test_mcp_follows_next_step_to_the_report(
    mcp_server: MCPServer, case: Case, mode: str
) -> None:
    async with Client(mcp_server, mode=mode) as client:
        called, data, raw = await follow_next_steps(client, case)

    assert tuple(called) == TOOLS[case.branch]
    if case.branch == "forbidden":
        assert raw.is_error
        assert case.stderr in text(raw), text(raw)
        assert "Forbidden.RAM" in text(raw)
        return
    assert not raw.is_error
    assert (data["rule_id"], data["verdict"], data["lang"]) == (case.rule_id, case.verdict, "en")
    assert data["phase"] == "reported"
    markdown = data["report_markdown"]
    assert headings_in_order(markdown, case.os, "en"), headings(markdown)
    assert rule_marker(case, "en") in markdown
    assert not missing_facts(case, "en", markdown), missing_facts(case, "en", markdown)


async def test_mcp_unknown_instance_is_refused_at_the_start(mcp_server: MCPServer) -> None:
    async with Client(mcp_server, mode="legacy") as client:
        result = await client.call_tool(
            "ecs_start_diagnosis", {"instance_id": UNKNOWN_INSTANCE, "region_id": REGION}
        )
    assert result.is_error
    message = text(result)
    assert f"Instance {UNKNOWN_INSTANCE} was not found in region {REGION}" in message, message
    assert "do not guess" in message


@pytest.mark.parametrize("key", ["s01", "s11"])
async def test_mcp_steps_the_branch_made_unnecessary_are_refused(
    mcp_server: MCPServer, key: str
) -> None:
    """After a platform cause or with the agent down, the guest steps are "not needed"."""
    case = BY_KEY[key]
    async with Client(mcp_server, mode="legacy") as client:
        called, data, _ = await follow_next_steps(client, case)
        assert called[-1] == "ecs_render_report"
        did = data["diagnosis_id"]
        for tool in ("ecs_run_guest_diagnostics", "ecs_triage_crash_dumps"):
            refused = await client.call_tool(tool, {"diagnosis_id": did})
            assert refused.is_error
            assert "not needed" in text(refused), text(refused)
        zh = structured(
            await client.call_tool("ecs_render_report", {"diagnosis_id": did, "lang": "zh-CN"})
        )
    assert zh["rule_id"] == case.rule_id
    zh_markdown = zh["report_markdown"]
    assert headings_in_order(zh_markdown, case.os, "zh-CN"), headings(zh_markdown)
    assert not missing_facts(case, "zh-CN", zh["report_markdown"])
