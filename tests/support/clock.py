"""A Clock whose time moves only when told to (or when something sleeps on it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

DEFAULT_START = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


class ManualClock:
    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self._now = start
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._now += timedelta(seconds=seconds)


class ShiftedClock:
    """The real time plus an offset the test moves, sleeping for real: expiry is testable
    against a simulator whose Cloud Assistant runs take real time."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
