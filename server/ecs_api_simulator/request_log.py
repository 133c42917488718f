"""The requests the simulator served: what tests count to prove retries from the server's side.

Counts are exact for the whole run; the last ``keep`` records are kept in detail (action, HTTP
status, error code, arrival and answer times on the world's clock). Nothing about the caller's
credentials is recorded.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime

DROPPED = "ConnectionDropped"
"""The code recorded for a request whose connection was closed without an answer (status 0)."""


@dataclass(frozen=True)
class RequestRecord:
    action: str
    """The API action, ``""`` when the request named none."""
    status: int
    """The HTTP status answered; 0 when the connection was dropped."""
    code: str
    """The error code; ``""`` for a success, ``ConnectionDropped`` for a dropped connection."""
    at: datetime
    """When the request arrived, on the simulator's clock."""
    answered: datetime | None = None
    """When its answer (or dropped connection) was ready, after any scripted latency."""
    instance_ids: tuple[str, ...] = ()
    """The instances the request named (``InstanceId``, ``InstanceId.N``, ``ResourceId.N``,
    ``InstanceIds``), for tests of what was asked about which instance."""

    @property
    def ok(self) -> bool:
        return self.status == 200


class RequestLog:
    def __init__(self, keep: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._records: deque[RequestRecord] = deque(maxlen=keep)

    def record(self, record: RequestRecord) -> None:
        with self._lock:
            self._counts[(record.action, record.code)] += 1
            self._records.append(record)

    def count(self, action: str | None = None, *, code: str | None = None) -> int:
        """Requests of ``action`` (None: any) that ended with ``code`` (None: any, "": OK)."""
        with self._lock:
            return sum(
                n
                for (a, c), n in self._counts.items()
                if (action is None or a == action) and (code is None or c == code)
            )

    def records(self, action: str | None = None) -> list[RequestRecord]:
        """The kept records, oldest first."""
        with self._lock:
            return [r for r in self._records if action is None or r.action == action]

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self._records.clear()
