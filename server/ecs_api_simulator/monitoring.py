"""CloudMonitor metrics and ActionTrail API calls of a scenario instance: schema and resolution.

Per instance, ``metrics`` maps a metric name of namespace ``acs_ecs_dashboard`` to a series
(explicit points and/or generators), and ``api_calls`` lists the API calls ActionTrail recorded
on the instance. All times may be relative (``-2h``) and resolve when the scenario is loaded.
references/simulator-scenarios.md documents every field.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ecs_api_simulator.account import ACCOUNT_ID
from ecs_api_simulator.time_formats import resolve_time

METRIC_PERIODS = (15, 60, 300, 900, 3600)
"""Statistical periods CloudMonitor accepts (seconds)."""
MAX_GENERATED_POINTS = 100_000
"""A generator producing more points than this is a scenario mistake (wrong period or range)."""
READ_PREFIXES = ("Describe", "Get", "List", "Query", "Check", "Lookup")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RampSpec(_Spec):
    """A straight line from ``from`` at ``start`` to ``to`` at ``end``, one point per period."""

    start_value: float = Field(alias="from")
    end_value: float = Field(alias="to")
    start: str
    end: str
    spread: float = Field(default=0.0, ge=0)
    """Maximum = value + spread, Minimum = value - spread (Average = value)."""


class ConstantSpec(_Spec):
    """The same value at every period from ``start`` to ``end``."""

    value: float
    start: str
    end: str
    spread: float = Field(default=0.0, ge=0)


PointSpec = tuple[str, float] | tuple[str, float, float, float]
"""``[time, value]`` or ``[time, average, maximum, minimum]``."""


class MetricSpec(_Spec):
    unit: str = ""
    """Informational (DescribeMetricList carries no unit; the gateway knows the ECS units)."""
    period: Literal[15, 60, 300, 900, 3600] = 60
    """The native period: generated points are this far apart, and every timestamp is aligned
    down to a multiple of it."""
    points: list[PointSpec] = Field(default_factory=list)
    ramp: RampSpec | list[RampSpec] | None = None
    constant: ConstantSpec | list[ConstantSpec] | None = None

    @model_validator(mode="after")
    def _has_data(self) -> MetricSpec:
        if not self.points and self.ramp is None and self.constant is None:
            raise ValueError("a metric needs 'points', 'ramp' or 'constant'")
        return self


EventRW = Literal["Read", "Write"]


class ApiCallSpec(_Spec):
    """One ActionTrail record of an API call that touched the instance."""

    event_name: str = Field(min_length=1)
    time: str
    caller: str = "simulator-user"
    """``userIdentity.userName`` (for ``system`` callers, the service, e.g. ecs.aliyuncs.com)."""
    caller_type: str = "ram-user"
    """``userIdentity.type``: root-account, ram-user, assumed-role, system, ..."""
    source_ip: str | None = None
    """Default: 203.0.113.10, or the caller's name for ``system`` callers."""
    user_agent: str | None = None
    """Default: an Alibaba Cloud SDK user agent, or the caller's name for ``system`` callers."""
    error_code: str = ""
    error_message: str = ""
    event_id: str | None = None
    request_id: str | None = None
    access_key_id: str | None = None
    """Default: derived (``LTAI5t...``, ``STS....`` for assumed roles, none for system calls)."""
    service_name: str = "Ecs"
    event_type: str = "ApiCall"
    """ApiCall, ConsoleOperation, AliyunServiceEvent, ..."""
    event_rw: EventRW | None = None
    """Default: Read for Describe*/Get*/List*/Query*/Check*/Lookup*, else Write."""
    resource_type: str = "ACS::ECS::Instance"
    request_parameters: dict[str, Any] = Field(default_factory=dict)
    """Merged over the default ``{"InstanceId": ..., "RegionId": ...}``."""


# --- the resolved form -----------------------------------------------------------------------


@dataclass(frozen=True)
class MetricPointData:
    timestamp: datetime
    average: float
    maximum: float
    minimum: float


@dataclass(frozen=True)
class MetricSeriesData:
    name: str
    unit: str
    period: int
    points: tuple[MetricPointData, ...]
    """Sorted by timestamp, one per timestamp."""


@dataclass(frozen=True)
class ApiCallRecord:
    instance_id: str
    region_id: str
    event_id: str
    event_name: str
    event_time: datetime
    caller: str
    caller_type: str
    access_key_id: str
    source_ip: str
    user_agent: str
    error_code: str
    error_message: str
    request_id: str
    service_name: str
    event_type: str
    event_rw: EventRW
    resource_type: str
    request_parameters: dict[str, Any]

    @property
    def resource_names(self) -> tuple[str, ...]:
        return (self.instance_id,)


