"""The records of a fleet scan: what was asked (regions, instances, tags, window), what each
instance's conclusion is, and the groups by cause. Plain data, JSON all the way, so that a scan
is checkpointed, resumed, rendered and returned by the MCP tool from the same records."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, Literal

from pydantic import Field

from ecs_reboot_diagnosis.errors import InvalidInputError
from ecs_reboot_diagnosis.models import Confidence, OsType, Record, Text
from ecs_reboot_diagnosis.service import MAX_EVENT_WINDOW_DAYS

__all__ = [
    "HAPPENED_ORDER",
    "MAX_SINCE",
    "MIN_SINCE",
    "CauseGroup",
    "FleetInstance",
    "FleetScan",
    "GuestState",
    "Happened",
    "ScanRequest",
    "ScanTag",
    "diagnose_command",
    "parse_since",
]

Happened = Literal["rebooted", "stopped", "no_reboot", "unknown"]
GuestState = Literal["collected", "failed", "not_needed", "agent_unavailable", "disabled"]
MIN_SINCE: Final = timedelta(hours=1)
MAX_SINCE: Final = timedelta(days=MAX_EVENT_WINDOW_DAYS)
_SINCE_UNITS: Final = {"m": 60, "h": 3600, "d": 86400}
HAPPENED_ORDER: Final[dict[str, int]] = {"rebooted": 0, "stopped": 1, "unknown": 2, "no_reboot": 3}
"""The order groups and instances are listed in: what happened first, then how many."""


def parse_since(text: str) -> timedelta:
    """``24h``, ``90m``, ``7d``, ``1d12h`` -> a timedelta between 1 hour and 30 days."""
    value = text.strip().lower()
    total = 0
    rest = value
    while rest:
        number = ""
        while rest and rest[0].isdigit():
            number, rest = number + rest[0], rest[1:]
        if not number or not rest or rest[0] not in _SINCE_UNITS:
            raise InvalidInputError(
                "since",
                f"{text[:32]!r} is not a duration.",
                hint="Give it as 24h, 90m, 7d or 1d12h.",
            )
        total += int(number) * _SINCE_UNITS[rest[0]]
        rest = rest[1:]
    since = timedelta(seconds=total)
    if not MIN_SINCE <= since <= MAX_SINCE:
        raise InvalidInputError(
            "since",
            f"{text[:32]!r} is outside 1h..{MAX_EVENT_WINDOW_DAYS}d.",
            hint=f"Platform events are kept for {MAX_EVENT_WINDOW_DAYS} days; scan a window "
            "from 1h to 30d.",
        )
    return since


def diagnose_command(instance_id: str, region_id: str) -> str:
    """The CLI line of a full diagnosis of one instance."""
    return f"ecs-reboot-diagnosis diagnose --instance-id {instance_id} --region {region_id}"


class ScanTag(Record):
    key: str = Field(min_length=1, max_length=128)
    value: str = Field(max_length=128)


class ScanRequest(Record):
    region_ids: list[str]
    instance_ids: list[str] = Field(default_factory=list)
    """Empty: every instance of the regions (filtered by ``tags``)."""
    tags: list[ScanTag] = Field(default_factory=list)
    since_seconds: int
    guest_commands: bool = True


class FleetInstance(Record):
    """One instance of a scan: what happened to it in the window and why."""

    instance_id: str
    region_id: str
    instance_name: str = ""
    status: str
    os_type: OsType
    happened: Happened
    verdict: str
    rule_id: str
    confidence: Confidence
    root_cause: Text
    signature: str
    guest: GuestState
    events_checked: bool
    agent_checked: bool
    invoke_id: str = ""


class CauseGroup(Record):
    """Instances whose reboots have the same cause signature."""

    signature: str
    label: Text
    happened: Happened
    verdict: str
    rule_id: str
    count: int
    frames: list[str] = Field(default_factory=list)
    """The top of the crash's call trace (untrusted guest data), when the cause is a crash."""
    instance_ids: list[str]


class FleetScan(Record):
    scan_id: str
    request: ScanRequest
    window_start: datetime
    window_end: datetime
    started_at: datetime
    finished_at: datetime | None = None
    complete: bool
    groups: list[CauseGroup]
    instances: list[FleetInstance]
    notes: list[Text] = Field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {"instances": len(self.instances)}
        for name in ("rebooted", "stopped", "unknown", "no_reboot"):
            out[name] = sum(1 for i in self.instances if i.happened == name)
        return out
