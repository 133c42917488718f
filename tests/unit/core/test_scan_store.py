"""The fleet-scan checkpoint stores, in memory and in the SQLite store file, under one suite:
copies, revisions (a stale save writes nothing), owners, the per-owner bound, bad ids, sizes;
then what only the file does (expiry, two handles on one file like two processes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ecs_reboot_diagnosis.errors import InvalidInputError, ScanBusyError
from ecs_reboot_diagnosis.fleet_ports import MAX_CHECKPOINT_BYTES, MAX_SCANS_PER_OWNER, ScanStore
from ecs_reboot_diagnosis.scan_store import InMemoryScanStore
from ecs_reboot_diagnosis_mcp.scan_table import SqliteScanTable
from ecs_reboot_diagnosis_mcp.sqlite_db import StoreDatabase
from ecs_reboot_diagnosis_mcp.sqlite_scan_store import SqliteScanStore
from tests.support.clock import ManualClock

SCAN = "s-" + "ab" * 16
MakeStore = Callable[..., ScanStore]


def scan_id(n: int) -> str:
    return f"s-{n:032x}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["memory", "sqlite"])
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> Iterator[MakeStore]:
    """A factory of empty stores of one kind (a new SQLite file each time)."""
    opened: list[StoreDatabase] = []

    def make(max_per_owner: int = MAX_SCANS_PER_OWNER) -> ScanStore:
        if request.param == "memory":
            return InMemoryScanStore(max_per_owner)
        db = StoreDatabase.open(tmp_path / f"store{len(opened)}.sqlite3")
        opened.append(db)
        return SqliteScanStore(SqliteScanTable(db, clock, max_per_owner=max_per_owner))

    yield make
    for db in opened:
        db.close()


def test_a_checkpoint_round_trips_as_a_copy_with_its_revision(make_store: MakeStore) -> None:
    store = make_store()
    assert store.load(SCAN, "") is None
    checkpoint = {"version": 1, "instances": [{"id": "i-1"}], "text": "中文"}
    assert store.save(SCAN, "", checkpoint, revision=0) == 1
    checkpoint["instances"].append({"id": "i-2"})  # type: ignore[attr-defined]
    loaded = store.load(SCAN, "")
    assert loaded is not None and loaded.revision == 1
    assert loaded.checkpoint == {"version": 1, "instances": [{"id": "i-1"}], "text": "中文"}
    loaded.checkpoint["instances"].clear()
    assert store.save(SCAN, "", {"version": 1, "instances": []}, revision=1) == 2
    again = store.load(SCAN, "")
    assert again is not None and again.checkpoint == {"version": 1, "instances": []}
    assert again.revision == 2


def test_a_save_at_a_stale_revision_writes_nothing(make_store: MakeStore) -> None:
    store = make_store()
    store.save(SCAN, "alpha", {"n": 1}, revision=0)
    store.save(SCAN, "alpha", {"n": 2}, revision=1)  # another run saved since revision 1
    for stale in (1, 0, 5):
        with pytest.raises(ScanBusyError) as err:
            store.save(SCAN, "alpha", {"n": "lost"}, revision=stale)
        assert not err.value.gone
        assert "being run by another process" in err.value.message
        assert "ask for the scan again" in err.value.hint
        assert err.value.message_zh and err.value.hint_zh
    loaded = store.load(SCAN, "alpha")
    assert loaded is not None and (loaded.checkpoint, loaded.revision) == ({"n": 2}, 2)


def test_another_owners_scan_is_absent_and_cannot_be_written(make_store: MakeStore) -> None:
    store = make_store()
    store.save(SCAN, "alpha", {"mine": True}, revision=0)
    assert store.load(SCAN, "beta") is None
    assert store.load(SCAN, "") is None
    for revision in (0, 1):
        with pytest.raises(ScanBusyError):
            store.save(SCAN, "beta", {"theirs": True}, revision=revision)
    loaded = store.load(SCAN, "alpha")
    assert loaded is not None and loaded.checkpoint == {"mine": True}


def test_each_owner_keeps_its_most_recently_saved_scans(
    make_store: MakeStore, clock: ManualClock
) -> None:
    store = make_store(max_per_owner=2)
    for n in range(3):
        store.save(scan_id(n), "alpha", {"n": n}, revision=0)
        clock.advance(timedelta(seconds=1))
    store.save(scan_id(9), "beta", {"n": 9}, revision=0)
    # the oldest of alpha's is gone; beta's own count is its own
    assert store.load(scan_id(0), "alpha") is None
    assert [store.load(scan_id(n), "alpha") is not None for n in (1, 2)] == [True, True]
    assert store.load(scan_id(9), "beta") is not None
    # saving scan 1 again makes it the most recent: the next new one drops scan 2
    clock.advance(timedelta(seconds=1))
    store.save(scan_id(1), "alpha", {"n": 1, "again": True}, revision=1)
    clock.advance(timedelta(seconds=1))
    store.save(scan_id(3), "alpha", {"n": 3}, revision=0)
    assert store.load(scan_id(2), "alpha") is None
    assert store.load(scan_id(1), "alpha") is not None
    # a run still going on a dropped scan is told it is gone, and writes nothing
    with pytest.raises(ScanBusyError) as err:
        store.save(scan_id(2), "alpha", {"n": 2}, revision=1)
    assert err.value.gone and "Start a new scan" in err.value.hint
    assert store.load(scan_id(2), "alpha") is None


def test_the_default_bound_is_the_same_for_both(make_store: MakeStore, clock: ManualClock) -> None:
    assert MAX_SCANS_PER_OWNER == 32
    store = make_store()
    for n in range(MAX_SCANS_PER_OWNER + 1):
        store.save(scan_id(n), "", {"n": n}, revision=0)
        clock.advance(timedelta(seconds=1))
    kept = [n for n in range(MAX_SCANS_PER_OWNER + 1) if store.load(scan_id(n), "") is not None]
    assert kept == list(range(1, MAX_SCANS_PER_OWNER + 1))


def test_bad_ids_non_json_and_oversized_checkpoints_are_refused(make_store: MakeStore) -> None:
    store = make_store()
    for bad in ("s-1", "../etc/passwd", "s-" + "AB" * 16):
        with pytest.raises(InvalidInputError, match="not a scan id"):
            store.save(bad, "", {}, revision=0)
        with pytest.raises(InvalidInputError, match="not a scan id"):
            store.load(bad, "")
    with pytest.raises(ValueError):
        store.save(SCAN, "", {"nan": float("nan")}, revision=0)
    huge = {"instances": ["x" * 1000] * (MAX_CHECKPOINT_BYTES // 1000 + 1)}
    with pytest.raises(InvalidInputError) as err:
        store.save(SCAN, "", huge, revision=0)
    assert "too many instances" in err.value.message and "fewer instances" in err.value.hint
    assert store.load(SCAN, "") is None


def test_a_scan_in_the_file_expires_a_day_after_its_last_save(
    tmp_path: Path, clock: ManualClock
) -> None:
    with StoreDatabase.open(tmp_path / "s.sqlite3") as db:
        store = SqliteScanStore(SqliteScanTable(db, clock))
        store.save(SCAN, "", {"n": 1}, revision=0)
        clock.advance(timedelta(hours=23))
        store.save(SCAN, "", {"n": 2}, revision=1)
        clock.advance(timedelta(hours=23))
        assert store.load(SCAN, "") is not None
        clock.advance(timedelta(hours=1, seconds=1))
        assert store.load(SCAN, "") is None


def test_two_handles_on_one_file_see_each_other_and_exclude_each_other(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "shared.sqlite3"
    with StoreDatabase.open(path) as one, StoreDatabase.open(path) as two:
        a, b = (SqliteScanStore(SqliteScanTable(db, clock)) for db in (one, two))
        a.save(SCAN, "", {"by": "a"}, revision=0)
        seen_a, seen_b = a.load(SCAN, ""), b.load(SCAN, "")
        assert seen_a == seen_b and seen_b is not None and seen_b.revision == 1
        # both resume from revision 1: the first save lands, the second is refused
        assert b.save(SCAN, "", {"by": "b"}, revision=1) == 2
        with pytest.raises(ScanBusyError):
            a.save(SCAN, "", {"by": "a", "late": True}, revision=1)
        final = a.load(SCAN, "")
        assert final is not None and final.checkpoint == {"by": "b"}
