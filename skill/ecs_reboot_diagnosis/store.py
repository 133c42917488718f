"""In-memory diagnosis store, bounded by a time to live and a maximum count."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta

from ecs_reboot_diagnosis.diagnosis import Diagnosis
from ecs_reboot_diagnosis.errors import UnknownDiagnosisError
from ecs_reboot_diagnosis.ports import Clock

DEFAULT_TTL = timedelta(hours=24)
DEFAULT_MAX_DIAGNOSES = 256


class InMemoryDiagnosisStore:
    """Keeps the most recently used diagnoses.

    An entry expires ``ttl`` after its last update; when more than ``max_diagnoses`` are stored,
    the least recently updated is evicted. Looking up an expired id says so, for as long as the
    store still remembers having issued it (a bounded set of tombstones).
    """

    def __init__(
        self,
        clock: Clock,
        *,
        ttl: timedelta = DEFAULT_TTL,
        max_diagnoses: int = DEFAULT_MAX_DIAGNOSES,
    ) -> None:
        if max_diagnoses < 1:
            raise ValueError("max_diagnoses must be at least 1")
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        self._clock = clock
        self._ttl = ttl
        self._max = max_diagnoses
        self._items: OrderedDict[str, tuple[datetime, Diagnosis]] = OrderedDict()
        self._evicted: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._items)

    def add(self, diagnosis: Diagnosis) -> None:
        with self._lock:
            if diagnosis.id in self._items or diagnosis.id in self._evicted:
                raise ValueError(f"diagnosis id {diagnosis.id} was already issued")
            self._store(diagnosis)

    def put(self, diagnosis: Diagnosis) -> None:
        with self._lock:
            self._lookup(diagnosis.id)
            self._store(diagnosis)

    def get(self, diagnosis_id: str) -> Diagnosis:
        with self._lock:
            return self._lookup(diagnosis_id)

    def _store(self, diagnosis: Diagnosis) -> None:
        self._items[diagnosis.id] = (self._clock.now() + self._ttl, diagnosis)
        self._items.move_to_end(diagnosis.id)
        while len(self._items) > self._max:
            oldest, _ = self._items.popitem(last=False)
            self._remember_evicted(oldest)

    def _lookup(self, diagnosis_id: str) -> Diagnosis:
        self._expire()
        item = self._items.get(diagnosis_id)
        if item is None:
            raise UnknownDiagnosisError(diagnosis_id, expired=diagnosis_id in self._evicted)
        return item[1]

    def _expire(self) -> None:
        now = self._clock.now()
        for key in [k for k, (deadline, _) in self._items.items() if deadline <= now]:
            del self._items[key]
            self._remember_evicted(key)

    def _remember_evicted(self, diagnosis_id: str) -> None:
        self._evicted[diagnosis_id] = None
        while len(self._evicted) > 4 * self._max:
            self._evicted.popitem(last=False)
