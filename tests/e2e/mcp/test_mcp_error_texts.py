"""Tool errors a model reads in a few words and acts on: a malformed diagnosis_id and a declined
or cancelled elicitation each say what happened and which tool to call."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ElicitRequestParams, ElicitResult

from tests.e2e.mcp.conftest import LINUX

pytestmark = pytest.mark.anyio
MODES = ["legacy", "auto"]


def text(result: CallToolResult) -> str:
    first = result.content[0]
    return first.text if hasattr(first, "text") else ""


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "bad", ["d-123", "D-" + "0" * 32, "d-" + "g" * 32, " d-" + "0" * 32, "x" * 500]
)
@pytest.mark.parametrize("tool", ["ecs_check_platform_events", "ecs_get_diagnosis_status",
                                  "ecs_render_report"])  # fmt: skip
async def test_a_malformed_diagnosis_id_is_a_short_tool_error(
    make_server: Callable[..., MCPServer], mode: str, bad: str, tool: str
) -> None:
    async with Client(make_server(), mode=mode) as client:
        result = await client.call_tool(tool, {"diagnosis_id": bad})
    assert result.is_error
    message = text(result)
    assert "is not a diagnosis_id" in message
    assert "d- and 32 hex digits" in message and "ecs_start_diagnosis" in message
    assert "pydantic" not in message and "validation error" not in message
    assert len(message) < 400, message


@pytest.mark.parametrize("mode", MODES)
async def test_the_schema_still_carries_the_pattern(
    make_server: Callable[..., MCPServer], mode: str
) -> None:
    async with Client(make_server(), mode=mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    schema = tools["ecs_check_platform_events"].input_schema["properties"]["diagnosis_id"]
    assert schema["pattern"] == "^d-[0-9a-f]{32}$"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("answer", "said"), [("decline", "declined"), ("cancel", "cancelled")])
@pytest.mark.parametrize("tool", ["ecs_start_diagnosis", "ecs_diagnose_instance"])
async def test_a_declined_question_says_what_to_call(
    make_server: Callable[..., MCPServer], mode: str, answer: str, said: str, tool: str
) -> None:
    async def on_elicit(context: object, params: ElicitRequestParams) -> ElicitResult:
        return ElicitResult(action=answer)

    async with Client(make_server(), mode=mode, elicitation_callback=on_elicit) as client:
        result = await client.call_tool(tool, {"region_id": LINUX["region_id"]})
    assert result.is_error
    message = text(result)
    assert f"The user {said} the question for the instance id and region" in message
    assert "call ecs_start_diagnosis(instance_id=..., region_id=...)" in message
    assert "could not resolve" not in message and "elicitation was" not in message
