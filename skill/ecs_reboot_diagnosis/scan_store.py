"""Fleet-scan checkpoints in memory (``ECS_DIAG_STORE=memory``, and tests): the
:class:`~ecs_reboot_diagnosis.fleet_ports.ScanStore` contract within one process. Scans that
survive the process live in the store file (the server package's SQLite adapter).

Both keep what is saved as JSON text, owned, revisioned (a save at a stale revision raises
:class:`~ecs_reboot_diagnosis.errors.ScanBusyError` and writes nothing), bounded per owner and
in size alike.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecs_reboot_diagnosis.errors import InvalidInputError, ScanBusyError
from ecs_reboot_diagnosis.fleet_ports import MAX_CHECKPOINT_BYTES, MAX_SCANS_PER_OWNER, StoredScan

__all__ = [
    "SCAN_ID_PATTERN",
    "InMemoryScanStore",
    "check_scan_id",
    "checkpoint_too_large",
]

SCAN_ID_PATTERN = r"^s-[0-9a-f]{32}$"


def check_scan_id(scan_id: str) -> str:
    if not re.fullmatch(SCAN_ID_PATTERN, scan_id):
        raise InvalidInputError(
            "scan_id",
            f"{scan_id[:64]!r} is not a scan id.",
            hint="A scan id is s- and 32 hex digits, as a scan printed it when it started.",
            message_zh=f"{scan_id[:64]!r} 不是扫描 ID。",
            hint_zh="扫描 ID 为 s- 加 32 位十六进制数字，即扫描开始时输出的 ID。",
        )
    return scan_id


def checkpoint_too_large(scan_id: str, size: int) -> InvalidInputError:
    """The error for a checkpoint over :data:`MAX_CHECKPOINT_BYTES` (nothing was written)."""
    mb, limit = size / 2**20, MAX_CHECKPOINT_BYTES / 2**20
    return InvalidInputError(
        "instance_ids",
        f"Scan {scan_id} covers too many instances to be kept: its checkpoint would be "
        f"{mb:.1f} MiB, more than the {limit:g} MiB a scan may keep.",
        hint="Scan fewer instances at once: by tag, by a list of instance ids, or one region "
        "at a time.",
        message_zh=f"扫描 {scan_id} 涵盖的实例过多，无法保存：其检查点将达 {mb:.1f} MiB，"
        f"超过单个扫描可保存的 {limit:g} MiB。",
        hint_zh="请一次扫描更少的实例：按标签、按实例 ID 列表，或逐个地域扫描。",
    )


@dataclass
class _Entry:
    owner: str
    revision: int
    text: str


class InMemoryScanStore:
    """Each owner's ``max_per_owner`` most recently saved scans (older ones are dropped)."""

    def __init__(self, max_per_owner: int = MAX_SCANS_PER_OWNER) -> None:
        if max_per_owner < 1:
            raise ValueError("max_per_owner must be at least 1")
        self._lock = threading.Lock()
        self._scans: OrderedDict[str, _Entry] = OrderedDict()
        """Least recently saved first; the checkpoint as JSON text (what is saved must be JSON,
        as in any other store, and a load returns a copy)."""
        self._max = max_per_owner

    def save(
        self, scan_id: str, owner: str, checkpoint: Mapping[str, Any], *, revision: int
    ) -> int:
        check_scan_id(scan_id)
        text = json.dumps(checkpoint, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        size = len(text.encode())
        if size > MAX_CHECKPOINT_BYTES:
            raise checkpoint_too_large(scan_id, size)
        with self._lock:
            entry = self._scans.get(scan_id)
            current = 0 if entry is None else entry.revision
            if (entry is not None and entry.owner != owner) or current != revision:
                raise ScanBusyError(scan_id, gone=revision > 0 and entry is None)
            self._scans[scan_id] = _Entry(owner, revision + 1, text)
            self._scans.move_to_end(scan_id)
            if entry is None:
                self._drop_oldest(owner)
            return revision + 1

    def _drop_oldest(self, owner: str) -> None:
        mine = [key for key, entry in self._scans.items() if entry.owner == owner]
        for key in mine[: max(0, len(mine) - self._max)]:
            del self._scans[key]

    def load(self, scan_id: str, owner: str) -> StoredScan | None:
        with self._lock:
            entry = self._scans.get(check_scan_id(scan_id))
        if entry is None or entry.owner != owner:
            return None
        loaded = json.loads(entry.text)
        return StoredScan(loaded, entry.revision) if isinstance(loaded, dict) else None
