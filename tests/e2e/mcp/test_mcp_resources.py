"""Diagnoses and reports as MCP resources, completion of region ids, log notifications that mark
the steps, and the one rule for relaying a report: through real clients (in-process in both
eras, HTTP with two bearer tokens, stdio as users start it)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import (
    LoggingMessageNotificationParams,
    PromptReference,
    ResourceTemplateReference,
    TextContent,
    TextResourceContents,
)

from ecs_api_simulator import SimulatorServer
from ecs_reboot_diagnosis.regions import ECS_REGIONS
from ecs_reboot_diagnosis.service import DIAGNOSE_STEPS
from ecs_reboot_diagnosis_mcp.tool_results import RELAY_RULE
from tests.e2e.mcp.conftest import LINUX
from tests.e2e.mcp.fuzz_harness import ALPHA, BETA, authorized, fuzz_settings, serving
from tests.e2e.mcp.test_mcp_transports import clean_env

pytestmark = pytest.mark.anyio
MODES = ["legacy", "auto"]
ROOT = Path(__file__).resolve().parents[3]
DIAGNOSIS = "diagnosis://{diagnosis_id}"
REPORT = "diagnosis://{diagnosis_id}/report.md{?lang}"


async def read(client: Client, uri: str) -> TextResourceContents:
    result = await client.read_resource(uri)
    (content,) = result.contents
    assert isinstance(content, TextResourceContents)
    return content


async def start(client: Client) -> str:
    result = await client.call_tool("ecs_start_diagnosis", LINUX)
    assert result.structured_content is not None
    return str(result.structured_content["diagnosis_id"])


@pytest.mark.parametrize("mode", MODES)
async def test_a_diagnosis_and_its_report_are_resources(
    make_server: Callable[..., MCPServer], mode: str
) -> None:
    async with Client(make_server(), mode=mode) as client:
        templates = {
            t.uri_template: t for t in (await client.list_resource_templates()).resource_templates
        }
        assert templates[DIAGNOSIS].mime_type == "application/json"
        assert templates[REPORT].mime_type == "text/markdown"
        assert RELAY_RULE in (templates[REPORT].description or "")

        did = await start(client)
        early = json.loads((await read(client, f"diagnosis://{did}")).text)
        assert early["phase"] == "instance_confirmed" and early["report"] is None
        assert early["next_step"]["tool"] == "ecs_check_platform_events"
        with pytest.raises(MCPError, match=r"has no report yet.*ecs_check_platform_events"):
            await client.read_resource(f"diagnosis://{did}/report.md")

        result = await client.call_tool("ecs_diagnose_instance", {**LINUX, "lang": "zh-CN"})
        assert result.structured_content is not None
        done = str(result.structured_content["diagnosis_id"])
        en = await read(client, f"diagnosis://{done}/report.md?lang=en")
        zh = await read(client, f"diagnosis://{done}/report.md?lang=zh-CN")
        assert en.mime_type == zh.mime_type == "text/markdown"
        assert "## Diagnostic Conclusion" in en.text and "## 诊断结论" in zh.text
        assert zh.text == result.structured_content["report_markdown"]
        # without ?lang: the diagnosis's own language (it was started with lang=zh-CN)
        assert (await read(client, f"diagnosis://{done}/report.md")).text == zh.text
        data = json.loads((await read(client, f"diagnosis://{done}")).text)
        assert data["phase"] == "reported"
        assert data["report"]["conclusion"]["rule_id"] == "linux.clean_reboot"
        assert data["report_uris"]["zh-CN"] == f"diagnosis://{done}/report.md?lang=zh-CN"

        # the refusal is in the diagnosis's language (zh-CN)
        with pytest.raises(MCPError, match="lang 必须是 en、zh-CN 之一"):
            await client.read_resource(f"diagnosis://{done}/report.md?lang=fr")
        with pytest.raises(MCPError, match="ecs_start_diagnosis"):
            await client.read_resource("diagnosis://d-" + "0" * 32)


async def test_another_owner_cannot_read_a_diagnosis() -> None:
    with SimulatorServer() as sim, serving(sim, fuzz_settings(sim, wait_deadline_s=60.0)) as url:
        async with authorized(url, ALPHA, "legacy") as alpha:
            did = await start(alpha)
            assert json.loads((await read(alpha, f"diagnosis://{did}")).text)["diagnosis_id"] == did
        async with authorized(url, BETA, "legacy") as beta:
            for uri in (f"diagnosis://{did}", f"diagnosis://{did}/report.md"):
                with pytest.raises(MCPError, match="is unknown") as err:
                    await beta.read_resource(uri)
                assert err.value.error.code == -32602  # not found, as for an id never issued


@pytest.mark.parametrize("mode", MODES)
async def test_completion_offers_region_ids_and_languages(
    make_server: Callable[..., MCPServer], mode: str
) -> None:
    prompt = PromptReference(type="ref/prompt", name="diagnose_reboot")
    template = ResourceTemplateReference(type="ref/resource", uri=REPORT)
    async with Client(make_server(), mode=mode) as client:
        cn_h = (await client.complete(prompt, {"name": "region_id", "value": "cn-h"})).completion
        assert cn_h.values == ["cn-hangzhou", "cn-huhehaote", "cn-heyuan", "cn-hongkong"]
        assert cn_h.total == 4 and not cn_h.has_more
        every = (await client.complete(prompt, {"name": "region_id", "value": ""})).completion
        assert every.values == list(ECS_REGIONS) and every.values[0] == "cn-hangzhou"
        ap = await client.complete(prompt, {"name": "region_id", "value": "AP-SOUTHEAST"})
        assert ap.completion.values and all(
            v.startswith("ap-southeast-") for v in ap.completion.values
        )
        zh = (await client.complete(template, {"name": "lang", "value": "z"})).completion
        assert zh.values == ["zh-CN"]
        # ids are the user's to give: nothing is offered for them
        ids = (await client.complete(prompt, {"name": "instance_id", "value": "i-"})).completion
        assert ids.values == []


async def test_logging_marks_every_step_and_honours_set_level(
    make_server: Callable[..., MCPServer],
) -> None:
    lines: list[tuple[str, str]] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        lines.append((params.level, str(params.data)))

    async with Client(make_server(), mode="legacy", logging_callback=on_log) as client:
        did = await start(client)
        step: dict[str, Any] | None = {"tool": "ecs_check_platform_events", "arguments": {}}
        called = ["ecs_start_diagnosis"]
        while step is not None:
            result = await client.call_tool(
                step["tool"], {**step["arguments"], "diagnosis_id": did}
            )
            assert result.structured_content is not None
            called.append(step["tool"])
            step = result.structured_content["next_step"]
        marked = [text.split(":")[0] for level, text in lines if level == "info"]
        assert marked == called
        assert lines[-1][1] == "ecs_render_report: linux.clean_reboot (en)."

        lines.clear()
        with pytest.warns(MCPDeprecationWarning):  # the client's, as of 2026-07-28
            await client.set_logging_level("warning")
        await start(client)
        assert lines == []  # info lines are below the level asked for


def test_the_one_relay_rule_is_said_with_the_same_words_everywhere() -> None:
    skill = " ".join((ROOT / "SKILL.md").read_text(encoding="utf-8").split())
    assert RELAY_RULE in skill


async def test_the_relay_rule_in_the_tools_and_the_prompt(
    make_server: Callable[..., MCPServer],
) -> None:
    async with Client(make_server(), mode="legacy") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        for name in ("ecs_render_report", "ecs_diagnose_instance"):
            assert RELAY_RULE in (tools[name].description or ""), name
        prompt = await client.get_prompt("diagnose_reboot", LINUX)
        body = prompt.messages[0].content
        assert isinstance(body, TextContent)
        assert RELAY_RULE in " ".join(body.text.split())
        assert "ecs_collect_agentless_evidence" in body.text
        # no other wording of what may be added survives anywhere
        for text in (body.text, *(t.description or "" for t in tools.values())):
            assert not re.search(r"relay .{0,40}unchanged", text, re.IGNORECASE), text


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
async def test_stdio_progress_logs_markdown_and_resources(mode: str) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "ecs_reboot_diagnosis_mcp", "serve", "--simulator"],
        env=clean_env(),
    )
    seen: list[tuple[float, float | None]] = []
    logs: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total))

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        logs.append(str(params.data))

    async with Client(params, mode=mode, logging_callback=on_log, log_level="info") as client:
        result = await client.call_tool(
            "ecs_diagnose_instance", {**LINUX, "lang": "en"}, progress_callback=on_progress
        )
        assert not result.is_error and result.structured_content is not None
        data = result.structured_content
        blocks = [c.text for c in result.content if isinstance(c, TextContent)]
        assert data["report_markdown"] in blocks
        report = await read(client, data["report_uri"])
        assert report.text == data["report_markdown"]
    values = [p for p, _ in seen]
    assert values == sorted(set(values)) and values[-1] == DIAGNOSE_STEPS
    assert {t for _, t in seen} == {float(DIAGNOSE_STEPS)}
    assert (
        logs[-1] == f"ecs_diagnose_instance: step {DIAGNOSE_STEPS}/{DIAGNOSE_STEPS}: Report ready."
    )
