"""SDK response models -> the port's records. Guest text is decoded but never interpreted here."""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ecs_reboot_diagnosis.models import InstanceFacts, OsType, PlatformEvent
from ecs_reboot_diagnosis.ports import AgentHeartbeat, ApiCall, InvocationResult, MetricPoint


def parse_time(text: str | None) -> datetime | None:
    """An API time (UTC unless it says otherwise) or None when empty or not understood.

    ``datetime.fromisoformat`` reads every form the APIs answer with: ``2026-11-30T03:00:00Z``,
    ``2026-11-30T03:00Z``, ``2026-11-30 03:00:00``, with fractions of a second or an offset.
    """
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def as_utc(when: datetime) -> datetime:
    """``when`` in UTC; a naive time is taken as UTC."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def format_time(when: datetime) -> str:
    """``yyyy-MM-ddTHH:mm:ssZ`` in UTC, as the API wants request times."""
    return as_utc(when).strftime("%Y-%m-%dT%H:%M:%SZ")


def decode_base64_bytes(text: str | None) -> bytes:
    if not text:
        return b""
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        return text.encode("utf-8", errors="replace")


def decode_base64_text(text: str | None) -> str:
    """Base64 API text as str; invalid UTF-8 becomes U+FFFD instead of failing."""
    return decode_base64_bytes(text).decode("utf-8", errors="replace")


def _first(values: Any) -> str:
    return str(values[0]) if values else ""


def _ips(container: Any) -> list[str]:
    return list(getattr(container, "ip_address", None) or []) if container is not None else []


def _os_type(instance: Any) -> OsType:
    os_type = (instance.ostype or "").lower()
    if os_type in ("linux", "windows"):
        return "windows" if os_type == "windows" else "linux"
    names = f"{instance.osname or ''} {instance.osname_en or ''}".lower()
    return "windows" if "windows" in names else "linux"


def instance_facts(instance: Any, region_id: str) -> InstanceFacts:
    """One ``DescribeInstancesResponseBodyInstancesInstance``."""
    vpc = instance.vpc_attributes
    private = _ips(vpc.private_ip_address) if vpc is not None else []
    private = private or _ips(instance.inner_ip_address)
    public = _ips(instance.public_ip_address)
    eip = instance.eip_address.ip_address if instance.eip_address is not None else ""
    return InstanceFacts(
        instance_id=instance.instance_id,
        region_id=instance.region_id or region_id,
        instance_name=instance.instance_name or "",
        status=instance.status or "",
        os_type=_os_type(instance),
        os_name=instance.osname_en or instance.osname or "",
        instance_type=instance.instance_type or "",
        zone_id=instance.zone_id or "",
        public_ip=_first(public) or (eip or ""),
        private_ip=_first(private),
        creation_time=parse_time(instance.creation_time),
    )


def platform_event(event: Any) -> PlatformEvent:
    """One ``InstanceSystemEventSet.InstanceSystemEventType`` entry."""
    event_type = event.event_type.name if event.event_type is not None else ""
    cycle = event.event_cycle_status.name if event.event_cycle_status is not None else ""
    return PlatformEvent(
        event_id=event.event_id or "",
        event_type=event_type or "",
        cycle_status=cycle or "",
        publish_time=parse_time(event.event_publish_time),
        not_before=parse_time(event.not_before),
        finish_time=parse_time(event.event_finish_time),
        reason=event.reason or "",
        reason_code=event.reason_code or "",
    )


def agent_heartbeat(status: Any) -> AgentHeartbeat:
    """One ``InstanceCloudAssistantStatus`` entry; the API's status is the string "true"."""
    return AgentHeartbeat(
        running=str(status.cloud_assistant_status).lower() == "true",
        last_heartbeat=parse_time(status.last_heartbeat_time),
        agent_version=status.cloud_assistant_version or "",
        supports_session_manager=status.support_session_manager,
    )


