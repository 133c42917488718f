"""The diagnosis stores, in memory and SQLite, under one suite: ids, TTL, per-owner quotas, clear
errors for unknown or expired ids, revisions, and the report history."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest

from ecs_reboot_diagnosis.diagnosis import DIAGNOSIS_ID_PATTERN, Diagnosis, new_diagnosis_id
from ecs_reboot_diagnosis.errors import (
    ConcurrentUpdateError,
    QuotaExceededError,
    UnknownDiagnosisError,
)
from ecs_reboot_diagnosis.models import Conclusion, InstanceFacts, Report, Text
from ecs_reboot_diagnosis.ports import DiagnosisStore
from ecs_reboot_diagnosis.store import InMemoryDiagnosisStore
from ecs_reboot_diagnosis.workflow import WorkflowState
from ecs_reboot_diagnosis_mcp.sqlite_db import StoreDatabase
from ecs_reboot_diagnosis_mcp.sqlite_store import SqliteDiagnosisStore
from tests.support.clock import ManualClock


class Store(DiagnosisStore, Protocol):
    def __len__(self) -> int: ...

    def count(self, owner: str) -> int: ...


MakeStore = Callable[..., Store]


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeStore]:
    """A factory of empty stores of one kind (a new SQLite file each time)."""
    opened: list[StoreDatabase] = []

    def make(clock: ManualClock, **bounds: Any) -> Store:
        if request.param == "memory":
            return InMemoryDiagnosisStore(clock, **bounds)
        db = StoreDatabase.open(tmp_path / f"store{len(opened)}.sqlite3")
        opened.append(db)
        return SqliteDiagnosisStore(db, clock, **bounds)

    yield make
    for db in opened:
        db.close()


INSTANCE = InstanceFacts(
    instance_id="i-bp1abcdefgh", region_id="cn-hangzhou", status="Running", os_type="linux"
)


def make(clock: ManualClock, owner: str = "") -> Diagnosis:
    now = clock.now()
    return Diagnosis(
        id=new_diagnosis_id(),
        owner=owner,
        created_at=now,
        updated_at=now,
        workflow=WorkflowState(),
        instance=INSTANCE,
    )


def test_ids_are_d_dash_128_random_bits() -> None:
    ids = {new_diagnosis_id() for _ in range(1000)}
    assert len(ids) == 1000
    for i in ids:
        assert re.fullmatch(DIAGNOSIS_ID_PATTERN, i)
        assert len(i) == 2 + 32


def test_get_returns_what_was_stored_and_put_replaces_it(make_store: MakeStore) -> None:
    clock = ManualClock()
    store = make_store(clock)
    d = make(clock)
    store.add(d)
    assert store.get(d.id) == d
    newer = d.model_copy(update={"updated_at": clock.now() + timedelta(seconds=1)})
    stored = store.put(newer)
    assert stored == newer.model_copy(update={"revision": 1})
    assert store.get(d.id) == stored


def test_a_write_from_a_stale_copy_is_refused_and_nothing_is_lost(make_store: MakeStore) -> None:
    clock = ManualClock()
    store = make_store(clock)
    d = make(clock)
    store.add(d)
    first, second = store.get(d.id), store.get(d.id)  # two readers of revision 0
    store.put(first.model_copy(update={"manual_steps": ("one",)}))
    with pytest.raises(ConcurrentUpdateError) as err:
        store.put(second.model_copy(update={"manual_steps": ("two",)}))
    assert "another process" in str(err.value) and "status again" in str(err.value)
    assert store.get(d.id).manual_steps == ("one",)
    again = store.get(d.id)
    assert store.put(again.model_copy(update={"manual_steps": ("one", "two")})).revision == 2


def test_unknown_id_is_a_clear_error(make_store: MakeStore) -> None:
    store = make_store(ManualClock())
    with pytest.raises(UnknownDiagnosisError) as err:
        store.get("d-" + "0" * 32)
    assert not err.value.expired
    assert "is unknown" in str(err.value)
    assert "Start a new diagnosis" in str(err.value)


def test_entries_expire_after_the_ttl_since_their_last_update(make_store: MakeStore) -> None:
    clock = ManualClock()
    store = make_store(clock, ttl=timedelta(minutes=10))
    d = make(clock)
    store.add(d)
    clock.advance(timedelta(minutes=9))
    d = store.put(d)  # an update renews the lease
    clock.advance(timedelta(minutes=9))
    assert store.get(d.id) == d
    clock.advance(timedelta(minutes=1))
    with pytest.raises(UnknownDiagnosisError) as err:
        store.get(d.id)
    assert err.value.expired
    assert "has expired" in str(err.value)
    with pytest.raises(UnknownDiagnosisError):
        store.put(d)  # an expired diagnosis cannot be written back either


def report_of(d: Diagnosis, rule_id: str = "linux.clean_reboot") -> Report:
    return Report(
        tool_version="0",
        diagnosis_id=d.id,
        generated_at=d.updated_at,
        instance=d.instance,
        conclusion=Conclusion(
            rule_id=rule_id,
            verdict="guest_initiated",
            root_cause=Text(en="r", zh_CN="r"),
            impact_scope=Text(en="i", zh_CN="i"),
        ),
    )


def finished(d: Diagnosis) -> Diagnosis:
    """``d`` with a report, as after ecs_render_report (only its presence matters here)."""
    return d.model_copy(update={"report": report_of(d)})


def test_an_owner_at_its_quota_is_refused_and_nothing_is_evicted(make_store: MakeStore) -> None:
    clock = ManualClock()
    store = make_store(clock, max_diagnoses=3)
    items = [make(clock) for _ in range(3)]
    for d in items:
        store.add(d)
    with pytest.raises(QuotaExceededError) as err:
        store.add(make(clock))
    assert "Finish one" in str(err.value) and "expires" in str(err.value)
    for d in items:
        assert store.get(d.id) == d


def test_an_owner_at_its_quota_makes_room_from_its_own_finished_diagnoses(
    make_store: MakeStore,
) -> None:
    clock = ManualClock()
    store = make_store(clock, max_diagnoses=3)
    items = [make(clock) for _ in range(4)]
    for d in items[:3]:
        store.add(d)
        clock.advance(timedelta(seconds=1))
    store.put(finished(items[1]))
    store.put(finished(items[0]))  # items[1] is now the least recently updated finished one
    store.add(items[3])
    assert len(store) == 3
    with pytest.raises(UnknownDiagnosisError) as err:
        store.get(items[1].id)
    assert err.value.expired
    for d in (items[0], items[2], items[3]):
        assert store.get(d.id).id == d.id


def test_one_owner_filling_its_quota_never_evicts_another_owners(make_store: MakeStore) -> None:
    clock = ManualClock()
    store = make_store(clock, max_diagnoses=2)
    theirs = [make(clock, owner="beta") for _ in range(2)]
    for d in theirs:
        store.add(finished(d))
    for _ in range(2):
        store.add(finished(make(clock, owner="alpha")))
    for _ in range(10):  # alpha churns through its own finished diagnoses only
        store.add(finished(make(clock, owner="alpha")))
    with pytest.raises(QuotaExceededError):
        for _ in range(3):
            store.add(make(clock, owner="alpha"))
    assert store.count("alpha") == 2
    assert store.count("beta") == 2
    for d in theirs:
        assert store.get(d.id).id == d.id
    store.put(finished(make(clock, owner="beta")).model_copy(update={"id": theirs[0].id}))
    with pytest.raises(ValueError, match="owner"):
        store.put(theirs[1].model_copy(update={"owner": "alpha"}))


def test_an_id_cannot_be_issued_twice(make_store: MakeStore) -> None:
    clock = ManualClock()
    store = make_store(clock)
    d = make(clock)
    store.add(d)
    with pytest.raises(ValueError, match="already issued"):
        store.add(d)


@pytest.mark.parametrize(
    ("ttl", "count"), [(timedelta(0), 1), (timedelta(seconds=1), 0)], ids=["ttl", "count"]
)
def test_bounds_must_be_positive(make_store: MakeStore, ttl: timedelta, count: int) -> None:
    with pytest.raises(ValueError):
        make_store(ManualClock(), ttl=ttl, max_diagnoses=count)


def test_an_expired_id_stays_expired_not_unknown(make_store: MakeStore) -> None:
    clock = ManualClock()
    store = make_store(clock, ttl=timedelta(minutes=1))
    d = make(clock)
    store.add(d)
    clock.advance(timedelta(minutes=2))
    with pytest.raises(UnknownDiagnosisError) as err:
        store.get(d.id)  # expired, before anything purged it
    assert err.value.expired
    store.add(make(clock))  # purges
    with pytest.raises(UnknownDiagnosisError) as err:
        store.get(d.id)
    assert err.value.expired
    with pytest.raises(ValueError, match="already issued"):
        store.add(d)


# --- the report history ------------------------------------------------------------------------


def test_a_report_is_kept_once_for_the_history_of_its_owner_and_instance(
    make_store: MakeStore,
) -> None:
    clock = ManualClock()
    store = make_store(clock)
    since = clock.now() - timedelta(days=30)
    d = make(clock)
    store.add(d)
    assert store.history("", "cn-hangzhou", INSTANCE.instance_id, since=since) == []
    d = store.put(finished(d))
    d = store.put(d)  # written again with its report: still one entry
    (past,) = store.history("", "cn-hangzhou", INSTANCE.instance_id, since=since)
    assert past.rule_id == "linux.clean_reboot"
    assert past.verdict == "guest_initiated"
    assert past.diagnosed_at == d.updated_at
    assert past.signature == "linux.clean_reboot"
    # owner-scoped, instance-scoped, region-scoped, and the diagnosis itself can be left out
    assert store.history("beta", "cn-hangzhou", INSTANCE.instance_id, since=since) == []
    assert store.history("", "cn-hangzhou", "i-bp1otherinstance", since=since) == []
    assert store.history("", "cn-beijing", INSTANCE.instance_id, since=since) == []
    assert (
        store.history("", "cn-hangzhou", INSTANCE.instance_id, since=since, exclude_id=d.id) == []
    )
    later = clock.now() + timedelta(seconds=1)
    assert store.history("", "cn-hangzhou", INSTANCE.instance_id, since=later) == []


def test_the_history_outlives_the_diagnosis_until_its_own_ttl(make_store: MakeStore) -> None:
    clock = ManualClock()
    store = make_store(clock, ttl=timedelta(hours=1), history_ttl=timedelta(days=30))
    d = make(clock)
    store.add(d)
    store.put(finished(d))
    clock.advance(timedelta(days=29))
    with pytest.raises(UnknownDiagnosisError):
        store.get(d.id)
    since = clock.now() - timedelta(days=60)
    assert len(store.history("", "cn-hangzhou", INSTANCE.instance_id, since=since)) == 1
    clock.advance(timedelta(days=1))
    store.add(make(clock))  # any write purges what expired
    assert store.history("", "cn-hangzhou", INSTANCE.instance_id, since=since) == []


def test_the_history_is_newest_first_and_bounded_per_owner(make_store: MakeStore) -> None:
    clock = ManualClock()
    store = make_store(clock, max_reports=3)
    other = make(clock, owner="beta")
    store.add(other)
    store.put(finished(other))
    rules = []
    for n in range(5):
        clock.advance(timedelta(hours=1))
        d = make(clock)
        store.add(d)
        rule = f"linux.rule{n}"
        rules.append(rule)
        store.put(d.model_copy(update={"report": report_of(d, rule)}))
    since = clock.now() - timedelta(days=1)
    found = store.history("", "cn-hangzhou", INSTANCE.instance_id, since=since)
    assert [p.rule_id for p in found] == rules[::-1][:3]
    assert len(store.history("beta", "cn-hangzhou", INSTANCE.instance_id, since=since)) == 1
