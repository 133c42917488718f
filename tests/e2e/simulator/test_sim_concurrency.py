"""Two diagnoses wait on Cloud Assistant at the same time: the whole stack (DiagnosisService ->
AliyunEcsGateway -> official SDK on worker threads -> simulator) never blocks the event loop
while a run is going. Proven from the simulator's own records of the runs (created, started,
finished on its clock), not by timing the test."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ecs_api_simulator import SimulatorServer
from ecs_reboot_diagnosis.models import Report
from ecs_reboot_diagnosis.ports import TERMINAL_INVOCATION_STATUSES
from ecs_reboot_diagnosis_mcp.app import build_gateway, build_service
from ecs_reboot_diagnosis_mcp.settings import Settings

pytestmark = pytest.mark.anyio

REGION = "cn-qingdao"
FIRST = "i-m5esimslowagent0001"
SECOND = "i-m5esimslowagent0002"


@pytest.fixture(scope="module")
def slow_sim(scenarios_dir: Path) -> Iterator[SimulatorServer]:
    """Runs that stay Pending 0.2 s, then Running at least 2 s."""
    with SimulatorServer([scenarios_dir / "slow-agent"]) as server:
        yield server


async def test_two_diagnoses_wait_on_cloud_assistant_at_the_same_time(
    slow_sim: SimulatorServer,
) -> None:
    settings = Settings(endpoint=slow_sim.endpoint, simulated=True, outside_evidence=False)
    gateway = build_gateway(
        settings,
        access_key_id=slow_sim.access_key_id,
        access_key_secret=slow_sim.access_key_secret,
    )
    service = build_service(settings, gateway)

    async def second_once_the_first_waits() -> Report:
        # The second diagnosis starts only when the first one's run exists, i.e. when the first
        # diagnosis is waiting on Cloud Assistant. It needs several API calls before its own
        # RunCommand: with a blocked loop it could not make them until the first one ended.
        while not any(r.instance_id == FIRST for r in slow_sim.invocation_records()):
            await asyncio.sleep(0.01)
        return await service.diagnose(SECOND, REGION, owner="")

    reports = await asyncio.gather(
        service.diagnose(FIRST, REGION, owner=""), second_once_the_first_waits()
    )

    assert [r.instance.instance_id for r in reports] == [FIRST, SECOND]
    runs = [r.guest_run for r in reports]
    # Each diagnosis waited until its run ended (whatever the collector itself concluded).
    assert all(run is not None and run.status in TERMINAL_INVOCATION_STATUSES for run in runs)
    records = {r.instance_id: r for r in slow_sim.invocation_records()}
    assert set(records) == {FIRST, SECOND}
    first, second = records[FIRST], records[SECOND]
    assert [first.invoke_id, second.invoke_id] == [run.invoke_id for run in runs if run]
    for record, run in zip((first, second), runs, strict=True):
        assert run is not None and record.status == run.status
        assert record.started is not None and record.finished is not None
        assert record.finished - record.started >= timedelta(seconds=2)  # really ran ~2 s
    assert first.finished is not None and second.finished is not None
    # The second run was created while the first was still going: the second diagnosis got
    # through its calls while the first one waited, and both then waited at once.
    assert first.created < second.created < first.finished
