"""The bundled scenarios end to end: the CLI and the MCP tools over the ECS simulator."""

from __future__ import annotations

import os

os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
for _name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_name, None)

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from mcp.server.mcpserver import MCPServer  # noqa: E402

from ecs_api_simulator import SimulatorServer  # noqa: E402
from ecs_api_simulator.server import builtin_scenarios_dir  # noqa: E402
from ecs_reboot_diagnosis_mcp.app import build_gateway, build_service  # noqa: E402
from ecs_reboot_diagnosis_mcp.mcp_server import build_server  # noqa: E402
from ecs_reboot_diagnosis_mcp.settings import Settings  # noqa: E402

SCENARIOS_DIR: Path = builtin_scenarios_dir()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def bundled_sim() -> Iterator[SimulatorServer]:
    """One simulator over every bundled scenario, shared by all MCP tests."""
    with SimulatorServer([SCENARIOS_DIR]) as server:
        yield server


def make_mcp_server(sim: SimulatorServer) -> MCPServer:
    """The real MCP server, wired to ``sim`` through the official SDK."""
    settings = Settings().model_copy(update={"endpoint": sim.url, "wait_deadline_s": 60.0})
    gateway = build_gateway(
        settings, access_key_id=sim.access_key_id, access_key_secret=sim.access_key_secret
    )
    return build_server(build_service(settings, gateway))


@pytest.fixture
def mcp_server(bundled_sim: SimulatorServer) -> MCPServer:
    return make_mcp_server(bundled_sim)
