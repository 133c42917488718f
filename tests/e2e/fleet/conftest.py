"""A generated fleet on the simulator, scanned through the official SDKs over loopback."""

from __future__ import annotations

import os

os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
for _name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_name, None)

from collections.abc import Callable, Iterator  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from ecs_api_simulator import SimulatorServer  # noqa: E402
from ecs_api_simulator.fleet import FleetSpec  # noqa: E402
from ecs_reboot_diagnosis.fleet_models import ScanRequest  # noqa: E402
from ecs_reboot_diagnosis.fleet_ports import ScanStore  # noqa: E402
from ecs_reboot_diagnosis.fleet_scan import FleetScanner  # noqa: E402
from ecs_reboot_diagnosis_mcp.aliyun.flow_control import RateLimit  # noqa: E402
from ecs_reboot_diagnosis_mcp.app import build_fleet_scanner  # noqa: E402
from ecs_reboot_diagnosis_mcp.settings import Settings  # noqa: E402

FLEET_SIZE = 150
REGIONS = ("cn-shanghai", "cn-beijing")
SINCE = timedelta(days=2)

MakeScanner = Callable[..., FleetScanner]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def fleet_sim() -> Iterator[SimulatorServer]:
    with SimulatorServer([], fleet=FleetSpec(size=FLEET_SIZE, regions=REGIONS, seed=7)) as sim:
        yield sim


def scanner_for(
    sim: SimulatorServer,
    *,
    store: ScanStore | None = None,
    store_file: Path | None = None,
    limits: dict[str, RateLimit] | None = None,
    **overrides: object,
) -> FleetScanner:
    """A scanner over ``sim``, keeping its scans in ``store``, else in the SQLite ``store_file``
    (opened anew: like another process), else in memory (ECS_DIAG_STORE=memory, the suite's)."""
    if store_file is not None:
        overrides["store"] = f"sqlite://{store_file}"
    settings = Settings().model_copy(update={"endpoint": sim.url, "simulated": True, **overrides})
    return build_fleet_scanner(
        settings,
        access_key_id=sim.access_key_id,
        access_key_secret=sim.access_key_secret,
        store=store,
        limits=limits,
    )


def fleet_request(scanner: FleetScanner, **options: object) -> ScanRequest:
    return scanner.new_request(list(REGIONS), since=SINCE, **options)  # type: ignore[arg-type]
