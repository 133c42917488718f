"""reboot_time through the SDK's real Client, in both protocol eras, against the simulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult

from tests.e2e.mcp.conftest import LINUX, WINDOWS

pytestmark = pytest.mark.anyio
MODES = ["legacy", "auto"]


def text(result: CallToolResult) -> str:
    first = result.content[0]
    return first.text if hasattr(first, "text") else ""


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    return dict(result.structured_content)


def utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


@pytest.mark.parametrize("mode", MODES)
async def test_start_stores_the_time_shows_it_and_widens_the_event_window(
    make_server: Callable[..., MCPServer], mode: str
) -> None:
    shanghai = timezone(timedelta(hours=8))
    asked = (datetime.now(UTC) - timedelta(days=20)).replace(second=0, microsecond=0)
    written = asked.astimezone(shanghai).strftime("%Y-%m-%dT%H:%M+08:00")
    async with Client(make_server(), mode=mode) as client:
        started = structured(
            await client.call_tool("ecs_start_diagnosis", {**LINUX, "reboot_time": written})
        )
        assert utc(started["reboot_time"]) == asked
        assert f"{asked:%Y-%m-%d %H:%M} UTC" in started["summary"]
        did = started["diagnosis_id"]
        status = structured(
            await client.call_tool("ecs_get_diagnosis_status", {"diagnosis_id": did})
        )
        assert utc(status["reboot_time"]) == asked
        assert f"{asked:%Y-%m-%d %H:%M} UTC" in status["summary"]
        events = structured(
            await client.call_tool("ecs_check_platform_events", {"diagnosis_id": did})
        )
        start, end = utc(events["window_start"]), utc(events["window_end"])
        assert start <= asked - timedelta(days=1)
        assert end - start <= timedelta(days=30)
        assert "widened from 7 to 22 days" in events["summary"]


@pytest.mark.parametrize("mode", MODES)
async def test_without_a_time_nothing_is_asked_and_the_window_is_the_default(
    make_server: Callable[..., MCPServer], mode: str
) -> None:
    async with Client(make_server(), mode=mode) as client:
        started = structured(await client.call_tool("ecs_start_diagnosis", LINUX))
        assert started["reboot_time"] is None
        assert "asked about" not in started["summary"]
        events = structured(
            await client.call_tool(
                "ecs_check_platform_events", {"diagnosis_id": started["diagnosis_id"]}
            )
        )
        assert utc(events["window_end"]) - utc(events["window_start"]) == timedelta(days=7)
        assert "widened" not in events["summary"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("tool", ["ecs_start_diagnosis", "ecs_diagnose_instance"])
@pytest.mark.parametrize(
    ("bad", "says"),
    [("yesterday around 3", "not a date and time"), ("2099-01-01T00:00", "in the future"),
     ("2026-11-30", "without a time of day")],
)  # fmt: skip
async def test_a_bad_time_is_a_tool_error_naming_the_formats(
    make_server: Callable[..., MCPServer], mode: str, tool: str, bad: str, says: str
) -> None:
    async with Client(make_server(), mode=mode) as client:
        result = await client.call_tool(tool, {**LINUX, "reboot_time": bad})
        assert result.is_error
        message = text(result)
        assert "reboot_time" in message and says in message
        for example in ("ISO 8601", "2026-11-30T03:00+08:00", "2h ago", "time is UTC"):
            assert example in message, message


@pytest.mark.parametrize("mode", MODES)
async def test_diagnose_instance_takes_the_time(
    make_server: Callable[..., MCPServer], mode: str
) -> None:
    before = datetime.now(UTC)
    async with Client(make_server(), mode=mode) as client:
        report = structured(
            await client.call_tool("ecs_diagnose_instance", {**WINDOWS, "reboot_time": "2h ago"})
        )
        status = structured(
            await client.call_tool(
                "ecs_get_diagnosis_status", {"diagnosis_id": report["diagnosis_id"]}
            )
        )
    after = datetime.now(UTC)
    asked = utc(status["reboot_time"])
    assert before - timedelta(hours=2) <= asked <= after - timedelta(hours=2)
    assert status["phase"] == "reported"
