"""The server as its users start it: `ecs-reboot-diagnosis serve` over stdio and over HTTP."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp import Client, StdioServerParameters

from tests.e2e.mcp.conftest import LINUX
from tests.support.serve_http import free_port, http_server_process

__all__ = ["SERVE", "clean_env", "free_port", "serving_http"]

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
SERVE = [sys.executable, "-m", "ecs_reboot_diagnosis_mcp", "serve", "--simulator"]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
    return env


async def diagnose(client: Client) -> dict[str, Any]:
    result = await client.call_tool("ecs_diagnose_instance", {**LINUX, "lang": "en"})
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return dict(result.structured_content)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_stdio(mode: str) -> None:
    params = StdioServerParameters(command=SERVE[0], args=SERVE[1:], env=clean_env())
    async with Client(params, mode=mode) as client:
        data = await diagnose(client)
        assert data["rule_id"] == "linux.clean_reboot"
        assert "## Recommendations" in data["report_markdown"]
        refused = await client.call_tool(
            "ecs_triage_crash_dumps", {"diagnosis_id": data["diagnosis_id"]}
        )
        assert refused.is_error


@contextlib.contextmanager
def serving_http(
    env: dict[str, str], *args: str, port: int = 0, log: list[str] | None = None
) -> Iterator[str]:
    """`serve --transport http --simulator ARGS` in a subprocess; yields its loopback MCP URL
    once it answers. ``log`` receives the server's stderr once it has stopped."""
    with http_server_process(env, "--simulator", *args, port=port, log=log) as (url, _):
        yield url


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    with serving_http(clean_env()) as url:
        yield url


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_streamable_http(http_server: str, mode: str) -> None:
    async with Client(http_server, mode=mode) as client:
        started = await client.call_tool("ecs_start_diagnosis", LINUX)
        assert started.structured_content is not None
        did = started.structured_content["diagnosis_id"]
        data = await diagnose(client)
        assert data["verdict"] == "guest_initiated"
        status = await client.call_tool("ecs_get_diagnosis_status", {"diagnosis_id": did})
        assert status.structured_content is not None
        assert status.structured_content["next_step"]["tool"] == "ecs_check_platform_events"


def test_http_refuses_a_foreign_host_header(http_server: str) -> None:
    response = httpx.post(
        http_server,
        headers={"Host": "evil.example", "Accept": "application/json, text/event-stream"},
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
    )
    assert response.status_code in (400, 403, 421)