def align(when: datetime, period: int) -> datetime:
    """``when`` rounded down to a multiple of ``period`` seconds since the epoch (UTC)."""
    seconds = int(when.timestamp())
    return datetime.fromtimestamp(seconds - seconds % period, UTC)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _steps(start: datetime, end: datetime, period: int, where: str) -> list[datetime]:
    first, last = align(start, period), align(end, period)
    if last < first:
        raise ValueError(f"{where}: end is before start")
    count = int((last - first).total_seconds()) // period + 1
    if count > MAX_GENERATED_POINTS:
        raise ValueError(f"{where}: {count} points; use a longer period or a shorter range")
    return [first + timedelta(seconds=period * i) for i in range(count)]


def _point(when: datetime, value: float, spread: float) -> MetricPointData:
    value = round(value, 2)
    return MetricPointData(when, value, round(value + spread, 2), round(value - spread, 2))


def resolve_metric(name: str, spec: MetricSpec, now: datetime, where: str) -> MetricSeriesData:
    """The series of one metric; raises ValueError naming ``where`` on a bad time or range."""
    period = spec.period
    by_time: dict[datetime, MetricPointData] = {}
    for index, ramp in enumerate(_as_list(spec.ramp)):
        here = f"{where}.ramp[{index}]"
        steps = _steps(resolve_time(ramp.start, now), resolve_time(ramp.end, now), period, here)
        span = max(len(steps) - 1, 1)
        for i, when in enumerate(steps):
            value = ramp.start_value + (ramp.end_value - ramp.start_value) * i / span
            by_time[when] = _point(when, value, ramp.spread)
    for index, constant in enumerate(_as_list(spec.constant)):
        here = f"{where}.constant[{index}]"
        start, end = resolve_time(constant.start, now), resolve_time(constant.end, now)
        for when in _steps(start, end, period, here):
            by_time[when] = _point(when, constant.value, constant.spread)
    for index, point in enumerate(spec.points):
        try:
            when = align(resolve_time(point[0], now), period)
        except ValueError as exc:
            raise ValueError(f"{where}.points[{index}]: {exc}") from None
        if len(point) == 2:
            by_time[when] = _point(when, point[1], 0.0)
        else:
            _, average, maximum, minimum = point
            by_time[when] = MetricPointData(when, average, maximum, minimum)
    points = tuple(by_time[when] for when in sorted(by_time))
    return MetricSeriesData(name, spec.unit, period, points)


def resolve_metrics(
    specs: Mapping[str, MetricSpec], now: datetime, where: str
) -> dict[str, MetricSeriesData]:
    return {
        name: resolve_metric(name, spec, now, f"{where}.metrics.{name}")
        for name, spec in specs.items()
    }


def _digest(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


def _default_access_key(caller_type: str, seed: str) -> str:
    if caller_type == "system":
        return ""
    if caller_type == "assumed-role":
        return "STS.NV" + _digest("sts", seed)[:22]
    return "LTAI5t" + _digest("ak", seed)[:18]


def resolve_api_calls(
    specs: list[ApiCallSpec], instance_id: str, region_id: str, now: datetime, where: str
) -> tuple[ApiCallRecord, ...]:
    records: list[ApiCallRecord] = []
    for index, spec in enumerate(specs):
        try:
            when = resolve_time(spec.time, now).replace(microsecond=0)
        except ValueError as exc:
            raise ValueError(f"{where}.api_calls[{index}].time: {exc}") from None
        seed = f"{instance_id}:{index}:{spec.event_name}"
        system = spec.caller_type == "system"
        event_id = spec.event_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"ecs-sim-at:{seed}"))
        request_id = spec.request_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"ecs-sim-rq:{seed}"))
        if spec.event_rw is not None:
            event_rw: EventRW = spec.event_rw
        else:
            event_rw = "Read" if spec.event_name.startswith(READ_PREFIXES) else "Write"
        parameters: dict[str, Any] = {"InstanceId": instance_id, "RegionId": region_id}
        parameters.update(spec.request_parameters)
        records.append(
            ApiCallRecord(
                instance_id=instance_id,
                region_id=region_id,
                event_id=event_id.upper(),
                event_name=spec.event_name,
                event_time=when,
                caller=spec.caller,
                caller_type=spec.caller_type,
                access_key_id=(
                    spec.access_key_id
                    if spec.access_key_id is not None
                    else _default_access_key(spec.caller_type, seed)
                ),
                source_ip=spec.source_ip
                if spec.source_ip is not None
                else (spec.caller if system else "203.0.113.10"),
                user_agent=spec.user_agent
                if spec.user_agent is not None
                else (
                    spec.caller
                    if system
                    else "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2"
                ),
                error_code=spec.error_code,
                error_message=spec.error_message,
                request_id=request_id.upper(),
                service_name=spec.service_name,
                event_type=spec.event_type,
                event_rw=event_rw,
                resource_type=spec.resource_type,
                request_parameters=parameters,
            )
        )
    return tuple(records)


def principal_id(record: ApiCallRecord) -> str:
    """A stable ``userIdentity.principalId`` for the caller."""
    if record.caller_type == "root-account":
        return ACCOUNT_ID
    number = str(int(_digest("principal", record.caller)[:15], 16))[:17]
    if record.caller_type == "assumed-role":
        return f"{number}:{record.caller}"
    return number
