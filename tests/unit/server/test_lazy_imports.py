"""Start-up loads only what the first answer needs: building the service and the MCP server (what
``serve`` does before ``initialize``) imports no Alibaba Cloud SDK, no HTTP client library and no
report renderer; the first ECS call loads the ECS SDK but not CloudMonitor's nor ActionTrail's.
Checked in a fresh interpreter: which modules are loaded, not how long it takes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ecs_api_simulator import SimulatorServer, builtin_scenarios_dir

pytestmark = pytest.mark.slow

HEAVY = ("alibabacloud_", "Tea", "darabonba", "aiohttp", "requests", "jinja2")

SERVE_START = """
import json, sys
from ecs_reboot_diagnosis_mcp.app import (
    build_gateway, build_outside_gateways, build_service, fleet_scanner_for,
)
from ecs_reboot_diagnosis_mcp.mcp_server import build_server
from ecs_reboot_diagnosis_mcp.settings import Settings
settings = Settings()
metrics, audit = build_outside_gateways(settings)
service = build_service(settings, build_gateway(settings), metrics=metrics, audit=audit)
scanner = fleet_scanner_for(service, settings)
assert scanner is not None  # the fleet tool is served, as `serve` does
build_server(service, scanner=scanner)
print(json.dumps(sorted(sys.modules)))
"""

FIRST_CALL = """
import asyncio, json, sys
from ecs_reboot_diagnosis_mcp.app import build_gateway, build_outside_gateways
from ecs_reboot_diagnosis_mcp.settings import Settings
settings = Settings(endpoint=sys.argv[1])
keys = {"access_key_id": sys.argv[2], "access_key_secret": sys.argv[3]}
gateway = build_gateway(settings, **keys)
metrics, audit = build_outside_gateways(settings, **keys)
facts = asyncio.run(gateway.describe_instance("cn-hangzhou", "i-bp1seed02panicvmcore"))
assert facts is not None
print(json.dumps(sorted(sys.modules)))
"""


def loaded_modules(code: str, *args: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stdout.splitlines()[-1])
    return modules


def heavy(modules: list[str]) -> set[str]:
    return {m.split(".")[0] for m in modules if m.split(".")[0].startswith(HEAVY)}


def test_serve_builds_everything_without_loading_an_sdk() -> None:
    modules = loaded_modules(SERVE_START)
    assert "mcp" in modules  # the MCP server was really built
    assert heavy(modules) == set()


def test_the_first_ecs_call_loads_only_the_ecs_sdk() -> None:
    with SimulatorServer([builtin_scenarios_dir() / "s02-kernel-panic-vmcore"]) as sim:
        modules = loaded_modules(FIRST_CALL, sim.url, sim.access_key_id, sim.access_key_secret)
    loaded = heavy(modules)
    assert {"alibabacloud_ecs20140526", "alibabacloud_tea_openapi", "darabonba"} <= loaded
    assert "alibabacloud_cms20190101" not in loaded
    assert "alibabacloud_actiontrail20200706" not in loaded
    assert "jinja2" not in loaded
