"""The DiagnosisStore port over SQLite: diagnoses that survive a restart and are shared by every
process that opens the same file.

The contract is the in-memory store's (:class:`~ecs_reboot_diagnosis.store.InMemoryDiagnosisStore`,
one test suite runs over both): a time to live after the last update, a per-owner maximum that
an owner makes room for from its own finished diagnoses only, tombstones that tell an expired id
from an unknown one, an id issued once. On top of it:

- Several processes (two servers, a server and the CLI) may share one file. A diagnosis carries
  its ``revision``; :meth:`SqliteDiagnosisStore.put` writes only when the stored revision is the
  one the copy was read at, else raises ConcurrentUpdateError: nothing another process wrote is
  ever lost, and the loser's step says what to do next.
- The summary of every report is kept in ``reports`` for ``history_ttl`` (the recurrence
  line), with the report itself, bounded per owner.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from pydantic import ValidationError

from ecs_reboot_diagnosis.analysis.recurrence import summarize
from ecs_reboot_diagnosis.diagnosis import Diagnosis
from ecs_reboot_diagnosis.errors import (
    ConcurrentUpdateError,
    QuotaExceededError,
    StoreError,
    UnknownDiagnosisError,
)
from ecs_reboot_diagnosis.models import PastDiagnosis
from ecs_reboot_diagnosis.ports import MAX_HISTORY, Clock
from ecs_reboot_diagnosis.store import (
    DEFAULT_HISTORY_TTL,
    DEFAULT_MAX_DIAGNOSES,
    DEFAULT_MAX_REPORTS,
    DEFAULT_TTL,
    check_bounds,
)
from ecs_reboot_diagnosis_mcp.sqlite_db import StoreDatabase

__all__ = ["SqliteDiagnosisStore"]


class SqliteDiagnosisStore:
    """Diagnoses and report summaries in a :class:`StoreDatabase`. Times are the store clock's
    (epoch seconds), so expiry is testable with a manual clock."""

    def __init__(
        self,
        db: StoreDatabase,
        clock: Clock,
        *,
        ttl: timedelta = DEFAULT_TTL,
        max_diagnoses: int = DEFAULT_MAX_DIAGNOSES,
        history_ttl: timedelta = DEFAULT_HISTORY_TTL,
        max_reports: int = DEFAULT_MAX_REPORTS,
    ) -> None:
        check_bounds(ttl, max_diagnoses, history_ttl)
        self.db = db
        self._clock = clock
        self._ttl = ttl
        self._max = max_diagnoses
        self._history_ttl = history_ttl
        self._max_reports = max_reports

    @property
    def max_per_owner(self) -> int:
        return self._max

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def __len__(self) -> int:
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT count(*) FROM diagnoses WHERE expires_at > ?", (self._now(),)
            ).fetchone()
        return int(row[0])

    def count(self, owner: str) -> int:
        """How many live diagnoses ``owner`` holds."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT count(*) FROM diagnoses WHERE owner = ? AND expires_at > ?",
                (owner, self._now()),
            ).fetchone()
        return int(row[0])

    # --- the port ------------------------------------------------------------------------------

    def add(self, diagnosis: Diagnosis) -> None:
        now = self._now()
        with self.db.write() as conn:
            if _issued(conn, diagnosis.id):
                raise ValueError(f"diagnosis id {diagnosis.id} was already issued")
            self._expire(conn, now)
            owned = conn.execute(
                "SELECT id, finished FROM diagnoses WHERE owner = ? ORDER BY touched",
                (diagnosis.owner,),
            ).fetchall()
            if len(owned) >= self._max:
                finished = [row[0] for row in owned if row[1]]
                if not finished:
                    raise QuotaExceededError(self._max, self._ttl)
                conn.execute("DELETE FROM diagnoses WHERE id = ?", (finished[0],))
                self._remember_evicted(conn, [finished[0]])
            conn.execute(
                "INSERT INTO diagnoses (id, owner, region_id, instance_id, expires_at, touched, "
                "finished, revision, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    diagnosis.id,
                    diagnosis.owner,
                    diagnosis.instance.region_id,
                    diagnosis.instance.instance_id,
                    now + self._ttl.total_seconds(),
                    _next(conn, "diagnoses", "touched"),
                    diagnosis.report is not None,
                    diagnosis.revision,
                    diagnosis.model_dump_json(),
                ),
            )

    def get(self, diagnosis_id: str) -> Diagnosis:
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT expires_at, revision, body FROM diagnoses WHERE id = ?", (diagnosis_id,)
            ).fetchone()
            if row is None or row[0] <= self._now():
                expired = row is not None or _was_evicted(conn, diagnosis_id)
                raise UnknownDiagnosisError(diagnosis_id, expired=expired)
        return self._load(diagnosis_id, row[2], row[1])

    def put(self, diagnosis: Diagnosis) -> Diagnosis:
        now = self._now()
        with self.db.write() as conn:
            self._expire(conn, now)
            row = conn.execute(
                "SELECT owner, revision FROM diagnoses WHERE id = ?", (diagnosis.id,)
            ).fetchone()
            if row is None:
                raise UnknownDiagnosisError(diagnosis.id, expired=_was_evicted(conn, diagnosis.id))
            if row[0] != diagnosis.owner:
                raise ValueError("a diagnosis cannot change its owner")
            if row[1] != diagnosis.revision:
                raise ConcurrentUpdateError("diagnosis", diagnosis.id)
            updated = diagnosis.model_copy(update={"revision": diagnosis.revision + 1})
            conn.execute(
                "UPDATE diagnoses SET expires_at = ?, touched = ?, finished = ?, revision = ?, "
                "body = ? WHERE id = ? AND revision = ?",
                (
                    now + self._ttl.total_seconds(),
                    _next(conn, "diagnoses", "touched"),
                    updated.report is not None,
                    updated.revision,
                    updated.model_dump_json(),
                    updated.id,
                    diagnosis.revision,
                ),
            )
            if updated.report is not None:
                self._keep_report(conn, updated, now)
        return updated

    def history(
        self,
        owner: str,
        region_id: str,
        instance_id: str,
        *,
        since: datetime,
        exclude_id: str = "",
    ) -> list[PastDiagnosis]:
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT summary FROM reports WHERE owner = ? AND region_id = ? "
                "AND instance_id = ? AND generated_at >= ? AND expires_at > ? "
                "AND diagnosis_id != ? ORDER BY generated_at DESC LIMIT ?",
                (
                    owner,
                    region_id,
                    instance_id,
                    since.timestamp(),
                    self._now(),
                    exclude_id,
                    MAX_HISTORY,
                ),
            ).fetchall()
        found = []
        for (summary,) in rows:
            try:
                found.append(PastDiagnosis.model_validate_json(summary))
            except ValidationError:
                continue  # a summary this version cannot read says nothing it could use
        return found

    # --- inside a write transaction ----------------------------------------------------------

    def _keep_report(self, conn: sqlite3.Connection, d: Diagnosis, now: float) -> None:
        assert d.report is not None
        conn.execute(
            "INSERT OR IGNORE INTO reports (diagnosis_id, owner, region_id, instance_id, "
            "generated_at, expires_at, summary, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                d.id,
                d.owner,
                d.instance.region_id,
                d.instance.instance_id,
                d.report.generated_at.timestamp(),
                now + self._history_ttl.total_seconds(),
                summarize(d.report).model_dump_json(),
                d.report.model_dump_json(by_alias=True),
            ),
        )
        conn.execute(
            "DELETE FROM reports WHERE owner = ? AND diagnosis_id NOT IN (SELECT diagnosis_id "
            "FROM reports WHERE owner = ? ORDER BY generated_at DESC LIMIT ?)",
            (d.owner, d.owner, self._max_reports),
        )

    def _expire(self, conn: sqlite3.Connection, now: float) -> None:
        expired = [
            row[0] for row in conn.execute("SELECT id FROM diagnoses WHERE expires_at <= ?", (now,))
        ]
        if expired:
            conn.execute("DELETE FROM diagnoses WHERE expires_at <= ?", (now,))
            self._remember_evicted(conn, expired)
        conn.execute("DELETE FROM reports WHERE expires_at <= ?", (now,))

    def _remember_evicted(self, conn: sqlite3.Connection, ids: list[str]) -> None:
        seq = _next(conn, "issued", "seq")
        conn.executemany(
            "INSERT OR REPLACE INTO issued (id, seq) VALUES (?, ?)",
            [(i, seq + n) for n, i in enumerate(ids)],
        )
        live = conn.execute("SELECT count(*) FROM diagnoses").fetchone()[0]
        keep = 4 * max(self._max, int(live))
        conn.execute(
            "DELETE FROM issued WHERE seq <= (SELECT seq FROM issued ORDER BY seq DESC "
            "LIMIT 1 OFFSET ?)",
            (keep,),
        )

    def _load(self, diagnosis_id: str, body: str, revision: int) -> Diagnosis:
        try:
            d = Diagnosis.model_validate_json(body)
        except ValidationError as exc:
            raise StoreError(
                f"Diagnosis {diagnosis_id!r} in the store {self.db.path} cannot be read by this "
                f"version of ecs-reboot-diagnosis ({exc.error_count()} errors)."
            ) from None
        return d.model_copy(update={"revision": revision})


def _issued(conn: sqlite3.Connection, diagnosis_id: str) -> bool:
    """Whether the id is live, expired but not yet purged, or remembered as evicted."""
    live = conn.execute("SELECT 1 FROM diagnoses WHERE id = ?", (diagnosis_id,)).fetchone()
    return live is not None or _was_evicted(conn, diagnosis_id)


def _was_evicted(conn: sqlite3.Connection, diagnosis_id: str) -> bool:
    row = conn.execute("SELECT 1 FROM issued WHERE id = ?", (diagnosis_id,)).fetchone()
    return row is not None


def _next(conn: sqlite3.Connection, table: str, column: str) -> int:
    """One more than the largest ``column`` in ``table``: an order of writes that needs no
    clock (inside the write transaction, no other process writes in between)."""
    row = conn.execute(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}").fetchone()
    return int(row[0])
