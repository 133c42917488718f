"""The fleet limiter: pacing per action over a sliding window, pauses after throttling, the
bound on calls in flight, and the rate-limit setting's syntax."""

from __future__ import annotations

import asyncio
import time

import pytest

from ecs_reboot_diagnosis_mcp.aliyun.flow_control import RateLimit, RateLimiter, parse_rate_limits


def test_calls_are_paced_to_the_limit_of_their_action() -> None:
    limiter = RateLimiter({"A": RateLimit(2, 0.2), "B": RateLimit(50)})
    starts: dict[str, list[float]] = {"A": [], "B": []}

    async def call(action: str) -> None:
        async with limiter.slot(action):
            starts[action].append(time.monotonic())

    async def main() -> None:
        await asyncio.gather(*(call("A") for _ in range(6)), *(call("B") for _ in range(6)))

    began = time.monotonic()
    asyncio.run(main())
    a = sorted(starts["A"])
    # at most 2 calls of A in any 0.2 s window: 6 calls take at least 2 windows
    assert a[-1] - began >= 0.4
    for i in range(2, len(a)):
        assert a[i] - a[i - 2] >= 0.2
    assert max(starts["B"]) - began < 0.35  # B is not held up by A
    assert limiter.calls["A"] == 6 and limiter.calls["B"] == 6


def test_a_pause_holds_every_call_of_that_action() -> None:
    limiter = RateLimiter({"A": RateLimit(100)})

    async def main() -> float:
        limiter.pause("A", 0.3)
        began = time.monotonic()
        async with limiter.slot("A"):
            return time.monotonic() - began

    assert asyncio.run(main()) >= 0.29
    assert limiter.throttled["A"] == 1


def test_calls_in_flight_are_bounded() -> None:
    limiter = RateLimiter({"A": RateLimit(1000)}, concurrency=3)
    active = peak = 0

    async def call() -> None:
        nonlocal active, peak
        async with limiter.slot("A"):
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.01)
            active -= 1

    async def main() -> None:
        await asyncio.gather(*(call() for _ in range(20)))

    asyncio.run(main())
    assert peak == 3


def test_the_setting_syntax() -> None:
    assert parse_rate_limits("RunCommand=2, DescribeInvocationResults=5/2s") == {
        "RunCommand": RateLimit(2, 1.0),
        "DescribeInvocationResults": RateLimit(5, 2.0),
    }
    assert parse_rate_limits("") == {}
    for bad in ("RunCommand", "=2", "RunCommand=x", "RunCommand=0", "RunCommand=2/0s"):
        with pytest.raises(ValueError, match="ACTION=CALLS"):
            parse_rate_limits(bad)
