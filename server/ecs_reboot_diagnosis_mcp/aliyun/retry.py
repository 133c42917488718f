"""Retrying SDK calls: the gateway retries on the event loop, not the SDK.

Two facts about the official Python SDK (alibabacloud-tea-openapi 0.4, darabonba-core 1.0)
make the gateway own its retries:

- the SDK's own retry loop sleeps with ``time.sleep`` between attempts, in the ``*_async``
  methods too (``Client.do_request_async`` calls ``DaraCore.sleep``): it would freeze the event
  loop there, and hold a worker thread on the synchronous path the gateway uses
  (``sdk_transport``), for the whole backoff;
- on the async path it never retries a connection that the server closed without answering:
  aiohttp's ``ServerDisconnectedError`` is not an ``OSError``, so darabonba does not turn it
  into the ``RetryError`` its retry conditions match.

So the SDK is configured for a single attempt (``client_factory.retry_options``) and the loop
is tenacity's (:func:`retrying`): :func:`retry_reason` decides which failures are worth another
attempt (throttling, transient server errors (any 5xx), network failures (refused, reset,
timed out) and dropped connections); the backoff is exponential with full jitter
(``wait_random_exponential``), awaited with ``asyncio.sleep`` (or the sleep given); a
``x-acs-retry-after`` header (the SDK's ``ThrottlingException.retry_after``) is honoured up to
the cap (:class:`WaitRetryAfterOrJitter`). What stays hand-written is what no library knows:
which of the SDK's exceptions mean "try again", and where it hides the retry-after value.

The SDK's exception classes are imported when a failure is examined: by then the SDK is loaded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.wait import wait_base

from ecs_reboot_diagnosis_mcp.aliyun.error_codes import RETRYABLE_CODES

RetryReason = Literal["throttled", "server", "network", "dropped"]

_DROPPED_CONNECTION_ERRORS = frozenset(
    {"ServerDisconnectedError", "ClientPayloadError", "RemoteDisconnected"}
)
"""Transport errors (aiohttp, http.client) meaning the server closed the connection without a
(complete) answer. Matched by class name so as not to depend on the SDK's HTTP library."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    """Total attempts, the first one included."""
    backoff_period_ms: int
    max_backoff_ms: int


def _inner(exc: BaseException) -> BaseException:
    from Tea.exceptions import UnretryableException

    if isinstance(exc, UnretryableException) and exc.inner_exception is not None:
        inner = exc.inner_exception
        return inner if isinstance(inner, BaseException) else exc
    return exc


def is_dropped_connection(exc: BaseException) -> bool:
    """The server closed the connection without a (complete) answer."""
    for cause in (exc, exc.__cause__, exc.__context__):
        if cause is None:
            continue
        if any(cls.__name__ in _DROPPED_CONNECTION_ERRORS for cls in type(cause).__mro__):
            return True
    text = str(getattr(exc, "message", "") or exc)
    return "closed connection without response" in text or "Server disconnected" in text


def is_untrusted_certificate(exc: BaseException) -> bool:
    """The endpoint's TLS certificate did not verify: trying again cannot help."""
    for cause in (exc, _inner(exc), exc.__cause__, exc.__context__):
        if cause is None:
            continue
        text = str(getattr(cause, "message", "") or cause)
        if "CERTIFICATE_VERIFY_FAILED" in text or "SSLCertVerificationError" in text:
            return True
    return False


def retry_reason(exc: BaseException) -> RetryReason | None:
    """Why a failed attempt is worth repeating, or None when it is not."""
    from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
    from darabonba.exceptions import RetryError as DaraRetryError
    from Tea.exceptions import RetryError as TeaRetryError

    if isinstance(exc, AlibabaCloudException):
        code = str(exc.code or "")
        status = getattr(exc, "status_code", None)
        if code.startswith("Throttling") or getattr(exc, "name", "") == "ThrottlingException":
            return "throttled"
        if code in RETRYABLE_CODES or (isinstance(status, int) and status >= 500):
            return "server"
        return None
    inner = _inner(exc)
    if isinstance(inner, AlibabaCloudException):
        return retry_reason(inner)
    if is_untrusted_certificate(inner):
        return None
    if is_dropped_connection(inner):
        return "dropped"
    if isinstance(inner, DaraRetryError | TeaRetryError | OSError | TimeoutError):
        return "network"
    return None


def retry_after_ms(exc: BaseException) -> int | None:
    value = getattr(_inner(exc), "retry_after", None)
    return value if isinstance(value, int) else None


class WaitRetryAfterOrJitter(wait_base):
    """The server's ``x-acs-retry-after`` when the failure carries one (capped at the policy's
    maximum), else exponential backoff with full jitter: uniform(0, min(max, base * 2**(n-1)))
    after the n-th failed attempt."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.cap_s = policy.max_backoff_ms / 1000
        self.jitter = wait_random_exponential(
            multiplier=policy.backoff_period_ms / 1000, max=self.cap_s
        )

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        failure = outcome.exception() if outcome is not None else None
        after = retry_after_ms(failure) if failure is not None else None
        if after is not None:
            return min(max(after, 0) / 1000, self.cap_s)
        return float(self.jitter(retry_state))


def retrying(
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    before_sleep: Callable[[RetryCallState], None] | None = None,
) -> AsyncRetrying:
    """The retry loop of one SDK call: at most ``policy.max_attempts`` attempts, only for the
    failures :func:`retry_reason` names; the last failure is re-raised as it was."""
    return AsyncRetrying(
        stop=stop_after_attempt(max(1, policy.max_attempts)),
        wait=WaitRetryAfterOrJitter(policy),
        retry=retry_if_exception(lambda exc: retry_reason(exc) is not None),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
