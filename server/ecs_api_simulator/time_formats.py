"""The time formats of the ECS API, and the relative times scenarios are written in.

- events, invocations, Cloud Assistant: ``yyyy-MM-ddTHH:mm:ssZ``
- instance attributes (CreationTime, StartTime, ExpiredTime): ``yyyy-MM-ddTHH:mmZ`` (no seconds)
- GetInstanceConsoleOutput.LastUpdateTime: ``yyyy-MM-dd HH:mm:ss`` (UTC here)

Scenario times are either absolute (any of the formats above, or ISO 8601 with an offset) or
relative to the moment the scenario is loaded: ``now``, ``-2h``, ``-3d4h``, ``+1d``, ``-90s``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(
    r"^(?P<sign>[+-])(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$"
)
_API_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ", "%Y-%m-%d %H:%M:%S")


def format_event_time(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else ""


def format_instance_time(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ") if when else ""


def format_console_time(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if when else ""


def parse_api_time(text: str) -> datetime:
    """Parse a UTC time as the API accepts it; raises ValueError otherwise."""
    for fmt in _API_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(f"not an API time: {text!r}")


def parse_offset(value: str) -> timedelta:
    """A relative scenario time as a signed offset: ``now``, ``-2h``, ``-3d4h30m``, ``+1d``."""
    text = value.strip()
    if text == "now":
        return timedelta(0)
    match = _RELATIVE.match(text)
    if not (match and any(match.group(k) for k in ("d", "h", "m", "s"))):
        raise ValueError(
            f"offset {value!r} is neither 'now' nor a relative offset like '-2h' or '-3d4h30m'"
        )
    delta = timedelta(
        days=int(match.group("d") or 0),
        hours=int(match.group("h") or 0),
        minutes=int(match.group("m") or 0),
        seconds=int(match.group("s") or 0),
    )
    return -delta if match.group("sign") == "-" else delta


def resolve_time(value: str, now: datetime) -> datetime:
    """A scenario time: ``now``, a relative offset such as ``-2h``, or an absolute time."""
    try:
        return now + parse_offset(value)
    except ValueError:
        pass
    text = value.strip()
    try:
        return parse_api_time(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            f"time {value!r} is neither 'now', a relative offset like '-2h' or '-3d4h30m', "
            "nor an absolute UTC time like '2024-04-03T22:49:27Z'"
        ) from exc
    if parsed.tzinfo is None:
        raise ValueError(f"absolute time {value!r} needs a timezone (use a trailing Z for UTC)")
    return parsed.astimezone(UTC)
