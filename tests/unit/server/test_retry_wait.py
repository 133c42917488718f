"""The gateway's retry loop (tenacity): which failures are retried, how long it waits between
attempts (x-acs-retry-after first, else full jitter under the exponential ceiling), and that
the sleep is awaited through the function given."""

from __future__ import annotations

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException, ThrottlingException

from ecs_reboot_diagnosis_mcp.aliyun.retry import RetryPolicy, retrying

pytestmark = pytest.mark.anyio
POLICY = RetryPolicy(max_attempts=4, backoff_period_ms=400, max_backoff_ms=1000)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def attempts_and_sleeps(failures: list[BaseException]) -> tuple[int, list[float]]:
    slept: list[float] = []
    calls = 0

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def call() -> str:
        nonlocal calls
        calls += 1
        if failures:
            raise failures.pop(0)
        return "ok"

    assert await retrying(POLICY, sleep=sleep)(call) == "ok"
    return calls, slept


def throttled(retry_after: int | None = None) -> ThrottlingException:
    return ThrottlingException(
        status_code=400, code="Throttling.User", message="slow down", retry_after=retry_after
    )


async def test_retry_after_is_honoured_up_to_the_cap() -> None:
    calls, slept = await attempts_and_sleeps([throttled(300), throttled(5000)])
    assert calls == 3
    assert slept == [0.3, 1.0]


async def test_without_retry_after_the_wait_is_jittered_under_the_exponential_ceiling() -> None:
    for _ in range(20):
        failures: list[BaseException] = [ConnectionResetError(), ConnectionResetError(),
                                          ConnectionResetError()]  # fmt: skip
        calls, slept = await attempts_and_sleeps(failures)
        assert calls == 4
        ceilings = [0.4, 0.8, 1.0]
        assert all(0 <= s <= c for s, c in zip(slept, ceilings, strict=True)), slept


async def test_a_client_error_is_not_retried_and_the_last_failure_is_raised_as_it_was() -> None:
    denied = ClientException(status_code=403, code="Forbidden.RAM", message="denied")
    with pytest.raises(ClientException) as caught:
        await attempts_and_sleeps([denied])
    assert caught.value is denied
    with pytest.raises(ThrottlingException):
        await attempts_and_sleeps([throttled(1) for _ in range(4)])
