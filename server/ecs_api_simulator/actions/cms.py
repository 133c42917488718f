"""CloudMonitor (Cms, 2019-01-01): DescribeMetricList over the scenarios' ``metrics``.

Wire facts (API reference and the ``alibabacloud-cms20190101`` SDK models): every value is a
string; the SDK does not send ``RegionId`` (the region is the endpoint's); ``Dimensions`` is a JSON
string such as ``[{"instanceId":"i-..."}]``; ``StartTime``/``EndTime`` are Unix milliseconds or
``yyyy-MM-ddTHH:mm:ssZ`` / ``yyyy-MM-dd HH:mm:ss`` and select ``(StartTime, EndTime]``;
``Datapoints`` is a JSON *string* of ``{timestamp (ms), userId, instanceId, Average, Maximum,
Minimum}``; ``NextToken`` is present only while more points remain; ``Code`` is ``"200"``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ecs_api_simulator.account import ACCOUNT_ID
from ecs_api_simulator.actions.context import RequestContext
from ecs_api_simulator.api_errors import invalid_parameter
from ecs_api_simulator.monitoring import METRIC_PERIODS, MetricPointData, MetricSeriesData, align
from ecs_api_simulator.paging import cursor_offset, cursor_token
from ecs_api_simulator.scenario import Instance

ECS_NAMESPACE = "acs_ecs_dashboard"
DEFAULT_LENGTH = 1000
MAX_LENGTH = 1440
MAX_DIMENSIONS = 50
MAX_RANGE = timedelta(days=31)
DEFAULT_WINDOW = timedelta(hours=1)
_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S")


def retention(period: int) -> timedelta:
    """How long CloudMonitor keeps data of this period (API reference, 'Notes')."""
    if period < 60:
        return timedelta(days=7)
    if period == 60:
        return timedelta(days=31)
    return timedelta(days=91)


def _parse_time(name: str, text: str) -> datetime:
    if text.isdigit():
        number = int(text)
        # Milliseconds as documented; a 10-digit value is taken as seconds (older docs).
        seconds = number / 1000 if number >= 100_000_000_000 else number
        return datetime.fromtimestamp(seconds, UTC)
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise invalid_parameter(name, "Use Unix milliseconds or the format yyyy-MM-ddTHH:mm:ssZ.")


def _window(ctx: RequestContext) -> tuple[datetime, datetime]:
    start_text = ctx.params.get("StartTime")
    end_text = ctx.params.get("EndTime")
    end = _parse_time("EndTime", end_text) if end_text else ctx.now
    start = _parse_time("StartTime", start_text) if start_text else end - DEFAULT_WINDOW
    if start >= end:
        raise invalid_parameter("StartTime", "StartTime must be earlier than EndTime.")
    if end - start > MAX_RANGE:
        raise invalid_parameter("EndTime", "The time range may not exceed 31 days.")
    return start, end


def _named_instances(ctx: RequestContext) -> list[Instance] | None:
    """The instances ``Dimensions`` names; None when it names none (the whole account)."""
    raw = ctx.params.get("Dimensions")
    if raw is None:
        return None
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        raise invalid_parameter("Dimensions", "It must be a JSON object or array.") from None
    dimensions = parsed if isinstance(parsed, list) else [parsed]
    if not dimensions or not all(isinstance(d, dict) for d in dimensions):
        raise invalid_parameter("Dimensions", "It must be a JSON object or array of objects.")
    if len(dimensions) > MAX_DIMENSIONS:
        raise invalid_parameter("Dimensions", "At most 50 instances can be queried at once.")
    wanted: dict[str, Instance] = {}
    for dimension in dimensions:
        user = dimension.get("userId")
        if user is not None and str(user) != ACCOUNT_ID:
            continue
        instance_id = dimension.get("instanceId")
        if instance_id is None:
            return None
        instance = ctx.world.find(str(instance_id))
        if instance is not None:
            wanted[instance.instance_id] = instance
    return sorted(wanted.values(), key=lambda i: i.instance_id)


def _aggregate(series: MetricSeriesData, period: int) -> list[MetricPointData]:
    """The series at ``period`` (a multiple of its own): Average of averages, max, min."""
    if period <= series.period:
        return list(series.points)
    buckets: dict[datetime, list[MetricPointData]] = {}
    for point in series.points:
        buckets.setdefault(align(point.timestamp, period), []).append(point)
    return [
        MetricPointData(
            when,
            round(sum(p.average for p in points) / len(points), 2),
            max(p.maximum for p in points),
            min(p.minimum for p in points),
        )
        for when, points in sorted(buckets.items())
    ]


def _render(instance: Instance, point: MetricPointData) -> dict[str, Any]:
    return {
        "timestamp": int(point.timestamp.timestamp() * 1000),
        "userId": ACCOUNT_ID,
        "instanceId": instance.instance_id,
        "Minimum": point.minimum,
        "Average": point.average,
        "Maximum": point.maximum,
    }


def describe_metric_list(ctx: RequestContext) -> dict[str, Any]:
    params = ctx.params
    namespace = params.required("Namespace")
    metric = params.required("MetricName")
    period_text = params.get("Period")
    requested_period: int | None = None
    if period_text is not None:
        requested_period = params.integer("Period", 60)
        if requested_period not in METRIC_PERIODS:
            raise invalid_parameter("Period", "Valid values: 15, 60, 300, 900 and 3600.")
    length = params.integer("Length", DEFAULT_LENGTH, minimum=1, maximum=MAX_LENGTH)
    start, end = _window(ctx)
    named = _named_instances(ctx)
    if named is not None:
        instances = named
    else:  # the whole account: the instances that have this metric
        instances = [i for i in ctx.world.all_instances() if metric in i.metrics]
    ctx.authorize_all(instances)

    rows: list[tuple[datetime, str, dict[str, Any]]] = []
    answered_period: int | None = None
    for instance in instances:
        series = instance.metrics.get(metric) if namespace == ECS_NAMESPACE else None
        if series is None:
            continue
        period = max(requested_period or series.period, series.period)
        if answered_period is None:
            answered_period = period
        oldest = ctx.now - retention(period)
        rows.extend(
            (point.timestamp, instance.instance_id, _render(instance, point))
            for point in _aggregate(series, period)
            if start < point.timestamp <= end and point.timestamp >= oldest
        )
    rows.sort(key=lambda row: (row[0], row[1]))

    query = "|".join(
        f"{name}={params.get(name) or ''}"
        for name in ("Namespace", "MetricName", "Dimensions", "StartTime", "EndTime", "Period")
    )
    scope = "DescribeMetricList:" + hashlib.sha256(query.encode()).hexdigest()[:16]
    token = params.get("NextToken")
    offset = cursor_offset(scope, token) if token else 0
    page = rows[offset : offset + length]
    body: dict[str, Any] = {
        "Code": "200",
        "Success": True,
        "Period": str(answered_period or requested_period or 60),
        "Datapoints": json.dumps([row[2] for row in page], separators=(",", ":")),
    }
    if offset + length < len(rows):
        body["NextToken"] = cursor_token(scope, offset + length)
    return body
