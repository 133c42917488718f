"""Generated fleets: thousands of instances across regions, each with a known cause, from a seed.

A fleet is not a directory of files: each instance is a copy of the instance of one of the
bundled scenarios (its cause class: a platform event, an API reboot, one of a few kernel crashes
with their stacks, an OOM, a clean reboot, no reboot, an agent that is down, a blue screen, a
stop), with a new id, name, region and tags, and that scenario's events and ActionTrail records
re-issued for the new id. Linux guests do not run the collector once per instance: the first run
of a class (for a given script and ``since_days``) runs the real collector against that class's
guest tree, and every other run of the class gets that output with its own nonce
(:mod:`ecs_api_simulator.invocations`). Windows guests return their class's recorded output.

:func:`generate_fleet` returns the scenario and the truth per instance (the class, the result
rule a diagnosis must reach, whether it rebooted, whether a guest command is expected), for tests
and benchmarks.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from ecs_api_simulator.monitoring import resolve_api_calls
from ecs_api_simulator.scenario import (
    Instance,
    Scenario,
    ScenarioError,
    _load_events,
    load_scenario,
)

__all__ = ["FLEET_CLASSES", "FleetClass", "FleetSpec", "FleetTruth", "generate_fleet"]


@dataclass(frozen=True)
class FleetClass:
    name: str
    source: str
    """The bundled scenario whose instance this class copies."""
    weight: int
    rule_id: str
    """The result rule a diagnosis of such an instance reaches."""
    happened: str
    """rebooted, stopped, no_reboot or unknown."""
    guest: bool
    """A guest command is expected (no platform cause, the agent is usable, it is running)."""


FLEET_CLASSES: Final[tuple[FleetClass, ...]] = (
    FleetClass("maintenance", "s01-maintenance-reboot", 8, "event.SystemMaintenance.Reboot",
               "rebooted", False),
    FleetClass("host-failure", "s12-system-failure-reboot", 5, "event.SystemFailure.Reboot",
               "rebooted", False),
    FleetClass("api-reboot", "s22-api-reboot", 8, "linux.api_reboot", "rebooted", True),
    FleetClass("panic-nvme", "s02-kernel-panic-vmcore", 10, "linux.kernel_panic_with_dump",
               "rebooted", True),
    FleetClass("panic-virtio-net", "s03-kernel-panic-no-vmcore", 6, "linux.kernel_panic_no_dump",
               "rebooted", True),
    FleetClass("soft-lockup", "s15-softlockup-panic", 8, "linux.lockup_panic", "rebooted", True),
    FleetClass("gpf-platform-reset", "s16-instance-failure-panic", 4,
               "linux.kernel_panic_no_dump", "rebooted", True),
    FleetClass("oom-panic", "s04-oom-panic", 6, "linux.oom_panic", "rebooted", True),
    FleetClass("oom-killer", "s05-oom-killer-only", 5, "linux.oom_killer", "no_reboot", True),
    FleetClass("clean-reboot", "linux-no-events", 15, "linux.clean_reboot", "rebooted", True),
    FleetClass("no-reboot", "s34-no-reboot-in-window", 12, "linux.no_reboot_in_window",
               "no_reboot", True),
    FleetClass("agent-down", "s11-cloud-assistant-down", 5, "linux.unknown", "unknown", False),
    FleetClass("bsod-d1", "s06-bsod-memory-dump", 3, "windows.bsod_memory_dump", "rebooted",
               True),
    FleetClass("bsod-7e-minidump", "s09-minidump-only", 2, "windows.bsod_minidump", "rebooted",
               True),
    FleetClass("stopped-by-api", "s25-stopped-by-api", 2, "stopped.api_stop", "stopped", False),
    FleetClass("expired", "s13-expired-stop", 1, "event.InstanceExpiration.Stop", "stopped",
               False),
)  # fmt: skip
_REGION_PREFIX: Final = {"cn-shanghai": "uf6", "cn-beijing": "2ze", "cn-hangzhou": "bp1"}


@dataclass(frozen=True)
class FleetSpec:
    size: int = 1000
    regions: tuple[str, ...] = ("cn-shanghai", "cn-beijing")
    seed: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.size <= 20_000:
            raise ValueError("a fleet has 1..20000 instances")
        if not self.regions:
            raise ValueError("a fleet needs a region")


@dataclass(frozen=True)
class FleetTruth:
    instance_id: str
    region_id: str
    cause: str
    """The cause class (instances of one class share one cause signature)."""
    rule_id: str
    happened: str
    guest: bool


def _instance_id(region_id: str, index: int) -> str:
    prefix = _REGION_PREFIX.get(region_id, "sim")
    return f"i-{prefix}fleet{index:07d}"


def source_host_name(source: Instance) -> str | None:
    """The host name a Linux class's guest tree carries (its log lines say it)."""
    path = source.guest_root / "etc" / "hostname"
    try:
        name = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name or None


