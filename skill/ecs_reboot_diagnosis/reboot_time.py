"""The time of the reboot the user asks about (``reboot_time``), as the user or the agent wrote it.

Accepted, case-insensitive, at most :data:`MAX_INPUT_CHARS` characters:

* ISO 8601 date and time, with ``T`` or a space between them, with or without seconds (and a
  fraction of a second), with a zone ``Z``, ``UTC`` or an offset (``+08:00``, ``+0800``, ``+08``):
  ``2026-11-30T03:00``, ``2026-11-30 03:00:15``, ``2026-11-30T03:00Z``, ``2026-11-30 03:00+08:00``.
  **Without a zone the time is UTC**: an agent that knows the user's zone adds its offset.
  A date without a time of day is refused (a whole day is too wide to pick a reboot from).
* A time relative to now: ``2h ago``, ``90m ago``, ``3d ago``, ``1d2h ago``, ``1d 2h 30m ago``,
  ``45 minutes ago``, ``2 hours ago``, ``1 day, 3 hours ago``, ``2 weeks ago``.

Words such as ``yesterday`` or ``last night`` are refused on purpose: they need a time of day and
the user's time zone, which only the agent can settle with the user; the error says to convert
them to ISO 8601 with the user's UTC offset.

Refused too: times more than :data:`FUTURE_TOLERANCE` in the future, more than
:data:`MAX_AGE` in the past, and anything else; every refusal is an
:class:`~ecs_reboot_diagnosis.errors.InvalidInputError` whose hint lists the accepted formats.
Parsing is linear in the input: the length is capped before any pattern runs, and the patterns
have no nested repetition.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

from ecs_reboot_diagnosis.errors import InvalidInputError

__all__ = [
    "ACCEPTED_FORMATS",
    "FUTURE_TOLERANCE",
    "MAX_AGE",
    "MAX_INPUT_CHARS",
    "days_back",
    "parse_reboot_time",
]

PARAMETER: Final = "reboot_time"
MAX_INPUT_CHARS: Final = 64
FUTURE_TOLERANCE: Final = timedelta(minutes=5)
"""Clock skew allowed between the user and this server."""
MAX_AGE: Final = timedelta(days=365)
"""The collector reads at most a year of logs; older reboots cannot be diagnosed."""

ACCEPTED_FORMATS: Final = (
    "Accepted formats: ISO 8601 date and time such as 2026-11-30T03:00, 2026-11-30 03:00:15, "
    "2026-11-30T03:00Z or 2026-11-30T03:00+08:00 (without a zone the time is UTC, so add the "
    "user's UTC offset); or a relative time such as 2h ago, 90m ago, 3d ago, 1d2h ago, "
    "45 minutes ago, 2 hours ago, 2 weeks ago. The time must lie within the last 365 days."
)
ACCEPTED_FORMATS_ZH: Final = (
    "可接受的格式：ISO 8601 日期时间，例如 2026-11-30T03:00、2026-11-30 03:00:15、"
    "2026-11-30T03:00Z 或 2026-11-30T03:00+08:00（不带时区时按 UTC 解释，请加上用户所在时区的 "
    "UTC 偏移）；或相对时间，例如 2h ago、90m ago、3d ago、1d2h ago、45 minutes ago、"
    "2 hours ago、2 weeks ago。时间必须在最近 365 天之内。"
)

_ISO: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[t ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r" ?(z|utc|[+-]\d{2}(?::?\d{2})?)?"
)
_DATE_ONLY: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_UNITS: Final[dict[str, str]] = {
    "w": "w", "week": "w", "weeks": "w",
    "d": "d", "day": "d", "days": "d",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
}  # fmt: skip
_SECONDS: Final[dict[str, int]] = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}
_PART: Final = re.compile(r"(\d{1,9}) ?([a-z]{1,12})")
_SEPARATOR: Final = re.compile(r"[ ,]*")
_WORDS: Final = re.compile(r"[a-z ]+")


def _refuse(message: str, message_zh: str) -> InvalidInputError:
    return InvalidInputError(
        PARAMETER,
        message,
        hint=ACCEPTED_FORMATS,
        message_zh=message_zh,
        hint_zh=ACCEPTED_FORMATS_ZH,
    )


def _shown(text: str) -> str:
    """The input as it may be quoted in an error: printable and short."""
    clean = "".join(c if c.isprintable() else "?" for c in text[:MAX_INPUT_CHARS])
    return repr(clean)


def _iso(match: re.Match[str], text: str) -> datetime:
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    tz: timezone = UTC
    if zone not in (None, "z", "utc"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:] or "0")
        if hours > 14 or minutes > 59 or (hours == 14 and minutes):
            raise _refuse(
                f"reboot_time {_shown(text)} has an impossible UTC offset.",
                f"reboot_time {_shown(text)} 的 UTC 偏移超出了可能的范围。",
            )
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    micro = int((fraction or "0").ljust(6, "0")[:6])
    try:
        value = datetime(int(year), int(month), int(day), int(hour), int(minute),
                         int(second or 0), micro, tzinfo=tz).astimezone(UTC)  # fmt: skip
    except (ValueError, OverflowError) as exc:
        raise _refuse(
            f"reboot_time {_shown(text)} is not a real date and time ({exc}).",
            f"reboot_time {_shown(text)} 不是真实存在的日期时间（`{exc}`）。",
        ) from exc
    return value


def _relative(body: str, text: str) -> timedelta:
    """``1d2h``, ``45 minutes``, ``1 day, 3 hours``: each unit at most once."""
    total = 0
    seen: set[str] = set()
    pos = 0
    while pos < len(body):
        part = _PART.match(body, pos)
        if part is None:
            raise _refuse(
                f"reboot_time {_shown(text)} is not a date and time I can read.",
                f"无法将 reboot_time {_shown(text)} 识别为日期时间。",
            )
        unit = _UNITS.get(part.group(2))
        if unit is None:
            raise _refuse(
                f"reboot_time {_shown(text)}: {part.group(2)!r} is not a unit "
                "(use w/weeks, d/days, h/hours or m/minutes).",
                f"reboot_time {_shown(text)} 中的 {part.group(2)!r} 不是时间单位"
                "（请使用 w/weeks、d/days、h/hours 或 m/minutes）。",
            )
        if unit in seen:
            raise _refuse(
                f"reboot_time {_shown(text)} names the same unit twice.",
                f"reboot_time {_shown(text)} 中同一时间单位出现了两次。",
            )
        seen.add(unit)
        total += int(part.group(1)) * _SECONDS[unit]
        separator = _SEPARATOR.match(body, part.end())
        pos = separator.end() if separator is not None else part.end()
    if not seen:
        raise _refuse(
            f"reboot_time {_shown(text)} gives no amount of time before 'ago'.",
            f"reboot_time {_shown(text)} 在 'ago' 之前没有给出时长。",
        )
    if total > MAX_AGE.total_seconds() + 86400:
        raise _refuse(
            f"reboot_time {_shown(text)} is more than 365 days ago.",
            f"reboot_time {_shown(text)} 距今超过 365 天。",
        )
    return timedelta(seconds=total)


def parse_reboot_time(text: str, now: datetime) -> datetime:
    """The UTC time ``text`` names, read against ``now`` (an aware datetime).

    Raises :class:`InvalidInputError` (parameter ``reboot_time``) naming the accepted formats.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if len(text) > MAX_INPUT_CHARS:
        raise _refuse(
            f"reboot_time is {len(text)} characters long; a date and time needs at most "
            f"{MAX_INPUT_CHARS}.",
            f"reboot_time 长达 {len(text)} 个字符；日期时间最多只需 {MAX_INPUT_CHARS} 个字符。",
        )
    cleaned = " ".join(text.split()).lower()
    if not cleaned:
        raise _refuse("reboot_time is empty.", "reboot_time 为空。")
    if (iso := _ISO.fullmatch(cleaned)) is not None:
        value = _iso(iso, text)
    elif cleaned.endswith(" ago") or (cleaned.endswith("ago") and cleaned[:1].isdigit()):
        value = now.astimezone(UTC) - _relative(cleaned[: -len("ago")].strip(), text)
    elif _DATE_ONLY.fullmatch(cleaned):
        raise _refuse(
            f"reboot_time {_shown(text)} is a date without a time of day; add the time, even an "
            "approximate one (for example 2026-11-30T12:00).",
            f"reboot_time {_shown(text)} 只有日期，没有具体时刻；请加上时刻，大概的也可以"
            "（例如 2026-11-30T12:00）。",
        )
    elif _WORDS.fullmatch(cleaned):
        raise _refuse(
            f"reboot_time {_shown(text)}: words such as 'yesterday' are not read here, because "
            "they need a time of day and the user's time zone. Convert it to ISO 8601 with the "
            "user's UTC offset (ask the user if unsure).",
            f"reboot_time {_shown(text)} 是文字描述；此处不识别“昨天”之类的词语，因为它们需要具体"
            "时刻和用户所在的时区。请将其换算为 ISO 8601 时间，并带上用户所在时区的 UTC 偏移"
            "（如不确定，请询问用户）。",
        )
    else:
        raise _refuse(
            f"reboot_time {_shown(text)} is not a date and time I can read.",
            f"无法将 reboot_time {_shown(text)} 识别为日期时间。",
        )
    reference = now.astimezone(UTC)
    if value > reference + FUTURE_TOLERANCE:
        raise _refuse(
            f"reboot_time {_shown(text)} is in the future ({value:%Y-%m-%dT%H:%M}Z, now "
            f"{reference:%Y-%m-%dT%H:%M}Z); a time without a zone is read as UTC.",
            f"reboot_time {_shown(text)} 是将来的时间（{value:%Y-%m-%dT%H:%M}Z，现在是 "
            f"{reference:%Y-%m-%dT%H:%M}Z）；不带时区的时间按 UTC 解释。",
        )
    if value < reference - MAX_AGE:
        raise _refuse(
            f"reboot_time {_shown(text)} ({value:%Y-%m-%d}) is more than 365 days ago; "
            "no log window reaches that far.",
            f"reboot_time {_shown(text)}（{value:%Y-%m-%d}）距今超过 365 天；日志时间窗口"
            "无法回溯到那么早。",
        )
    return value


def days_back(when: datetime, now: datetime) -> int:
    """Whole days from ``when`` to ``now``, rounded up, plus one day of margin (at least 1)."""
    return max(1, math.ceil((now - when).total_seconds() / 86400) + 1)
