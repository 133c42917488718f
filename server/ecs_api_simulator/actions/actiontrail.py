"""ActionTrail (Actiontrail, 2020-07-06): LookupEvents over the scenarios' ``api_calls``.

Wire facts (API reference and the ``alibabacloud-actiontrail20200706`` SDK models): the SDK does
not send ``RegionId``; conditions are ``LookupAttribute.N.Key`` / ``.Value`` (one or two, ANDed);
``StartTime``/``EndTime`` are ``yyyy-MM-ddTHH:mm:ssZ`` UTC, both or neither (default: the last 7
days); ``MaxResults`` is 0-50; ``Direction`` is BACKWARD (newest first, the default) or FORWARD;
``NextToken`` is returned only while more events remain and is valid only with the same query;
``Events`` is a list of free-form event objects (camelCase keys).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ecs_api_simulator.account import ACCOUNT_ID
from ecs_api_simulator.actions.context import RequestContext
from ecs_api_simulator.api_errors import invalid_parameter
from ecs_api_simulator.monitoring import ApiCallRecord, principal_id
from ecs_api_simulator.paging import cursor_offset, cursor_token
from ecs_api_simulator.scenario import Instance
from ecs_api_simulator.time_formats import format_event_time

DEFAULT_MAX_RESULTS = 20
MAX_RESULTS = 50
MAX_CONDITIONS = 2
RETENTION = timedelta(days=90)
DEFAULT_WINDOW = timedelta(days=7)
EVENT_SOURCES = {"Ecs": "ecs.aliyuncs.com"}
API_VERSIONS = {"Ecs": "2014-05-26"}


_CONDITIONS: dict[str, Callable[[ApiCallRecord, str], bool]] = {
    "ResourceName": lambda r, v: v in r.resource_names,
    "EventName": lambda r, v: r.event_name == v,
    "ResourceType": lambda r, v: r.resource_type == v,
    "ServiceName": lambda r, v: r.service_name.lower() == v.lower(),
    "User": lambda r, v: r.caller == v,
    "EventId": lambda r, v: r.event_id == v.upper(),
    "EventRW": lambda r, v: r.event_rw.lower() == v.lower(),
    "EventAccessKeyId": lambda r, v: bool(r.access_key_id) and r.access_key_id == v,
}


def _time(name: str, text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise invalid_parameter(name, "Use the UTC format yyyy-MM-ddTHH:mm:ssZ.") from None


def _window(ctx: RequestContext) -> tuple[datetime, datetime]:
    start_text, end_text = ctx.params.get("StartTime"), ctx.params.get("EndTime")
    if (start_text is None) != (end_text is None):
        raise invalid_parameter(
            "StartTime" if start_text is None else "EndTime",
            "Specify both StartTime and EndTime, or neither.",
        )
    if start_text is None or end_text is None:
        now = ctx.now.replace(microsecond=0)
        return now - DEFAULT_WINDOW, now
    start, end = _time("StartTime", start_text), _time("EndTime", end_text)
    if end < start:
        raise invalid_parameter("EndTime", "EndTime must not be earlier than StartTime.")
    return start, end


def _conditions(ctx: RequestContext) -> list[tuple[str, str]]:
    pairs = ctx.params.key_values("LookupAttribute")
    if len(pairs) > MAX_CONDITIONS:
        raise invalid_parameter("LookupAttribute", "At most two lookup conditions are allowed.")
    for key, value in pairs:
        if key not in _CONDITIONS:
            raise invalid_parameter(
                "LookupAttribute.Key", f"Valid keys: {', '.join(sorted(_CONDITIONS))}."
            )
        if not value:
            raise invalid_parameter("LookupAttribute.Value", f"The value of {key} is empty.")
    return pairs


def render_api_call(record: ApiCallRecord) -> dict[str, Any]:
    """One ``Events[]`` entry, shaped as ActionTrail event records are."""
    identity: dict[str, Any] = {"type": record.caller_type, "userName": record.caller}
    if record.caller_type != "system":
        identity["principalId"] = principal_id(record)
        identity["accountId"] = ACCOUNT_ID
    if record.access_key_id:
        identity["accessKeyId"] = record.access_key_id
    service = record.service_name
    event: dict[str, Any] = {
        "eventId": record.event_id,
        "eventVersion": 1,
        "eventName": record.event_name,
        "eventRW": record.event_rw,
        "eventType": record.event_type,
        "eventSource": EVENT_SOURCES.get(service, f"{service.lower()}.aliyuncs.com"),
        "eventTime": format_event_time(record.event_time),
        "acsRegion": record.region_id,
        "serviceName": service,
        "apiVersion": API_VERSIONS.get(service, ""),
        "requestId": record.request_id,
        "sourceIpAddress": record.source_ip,
        "userAgent": record.user_agent,
        "userIdentity": identity,
        "resourceName": ";".join(record.resource_names),
        "resourceType": record.resource_type,
        "referencedResources": {record.resource_type: list(record.resource_names)},
        "requestParameters": dict(record.request_parameters),
        "isGlobal": False,
        "recipientAccountId": ACCOUNT_ID,
    }
    if record.error_code:
        event["errorCode"] = record.error_code
        event["errorMessage"] = record.error_message or record.error_code
    return event


def _encode_token(scope: str, offset: int) -> str:
    return base64.b64encode(cursor_token(scope, offset).encode()).decode("ascii")


def _decode_token(scope: str, token: str) -> int:
    try:
        inner = base64.b64decode(token, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_parameter("NextToken", "The token is malformed or expired.") from None
    return cursor_offset(scope, inner)


def lookup_events(ctx: RequestContext) -> dict[str, Any]:
    params = ctx.params
    start, end = _window(ctx)
    direction = (params.get("Direction") or "BACKWARD").upper()
    if direction not in ("BACKWARD", "FORWARD"):
        raise invalid_parameter("Direction", "Valid values: BACKWARD, FORWARD.")
    size = params.integer("MaxResults", DEFAULT_MAX_RESULTS, minimum=0, maximum=MAX_RESULTS)
    size = size or DEFAULT_MAX_RESULTS
    conditions = _conditions(ctx)

    oldest = ctx.now - RETENTION
    matched: list[tuple[Instance, ApiCallRecord]] = []
    for instance in ctx.world.all_instances():
        for record in instance.api_calls:
            if not (start <= record.event_time <= end) or record.event_time < oldest:
                continue
            if all(_CONDITIONS[key](record, value) for key, value in conditions):
                matched.append((instance, record))
    named = [value for key, value in conditions if key == "ResourceName"]
    if named:  # a lookup by resource needs the permission even when nothing is recorded
        targets = [i for i in (ctx.world.find(name) for name in named) if i is not None]
    else:
        targets = list({i.instance_id: i for i, _ in matched}.values())
    ctx.authorize_all(targets)

    records = [record for _, record in matched]
    records.sort(key=lambda r: (r.event_time, r.event_id), reverse=direction == "BACKWARD")
    query = "|".join(
        [format_event_time(start), format_event_time(end), direction]
        + [f"{key}={value}" for key, value in conditions]
    )
    scope = "LookupEvents:" + hashlib.sha256(query.encode()).hexdigest()[:16]
    token = params.get("NextToken")
    offset = _decode_token(scope, token) if token else 0
    page = records[offset : offset + size]
    body: dict[str, Any] = {
        "StartTime": format_event_time(start),
        "EndTime": format_event_time(end),
        "Events": [render_api_call(r) for r in page],
    }
    if offset + size < len(records):
        body["NextToken"] = _encode_token(scope, offset + size)
    return body
