"""Everything the simulated ECS knows: instances from the loaded scenarios, access keys, regions,
scripted faults, invocations, the requests it served, and the little state that changes while
it runs."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime

from ecs_api_simulator.access_keys import BUILTIN_ACCESS_KEY, AccessKeyStore
from ecs_api_simulator.api_errors import invalid_region
from ecs_api_simulator.clock import Clock
from ecs_api_simulator.faults import FaultQueue
from ecs_api_simulator.invocations import InvocationEngine
from ecs_api_simulator.regions import PUBLIC_REGIONS
from ecs_api_simulator.request_log import RequestLog
from ecs_api_simulator.scenario import Instance, Scenario, ScenarioError


class World:
    def __init__(self, scenarios: Iterable[Scenario], clock: Clock) -> None:
        self.clock = clock
        self.scenarios = list(scenarios)
        self.access_keys = AccessKeyStore([BUILTIN_ACCESS_KEY])
        self.faults = FaultQueue()
        self.requests = RequestLog()
        """Every API request answered (or dropped), for tests and benchmarks to count."""
        self.invocations = InvocationEngine(clock)
        self.regions: set[str] = set(PUBLIC_REGIONS)
        self._instances: dict[str, Instance] = {}
        self._lock = threading.Lock()
        self._last_screenshot: dict[str, datetime] = {}
        for scenario in self.scenarios:
            self.regions |= scenario.regions
            for key in scenario.access_keys:
                try:
                    self.access_keys.add(key)
                except ValueError as exc:
                    raise ScenarioError(f"{scenario.directory}: {exc}") from None
            for fault in scenario.faults:
                self.faults.add(fault)
            for instance in scenario.instances:
                other = self._instances.get(instance.instance_id)
                if other is not None:
                    raise ScenarioError(
                        f"instance {instance.instance_id} is defined by both scenario "
                        f"{other.scenario!r} and {scenario.name!r}"
                    )
                self._instances[instance.instance_id] = instance

    def check_region(self, region_id: str) -> None:
        if region_id not in self.regions:
            raise invalid_region()

    def instances_in(self, region_id: str) -> list[Instance]:
        return sorted(
            (i for i in self._instances.values() if i.region_id == region_id),
            key=lambda i: (i.creation_time, i.instance_id),
        )

    def all_instances(self) -> list[Instance]:
        """Every instance of every region, by instance ID (CloudMonitor and ActionTrail are not
        told the region: it is in the endpoint, which the simulator shares)."""
        return sorted(self._instances.values(), key=lambda i: i.instance_id)

    def find(self, instance_id: str, region_id: str | None = None) -> Instance | None:
        instance = self._instances.get(instance_id)
        if instance is None or (region_id is not None and instance.region_id != region_id):
            return None
        return instance

    def screenshot_allowed(self, instance_id: str, now: datetime, interval: float) -> bool:
        """GetInstanceScreenshot calls for one instance must be ``interval`` seconds apart."""
        with self._lock:
            last = self._last_screenshot.get(instance_id)
            if last is not None and (now - last).total_seconds() < interval:
                return False
            self._last_screenshot[instance_id] = now
            return True

    def close(self) -> None:
        self.invocations.close()
