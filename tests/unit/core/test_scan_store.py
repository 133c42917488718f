"""Fleet-scan checkpoints: in memory and as one JSON file per scan, replaced atomically."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecs_reboot_diagnosis.errors import InvalidInputError
from ecs_reboot_diagnosis.scan_store import InMemoryScanStore, JsonFileScanStore

SCAN = "s-" + "ab" * 16


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_a_checkpoint_round_trips_and_is_a_copy(kind: str, tmp_path: Path) -> None:
    store = InMemoryScanStore() if kind == "memory" else JsonFileScanStore(tmp_path / "scans")
    assert store.load(SCAN) is None
    checkpoint = {"version": 1, "instances": [{"id": "i-1"}], "text": "中文"}
    store.save(SCAN, checkpoint)
    checkpoint["instances"].append({"id": "i-2"})  # type: ignore[attr-defined]
    loaded = store.load(SCAN)
    assert loaded == {"version": 1, "instances": [{"id": "i-1"}], "text": "中文"}
    store.save(SCAN, {"version": 1, "instances": []})
    assert store.load(SCAN) == {"version": 1, "instances": []}


def test_files_leave_no_temporary_behind_and_refuse_bad_ids(tmp_path: Path) -> None:
    store = JsonFileScanStore(tmp_path)
    store.save(SCAN, {"version": 1})
    assert [p.name for p in tmp_path.iterdir()] == [f"{SCAN}.json"]
    for bad in ("s-1", "../etc/passwd", "s-" + "AB" * 16):
        with pytest.raises(InvalidInputError):
            store.save(bad, {})
    (tmp_path / f"{SCAN}.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="Start a new scan"):
        store.load(SCAN)


def test_memory_keeps_the_most_recent_scans() -> None:
    store = InMemoryScanStore(max_scans=2)
    ids = [f"s-{n:032x}" for n in range(3)]
    for scan_id in ids:
        store.save(scan_id, {"id": scan_id})
    store.save(ids[1], {"id": ids[1], "again": True})
    assert store.load(ids[0]) is None
    assert store.load(ids[1]) == {"id": ids[1], "again": True}
    assert store.load(ids[2]) == {"id": ids[2]}
