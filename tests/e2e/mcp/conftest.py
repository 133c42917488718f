"""The real MCP server, wired to the ECS simulator over loopback through the official SDK."""

from __future__ import annotations

import os

os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
for _name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_name, None)

from collections.abc import Callable, Iterator  # noqa: E402

import pytest  # noqa: E402
from mcp.server.mcpserver import MCPServer  # noqa: E402

from ecs_api_simulator import SimulatorServer  # noqa: E402
from ecs_reboot_diagnosis_mcp.app import (  # noqa: E402
    build_gateway,
    build_outside_gateways,
    build_service,
)
from ecs_reboot_diagnosis_mcp.mcp_server import build_server  # noqa: E402
from ecs_reboot_diagnosis_mcp.settings import Settings  # noqa: E402

LINUX = {"instance_id": "i-bp1sim0linux0000001", "region_id": "cn-hangzhou"}
WINDOWS = {"instance_id": "i-bp1sim0windows000001", "region_id": "cn-hangzhou"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer() as server:
        yield server


@pytest.fixture
def make_server(sim: SimulatorServer) -> Callable[..., MCPServer]:
    def make(**overrides: object) -> MCPServer:
        settings = Settings().model_copy(
            update={"endpoint": sim.url, "simulated": True, "wait_deadline_s": 60.0, **overrides}
        )
        keys = {"access_key_id": sim.access_key_id, "access_key_secret": sim.access_key_secret}
        metrics, audit = build_outside_gateways(settings, **keys)
        gateway = build_gateway(settings, **keys)
        return build_server(build_service(settings, gateway, metrics=metrics, audit=audit))

    return make
