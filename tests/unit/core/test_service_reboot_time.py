"""The reboot time asked about, through DiagnosisService over the in-memory gateway: read at the
start against the service's clock, refused before any cloud call, widening the event and log
windows, and handed to the guest analysis."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import pytest

from ecs_reboot_diagnosis.errors import InvalidInputError
from ecs_reboot_diagnosis.models import InstanceFacts
from ecs_reboot_diagnosis.ports import AgentHeartbeat
from ecs_reboot_diagnosis.service import DiagnosisService, ServiceConfig
from ecs_reboot_diagnosis.store import InMemoryDiagnosisStore
from tests.support.clock import ManualClock
from tests.support.memory_gateway import MemoryGateway

pytestmark = pytest.mark.anyio

IID = "i-bp1testinstance01"
REGION = "cn-hangzhou"
RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "guest" / "windows"
WIN_NONCE = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def linux_output(content: str, params: Mapping[str, str]) -> str:
    n = params["nonce"]
    lines = [
        f"ECS_DIAG_ENVELOPE schema_version=1 collector=linux version=1.0.0 nonce={n}",
        f"====={n} SECTION meta=====",
        "collected_at=1795000000",
        "tz=+0000",
        f"since_days={params['since_days']}",
        f"====={n} END meta status=ok truncated=0 note=-=====",
        f"====={n} EOF sections=1=====",
    ]
    return "\n".join(lines) + "\n"


def windows_output(content: str, params: Mapping[str, str]) -> str:
    recorded = (RECORDED / "bsod_memory_dmp.txt").read_text("ascii")
    return recorded.replace(WIN_NONCE, params["nonce"])


def service_for(
    os_type: str = "linux", clock: ManualClock | None = None, **config: object
) -> tuple[DiagnosisService, MemoryGateway, ManualClock]:
    clock = clock or ManualClock()
    gw = MemoryGateway(output=linux_output if os_type == "linux" else windows_output)
    gw.add(
        InstanceFacts(
            instance_id=IID, region_id=REGION, status="Running", os_type=os_type, os_name="x"
        )
    )
    gw.heartbeat = AgentHeartbeat(running=True, last_heartbeat=clock.now())
    config = {"poll_first_seconds": 0.1, **config}
    service = DiagnosisService(
        gw,
        InMemoryDiagnosisStore(clock),
        clock,
        ServiceConfig(**config),  # type: ignore[arg-type]
    )
    return service, gw, clock


async def test_the_time_is_read_against_the_service_clock_and_stored() -> None:
    service, _, clock = service_for()
    d = await service.start(IID, REGION, reboot_time="2h ago", owner="")
    assert d.reboot_time == clock.now() - timedelta(hours=2)
    assert service.status(d.id, owner="").reboot_time == d.reboot_time
    d = await service.start(IID, REGION, reboot_time="2026-11-20T03:00+08:00", owner="")
    assert d.reboot_time is not None and d.reboot_time.isoformat() == "2026-11-19T19:00:00+00:00"
    d = await service.start(IID, REGION, owner="")
    assert d.reboot_time is None


@pytest.mark.parametrize("bad", ["", "yesterday", "2099-01-01T00:00", "2h"])
async def test_a_bad_time_is_refused_before_any_cloud_call(bad: str) -> None:
    service, gw, _ = service_for()
    with pytest.raises(InvalidInputError) as err:
        await service.start(IID, REGION, reboot_time=bad, owner="")
    assert err.value.parameter == "reboot_time"
    assert "Accepted formats" in str(err.value)
    assert gw.calls == []


async def window_for(reboot_time: str | None, **config: object) -> tuple[int, str, str]:
    service, gw, clock = service_for("linux", None, **config)
    d = await service.start(IID, REGION, reboot_time=reboot_time, owner="")
    clock.advance(timedelta(seconds=30))
    d = await service.check_events(d.id, owner="")
    events = d.events
    assert events is not None
    days = (events.window_end - events.window_start) / timedelta(days=1)
    assert days == int(days)
    await service.check_agent(d.id, owner="")
    d, _ = await service.run_guest(d.id, owner="")
    (invocation,) = gw.invocations.values()
    return int(days), events.summary.en, invocation.parameters["since_days"]


async def test_without_a_time_the_configured_windows_apply() -> None:
    days, summary, since = await window_for(None)
    assert (days, since) == (7, "7")
    assert "widened" not in summary


async def test_a_time_inside_the_windows_changes_nothing() -> None:
    days, summary, since = await window_for("5d ago")
    assert (days, since) == (7, "7")
    assert "widened" not in summary


async def test_an_older_time_widens_both_windows_to_cover_it_plus_a_day() -> None:
    days, summary, since = await window_for("20d ago")
    assert (days, since) == (22, "22")
    assert "widened from 7 to 22 days to cover the reboot time asked about" in summary


async def test_the_event_window_stops_at_the_api_limit_and_says_so() -> None:
    days, summary, since = await window_for("100d ago", log_window_days=14)
    assert (days, since) == (30, "102")
    assert "older than the 30 days of platform events the API keeps" in summary


async def test_the_log_window_stops_at_the_collector_limit() -> None:
    _, _, since = await window_for("365d ago")
    assert since == "365"


@pytest.mark.parametrize(
    ("os_type", "asked", "ago"),
    [("linux", "3d ago", timedelta(days=3)), ("windows", "1d2h ago", timedelta(hours=26)),
     ("linux", None, None), ("windows", None, None)],
)  # fmt: skip
async def test_the_guest_analysis_receives_the_time(
    os_type: str, asked: str | None, ago: timedelta | None
) -> None:
    service, _, clock = service_for(os_type)
    started = clock.now()
    d = await service.start(IID, REGION, reboot_time=asked, owner="")
    await service.check_events(d.id, owner="")
    await service.check_agent(d.id, owner="")
    await service.run_guest(d.id, owner="")
    assert clock.now() > started  # the collector wait moved the clock on
    d, status = await service.get_guest_results(d.id, owner="")
    assert status == "collected" and d.guest is not None
    assert d.guest.os_type == os_type
    expected = None if ago is None else started - ago
    assert d.guest.asked_reboot_time == expected
