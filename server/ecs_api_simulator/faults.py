"""Scripted faults, per action: API errors (throttling, 5xx), added latency, rate limits, dropped
connections, and the Cloud Assistant outcome of RunCommand invocations.

A fault comes from a scenario's ``faults`` list or from ``SimulatorServer.inject_fault``; both
go through :class:`FaultSpec`, so the same rules apply (``faults[]`` in
references/simulator-scenarios.md). Faults
apply to authenticated calls only: a request that fails its signature check is refused first.
For each call, in this order:

1. every matching ``latency`` fault adds its delay;
2. every matching ``rate_limit`` counts the call; a full window refuses it (``Throttling.User``);
3. the first matching ``error`` or ``drop`` fault answers it (after its own ``delay_ms``); a
   ``drop`` with ``processed`` handles the request first, so only the answer is lost.

``invocation`` faults are not consulted per call: RunCommand takes one when it creates an
invocation, so a call refused for another reason does not use one up.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ecs_api_simulator.api_errors import ApiError
from ecs_api_simulator.invocation_codes import ERROR_INFO, INVOCATION_STATUSES

FaultKind = Literal["error", "latency", "rate_limit", "drop", "invocation"]

DEFAULT_MESSAGES = {
    "Throttling": "Request was denied due to request throttling.",
    "Throttling.User": "Request was denied due to user flow control.",
    "Throttling.Api": "Request was denied due to api flow control.",
    "InternalError": (
        "The request processing has failed due to some unknown error, exception or failure."
    ),
    "ServiceUnavailable": "The request has failed due to a temporary failure of the server.",
}
RATE_LIMIT_CODE = "Throttling.User"

_ERROR_FIELDS = {"code", "status", "message", "retry_after_ms"}
_INVOCATION_FIELDS = {
    "error_code",
    "invocation_status",
    "output_quota",
    "pending_seconds",
    "running_seconds",
}
_ALLOWED: dict[str, set[str]] = {
    "error": {*_ERROR_FIELDS, "times", "delay_ms"},
    "latency": {"times", "delay_ms"},
    "rate_limit": {*_ERROR_FIELDS, "limit", "window_seconds"},
    "drop": {"times", "delay_ms", "processed"},
    "invocation": {*_INVOCATION_FIELDS, "times"},
}


class FaultSpec(BaseModel):
    """One fault, as written in ``scenario.json`` (``faults[]``) or given to ``inject_fault``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str = Field(min_length=1)
    """API action name (``DescribeInstances``, ``RunCommand``, ``LookupEvents``); ``*``: any."""
    kind: FaultKind = "error"
    code: str = ""
    """``error``: the error code (required). ``rate_limit``: default ``Throttling.User``."""
    status: int = Field(default=400, ge=400, le=599)
    message: str = ""
    times: int | None = Field(default=1, ge=1)
    """How many calls the fault applies to; ``None`` (JSON ``null``): every call."""
    retry_after_ms: int | None = Field(default=None, ge=0)
    delay_ms: int = Field(default=0, ge=0, le=600_000)
    """``latency``: the added delay (required). ``error``/``drop``: wait this long first."""
    limit: int | None = Field(default=None, ge=1)
    """``rate_limit``: calls allowed per window (required)."""
    window_seconds: float = Field(default=1.0, gt=0, le=86_400)
    error_code: str | None = None
    """``invocation``: the Cloud Assistant ErrorCode the runs end with."""
    invocation_status: str | None = None
    output_quota: int | None = Field(default=None, ge=0)
    """``invocation``: keep at most this many output bytes (head and tail, like the agent)."""
    pending_seconds: float | None = Field(default=None, ge=0)
    running_seconds: float | None = Field(default=None, ge=0)
    processed: bool = False
    """``drop``: handle the request first, then close the connection: the answer is lost."""

    @model_validator(mode="after")
    def _fits_its_kind(self) -> FaultSpec:
        stray = sorted(self.model_fields_set - {"action", "kind"} - _ALLOWED[self.kind])
        if stray:
            raise ValueError(f"{', '.join(stray)} do(es) not apply to a {self.kind!r} fault")
        if self.kind == "error" and not self.code:
            raise ValueError("an 'error' fault needs a code")
        if self.kind == "latency" and self.delay_ms <= 0:
            raise ValueError("a 'latency' fault needs delay_ms > 0")
        if self.kind == "rate_limit" and self.limit is None:
            raise ValueError("a 'rate_limit' fault needs limit (calls per window_seconds)")
        if self.kind == "invocation":
            if self.action != "RunCommand":
                raise ValueError("an 'invocation' fault applies to action 'RunCommand' only")
            if not self.model_fields_set & _INVOCATION_FIELDS:
                raise ValueError(
                    "an 'invocation' fault needs one of " + ", ".join(sorted(_INVOCATION_FIELDS))
                )
            if self.error_code is not None and self.error_code not in ERROR_INFO:
                raise ValueError(
                    f"error_code {self.error_code!r} is not one of {sorted(ERROR_INFO)}"
                )
            if self.invocation_status is not None and self.error_code is None:
                raise ValueError("invocation_status needs an error_code to end with")
            if (
                self.invocation_status is not None
                and self.invocation_status not in INVOCATION_STATUSES
            ):
                raise ValueError(
                    f"invocation_status {self.invocation_status!r} is not one of "
                    f"{sorted(INVOCATION_STATUSES)}"
                )
        return self

    def matches(self, action: str) -> bool:
        return self.action in (action, "*")

    def to_error(self) -> ApiError:
        code = self.code or RATE_LIMIT_CODE
        headers = {}
        if self.retry_after_ms is not None:
            headers["x-acs-retry-after"] = str(self.retry_after_ms)
        message = self.message or DEFAULT_MESSAGES.get(code, f"Simulated {code}.")
        return ApiError(self.status, code, message, headers=headers)


