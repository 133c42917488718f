"""``ecs_scan_fleet`` through the SDK's real MCP client (in-process), in both protocol eras:
progress, bounded pages, paging without API calls, and tool errors that name the call."""

from __future__ import annotations

import math
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent

from ecs_api_simulator import SimulatorServer
from ecs_reboot_diagnosis_mcp.app import (
    build_gateway,
    build_outside_gateways,
    build_service,
    fleet_scanner_for,
)
from ecs_reboot_diagnosis_mcp.fleet_results import MAX_IDS_PER_GROUP, PAGE_SIZE
from ecs_reboot_diagnosis_mcp.mcp_server import build_server
from ecs_reboot_diagnosis_mcp.settings import Settings
from tests.e2e.fleet.conftest import FLEET_SIZE

pytestmark = pytest.mark.anyio
MAX_RESULT_CHARS = 40_000


def make_server(sim: SimulatorServer, **overrides: object) -> MCPServer:
    settings = Settings().model_copy(update={"endpoint": sim.url, "simulated": True, **overrides})
    keys = {"access_key_id": sim.access_key_id, "access_key_secret": sim.access_key_secret}
    metrics, audit = build_outside_gateways(settings, **keys)
    service = build_service(settings, build_gateway(settings, **keys), metrics=metrics, audit=audit)
    return build_server(service, scanner=fleet_scanner_for(service, settings))


def text(result: CallToolResult) -> str:
    first = result.content[0]
    assert isinstance(first, TextContent)
    return first.text


def result_of(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text(result)
    assert len(text(result)) < MAX_RESULT_CHARS
    assert result.structured_content is not None
    return dict(result.structured_content)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_scan_with_progress_then_its_pages(fleet_sim: SimulatorServer, mode: str) -> None:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with Client(make_server(fleet_sim), mode=mode) as client:
        first = result_of(
            await client.call_tool(
                "ecs_scan_fleet",
                {"region_id": "cn-shanghai,cn-beijing", "since": "2d"},
                progress_callback=on_progress,
            )
        )
        assert first["complete"] and first["counts"]["instances"] == FLEET_SIZE
        assert first["pages"] == math.ceil(FLEET_SIZE / PAGE_SIZE)
        assert len(first["instances"]) == PAGE_SIZE
        assert seen and seen == sorted(seen)  # monotonic
        assert sum(g["count"] for g in first["groups"]) == FLEET_SIZE
        assert all(len(g["instance_ids"]) <= MAX_IDS_PER_GROUP for g in first["groups"])
        call = first["instances"][0]["full_diagnosis"]
        assert call["tool"] == "ecs_start_diagnosis"
        assert call["arguments"]["instance_id"] == first["instances"][0]["instance_id"]
        nxt = first["next_page"]
        assert nxt["tool"] == "ecs_scan_fleet"

        before = fleet_sim.request_count()
        listed = {i["instance_id"] for i in first["instances"]}
        for page in range(2, first["pages"] + 1):
            more = result_of(
                await client.call_tool(
                    "ecs_scan_fleet", {"scan_id": first["scan_id"], "page": page}
                )
            )
            listed |= {i["instance_id"] for i in more["instances"]}
        assert more["next_page"] is None
        assert listed == set(fleet_sim.fleet_truth)
        assert fleet_sim.request_count() == before  # paging calls no API


async def test_a_scan_without_guest_commands_is_read_only(fleet_sim: SimulatorServer) -> None:
    async with Client(make_server(fleet_sim, guest_commands=False), mode="legacy") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        annotations = tools["ecs_scan_fleet"].annotations
        assert annotations is not None and annotations.read_only_hint is True
        before = fleet_sim.request_count("RunCommand")
        ids = ",".join(list(fleet_sim.fleet_truth)[:30])
        out = result_of(
            await client.call_tool(
                "ecs_scan_fleet",
                {"region_id": "cn-shanghai,cn-beijing", "instance_ids": ids, "since": "2d"},
            )
        )
        assert out["guest_commands"] is False and out["counts"]["instances"] == 30
        assert fleet_sim.request_count("RunCommand") == before


@pytest.mark.parametrize(
    ("arguments", "needle"),
    [
        ({}, "ecs_scan_fleet again"),
        ({"region_id": "cn-shanghai", "since": "90d"}, "ecs_scan_fleet again"),
        ({"region_id": "cn-shanghai", "tags": "team"}, "team=web"),
        ({"scan_id": "s-" + "0" * 32}, "scan_id left empty"),
    ],
)
async def test_errors_name_the_call_to_make(
    fleet_sim: SimulatorServer, arguments: dict[str, Any], needle: str
) -> None:
    async with Client(make_server(fleet_sim), mode="legacy") as client:
        result = await client.call_tool("ecs_scan_fleet", arguments)
        assert result.is_error
        assert needle in text(result)


async def test_a_scan_that_fails_midway_names_the_call_that_resumes_it(
    fleet_sim: SimulatorServer,
) -> None:
    fleet_sim.inject_fault("DescribeInstanceHistoryEvents", "InvalidParameter", times=None)
    try:
        async with Client(make_server(fleet_sim), mode="legacy") as client:
            failed = await client.call_tool(
                "ecs_scan_fleet", {"region_id": "cn-shanghai", "since": "2d"}
            )
            assert failed.is_error
            message = text(failed)
            assert "ecs_scan_fleet(scan_id='s-" in message, message
            scan_id = message.split("scan_id='")[1].split("'")[0]
            fleet_sim.clear_faults()
            resumed = result_of(await client.call_tool("ecs_scan_fleet", {"scan_id": scan_id}))
            assert resumed["complete"] and resumed["scan_id"] == scan_id
            assert resumed["counts"]["instances"] == FLEET_SIZE // 2
    finally:
        fleet_sim.clear_faults()
