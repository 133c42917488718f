"""Flow control for fleets: per-API rate limits and a bound on the calls in flight.

Alibaba Cloud limits each API per account (``Throttling.User``) over a time window. A fleet scan
that fires its batched calls unpaced would spend its time in throttling errors and backoff; the
limiter paces each action to at most ``calls`` per ``per_seconds`` window (sliding, as the
service counts), and when the service still throttles and says when to come back
(``x-acs-retry-after``), every call of that action waits until then, not only the one refused.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

__all__ = ["DEFAULT_RATE_LIMITS", "RateLimit", "RateLimiter", "parse_rate_limits"]


@dataclass(frozen=True)
class RateLimit:
    calls: int
    """Calls allowed in any window of ``per_seconds``."""
    per_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.calls < 1 or self.per_seconds <= 0:
            raise ValueError("a rate limit needs calls >= 1 and per_seconds > 0")


DEFAULT_RATE_LIMITS: Mapping[str, RateLimit] = {
    "DescribeInstances": RateLimit(10),
    "DescribeInstanceHistoryEvents": RateLimit(10),
    "DescribeCloudAssistantStatus": RateLimit(10),
    "RunCommand": RateLimit(5),
    "DescribeInvocations": RateLimit(10),
    "DescribeInvocationResults": RateLimit(10),
    "LookupEvents": RateLimit(5),
}
"""Conservative defaults, well below the documented per-account API limits."""
DEFAULT_LIMIT = RateLimit(5)
SLACK_SECONDS = 0.03
"""Added to each window: the service counts arrivals, and requests do not all take equally long
to arrive."""


def parse_rate_limits(text: str) -> dict[str, RateLimit]:
    """``RunCommand=2,DescribeInvocationResults=5/2s`` -> limits (calls per second, or per
    ``Ns``). Raises ValueError naming the bad entry."""
    limits: dict[str, RateLimit] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        action, sep, value = entry.partition("=")
        if not sep or not action.strip():
            raise ValueError(f"{entry!r} is not ACTION=CALLS or ACTION=CALLS/SECONDSs")
        calls, _, window = value.strip().partition("/")
        try:
            per = float(window.strip().removesuffix("s")) if window else 1.0
            limits[action.strip()] = RateLimit(int(calls), per)
        except ValueError:
            raise ValueError(
                f"{entry!r} is not ACTION=CALLS or ACTION=CALLS/SECONDSs (e.g. RunCommand=2/1s)"
            ) from None
    return limits


class RateLimiter:
    """Paces calls per action and bounds the calls in flight. One per event loop."""

    def __init__(
        self,
        limits: Mapping[str, RateLimit] | None = None,
        *,
        default: RateLimit = DEFAULT_LIMIT,
        concurrency: int = 16,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.limits = dict(DEFAULT_RATE_LIMITS if limits is None else limits)
        self.default = default
        self.concurrency = concurrency
        self._sent: dict[str, deque[float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._paused_until: dict[str, float] = {}
        self._slots: asyncio.Semaphore | None = None
        self.calls: Counter[str] = Counter()
        """Attempts started, per action (retries included)."""
        self.throttled: Counter[str] = Counter()
        """Attempts the service refused with throttling, per action."""

    def limit_of(self, action: str) -> RateLimit:
        return self.limits.get(action, self.default)

    async def _pace(self, action: str) -> None:
        lock = self._locks.setdefault(action, asyncio.Lock())
        limit = self.limit_of(action)
        sent = self._sent.setdefault(action, deque())
        async with lock:
            while True:
                now = time.monotonic()
                wait = self._paused_until.get(action, 0.0) - now
                while sent and sent[0] <= now - limit.per_seconds - SLACK_SECONDS:
                    sent.popleft()
                if len(sent) >= limit.calls:
                    wait = max(wait, sent[0] + limit.per_seconds + SLACK_SECONDS - now)
                if wait <= 0:
                    sent.append(now)
                    return
                await asyncio.sleep(wait)

    @asynccontextmanager
    async def slot(self, action: str) -> AsyncIterator[None]:
        """Wait for the action's rate limit and a free slot, then hold the slot for the call."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        await self._pace(action)
        async with self._slots:
            self.calls[action] += 1
            yield

    def pause(self, action: str, seconds: float) -> None:
        """The service throttled ``action`` and asked for ``seconds`` of quiet: no call of it
        starts before then."""
        self.throttled[action] += 1
        until = time.monotonic() + max(0.0, seconds)
        self._paused_until[action] = max(self._paused_until.get(action, 0.0), until)
