"""The MCP tools through the SDK's real Client, in both protocol eras, against the simulator."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ElicitRequestParams, ElicitResult

from ecs_api_simulator import SimulatorServer
from ecs_reboot_diagnosis_mcp.app import build_gateway, build_service
from ecs_reboot_diagnosis_mcp.mcp_server import build_server
from ecs_reboot_diagnosis_mcp.settings import Settings
from ecs_reboot_diagnosis_mcp.tool_results import RELAY_RULE
from tests.e2e.mcp.conftest import LINUX, WINDOWS

pytestmark = pytest.mark.anyio
MODES = ["legacy", "auto"]

STEP_TOOLS = [
    "ecs_check_platform_events",
    "ecs_check_cloud_assistant",
    "ecs_run_guest_diagnostics",
    "ecs_get_guest_results",
    "ecs_triage_crash_dumps",
    "ecs_recommend_dump_setup",
    "ecs_render_report",
]


def text(result: CallToolResult) -> str:
    first = result.content[0]
    return first.text if hasattr(first, "text") else ""


async def call(client: Client, tool: str, **arguments: Any) -> CallToolResult:
    return await client.call_tool(tool, arguments)


MAX_RESULT_CHARS = 40_000  # ~10k tokens: far below the 25k-token budget agents give a result


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text(result)
    assert len(text(result)) < MAX_RESULT_CHARS
    assert result.structured_content is not None
    return dict(result.structured_content)


@pytest.mark.parametrize("mode", MODES)
async def test_a_full_diagnosis_step_by_step_refusing_every_step_out_of_order(
    make_server: Callable[..., MCPServer], mode: str
) -> None:
    async with Client(make_server(), mode=mode) as client:
        started = structured(await call(client, "ecs_start_diagnosis", **LINUX))
        did = started["diagnosis_id"]
        assert started["instance"]["os_type"] == "linux"
        assert started["next_step"]["tool"] == "ecs_check_platform_events"

        for position, tool in enumerate(STEP_TOOLS):
            # every later tool is refused now, and the refusal names the tool to call
            for later in STEP_TOOLS[position + 1 :]:
                refused = await call(client, later, diagnosis_id=did)
                assert refused.is_error, later
                assert f"Call {tool}(diagnosis_id='{did}')" in text(refused), text(refused)
            status = structured(await call(client, "ecs_get_diagnosis_status", diagnosis_id=did))
            assert status["next_step"]["tool"] == tool
            result = structured(await call(client, tool, diagnosis_id=did))
            if tool == "ecs_render_report":
                assert result["next_step"] is None
            else:
                expected = STEP_TOOLS[position + 1]
                assert result["next_step"]["tool"] == expected, result
            # a step that already ran is refused and points forward
            if tool not in ("ecs_render_report",):
                again = await call(client, tool, diagnosis_id=did)
                assert again.is_error and "already run" in text(again)

        report = structured(await call(client, "ecs_render_report", diagnosis_id=did, lang="en"))
        assert report["verdict"] == "guest_initiated"
        assert report["rule_id"] == "linux.clean_reboot"
        markdown = report["report_markdown"]
        assert "## Diagnostic Conclusion" in markdown
        assert "i-bp1sim0linux0000001" in markdown
        zh = structured(await call(client, "ecs_render_report", diagnosis_id=did, lang="zh-CN"))
        assert "## 诊断结论" in zh["report_markdown"]
        assert RELAY_RULE in report["summary"]


@pytest.mark.parametrize("mode", MODES)
async def test_diagnose_instance_runs_everything_in_one_call(
    make_server: Callable[..., MCPServer], mode: str
) -> None:
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async with Client(make_server(), mode=mode) as client:
        result = await client.call_tool(
            "ecs_diagnose_instance", {**WINDOWS, "lang": "zh-CN"}, progress_callback=on_progress
        )
        data = structured(result)
        assert data["lang"] == "zh-CN"
        assert "### 步骤 3B" in data["report_markdown"]
        assert messages, "no progress notification arrived"
        status = structured(
            await call(client, "ecs_get_diagnosis_status", diagnosis_id=data["diagnosis_id"])
        )
        assert status["phase"] == "reported"
        assert status["remaining_tools"] == []


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_diagnosis_ids_and_instances(
    make_server: Callable[..., MCPServer], mode: str
) -> None:
    async with Client(make_server(), mode=mode) as client:
        unknown = await call(client, "ecs_check_platform_events", diagnosis_id="d-" + "0" * 32)
        assert unknown.is_error and "ecs_start_diagnosis" in text(unknown)
        malformed = await call(client, "ecs_check_platform_events", diagnosis_id="d-123")
        assert malformed.is_error
        missing = await call(
            client,
            "ecs_start_diagnosis",
            instance_id="i-bp1doesnotexist00",
            region_id="cn-hangzhou",
        )
        assert missing.is_error
        assert "not found in region cn-hangzhou" in text(missing)
        assert "do not guess" in text(missing)


@pytest.mark.parametrize("mode", MODES)
async def test_missing_ids_without_elicitation_tell_the_agent_to_ask(
    make_server: Callable[..., MCPServer], mode: str
) -> None:
    async with Client(make_server(), mode=mode) as client:
        for args in ({"region_id": "cn-hangzhou"}, {"instance_id": LINUX["instance_id"]}):
            result = await call(client, "ecs_start_diagnosis", **args)
            assert result.is_error
            assert "Ask the user" in text(result) and "never guess" in text(result)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("answer", ["accept", "decline", "cancel"])
async def test_missing_ids_are_asked_for_through_elicitation(
    make_server: Callable[..., MCPServer], mode: str, answer: str
) -> None:
    asked: list[str] = []

    async def on_elicit(context: object, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        if answer == "accept":
            return ElicitResult(action="accept", content=dict(LINUX))
        return ElicitResult(action=answer)

    async with Client(make_server(), mode=mode, elicitation_callback=on_elicit) as client:
        result = await call(client, "ecs_start_diagnosis", region_id="cn-hangzhou")
        assert asked and "instance id is missing" in asked[0]
        if answer == "accept":
            assert structured(result)["instance"]["instance_id"] == LINUX["instance_id"]
        else:
            assert result.is_error
            assert answer in text(result)


@pytest.mark.parametrize("mode", MODES)
async def test_no_guest_commands_hides_the_guest_tools_and_goes_agentless(
    make_server: Callable[..., MCPServer], mode: str
) -> None:
    async with Client(make_server(guest_commands=False), mode=mode) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "ecs_run_guest_diagnostics" not in names
        assert "ecs_get_guest_results" not in names
        did = structured(await call(client, "ecs_start_diagnosis", **LINUX))["diagnosis_id"]
        structured(await call(client, "ecs_check_platform_events", diagnosis_id=did))
        agent = structured(await call(client, "ecs_check_cloud_assistant", diagnosis_id=did))
        assert agent["next_step"]["tool"] == "ecs_collect_agentless_evidence"
        assert agent["manual_steps"]
        skipped = await call(client, "ecs_triage_crash_dumps", diagnosis_id=did)
        assert skipped.is_error and "not needed" in text(skipped)
        assert "ecs_collect_agentless_evidence" in text(skipped)
        outside = structured(await call(client, "ecs_collect_agentless_evidence", diagnosis_id=did))
        assert outside["next_step"]["tool"] == "ecs_render_report"
        report = structured(await call(client, "ecs_render_report", diagnosis_id=did))
        assert report["verdict"] == "unknown"


@pytest.mark.parametrize("mode", MODES)
async def test_the_workflow_prompt_and_the_reference_resources(
    make_server: Callable[..., MCPServer], mode: str
) -> None:
    async with Client(make_server(), mode=mode) as client:
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        assert "diagnose_reboot" in prompts
        prompt = await client.get_prompt("diagnose_reboot", LINUX)
        body = prompt.messages[0].content.text  # type: ignore[union-attr]
        assert LINUX["instance_id"] in body and "ecs_render_report" in body
        resources = {str(r.uri): r for r in (await client.list_resources()).resources}
        for name in ("ram-policy", "report-format", "manual-diagnosis", "kdump-setup",
                     "windows-dump-setup", "troubleshooting"):  # fmt: skip
            assert f"ecs-reboot-diagnosis://references/{name}" in resources
        ram = await client.read_resource("ecs-reboot-diagnosis://references/ram-policy")
        assert "ecs:RunCommand" in ram.contents[0].text  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", MODES)
async def test_agentless_evidence_returns_the_screenshot_as_an_image(mode: str) -> None:
    # a simulator of its own: screenshots of one instance are rate-limited (10 s), as for real
    with SimulatorServer() as sim:
        settings = Settings().model_copy(update={"endpoint": sim.url})
        gateway = build_gateway(
            settings, access_key_id=sim.access_key_id, access_key_secret=sim.access_key_secret
        )
        server = build_server(build_service(settings, gateway))
        async with Client(server, mode=mode) as client:
            await _agentless_round(client)


async def _agentless_round(client: Client) -> None:
    did = structured(await call(client, "ecs_start_diagnosis", **WINDOWS))["diagnosis_id"]
    result = await call(client, "ecs_collect_agentless_evidence", diagnosis_id=did)
    data = structured(result)
    assert data["screenshot_captured"] is True, data["unavailable"]
    images = [c for c in result.content if getattr(c, "type", "") == "image"]
    assert len(images) == 1
    assert images[0].mime_type == "image/png"  # type: ignore[union-attr]
    assert base64.b64decode(images[0].data)[:8] == b"\x89PNG\r\n\x1a\n"  # type: ignore[union-attr]
    # Windows has no serial console output: the source is reported as unavailable
    assert data["console_note"] is None
    assert any("GetInstanceConsoleOutput" in note for note in data["unavailable"])
    # the workflow order is untouched: platform events still come next
    assert data["next_step"]["tool"] == "ecs_check_platform_events"
