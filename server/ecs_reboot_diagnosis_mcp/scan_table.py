"""Fleet scans in the store file: one JSON state per scan id, owned, versioned, expiring.

A generic keyed table for the fleet scan's state port to sit on (the scan decides what its
state holds; this table only keeps it): ``put`` creates or replaces a scan's state under
optimistic concurrency, ``get`` reads one, ``list`` lists an owner's scans, ``delete`` drops one.
Another owner's scan is treated as absent, exactly like an unknown id. Each owner keeps at most
``max_per_owner`` scans: creating one more drops that owner's least recently updated ones, in
the same transaction. :mod:`.sqlite_scan_store` puts the scan port on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ecs_reboot_diagnosis.errors import ConcurrentUpdateError, StoreError
from ecs_reboot_diagnosis.fleet_ports import MAX_CHECKPOINT_BYTES, MAX_SCANS_PER_OWNER
from ecs_reboot_diagnosis.ports import Clock
from ecs_reboot_diagnosis_mcp.sqlite_db import StoreDatabase

__all__ = [
    "DEFAULT_SCAN_TTL",
    "MAX_STATE_BYTES",
    "ScanRecord",
    "SqliteScanTable",
    "StateTooLarge",
]

DEFAULT_SCAN_TTL = timedelta(hours=24)
MAX_STATE_BYTES = MAX_CHECKPOINT_BYTES
"""The largest state (JSON, bytes) a scan may keep."""


class StateTooLarge(ValueError):
    """A state over :data:`MAX_STATE_BYTES`; nothing was written."""

    def __init__(self, size: int) -> None:
        super().__init__(f"a scan state is at most {MAX_STATE_BYTES} bytes of JSON, not {size}")
        self.size = size


@dataclass(frozen=True, slots=True)
class ScanRecord:
    scan_id: str
    owner: str
    created_at: datetime
    updated_at: datetime
    revision: int
    """1 after the first put, one more after each later one."""
    state: dict[str, Any]
    """The scan's state as it was put (empty in :meth:`SqliteScanTable.list`)."""


class SqliteScanTable:
    """The ``fleet_scans`` table of a :class:`StoreDatabase`. A scan expires ``ttl`` after its
    last put; an owner keeps at most ``max_per_owner`` scans."""

    def __init__(
        self,
        db: StoreDatabase,
        clock: Clock,
        *,
        ttl: timedelta = DEFAULT_SCAN_TTL,
        max_per_owner: int = MAX_SCANS_PER_OWNER,
    ) -> None:
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        if max_per_owner < 1:
            raise ValueError("max_per_owner must be at least 1")
        self.db = db
        self._clock = clock
        self._ttl = ttl
        self._max = max_per_owner

    def put(
        self,
        scan_id: str,
        owner: str,
        state: Mapping[str, Any],
        *,
        expected_revision: int,
    ) -> int:
        """Write the scan's state; returns its new revision.

        ``expected_revision`` is 0 to create the scan (ConcurrentUpdateError when the id is
        taken, by this owner or another), else the revision it was read at
        (ConcurrentUpdateError when another process wrote since, or it expired or was deleted).
        ``state`` must be JSON (ValueError otherwise; :class:`StateTooLarge` when over
        :data:`MAX_STATE_BYTES`). Creating a scan drops the owner's least recently updated
        scans beyond ``max_per_owner``.
        """
        try:
            body = json.dumps(state, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"a scan state must be JSON: {exc}") from None
        size = len(body.encode())
        if size > MAX_STATE_BYTES:
            raise StateTooLarge(size)
        now = self._clock.now().timestamp()
        expires = now + self._ttl.total_seconds()
        with self.db.write() as conn:
            conn.execute("DELETE FROM fleet_scans WHERE expires_at <= ?", (now,))
            row = conn.execute(
                "SELECT owner, revision FROM fleet_scans WHERE scan_id = ?", (scan_id,)
            ).fetchone()
            if row is not None and row[0] != owner:
                raise ConcurrentUpdateError("fleet scan", scan_id)
            current = 0 if row is None else int(row[1])
            if current != expected_revision:
                raise ConcurrentUpdateError("fleet scan", scan_id)
            if row is None:
                conn.execute(
                    "INSERT INTO fleet_scans (scan_id, owner, created_at, updated_at, "
                    "expires_at, revision, state) VALUES (?, ?, ?, ?, ?, 1, ?)",
                    (scan_id, owner, now, now, expires, body),
                )
                # the owner's newest max_per_owner stay (this one first, whatever the clock)
                conn.execute(
                    "DELETE FROM fleet_scans WHERE owner = ? AND scan_id NOT IN ("
                    "SELECT scan_id FROM fleet_scans WHERE owner = ? "
                    "ORDER BY scan_id = ? DESC, updated_at DESC, rowid DESC LIMIT ?)",
                    (owner, owner, scan_id, self._max),
                )
                return 1
            conn.execute(
                "UPDATE fleet_scans SET updated_at = ?, expires_at = ?, revision = ?, state = ? "
                "WHERE scan_id = ?",
                (now, expires, current + 1, body, scan_id),
            )
            return current + 1

    def get(self, scan_id: str, owner: str) -> ScanRecord | None:
        """The scan, or None when it is unknown, expired or another owner's."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT scan_id, owner, created_at, updated_at, revision, state FROM fleet_scans "
                "WHERE scan_id = ? AND owner = ? AND expires_at > ?",
                (scan_id, owner, self._clock.now().timestamp()),
            ).fetchone()
        if row is None:
            return None
        try:
            state = json.loads(row[5])
        except ValueError:
            raise StoreError(f"Fleet scan {scan_id!r} in {self.db.path} is not JSON.") from None
        return _record(row, state)

    def list(self, owner: str, *, limit: int = 100) -> list[ScanRecord]:
        """The owner's live scans, most recently updated first, without their states."""
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT scan_id, owner, created_at, updated_at, revision FROM fleet_scans "
                "WHERE owner = ? AND expires_at > ? ORDER BY updated_at DESC, scan_id LIMIT ?",
                (owner, self._clock.now().timestamp(), limit),
            ).fetchall()
        return [_record(row, {}) for row in rows]

    def delete(self, scan_id: str, owner: str) -> bool:
        """Drop the scan; False when there was none of this owner's."""
        with self.db.write() as conn:
            cur = conn.execute(
                "DELETE FROM fleet_scans WHERE scan_id = ? AND owner = ?", (scan_id, owner)
            )
            return cur.rowcount > 0


def _record(row: tuple[Any, ...], state: dict[str, Any]) -> ScanRecord:
    return ScanRecord(
        scan_id=row[0],
        owner=row[1],
        created_at=datetime.fromtimestamp(row[2], UTC),
        updated_at=datetime.fromtimestamp(row[3], UTC),
        revision=int(row[4]),
        state=state,
    )