def host_name_like(source_name: str | None, instance_id: str) -> str | None:
    """A host name for the copy, as long as the class's own: the shared output then gets it by
    an in-place replacement, which moves no byte (Cloud Assistant's cut stays where it was)."""
    if not source_name:
        return None
    width = len(source_name)
    own = f"iZ{instance_id[2:]}Z"
    if len(own) >= width:
        return own[: width - 1] + "Z"
    return f"iZ{instance_id[2:]}".ljust(width - 1, "0") + "Z"


def _copy(
    source: Instance, fleet_class: FleetClass, instance_id: str, region_id: str, index: int,
    team: str, now: datetime,
) -> Instance:  # fmt: skip
    linux = source.spec.os_type == "linux"
    spec = source.spec.model_copy(
        update={
            "instance_id": instance_id,
            "instance_name": f"fleet-{fleet_class.name}-{index:05d}",
            "region_id": region_id,
            "zone_id": None,
            "host_name": host_name_like(source_host_name(source), instance_id) if linux else None,
            "tags": {"fleet": "sim", "team": team},
            "private_ips": [f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}"],
            "public_ips": [],
        }
    )
    where = f"fleet instance {instance_id}"
    try:
        events = _load_events(spec, now, where)
        calls = resolve_api_calls(spec.api_calls, instance_id, region_id, now, where)
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    return dataclasses.replace(
        source,
        spec=spec,
        scenario="fleet",
        events=events,
        api_calls=calls,
        renderings={},
        canned_key=fleet_class.name if spec.os_type == "linux" else None,
    )


def generate_fleet(
    spec: FleetSpec, now: datetime, scenarios_dir: Path
) -> tuple[Scenario, dict[str, FleetTruth]]:
    """The fleet scenario and the truth of each of its instances, from ``spec.seed``."""
    sources = {c.source: load_scenario(scenarios_dir / c.source, now) for c in FLEET_CLASSES}
    rng = random.Random(spec.seed)
    weights = [c.weight for c in FLEET_CLASSES]
    teams = ("web", "db", "batch")
    instances: list[Instance] = []
    truth: dict[str, FleetTruth] = {}
    for index in range(spec.size):
        region_id = spec.regions[index % len(spec.regions)]
        # every class at least once, then drawn by weight
        if index < len(FLEET_CLASSES):
            fleet_class = FLEET_CLASSES[index]
        else:
            fleet_class = rng.choices(FLEET_CLASSES, weights)[0]
        source = sources[fleet_class.source].instances[0]
        instance_id = _instance_id(region_id, index)
        team = rng.choice(teams)
        instances.append(_copy(source, fleet_class, instance_id, region_id, index, team, now))
        truth[instance_id] = FleetTruth(
            instance_id=instance_id,
            region_id=region_id,
            cause=fleet_class.name,
            rule_id=fleet_class.rule_id,
            happened=fleet_class.happened,
            guest=fleet_class.guest,
        )
    scenario = Scenario(
        name="fleet",
        directory=scenarios_dir,
        regions=frozenset(spec.regions),
        access_keys=(),
        faults=(),
        instances=tuple(instances),
    )
    return scenario, truth
