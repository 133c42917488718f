"""`serve --transport http` as an attacker meets it: exposure without a token, DNS rebinding
(Host and Origin) on every bind, the SDK's bearer authorization with its protected-resource
metadata, and per-token ownership and quotas. Real server subprocess, real HTTP, real clients."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.e2e.mcp.conftest import LINUX
from tests.e2e.mcp.test_mcp_transports import SERVE, clean_env, free_port, serving_http

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

ALPHA, BETA = "alpha-token-0123456789", "beta-token-9876543210"
TOKENS = {"ECS_DIAG_HTTP_TOKEN": f"{ALPHA}, {BETA}"}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "probe", "version": "0"},
    },
}


def post(url: str, *, token: str = "", **headers: str) -> httpx.Response:
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(url, json=INITIALIZE, headers={**ACCEPT, **auth, **headers}, timeout=10)


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


# --- exposure ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--host", "0.0.0.0"], {}),
        (["--host", "::"], {}),
        ([], {"ECS_DIAG_HOST": "0.0.0.0"}),
        (["--host", "0.0.0.0"], {"ECS_DIAG_HTTP_TOKEN": " , "}),
    ],
    ids=["0.0.0.0", "::", "env", "blank-token"],
)
def test_a_non_loopback_bind_without_a_token_is_refused(
    args: list[str], env: dict[str, str]
) -> None:
    port = free_port()
    proc = subprocess.run(
        [*SERVE, "--transport", "http", "--port", str(port), *args],
        env={**clean_env(), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "ECS_DIAG_HTTP_TOKEN" in proc.stderr
    assert "without a bearer token" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not listening(port)


# --- Host and Origin -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loopback_server() -> Iterator[str]:
    with serving_http(clean_env()) as url:
        yield url


@pytest.fixture(scope="module")
def exposed_server() -> Iterator[str]:
    """Bound to every address, with tokens; reached here over loopback."""
    with serving_http({**clean_env(), **TOKENS}, "--host", "0.0.0.0") as url:
        yield url


def test_loopback_bind_refuses_a_foreign_host_or_origin(loopback_server: str) -> None:
    port = loopback_server.split(":")[2].split("/")[0]
    assert post(loopback_server).status_code == 200
    assert post(loopback_server, Origin=f"http://localhost:{port}").status_code == 200
    assert post(loopback_server, Host="evil.example").status_code == 421
    assert post(loopback_server, Host=f"evil.example:{port}").status_code == 421
    assert post(loopback_server, Origin="http://evil.example").status_code == 403
    both = post(loopback_server, Host="evil.example", Origin="http://evil.example")
    assert both.status_code == 421


def test_non_loopback_bind_refuses_a_foreign_host_or_origin_even_with_a_token(
    exposed_server: str,
) -> None:
    port = exposed_server.split(":")[2].split("/")[0]
    assert post(exposed_server, token=ALPHA).status_code == 200
    assert post(exposed_server, token=ALPHA, Host=f"0.0.0.0:{port}").status_code == 200
    assert post(exposed_server, token=ALPHA, Host="evil.example").status_code == 421
    origin = post(exposed_server, token=ALPHA, Origin="http://evil.example")
    assert origin.status_code == 403
    rebinding = post(exposed_server, token=ALPHA, Host="evil.example", Origin="http://evil.example")
    assert rebinding.status_code == 421
    # the finding as reported: no token at all, foreign Host and Origin
    assert post(exposed_server, Host="evil.example", Origin="http://evil.example").status_code in (
        401,
        421,
    )


@pytest.mark.parametrize("how", ["flag", "env"])
def test_allowed_hosts_are_configuration(how: str) -> None:
    port = free_port()
    env = clean_env()
    args: list[str] = []
    if how == "flag":
        args = ["--allowed-host", "mcp.example", "--allowed-host", f"127.0.0.1:{port}"]
    else:
        env["ECS_DIAG_ALLOWED_HOSTS"] = f"mcp.example, 127.0.0.1:{port}"
    with serving_http(env, *args, port=port) as url:
        assert post(url).status_code == 200
        assert post(url, Host=f"mcp.example:{port}").status_code == 200
        assert post(url, Host="mcp.example").status_code == 421  # the port is part of it
        assert post(url, Origin=f"http://mcp.example:{port}").status_code == 200
        assert post(url, Origin=f"https://mcp.example:{port}").status_code == 200
        # the configured list replaces the default one
        assert post(url, Host=f"localhost:{port}").status_code == 421
        assert post(url, Origin=f"http://localhost:{port}").status_code == 403


def test_a_malformed_allowed_host_is_refused_at_start() -> None:
    proc = subprocess.run(
        [*SERVE, "--transport", "http", "--port", str(free_port()), "--allowed-host", "a/b"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "not a host name" in proc.stderr


# --- the SDK's bearer authorization ---------------------------------------------------------------


@pytest.fixture(scope="module")
def token_server() -> Iterator[str]:
    with serving_http({**clean_env(), **TOKENS, "ECS_DIAG_MAX_DIAGNOSES": "3"}) as url:
        yield url


def test_401_points_to_the_protected_resource_metadata(token_server: str) -> None:
    for response in (post(token_server), post(token_server, token="gamma-token")):
        assert response.status_code == 401
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("Bearer ")
        assert 'error="invalid_token"' in challenge
        origin = token_server.removesuffix("/mcp")
        metadata_url = f"{origin}/.well-known/oauth-protected-resource/mcp"
        assert f'resource_metadata="{metadata_url}"' in challenge
        assert ALPHA not in response.text and BETA not in response.text
    metadata = httpx.get(metadata_url, timeout=10)
    assert metadata.status_code == 200
    body = metadata.json()
    assert body["resource"] == token_server
    assert body["bearer_methods_supported"] == ["header"]
    assert ALPHA not in metadata.text
    # no OAuth authorization server behind it: a client looking for one stops here
    assert (
        httpx.get(f"{origin}/.well-known/oauth-authorization-server", timeout=10).status_code == 404
    )
    assert httpx.post(f"{origin}/register", json={}, timeout=10).status_code == 404


@contextlib.asynccontextmanager
async def authorized(url: str, token: str, mode: str = "legacy") -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode=mode) as client:
            yield client


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return dict(result.structured_content)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_valid_token_works_in_both_protocol_eras(token_server: str, mode: str) -> None:
    async with authorized(token_server, ALPHA, mode) as client:
        report = structured(
            await client.call_tool("ecs_diagnose_instance", {**LINUX, "lang": "en"})
        )
        assert report["verdict"] == "guest_initiated"
        did = report["diagnosis_id"]
        status = structured(
            await client.call_tool("ecs_get_diagnosis_status", {"diagnosis_id": did})
        )
        assert status["diagnosis_id"] == did
    async with authorized(token_server, BETA, mode) as other:
        stolen = await other.call_tool("ecs_render_report", {"diagnosis_id": did})
        assert stolen.is_error and "is unknown" in stolen.content[0].text  # type: ignore[union-attr]


async def test_one_token_filling_its_quota_does_not_evict_the_others(token_server: str) -> None:
    async with authorized(token_server, BETA, "auto") as beta:
        theirs = [
            structured(await beta.call_tool("ecs_start_diagnosis", LINUX))["diagnosis_id"]
            for _ in range(2)
        ]
    async with authorized(token_server, ALPHA, "auto") as alpha:
        refused = None
        for _ in range(5):  # ALPHA's quota is 3, whatever it already holds
            result = await alpha.call_tool("ecs_start_diagnosis", LINUX)
            if result.is_error:
                refused = result.content[0].text  # type: ignore[union-attr]
                break
        assert refused is not None, "the quota never applied"
        assert "Too many diagnoses in progress" in refused
        assert "ecs_render_report" in refused and "expires" in refused
    async with authorized(token_server, BETA, "legacy") as beta:
        for did in theirs:
            own = await beta.call_tool("ecs_check_platform_events", {"diagnosis_id": did})
            assert not own.is_error, own.content
        time.sleep(0)  # both owners stay served
        assert not (await beta.call_tool("ecs_start_diagnosis", LINUX)).is_error


async def test_tokens_never_reach_the_logs() -> None:
    log: list[str] = []
    env = {**clean_env(), **TOKENS, "ECS_DIAG_LOG_LEVEL": "DEBUG"}
    with serving_http(env, log=log) as url:
        assert post(url, token=ALPHA).status_code == 200
        assert post(url, token=ALPHA + "x").status_code == 401
        async with authorized(url, BETA, "auto") as client:
            structured(await client.call_tool("ecs_start_diagnosis", LINUX))
    assert log and "MCP endpoint" in log[0]
    for secret in (ALPHA, BETA, ALPHA + "x"):
        assert secret not in log[0]
