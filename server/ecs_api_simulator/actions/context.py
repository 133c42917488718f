"""What an action handler gets: the world, the verified caller, the parsed parameters, the time."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecs_api_simulator.api_errors import ECS_DENIAL, RamDenial
from ecs_api_simulator.authentication import Caller
from ecs_api_simulator.request_params import Params
from ecs_api_simulator.scenario import Instance
from ecs_api_simulator.world import World


@dataclass(frozen=True)
class RequestContext:
    world: World
    caller: Caller
    action: str
    params: Params
    now: datetime
    denial: RamDenial = ECS_DENIAL
    """How this request's product answers a RAM denial."""

    def region(self, *, missing_status: int = 400) -> str:
        region_id = self.params.required("RegionId", status=missing_status)
        self.world.check_region(region_id)
        return region_id

    def denied(self, instance: Instance) -> bool:
        """True when a RAM policy (the caller's key or the instance's scenario) denies it."""
        return (
            self.action in instance.denied_actions
            or self.action in self.caller.access_key.denied_actions
        )

    def authorize_action(self) -> None:
        """Raise Forbidden.RAM when the caller's key may not call this action at all."""
        if self.action in self.caller.access_key.denied_actions:
            raise self.denial.error(self.action, self.caller.access_key.principal)

    def authorize(self, instance: Instance) -> None:
        """Raise Forbidden.RAM when a scenario's RAM policy denies this action on the instance."""
        if self.denied(instance):
            raise self.denial.error(self.action, self.caller.access_key.principal)

    def authorize_all(self, instances: Iterable[Instance]) -> None:
        for instance in instances:
            self.authorize(instance)


Handler = Callable[[RequestContext], dict[str, Any]]
