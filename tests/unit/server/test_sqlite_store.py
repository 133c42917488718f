"""The SQLite store file: private, WAL, versioned with migrations, refusing files it must not touch,
and shared safely by several processes (optimistic concurrency: no write is ever lost).

The contract it shares with the in-memory store is tested in tests/unit/core/test_store.py."""

from __future__ import annotations

import multiprocessing
import sqlite3
import stat
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ecs_reboot_diagnosis.clock import SystemClock
from ecs_reboot_diagnosis.diagnosis import Diagnosis, new_diagnosis_id
from ecs_reboot_diagnosis.errors import ConcurrentUpdateError, StoreError
from ecs_reboot_diagnosis.models import InstanceFacts
from ecs_reboot_diagnosis.workflow import WorkflowState
from ecs_reboot_diagnosis_mcp.scan_table import SqliteScanTable
from ecs_reboot_diagnosis_mcp.sqlite_db import APPLICATION_ID, SCHEMA_VERSION, StoreDatabase
from ecs_reboot_diagnosis_mcp.sqlite_store import SqliteDiagnosisStore
from tests.support.clock import ManualClock

INSTANCE = InstanceFacts(
    instance_id="i-bp1abcdefgh", region_id="cn-hangzhou", status="Running", os_type="linux"
)


def make(clock: ManualClock | SystemClock, owner: str = "") -> Diagnosis:
    now = clock.now()
    return Diagnosis(
        id=new_diagnosis_id(),
        owner=owner,
        created_at=now,
        updated_at=now,
        workflow=WorkflowState(),
        instance=INSTANCE,
    )


def pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


# --- the file ----------------------------------------------------------------------------------


def test_a_new_store_is_private_in_wal_mode_and_at_the_latest_schema(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ecs-reboot-diagnosis" / "diagnoses.sqlite3"
    with StoreDatabase.open(path) as db:
        store = SqliteDiagnosisStore(db, ManualClock())
        store.add(make(ManualClock()))
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        for file in (path, path.with_name(path.name + "-wal")):
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    assert pragma(path, "journal_mode") == "wal"
    assert pragma(path, "user_version") == SCHEMA_VERSION
    assert pragma(path, "application_id") == APPLICATION_ID


# Schema 1 exactly as it was released: a migration test must not follow later edits of step 1.
SCHEMA_V1 = """
CREATE TABLE diagnoses (id TEXT PRIMARY KEY, owner TEXT NOT NULL, region_id TEXT NOT NULL,
    instance_id TEXT NOT NULL, expires_at REAL NOT NULL, touched INTEGER NOT NULL,
    finished INTEGER NOT NULL, revision INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX diagnoses_by_owner ON diagnoses (owner, touched);
CREATE INDEX diagnoses_by_expiry ON diagnoses (expires_at);
CREATE TABLE issued (id TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE INDEX issued_by_seq ON issued (seq);
CREATE TABLE reports (diagnosis_id TEXT PRIMARY KEY, owner TEXT NOT NULL,
    region_id TEXT NOT NULL, instance_id TEXT NOT NULL, generated_at REAL NOT NULL,
    expires_at REAL NOT NULL, summary TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX reports_by_instance ON reports (owner, region_id, instance_id, generated_at);
CREATE INDEX reports_by_expiry ON reports (expires_at);
PRAGMA application_id = 1163019332;
PRAGMA user_version = 1;
"""


def test_a_version_1_file_is_migrated_and_keeps_its_diagnoses(tmp_path: Path) -> None:
    clock = ManualClock()
    path = tmp_path / "v1.sqlite3"
    d = make(clock, owner="alpha")
    summary = (
        '{"diagnosed_at":"2026-11-19T12:00:00Z","incident_at":"2026-11-19T11:50:00Z",'
        '"verdict":"guest_crash","rule_id":"linux.lockup_panic",'
        '"signature":"soft_lockup | softlockup: hung tasks | nvme_poll [nvme]"}'
    )
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA_V1)
        conn.execute(
            "INSERT INTO diagnoses VALUES (?, 'alpha', 'cn-hangzhou', ?, ?, 1, 0, 3, ?)",
            (d.id, INSTANCE.instance_id, clock.now().timestamp() + 3600, d.model_dump_json()),
        )
        conn.execute(
            "INSERT INTO reports VALUES ('d-old', 'alpha', 'cn-hangzhou', ?, ?, ?, ?, '{}')",
            (
                INSTANCE.instance_id,
                clock.now().timestamp() - 86400,
                clock.now().timestamp() + 86400,
                summary,
            ),
        )
    db = StoreDatabase(path)
    assert db.migrate() == 1
    assert db.migrate() == SCHEMA_VERSION  # a second open has nothing left to do
    store = SqliteDiagnosisStore(db, clock)
    assert store.get(d.id) == d.model_copy(update={"revision": 3})
    (past,) = store.history(
        "alpha", "cn-hangzhou", INSTANCE.instance_id, since=clock.now() - timedelta(days=30)
    )
    assert past.signature == "soft_lockup | softlockup: hung tasks | nvme_poll [nvme]"
    scans = SqliteScanTable(db, clock)
    assert scans.put("scan-1", "alpha", {"cursor": 3}, expected_revision=0) == 1
    db.close()
    assert pragma(path, "user_version") == SCHEMA_VERSION


