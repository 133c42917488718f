"""Both collector delivery forms end to end: the service, the official SDK, the simulator.

A bundled Linux scenario is copied with the simulator's ``CommandContent`` limit set to 24 KB or
16 KB (``invocation.command_content_limit``), and diagnosed with the limit the settings assume.
The collector really runs in the simulator (bash against the scenario's guest tree), so the packed
stub must unpack, check and run the real collector for the panic to be found.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ecs_api_simulator import SimulatorServer
from ecs_reboot_diagnosis.collectors import load_collector
from ecs_reboot_diagnosis.collectors.delivery import packed_command, plain_command
from ecs_reboot_diagnosis.errors import CloudApiError
from ecs_reboot_diagnosis.models import Report
from ecs_reboot_diagnosis.report.render import render_markdown
from ecs_reboot_diagnosis_mcp.app import build_gateway, build_service
from ecs_reboot_diagnosis_mcp.settings import Settings
from tests.e2e.scenarios.conftest import SCENARIOS_DIR

SCENARIO = "s02-kernel-panic-vmcore"
INSTANCE = "i-bp1seed02panicvmcore"
REGION = "cn-hangzhou"
KB = 1024


def _scenario(tmp_path: Path, limit: int) -> Path:
    directory = tmp_path / SCENARIO
    shutil.copytree(SCENARIOS_DIR / SCENARIO, directory, symlinks=True)
    spec_file = directory / "scenario.json"
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    for instance in spec["instances"]:
        instance.setdefault("invocation", {})["command_content_limit"] = limit
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    return directory


async def _diagnose(sim: SimulatorServer, configured: int) -> Report:
    settings = Settings().model_copy(
        update={"endpoint": sim.url, "wait_deadline_s": 60.0, "command_content_limit": configured}
    )
    gateway = build_gateway(
        settings, access_key_id=sim.access_key_id, access_key_secret=sim.access_key_secret
    )
    return await build_service(settings, gateway).diagnose(INSTANCE, REGION, owner="")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("region_limit", "configured", "delivery", "refused"),
    [
        (24 * KB, 24 * KB, "plain", 0),
        (24 * KB, 16 * KB, "packed", 0),
        (16 * KB, 16 * KB, "packed", 0),
        (16 * KB, 24 * KB, "packed", 1),  # CmdContent.ExceedLimit, then the packed form
        (18 * KB, 18 * KB, "packed", 0),
    ],
)
async def test_delivery_end_to_end(
    tmp_path: Path, region_limit: int, configured: int, delivery: str, refused: int
) -> None:
    with SimulatorServer([_scenario(tmp_path, region_limit)]) as sim:
        report = await _diagnose(sim, configured)
        assert sim.request_count("RunCommand", code="CmdContent.ExceedLimit") == refused
        assert sim.request_count("RunCommand", code="") == 1
    collector = load_collector("linux")
    form = plain_command(collector) if delivery == "plain" else packed_command(collector)
    run = report.guest_run
    assert run is not None
    assert (run.delivery, run.status, run.exit_code) == (delivery, "Success", 0)
    assert run.command_sha256 == form.content_sha256
    assert run.script_sha256 == form.script_sha256
    # the real collector ran against the scenario's tree: its envelope parsed, the vmcore listed
    guest = report.guest
    assert guest is not None and guest.linux is not None
    assert guest.collector_version == collector.version
    assert {s.name for s in guest.sections if s.present} >= {"os", "kdump", "crash_files"}
    assert guest.linux.crash_files is not None
    assert any(f.path.endswith("/vmcore") for f in guest.linux.crash_files)
    english = render_markdown(report, "en")
    chinese = render_markdown(report, "zh-CN")
    assert f"Script SHA-256 `{form.script_sha256}`" in english
    assert f"脚本 SHA-256 `{form.script_sha256}`" in chinese
    if delivery == "packed":
        assert "sent packed (gzip + Base64)" in english
        assert "以打包形式" in chinese
    else:
        assert "sent as the readable script" in english
        assert "以可读脚本原文下发" in chinese


@pytest.mark.anyio
async def test_a_limit_too_small_for_both_forms_is_an_error(tmp_path: Path) -> None:
    """Plain refused, packed refused: the API error is reported, nothing is tried a third time."""
    with SimulatorServer([_scenario(tmp_path, 8 * KB)]) as sim:
        settings = Settings().model_copy(
            update={"endpoint": sim.url, "command_content_limit": 24 * KB}
        )
        gateway = build_gateway(
            settings, access_key_id=sim.access_key_id, access_key_secret=sim.access_key_secret
        )
        service = build_service(settings, gateway)
        d = await service.start(INSTANCE, REGION, owner="")
        await service.check_events(d.id, owner="")
        await service.check_agent(d.id, owner="")
        with pytest.raises(CloudApiError) as caught:
            await service.run_guest(d.id, owner="")
        assert caught.value.code == "CmdContent.ExceedLimit"
        assert sim.request_count("RunCommand", code="CmdContent.ExceedLimit") == 2
        assert sim.request_count("RunCommand", code="") == 0
