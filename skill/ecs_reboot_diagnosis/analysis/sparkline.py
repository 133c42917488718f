"""A metric series as a one-line sparkline (``▁▂▃▄▅▆▇█``), with the reboot marked on it.

A memory climb to an OOM is seen at a glance: ``▂▃▃▄▅▅▆▇██│▁▁``. Pure functions: the series is
first reduced to at most :data:`WIDTH` buckets (the maximum of each, so a short peak is never
averaged away), stored with the report, and drawn when the report is rendered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

BARS: Final = "▁▂▃▄▅▆▇█"
GAP: Final = "·"
"""A bucket without a data point (the agent did not report, or the instance was down)."""
REBOOT_MARK: Final = "│"
WIDTH: Final = 32


def buckets(
    points: Sequence[tuple[datetime, float]], width: int = WIDTH
) -> tuple[list[float | None], datetime, datetime] | None:
    """The series as at most ``width`` buckets centred on equally spaced times from its first
    to its last point, each the maximum of the points nearest its centre (None: no point);
    with the first and last centre. A series of ``width`` points or fewer keeps one bucket per
    point. None when there is no point."""
    if not points or width < 1:
        return None
    ordered = sorted(points, key=lambda p: p[0])
    start, end = ordered[0][0], ordered[-1][0]
    count = min(width, len(ordered))
    span = (end - start).total_seconds()
    out: list[float | None] = [None] * count
    for when, value in ordered:
        index = 0 if span <= 0 else round((when - start).total_seconds() / span * (count - 1))
        current = out[index]
        out[index] = value if current is None else max(current, value)
    return out, start, end


def scale_for(values: Sequence[float | None], *, percent: bool) -> tuple[float, float]:
    """The range the bars span: 0-100 for a percentage (so 95% looks full whatever the rest),
    otherwise the series' own minimum and maximum."""
    present = [v for v in values if v is not None]
    if percent:
        return 0.0, max(100.0, *present) if present else 100.0
    if not present:
        return 0.0, 1.0
    return min(present), max(present)


def bars(values: Sequence[float | None], low: float, high: float) -> str:
    """One bar per value, from ``▁`` at ``low`` to ``█`` at ``high``; a flat series sits in the
    middle; a missing value is a gap."""
    top = len(BARS) - 1
    out: list[str] = []
    for value in values:
        if value is None:
            out.append(GAP)
        elif high <= low:
            out.append(BARS[top // 2])
        else:
            level = round((min(max(value, low), high) - low) / (high - low) * top)
            out.append(BARS[level])
    return "".join(out)


def mark_position(start: datetime, end: datetime, count: int, when: datetime | None) -> int | None:
    """Where ``when`` falls among ``count`` buckets centred from ``start`` to ``end``: the
    number of bucket centres before it (the mark goes there); None outside the span."""
    if when is None or count < 1 or not start <= when <= end:
        return None
    span = (end - start).total_seconds()
    if span <= 0 or count == 1:
        return count
    position = (when - start).total_seconds() / span * (count - 1)
    return min(count, math.floor(position) + 1)


@dataclass(frozen=True)
class Sparkline:
    text: str
    """The bars, with :data:`REBOOT_MARK` where the reboot happened (when it is in the span)."""
    low: float
    high: float
    marked: bool


def sparkline(
    values: Sequence[float | None],
    start: datetime,
    end: datetime,
    *,
    percent: bool,
    reboot: datetime | None = None,
) -> Sparkline | None:
    """The sparkline of bucketed ``values`` over ``start``..``end``; None without a value."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    low, high = scale_for(values, percent=percent)
    text = bars(values, low, high)
    at = mark_position(start, end, len(values), reboot)
    if at is not None:
        text = text[:at] + REBOOT_MARK + text[at:]
    return Sparkline(text=text, low=min(present), high=max(present), marked=at is not None)