def test_a_file_of_a_newer_version_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite3"
    StoreDatabase.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(StoreError) as err:
        StoreDatabase.open(path)
    assert "newer version" in str(err.value) and "untouched" in str(err.value)
    assert "ECS_DIAG_STORE" in str(err.value)
    assert path.read_bytes() == before


def test_another_programs_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        conn.execute("INSERT INTO notes (text) VALUES ('keep me')")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="another program"):
        StoreDatabase.open(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("content", [b"not a database at all\n" * 100, b"\x00" * 4096])
def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.sqlite3"
    path.write_bytes(content)
    with pytest.raises(StoreError) as err:
        StoreDatabase.open(path)
    text = str(err.value)
    assert str(path) in text and "ECS_DIAG_STORE" in text
    assert path.read_bytes() == content


def test_a_path_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as err:
        StoreDatabase.open(blocker / "sub" / "diagnoses.sqlite3")
    assert "Cannot open the diagnosis store" in str(err.value)
    assert "ECS_DIAG_STORE" in str(err.value) and "memory" in str(err.value)


def test_a_diagnosis_this_version_cannot_read_is_a_clear_error(tmp_path: Path) -> None:
    clock = ManualClock()
    path = tmp_path / "store.sqlite3"
    with StoreDatabase.open(path) as db:
        store = SqliteDiagnosisStore(db, clock)
        d = make(clock)
        store.add(d)
        with sqlite3.connect(path) as conn:  # as a newer version with another field would
            body = d.model_dump_json().replace('"owner"', '"from_the_future":1,"owner"')
            conn.execute("UPDATE diagnoses SET body = ? WHERE id = ?", (body, d.id))
        with pytest.raises(StoreError) as err:
            store.get(d.id)
        assert d.id in str(err.value) and "cannot be read by this version" in str(err.value)


# --- sharing one file --------------------------------------------------------------------------


def test_two_stores_on_one_file_see_each_others_writes_and_never_overwrite_them(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    path = tmp_path / "shared.sqlite3"
    with StoreDatabase.open(path) as one_db, StoreDatabase.open(path) as two_db:
        one, two = SqliteDiagnosisStore(one_db, clock), SqliteDiagnosisStore(two_db, clock)
        d = make(clock, owner="alpha")
        one.add(d)
        seen_by_two = two.get(d.id)
        assert seen_by_two == d
        one.put(one.get(d.id).model_copy(update={"manual_steps": ("from one",)}))
        with pytest.raises(ConcurrentUpdateError):
            two.put(seen_by_two.model_copy(update={"manual_steps": ("from two",)}))
        assert two.get(d.id).manual_steps == ("from one",)
        assert two.count("alpha") == 1 and len(two) == 1


def _hammer(
    path: str, diagnosis_id: str, worker: int, rounds: int, start: Any, results: Any
) -> None:
    """In a separate process: ``rounds`` read-modify-write steps on one diagnosis, each retried
    on a conflict, and one diagnosis of its own; puts how many conflicts it met on ``results``."""
    clock = SystemClock()
    conflicts = 0
    with StoreDatabase.open(Path(path)) as db:
        store = SqliteDiagnosisStore(db, clock)
        own = make(clock, owner=f"worker{worker}")
        store.add(own)
        start.wait(timeout=60)  # every worker starts at once
        for n in range(rounds):
            while True:
                d = store.get(diagnosis_id)
                step = f"{worker}:{n}"
                time.sleep(0.002)  # a step's I/O between the read and the write
                try:
                    store.put(d.model_copy(update={"manual_steps": (*d.manual_steps, step)}))
                    break
                except ConcurrentUpdateError:
                    conflicts += 1
            store.put(store.get(own.id).model_copy(update={"manual_steps": (step,)}))
    results.put(conflicts)


def test_processes_sharing_a_file_lose_no_write(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    clock = SystemClock()
    workers, rounds = 4, 10
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(workers), ctx.Queue()
    with StoreDatabase.open(path) as db:
        store = SqliteDiagnosisStore(db, clock)
        d = make(clock)
        store.add(d)
        procs = [
            ctx.Process(target=_hammer, args=(str(path), d.id, w, rounds, start, results))
            for w in range(workers)
        ]
        for p in procs:
            p.start()
        conflicts = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=30)
            assert p.exitcode == 0
        final = store.get(d.id)
        assert sorted(final.manual_steps) == sorted(
            f"{w}:{n}" for w in range(workers) for n in range(rounds)
        )
        for w in range(workers):  # each step of one worker is in its order
            mine = [s for s in final.manual_steps if s.startswith(f"{w}:")]
            assert mine == [f"{w}:{n}" for n in range(rounds)]
        assert final.revision == workers * rounds
        assert [store.count(f"worker{w}") for w in range(workers)] == [1] * workers
    # the workers did overlap: without the revision check these writes would have been lost
    assert sum(conflicts) > 0


def test_threads_of_one_process_each_get_their_own_connection(tmp_path: Path) -> None:
    clock = SystemClock()
    with StoreDatabase.open(tmp_path / "threads.sqlite3") as db:
        store = SqliteDiagnosisStore(db, clock)
        added: list[str] = []
        errors: list[BaseException] = []

        def work() -> None:
            try:
                for _ in range(20):
                    d = make(clock, owner="t")
                    store.add(d)
                    store.put(store.get(d.id))
                    added.append(d.id)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert store.count("t") == 80
        assert all(store.get(i).revision == 1 for i in added)


# --- fleet scans -------------------------------------------------------------------------------


def test_scan_states_are_kept_per_owner_with_revisions_and_expire(tmp_path: Path) -> None:
    clock = ManualClock()
    with StoreDatabase.open(tmp_path / "scans.sqlite3") as db:
        scans = SqliteScanTable(db, clock, ttl=timedelta(hours=1))
        assert scans.get("s1", "alpha") is None
        assert scans.put("s1", "alpha", {"done": [], "cursor": None}, expected_revision=0) == 1
        with pytest.raises(ConcurrentUpdateError):
            scans.put("s1", "alpha", {"again": True}, expected_revision=0)  # already created
        with pytest.raises(ConcurrentUpdateError):
            scans.put("s1", "beta", {"mine": True}, expected_revision=0)  # another owner's id
        clock.advance(timedelta(minutes=1))
        assert scans.put("s1", "alpha", {"done": ["i-1"], "cursor": "p2"}, expected_revision=1) == 2
        with pytest.raises(ConcurrentUpdateError):
            scans.put("s1", "alpha", {"stale": True}, expected_revision=1)
        record = scans.get("s1", "alpha")
        assert record is not None
        assert record.state == {"done": ["i-1"], "cursor": "p2"} and record.revision == 2
        assert record.updated_at - record.created_at == timedelta(minutes=1)
        assert scans.get("s1", "beta") is None
        clock.advance(timedelta(seconds=1))
        scans.put("s2", "alpha", {}, expected_revision=0)
        assert [r.scan_id for r in scans.list("alpha")] == ["s2", "s1"]
        assert scans.list("beta") == []
        with pytest.raises(ValueError, match="JSON"):
            scans.put("s3", "alpha", {"when": clock.now()}, expected_revision=0)
        assert not scans.delete("s2", "beta")
        assert scans.delete("s2", "alpha")
        clock.advance(timedelta(hours=1))
        assert scans.get("s1", "alpha") is None and scans.list("alpha") == []
