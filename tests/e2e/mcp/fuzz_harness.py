"""What the fuzz tests share: the real MCP server over the bundled simulator, served in-process
on loopback (streamable HTTP, bearer tokens through the SDK's own authorization) by uvicorn in
a thread, and real SDK clients driven from synchronous hypothesis code through an anyio portal.

No part is replaced: the tools, the service, the SDK gateway and the simulator are the ones
``serve --transport http --simulator`` runs; only the process boundary is left out, so the
simulator's request log and invocation records can be read between steps.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import uvicorn
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from ecs_api_simulator import SimulatorServer
from ecs_reboot_diagnosis.service import DiagnosisService
from ecs_reboot_diagnosis_mcp import http_app
from ecs_reboot_diagnosis_mcp.app import build_gateway, build_outside_gateways, build_service
from ecs_reboot_diagnosis_mcp.mcp_server import build_server
from ecs_reboot_diagnosis_mcp.settings import Settings

TOOLS = (
    "ecs_start_diagnosis",
    "ecs_check_platform_events",
    "ecs_check_cloud_assistant",
    "ecs_run_guest_diagnostics",
    "ecs_get_guest_results",
    "ecs_triage_crash_dumps",
    "ecs_recommend_dump_setup",
    "ecs_render_report",
    "ecs_collect_agentless_evidence",
    "ecs_get_diagnosis_status",
    "ecs_diagnose_instance",
)
ID_TOOLS = TOOLS[1:10]
"""The tools that take a diagnosis_id."""
TARGET_TOOLS = ("ecs_start_diagnosis", "ecs_diagnose_instance")

ALPHA, BETA = "fuzz-alpha-token-0123456789", "fuzz-beta-token-9876543210"

_PREFIX = re.compile(r"^Error executing tool (\w+)(: )?")
_TRACEBACK = ("Traceback (most recent call last)", 'File "', "Exception Group Traceback")


def text(result: CallToolResult) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


def refusal(tool: str, result: CallToolResult) -> str:
    """The text of a tool error without the SDK's ``Error executing tool NAME:`` prefix, which
    names the tool just called and so proves nothing. An internal error (an exception the SDK
    hides: no detail after the prefix) fails here."""
    body = text(result)
    match = _PREFIX.match(body)
    if match:
        assert match.group(1) == tool, body
        assert match.group(2), f"internal error in {tool}: {body!r}"
        body = body[match.end() :]
    assert body.strip(), f"{tool}: an empty refusal"
    return body


def assert_clean(tool: str, result: CallToolResult) -> None:
    """No traceback text and no internal error in any result, success or refusal."""
    body = text(result)
    for marker in _TRACEBACK:
        assert marker not in body, f"{tool}: traceback text in the result: {body[:2000]}"
    for marker in ("Internal Server Error", "Internal error"):
        assert marker not in body, f"{tool}: {body[:2000]}"
    if result.is_error:
        refusal(tool, result)


@dataclass
class ErrorLog(logging.Handler):
    """Every record logged with a traceback or at ERROR and above, by any logger: the SDK logs
    an unexpected exception in a tool there and hides it from the client."""

    records: list[logging.LogRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        logging.Handler.__init__(self, logging.DEBUG)

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)

    def __hash__(self) -> int:
        return id(self)

    def problems(self) -> list[str]:
        return [self.format(r) for r in self.records]


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def fuzz_settings(sim: SimulatorServer, **overrides: Any) -> Settings:
    """Short server-side waits: a guest run is left pending and polled by later steps rather
    than waited for (the simulator's Cloud Assistant runs take 0.2-0.5 s)."""
    values: dict[str, Any] = {
        "endpoint": sim.url,
        "simulated": True,
        "wait_deadline_s": 0.05,
        "max_diagnoses": 100_000,
    }
    return Settings().model_copy(update={**values, **overrides})


def build_fuzz_service(sim: SimulatorServer, settings: Settings) -> DiagnosisService:
    keys = {"access_key_id": sim.access_key_id, "access_key_secret": sim.access_key_secret}
    metrics, audit = build_outside_gateways(settings, **keys)
    return build_service(settings, build_gateway(settings, **keys), metrics=metrics, audit=audit)


@contextlib.contextmanager
def serving(sim: SimulatorServer, settings: Settings) -> Iterator[str]:
    """The MCP server with two bearer tokens, on loopback in a thread; yields its URL."""
    sock = _free_socket()
    port = sock.getsockname()[1]
    hosts = http_app.allowed_hosts("127.0.0.1", port)
    server = build_server(
        build_fuzz_service(sim, settings),
        auth=http_app.auth_settings(hosts),
        token_verifier=http_app.StaticTokenVerifier([ALPHA, BETA]),
    )
    app = server.streamable_http_app(
        host="127.0.0.1", transport_security=http_app.transport_security(hosts)
    )
    config = uvicorn.Config(
        app, log_config=None, log_level="warning", access_log=False, proxy_headers=False
    )
    web = uvicorn.Server(config)
    thread = threading.Thread(
        target=web.run, kwargs={"sockets": [sock]}, name="fuzz-mcp", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not web.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the MCP server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        web.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextlib.asynccontextmanager
async def authorized(url: str, token: str, mode: str) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            yield client


@contextlib.contextmanager
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal(backend="asyncio") as p:
        yield p
