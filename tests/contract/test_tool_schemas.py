"""The MCP tool surface: names, annotations, flat input schemas, and a deliberate snapshot.

Regenerate the snapshot after an intended change with UPDATE_SNAPSHOTS=1.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from ecs_reboot_diagnosis.clock import SystemClock
from ecs_reboot_diagnosis.service import DiagnosisService, ServiceConfig
from ecs_reboot_diagnosis.store import InMemoryDiagnosisStore
from ecs_reboot_diagnosis_mcp.mcp_server import build_server
from tests.support.memory_gateway import MemoryGateway

pytestmark = pytest.mark.anyio
SNAPSHOT = Path(__file__).parent / "snapshots" / "tools.json"
EXPECTED_TOOLS = {
    "ecs_start_diagnosis",
    "ecs_check_platform_events",
    "ecs_check_cloud_assistant",
    "ecs_run_guest_diagnostics",
    "ecs_get_guest_results",
    "ecs_triage_crash_dumps",
    "ecs_recommend_dump_setup",
    "ecs_render_report",
    "ecs_get_diagnosis_status",
    "ecs_diagnose_instance",
    "ecs_collect_agentless_evidence",
    "ecs_scan_fleet",
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def list_tools(guest_commands: bool = True) -> list[dict[str, Any]]:
    clock = SystemClock()
    service = DiagnosisService(
        MemoryGateway(),
        InMemoryDiagnosisStore(clock),
        clock,
        ServiceConfig(guest_commands=guest_commands),
    )
    async with Client(build_server(service), mode="legacy") as client:
        tools = (await client.list_tools()).tools
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]


def walk_keys(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [*node.keys(), *(k for v in node.values() for k in walk_keys(v))]
    if isinstance(node, list):
        return [k for v in node for k in walk_keys(v)]
    return []


async def test_the_tools_and_their_rules() -> None:
    tools = await list_tools()
    assert {t["name"] for t in tools} == EXPECTED_TOOLS
    for tool in tools:
        name = tool["name"]
        assert re.fullmatch(r"^ecs_[a-z_]{1,28}$", name), name
        ann = tool["annotations"]
        for hint in ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"):
            assert isinstance(ann.get(hint), bool), (name, hint)
        assert ann["destructiveHint"] is False
        assert tool.get("title")
        assert 80 <= len(tool["description"]) <= 800, name
        schema = tool["inputSchema"]
        forbidden = {"$ref", "$defs", "anyOf", "oneOf", "allOf"} & set(walk_keys(schema))
        assert not forbidden, (name, forbidden)
        for prop, spec in schema.get("properties", {}).items():
            assert spec.get("type") in {"string", "integer", "number", "boolean"}, (name, prop)
            assert spec.get("description"), (name, prop)
        assert "outputSchema" in tool, name
    guest = next(t for t in tools if t["name"] == "ecs_run_guest_diagnostics")["annotations"]
    assert guest["readOnlyHint"] is False and guest["openWorldHint"] is True
    report = next(t for t in tools if t["name"] == "ecs_render_report")["annotations"]
    assert report["readOnlyHint"] is True


async def test_no_guest_commands_mode_hides_the_guest_tools() -> None:
    names = {t["name"] for t in await list_tools(guest_commands=False)}
    assert names == EXPECTED_TOOLS - {"ecs_run_guest_diagnostics", "ecs_get_guest_results"}


async def test_schema_snapshot() -> None:
    current = {
        t["name"]: {
            "title": t.get("title"),
            "description": t["description"],
            "annotations": t["annotations"],
            "inputSchema": t["inputSchema"],
        }
        for t in sorted(await list_tools(), key=lambda t: t["name"])
    }
    rendered = json.dumps(current, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(rendered, encoding="utf-8")
    assert rendered == SNAPSHOT.read_text(encoding="utf-8"), (
        "The MCP tool surface changed. If intended, run UPDATE_SNAPSHOTS=1 pytest "
        "tests/contract and commit tests/contract/snapshots/tools.json."
    )


async def test_the_readme_tools_table_matches_tools_list() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| `(ecs_[a-z_]+)` \|", readme, flags=re.MULTILINE))
    assert table == {t["name"] for t in await list_tools()}


def test_the_readme_configuration_table_names_real_settings() -> None:
    from ecs_reboot_diagnosis_mcp.settings import Settings

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    documented = {v.lower() for v in re.findall(r"`ECS_DIAG_([A-Z_]+)", readme)}
    assert documented, "the README documents no ECS_DIAG_ variable"
    assert documented <= set(Settings.model_fields), documented - set(Settings.model_fields)