@dataclass(frozen=True)
class FaultOutcome:
    """What the faults do to one call: wait, then answer an error, drop it, or go on."""

    delay_seconds: float = 0.0
    error: ApiError | None = None
    drop: bool = False
    drop_after_processing: bool = False


NO_FAULT = FaultOutcome()


@dataclass
class _Active:
    spec: FaultSpec
    remaining: int | None
    calls: deque[datetime] = field(default_factory=deque)

    def use(self) -> None:
        if self.remaining is not None:
            self.remaining -= 1

    @property
    def spent(self) -> bool:
        return self.remaining is not None and self.remaining <= 0


class FaultQueue:
    """The faults in force, in the order they were added. Thread-safe."""

    def __init__(self) -> None:
        self._faults: list[_Active] = []
        self._lock = threading.Lock()

    def add(self, spec: FaultSpec) -> None:
        remaining = None if spec.kind == "rate_limit" else spec.times
        with self._lock:
            self._faults.append(_Active(spec, remaining))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[FaultSpec]:
        """The faults still in force."""
        with self._lock:
            return [f.spec for f in self._faults]

    def take(self, action: str, now: datetime) -> FaultOutcome:
        """What the faults do to this call of ``action``; uses up what applies."""
        with self._lock:
            if not self._faults:
                return NO_FAULT
            delay_ms = 0
            for fault in self._faults:
                if fault.spec.kind == "latency" and fault.spec.matches(action):
                    delay_ms += fault.spec.delay_ms
                    fault.use()
            refused: ApiError | None = None
            for fault in self._faults:
                spec = fault.spec
                if spec.kind != "rate_limit" or not spec.matches(action):
                    continue
                since = now - timedelta(seconds=spec.window_seconds)
                while fault.calls and fault.calls[0] <= since:
                    fault.calls.popleft()
                if len(fault.calls) >= (spec.limit or 0):
                    refused = refused or spec.to_error()
                else:
                    fault.calls.append(now)
            outcome = FaultOutcome(delay_ms / 1000, refused)
            if refused is None:
                for fault in self._faults:
                    spec = fault.spec
                    if spec.kind in ("error", "drop") and spec.matches(action):
                        fault.use()
                        outcome = FaultOutcome(
                            (delay_ms + spec.delay_ms) / 1000,
                            spec.to_error() if spec.kind == "error" else None,
                            drop=spec.kind == "drop",
                            drop_after_processing=spec.processed,
                        )
                        break
            self._faults = [f for f in self._faults if not f.spent]
            return outcome

    def take_invocation(self) -> FaultSpec | None:
        """The ``invocation`` fault for the RunCommand call creating an invocation, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.spec.kind == "invocation":
                    fault.use()
                    if fault.spent:
                        self._faults.remove(fault)
                    return fault.spec
        return None
