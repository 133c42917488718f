"""In-memory diagnosis store, bounded by a time to live and a maximum count per owner.

The SQLite store (``ecs_reboot_diagnosis_mcp.sqlite_store``) keeps the same contract on disk;
``tests/unit/core/test_store.py`` runs one suite over both.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from ecs_reboot_diagnosis.analysis.recurrence import summarize
from ecs_reboot_diagnosis.diagnosis import Diagnosis
from ecs_reboot_diagnosis.errors import (
    ConcurrentUpdateError,
    QuotaExceededError,
    UnknownDiagnosisError,
)
from ecs_reboot_diagnosis.models import PastDiagnosis
from ecs_reboot_diagnosis.ports import MAX_HISTORY, Clock

DEFAULT_TTL = timedelta(hours=24)
DEFAULT_MAX_DIAGNOSES = 256
DEFAULT_HISTORY_TTL = timedelta(days=30)
DEFAULT_MAX_REPORTS = 1024
"""Reports each owner keeps for the recurrence line (the oldest make room): a reported
diagnosis is some 60 KiB of JSON, so the SQLite store holds at most about 60 MiB of them per
owner."""


def check_bounds(ttl: timedelta, max_diagnoses: int, history_ttl: timedelta) -> None:
    if max_diagnoses < 1:
        raise ValueError("max_diagnoses must be at least 1")
    if ttl <= timedelta(0):
        raise ValueError("ttl must be positive")
    if history_ttl <= timedelta(0):
        raise ValueError("history_ttl must be positive")


@dataclass(frozen=True, slots=True)
class _Summary:
    diagnosis_id: str
    region_id: str
    instance_id: str
    expires: datetime
    past: PastDiagnosis


class InMemoryDiagnosisStore:
    """Keeps each owner's most recently used diagnoses.

    An entry expires ``ttl`` after its last update. Every owner (an opaque caller identity, one
    per bearer token; "" on stdio) holds at most ``max_diagnoses`` entries, so one owner can
    never push out another's. When an owner at its quota adds one more, its own least recently
    updated *finished* diagnosis (the report rendered) makes room; when all of them are still
    in progress, :class:`QuotaExceededError` refuses the new one. Looking up an expired id says
    so, for as long as the store still remembers having issued it (a bounded set of tombstones).

    The summary of each report (:func:`~ecs_reboot_diagnosis.analysis.recurrence.summarize`)
    is kept ``history_ttl`` after the report, at most ``max_reports`` per owner, for
    :meth:`history`.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        ttl: timedelta = DEFAULT_TTL,
        max_diagnoses: int = DEFAULT_MAX_DIAGNOSES,
        history_ttl: timedelta = DEFAULT_HISTORY_TTL,
        max_reports: int = DEFAULT_MAX_REPORTS,
    ) -> None:
        check_bounds(ttl, max_diagnoses, history_ttl)
        self._clock = clock
        self._ttl = ttl
        self._max = max_diagnoses
        self._history_ttl = history_ttl
        self._max_reports = max_reports
        self._items: OrderedDict[str, tuple[datetime, Diagnosis]] = OrderedDict()
        self._evicted: OrderedDict[str, None] = OrderedDict()
        self._reports: dict[str, deque[_Summary]] = {}
        self._reported: set[str] = set()
        self._lock = threading.Lock()

    @property
    def max_per_owner(self) -> int:
        return self._max

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._items)

    def count(self, owner: str) -> int:
        """How many live diagnoses ``owner`` holds."""
        with self._lock:
            self._expire()
            return len(self._owned(owner))

    def add(self, diagnosis: Diagnosis) -> None:
        with self._lock:
            if diagnosis.id in self._items or diagnosis.id in self._evicted:
                raise ValueError(f"diagnosis id {diagnosis.id} was already issued")
            self._expire()
            owned = self._owned(diagnosis.owner)
            if len(owned) >= self._max:
                finished = [k for k in owned if self._items[k][1].report is not None]
                if not finished:
                    raise QuotaExceededError(self._max, self._ttl)
                del self._items[finished[0]]
                self._remember_evicted(finished[0])
            self._store(diagnosis)

    def put(self, diagnosis: Diagnosis) -> Diagnosis:
        with self._lock:
            stored = self._lookup(diagnosis.id)
            if stored.owner != diagnosis.owner:
                raise ValueError("a diagnosis cannot change its owner")
            if stored.revision != diagnosis.revision:
                raise ConcurrentUpdateError("diagnosis", diagnosis.id)
            updated = diagnosis.model_copy(update={"revision": diagnosis.revision + 1})
            self._store(updated)
            if updated.report is not None and updated.id not in self._reported:
                self._keep_summary(updated)
            return updated

    def get(self, diagnosis_id: str) -> Diagnosis:
        with self._lock:
            return self._lookup(diagnosis_id)

    def history(
        self,
        owner: str,
        region_id: str,
        instance_id: str,
        *,
        since: datetime,
        exclude_id: str = "",
    ) -> list[PastDiagnosis]:
        with self._lock:
            now = self._clock.now()
            found = [
                s.past
                for s in self._reports.get(owner, ())
                if s.expires > now
                and s.region_id == region_id
                and s.instance_id == instance_id
                and s.diagnosis_id != exclude_id
                and s.past.diagnosed_at >= since
            ]
        found.sort(key=lambda p: p.diagnosed_at, reverse=True)
        return found[:MAX_HISTORY]

    def _keep_summary(self, diagnosis: Diagnosis) -> None:
        assert diagnosis.report is not None
        kept = self._reports.setdefault(diagnosis.owner, deque())
        kept.append(
            _Summary(
                diagnosis_id=diagnosis.id,
                region_id=diagnosis.instance.region_id,
                instance_id=diagnosis.instance.instance_id,
                expires=self._clock.now() + self._history_ttl,
                past=summarize(diagnosis.report),
            )
        )
        self._reported.add(diagnosis.id)
        while len(kept) > self._max_reports:
            self._reported.discard(kept.popleft().diagnosis_id)

    def _owned(self, owner: str) -> list[str]:
        """The owner's ids, least recently updated first."""
        return [k for k, (_, d) in self._items.items() if d.owner == owner]

    def _store(self, diagnosis: Diagnosis) -> None:
        self._items[diagnosis.id] = (self._clock.now() + self._ttl, diagnosis)
        self._items.move_to_end(diagnosis.id)

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
        for owner, kept in list(self._reports.items()):
            while kept and kept[0].expires <= now:
                self._reported.discard(kept.popleft().diagnosis_id)
            if not kept:
                del self._reports[owner]

    def _remember_evicted(self, diagnosis_id: str) -> None:
        self._evicted[diagnosis_id] = None
        while len(self._evicted) > 4 * max(self._max, len(self._items)):
            self._evicted.popitem(last=False)
