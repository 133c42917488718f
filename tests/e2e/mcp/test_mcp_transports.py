"""The server as its users start it: `ecs-reboot-diagnosis serve` over stdio and over HTTP."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.e2e.mcp.conftest import LINUX

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving_http(env: dict[str, str], *args: str, port: int = 0) -> Iterator[str]:
    """`serve --transport http --simulator ARGS` in a subprocess; yields its loopback MCP URL
    once it answers."""
    port = port or free_port()
    proc = subprocess.Popen(
        [*SERVE, "--transport", "http", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(url, timeout=1.0)
                break
            except httpx.TransportError:
                if proc.poll() is not None:
                    raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


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


@pytest.fixture(scope="module")
def token_server() -> Iterator[str]:
    with serving_http({**clean_env(), "ECS_DIAG_HTTP_TOKEN": "alpha-token, beta-token"}) as url:
        yield url


@contextlib.asynccontextmanager
async def authorized(url: str, token: str) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode="legacy") as client:
            yield client


def test_a_token_server_refuses_requests_without_a_valid_token(token_server: str) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    assert httpx.post(token_server, json=body, headers=headers).status_code == 401
    wrong = {**headers, "Authorization": "Bearer gamma-token"}
    refused = httpx.post(token_server, json=body, headers=wrong)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")


async def test_a_diagnosis_belongs_to_the_token_that_started_it(token_server: str) -> None:
    async with authorized(token_server, "alpha-token") as alpha:
        started = await alpha.call_tool("ecs_start_diagnosis", LINUX)
        assert started.structured_content is not None
        did = started.structured_content["diagnosis_id"]
    async with authorized(token_server, "beta-token") as beta:
        stolen = await beta.call_tool("ecs_check_platform_events", {"diagnosis_id": did})
        assert stolen.is_error and "is unknown" in stolen.content[0].text  # type: ignore[union-attr]
    async with authorized(token_server, "alpha-token") as alpha:
        own = await alpha.call_tool("ecs_check_platform_events", {"diagnosis_id": did})
        assert not own.is_error
