"""The store's SQLite file: where it lives, how it is opened, and its schema migrations.

- One file (``diagnoses.sqlite3``) holds diagnoses, report summaries and fleet scans; the
  tables that use it are :mod:`.sqlite_store` and :mod:`.scan_table`.
- Opened with the standard library's ``sqlite3``: WAL journal (readers never block the one
  writer, several processes share the file), ``synchronous=NORMAL`` (a killed process loses
  nothing committed; only a power loss can roll back the last commits), a busy timeout, and one
  connection per thread. Every write is one ``BEGIN IMMEDIATE`` transaction.
- Private: the directory is created 0700 and the file 0600 (it holds what the collector read
  from the guests and the owners' token digests).
- Versioned: ``PRAGMA user_version`` is the schema version; :data:`MIGRATIONS` are the ordered
  steps from each version to the next, run in one transaction when the file is opened. A file of
  a newer version is refused, never written. ``PRAGMA application_id`` marks the file as ours, so
  a path that points at another program's database is refused too.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ecs_reboot_diagnosis.errors import StoreError

__all__ = [
    "APPLICATION_ID",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "StoreDatabase",
]

APPLICATION_ID = 0x45524444  # "ERDD"
BUSY_TIMEOUT_S = 10.0
JOURNAL_SIZE_LIMIT = 16 * 1024 * 1024

# Each entry takes the schema from version i to i + 1. Never edit a released step: add one.
MIGRATIONS: tuple[str, ...] = (
    # 1: diagnoses, the ids issued (to tell an expired id from an unknown one), report summaries
    """
    CREATE TABLE diagnoses (
        id          TEXT PRIMARY KEY,
        owner       TEXT NOT NULL,
        region_id   TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        expires_at  REAL NOT NULL,
        touched     INTEGER NOT NULL,
        finished    INTEGER NOT NULL,
        revision    INTEGER NOT NULL,
        body        TEXT NOT NULL
    );
    CREATE INDEX diagnoses_by_owner ON diagnoses (owner, touched);
    CREATE INDEX diagnoses_by_expiry ON diagnoses (expires_at);
    CREATE TABLE issued (
        id  TEXT PRIMARY KEY,
        seq INTEGER NOT NULL
    );
    CREATE INDEX issued_by_seq ON issued (seq);
    CREATE TABLE reports (
        diagnosis_id TEXT PRIMARY KEY,
        owner        TEXT NOT NULL,
        region_id    TEXT NOT NULL,
        instance_id  TEXT NOT NULL,
        generated_at REAL NOT NULL,
        expires_at   REAL NOT NULL,
        summary      TEXT NOT NULL,
        body         TEXT NOT NULL
    );
    CREATE INDEX reports_by_instance ON reports (owner, region_id, instance_id, generated_at);
    CREATE INDEX reports_by_expiry ON reports (expires_at);
    """,
    # 2: fleet scans, a keyed JSON state per scan
    """
    CREATE TABLE fleet_scans (
        scan_id    TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        revision   INTEGER NOT NULL,
        state      TEXT NOT NULL
    );
    CREATE INDEX fleet_scans_by_owner ON fleet_scans (owner, updated_at);
    CREATE INDEX fleet_scans_by_expiry ON fleet_scans (expires_at);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def _prepare_file(path: Path) -> None:
    """Create the directory (0700) and the file (0600) when they do not exist yet."""
    try:
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
    except OSError as exc:
        raise StoreError(
            f"Cannot open the diagnosis store {path}: {exc.strerror or exc}."
        ) from None


class StoreDatabase:
    """One store file, opened and migrated; hands out a connection per thread."""

    def __init__(self, path: Path, *, busy_timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._closed = False

    @classmethod
    def open(cls, path: Path, *, busy_timeout: float = BUSY_TIMEOUT_S) -> StoreDatabase:
        """Open (creating it when missing) and migrate the store at ``path``."""
        _prepare_file(path)
        _check_file(path, busy_timeout)
        db = cls(path, busy_timeout=busy_timeout)
        try:
            db.migrate()
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        with self._guard:
            self._closed = True
            for conn in self._all:
                conn.close()
            self._all.clear()

    def __enter__(self) -> StoreDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        with self._guard:
            if self._closed:
                raise StoreError(f"The diagnosis store {self.path} is closed.")
            try:
                conn = sqlite3.connect(
                    self.path,
                    timeout=self._busy_timeout,
                    isolation_level=None,  # transactions are explicit
                    check_same_thread=False,  # only closed from another thread
                )
                conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                # the WAL is truncated to this after a checkpoint instead of keeping its peak
                conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
            except sqlite3.Error as exc:
                raise self._error("open", exc) from None
            self._all.append(conn)
        self._local.conn = conn
        return conn

    def _error(self, doing: str, exc: sqlite3.Error) -> StoreError:
        return StoreError(f"Cannot {doing} the diagnosis store {self.path}: {exc}.")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``: the write lock is taken at once, so a
        read-then-write inside it sees no other writer in between)."""
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error("write", exc) from None
        try:
            yield conn
        except BaseException as exc:
            conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._error("write", exc) from None
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise self._error("write", exc) from None

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: a consistent snapshot of the file."""
        conn = self._connection()
        try:
            conn.execute("BEGIN")
        except sqlite3.Error as exc:
            raise self._error("read", exc) from None
        try:
            yield conn
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise self._error("read", exc) from None
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def migrate(self) -> int:
        """Bring the file to :data:`SCHEMA_VERSION`; returns the version it had."""
        with self.write() as conn:
            version = _refuse_foreign(self.path, conn)
            for step in range(version, SCHEMA_VERSION):
                for statement in _statements(MIGRATIONS[step]):
                    conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            return version


def _check_file(path: Path, busy_timeout: float) -> None:
    """Refuse, before anything is written (the WAL switch rewrites the header), a file that is
    not a database, another program's database, or a store of a newer schema."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                               timeout=busy_timeout)  # fmt: skip
        try:
            _refuse_foreign(path, conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreError(f"Cannot open the diagnosis store {path}: {exc}.") from None


def _refuse_foreign(path: Path, conn: sqlite3.Connection) -> int:
    """The file's schema version, after refusing another program's database or a newer store."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    ours = app_id == APPLICATION_ID or (app_id == 0 and version == 0 and not tables)
    if not ours:
        raise StoreError(
            f"{path} is an SQLite database of another program, not a diagnosis store; it was "
            "left untouched."
        )
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"The diagnosis store {path} was written by a newer version of "
            f"ecs-reboot-diagnosis (schema {version}; this one knows up to {SCHEMA_VERSION}); "
            "it was left untouched. Upgrade ecs-reboot-diagnosis."
        )
    return version


def _statements(script: str) -> list[str]:
    """The statements of a migration step (``executescript`` would commit the transaction)."""
    return [s.strip() for s in script.split(";") if s.strip()]