def invocation_result(result: Any, invoke_id: str) -> InvocationResult:
    """One ``InvocationResults.InvocationResult`` entry; Output is Base64 (we ask for it)."""
    return InvocationResult(
        invoke_id=result.invoke_id or invoke_id,
        status=result.invocation_status or result.invoke_record_status or "Pending",
        output=decode_base64_text(result.output),
        exit_code=result.exit_code,
        error_code=result.error_code or "",
        error_info=result.error_info or "",
        dropped_bytes=result.dropped or 0,
        start_time=parse_time(result.start_time),
        finish_time=parse_time(result.finished_time),
    )


# --- CloudMonitor (DescribeMetricList) -------------------------------------------------------


def epoch_ms(when: datetime) -> int:
    """Unix milliseconds (CloudMonitor's unambiguous time format); naive times are UTC."""
    return int(as_utc(when).timestamp() * 1000)


def decode_datapoints(datapoints: Any) -> list[Any]:
    """``Datapoints``: a JSON string of a list (as the API sends it) or an already parsed list.

    Raises ValueError when it is neither."""
    if datapoints is None or datapoints == "":
        return []
    if isinstance(datapoints, list):
        return datapoints
    if isinstance(datapoints, str):
        parsed = json.loads(datapoints)
        if isinstance(parsed, list):
            return parsed
    raise ValueError("Datapoints is not a JSON list")


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def metric_point(item: Any, instance_id: str) -> MetricPoint | None:
    """One datapoint of ``instance_id``; None for another instance's point or an unusable one."""
    if not isinstance(item, Mapping):
        return None
    owner = item.get("instanceId")
    if owner is not None and owner != instance_id:
        return None
    stamp = _number(item.get("timestamp"))
    if stamp is None:
        return None
    average = _number(item.get("Average"))
    if average is None:
        average = _number(item.get("Value"))
    return MetricPoint(
        timestamp=datetime.fromtimestamp(stamp / 1000, UTC),
        average=average,
        maximum=_number(item.get("Maximum")),
        minimum=_number(item.get("Minimum")),
    )


# --- ActionTrail (LookupEvents) --------------------------------------------------------------


def _text(value: Any) -> str:
    return str(value) if value is not None and not isinstance(value, dict | list) else ""


def _resources(event: Mapping[str, Any]) -> list[str]:
    names: list[str] = [n for n in _text(event.get("resourceName")).split(";") if n]
    referenced = event.get("referencedResources")
    if isinstance(referenced, Mapping):
        for values in referenced.values():
            if isinstance(values, list):
                names.extend(str(v) for v in values if v)
    return list(dict.fromkeys(names))


def _caller(identity: Mapping[str, Any]) -> str:
    for key in ("userName", "principalId", "accountId"):
        value = _text(identity.get(key))
        if value:
            return value
    return ""


def _key_suffix(access_key_id: str) -> str:
    """The last 4 characters only: enough to tell keys apart, never the whole ID."""
    return access_key_id[-4:] if len(access_key_id) >= 8 else ""


def api_call(event: Any) -> ApiCall | None:
    """One ``Events[]`` entry; None when it has no usable event time."""
    if not isinstance(event, Mapping):
        return None
    when = parse_time(_text(event.get("eventTime")))
    if when is None:
        return None
    identity = event.get("userIdentity")
    identity = identity if isinstance(identity, Mapping) else {}
    return ApiCall(
        event_id=_text(event.get("eventId")),
        event_name=_text(event.get("eventName")),
        event_time=when,
        service=_text(event.get("serviceName")) or "Ecs",
        caller=_caller(identity),
        caller_type=_text(identity.get("type")),
        access_key_id_suffix=_key_suffix(_text(identity.get("accessKeyId"))),
        source_ip=_text(event.get("sourceIpAddress")),
        user_agent=_text(event.get("userAgent")),
        request_id=_text(event.get("requestId")),
        error_code=_text(event.get("errorCode")),
        resources=_resources(event),
    )
