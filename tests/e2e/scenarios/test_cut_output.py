"""A collector output Cloud Assistant cut (head + tail, ``Dropped`` > 0), end to end through the
official SDK and the simulator's ``output_quota`` invocation fault: the guest evidence that arrived
whole is analysed, the cut is reported, and the verdict is never "clean" because of it."""

from __future__ import annotations

import pytest

from ecs_api_simulator import SimulatorServer
from ecs_reboot_diagnosis.models import Report
from ecs_reboot_diagnosis.report.render import render_markdown
from ecs_reboot_diagnosis_mcp.app import build_gateway, build_service
from ecs_reboot_diagnosis_mcp.settings import Settings
from tests.e2e.scenarios.conftest import SCENARIOS_DIR

INSTANCE = "i-bp1seed02panicvmcore"
REGION = "cn-hangzhou"


async def _diagnose(sim: SimulatorServer) -> Report:
    settings = Settings().model_copy(update={"endpoint": sim.url, "wait_deadline_s": 60.0})
    gateway = build_gateway(
        settings, access_key_id=sim.access_key_id, access_key_secret=sim.access_key_secret
    )
    return await build_service(settings, gateway).diagnose(INSTANCE, REGION, owner="")


@pytest.mark.anyio
@pytest.mark.parametrize("quota", [2048, 3000, 4096])
async def test_cut_output_is_salvaged_not_discarded(quota: int) -> None:
    with SimulatorServer([SCENARIOS_DIR / "s02-kernel-panic-vmcore"]) as sim:
        sim.inject_fault("RunCommand", kind="invocation", output_quota=quota)
        report = await _diagnose(sim)
    run = report.guest_run
    assert run is not None and run.output_dropped_bytes > 0
    guest = report.guest
    assert guest is not None, "a cut output keeps its whole sections"
    kept = [s for s in guest.sections if s.present and not s.cut]
    cut = [s for s in guest.sections if s.cut]
    assert kept and cut
    assert all("output limit" in s.note for s in cut)
    assert report.conclusion is not None
    assert report.conclusion.verdict != "no_abnormal_records"
    assert report.conclusion.rule_id not in {"linux.clean_reboot", "linux.no_abnormal_records"}
    english = render_markdown(report, "en")
    assert "Output truncated by Cloud Assistant" in english
    assert "Sections lost or cut by the output limit" in english
