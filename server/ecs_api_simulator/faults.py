"""Scripted faults: the next N calls of an action answer with a given error (throttling, 5xx)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ecs_api_simulator.api_errors import ApiError

_DEFAULT_MESSAGES = {
    "Throttling": "Request was denied due to request throttling.",
    "Throttling.User": "Request was denied due to user flow control.",
    "Throttling.Api": "Request was denied due to api flow control.",
    "InternalError": (
        "The request processing has failed due to some unknown error, exception or failure."
    ),
    "ServiceUnavailable": "The request has failed due to a temporary failure of the server.",
}


@dataclass
class Fault:
    action: str
    code: str
    status: int
    message: str
    remaining: int
    retry_after_ms: int | None = None

    def to_error(self) -> ApiError:
        headers = {}
        if self.retry_after_ms is not None:
            headers["x-acs-retry-after"] = str(self.retry_after_ms)
        message = self.message or _DEFAULT_MESSAGES.get(self.code, f"Simulated {self.code}.")
        return ApiError(self.status, self.code, message, headers=headers)


class FaultQueue:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(
        self,
        action: str,
        code: str,
        *,
        status: int = 400,
        message: str = "",
        times: int = 1,
        retry_after_ms: int | None = None,
    ) -> None:
        with self._lock:
            self._faults.append(Fault(action, code, status, message, times, retry_after_ms))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, action: str) -> ApiError | None:
        """The error for this call of ``action`` (``*`` faults match every action), if any."""
        with self._lock:
            for fault in self._faults:
                if fault.action in (action, "*") and fault.remaining > 0:
                    fault.remaining -= 1
                    error = fault.to_error()
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return error
        return None
