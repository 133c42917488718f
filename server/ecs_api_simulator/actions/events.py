"""DescribeInstanceHistoryEvents, and the event filters DescribeInstancesFullStatus shares."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ecs_api_simulator.actions.context import RequestContext
from ecs_api_simulator.api_errors import ApiError, invalid_parameter
from ecs_api_simulator.event_codes import (
    COMPLETED_CYCLE_STATUSES,
    CYCLE_STATUS_CODES,
    event_type_code,
)
from ecs_api_simulator.paging import PagingRules, paginate
from ecs_api_simulator.scenario import Event
from ecs_api_simulator.time_formats import format_event_time, parse_api_time

COMPLETED_EVENT_RETENTION = timedelta(days=30)
HISTORY_PAGING = PagingRules(max_results_floor=10, max_results_max=100, clamp_max_results=True)
_FULL_STATUS_EXTENDED_KEYS = ("Device", "DiskId", "InactiveDisks")


def render_event(event: Event, *, scheduled_only: bool = False) -> dict[str, Any]:
    """A history event (research §3.3), or the ScheduledSystemEventType form (§3.4)."""
    body: dict[str, Any] = {}
    if not scheduled_only:
        body["InstanceId"] = event.instance_id
    body.update(
        {
            "EventId": event.event_id,
            "EventType": {"Code": event_type_code(event.event_type), "Name": event.event_type},
            "EventCycleStatus": {
                "Code": CYCLE_STATUS_CODES[event.cycle_status],
                "Name": event.cycle_status,
            },
            "EventPublishTime": format_event_time(event.publish_time),
            "NotBefore": format_event_time(event.not_before),
        }
    )
    if scheduled_only:
        body["Reason"] = event.reason
        body["ImpactLevel"] = event.impact_level
        body["ExtendedAttribute"] = {
            k: v for k, v in event.extended_attribute.items() if k in _FULL_STATUS_EXTENDED_KEYS
        }
        return body
    if event.finish_time is not None:
        body["EventFinishTime"] = format_event_time(event.finish_time)
    body["Reason"] = event.reason
    body["ReasonCode"] = event.reason_code
    body["ImpactLevel"] = event.impact_level
    body["ResourceType"] = event.resource_type
    body["ExtendedAttribute"] = dict(event.extended_attribute)
    return body


def _time_range(ctx: RequestContext, name: str) -> tuple[datetime | None, datetime | None]:
    bounds = ctx.params.struct(name)
    parsed: dict[str, datetime] = {}
    for part in ("Start", "End"):
        if part in bounds:
            try:
                parsed[part] = parse_api_time(bounds[part])
            except ValueError:
                raise invalid_parameter(
                    f"{name}.{part}", "Use the UTC format yyyy-MM-ddTHH:mm:ssZ.", 403
                ) from None
    start, end = parsed.get("Start"), parsed.get("End")
    if start is not None and end is not None and end < start:
        raise ApiError(
            403,
            "InvalidParameter.TimeEndBeforeStart",
            f"The specified {name}.End is earlier than {name}.Start.",
        )
    return start, end


def _within(when: datetime, bounds: tuple[datetime | None, datetime | None]) -> bool:
    start, end = bounds
    return (start is None or when >= start) and (end is None or when <= end)


def event_filter(ctx: RequestContext) -> Callable[[Event], bool]:
    """EventId.N, InstanceEventType.N / EventType, NotBefore.*, EventPublishTime.*."""
    params = ctx.params
    event_ids = params.repeat_list("EventId")
    if len(event_ids) > 100:
        raise ApiError(
            403, "EventIdLimitExceeded", "The number of event IDs exceeds the upper limit."
        )
    types = params.repeat_list("InstanceEventType")
    if len(types) > 30:
        raise invalid_parameter("InstanceEventType", "At most 30 event types.", 403)
    if not types and params.get("EventType"):
        types = [params.required("EventType")]
    not_before = _time_range(ctx, "NotBefore")
    published = _time_range(ctx, "EventPublishTime")

    def keep(event: Event) -> bool:
        return (
            (not event_ids or event.event_id in event_ids)
            and (not types or event.event_type in types)
            and _within(event.not_before, not_before)
            and _within(event.publish_time, published)
        )

    return keep


def _cycle_statuses(ctx: RequestContext) -> frozenset[str]:
    statuses = ctx.params.repeat_list("InstanceEventCycleStatus")
    if len(statuses) > 7:
        raise invalid_parameter("InstanceEventCycleStatus", "At most 7 values.", 403)
    if not statuses and ctx.params.get("EventCycleStatus"):
        statuses = [ctx.params.required("EventCycleStatus")]
    for status in statuses:
        if status not in CYCLE_STATUS_CODES:
            raise invalid_parameter("InstanceEventCycleStatus", f"Unknown value {status!r}.", 403)
    # With neither parameter only completed events are returned (API docs).
    return frozenset(statuses) if statuses else COMPLETED_CYCLE_STATUSES


def describe_instance_history_events(ctx: RequestContext) -> dict[str, Any]:
    # This API's error table gives 404 for MissingParameter.
    region_id = ctx.region(missing_status=404)
    params = ctx.params
    resource_ids = params.repeat_list("ResourceId")
    if len(resource_ids) > 100:
        raise invalid_parameter("ResourceId", "At most 100 resource IDs.", 403)
    resource_type = params.get("ResourceType") or "instance"
    if resource_type not in ("instance", "ddh", "managedhost"):
        raise invalid_parameter("ResourceType", "", 403)
    instance_id = params.get("InstanceId")
    wanted = set(resource_ids) if resource_ids else ({instance_id} if instance_id else None)
    instances = ctx.world.instances_in(region_id)
    if wanted is not None:
        instances = [i for i in instances if i.instance_id in wanted]
    tags = params.tags()
    if tags:
        instances = [i for i in instances if all(i.spec.tags.get(k) == v for k, v in tags)]
    group = params.get("ResourceGroupId")
    if group is not None:
        instances = [i for i in instances if i.spec.resource_group_id == group]
    ctx.authorize_all(instances)

    statuses = _cycle_statuses(ctx)
    keep = event_filter(ctx)
    oldest_completed = ctx.now - COMPLETED_EVENT_RETENTION
    events: list[Event] = []
    for instance in instances:
        for event in instance.events:
            if event.resource_type != resource_type or event.cycle_status not in statuses:
                continue
            if event.cycle_status in COMPLETED_CYCLE_STATUSES:
                ended = event.finish_time or event.not_before
                if ended < oldest_completed:
                    continue  # completed events are kept for 30 days only
            if keep(event):
                events.append(event)
    events.sort(key=lambda e: (e.not_before, e.event_id), reverse=True)
    page = paginate(ctx.action, events, params, HISTORY_PAGING)
    rendered = [render_event(e) for e in page.items]
    return {**page.envelope(), "InstanceSystemEventSet": {"InstanceSystemEventType": rendered}}
