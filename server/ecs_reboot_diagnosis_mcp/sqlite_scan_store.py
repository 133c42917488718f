"""The fleet scan's checkpoint port (:class:`~ecs_reboot_diagnosis.fleet_ports.ScanStore`) over
the store file's ``fleet_scans`` table (:class:`~.scan_table.SqliteScanTable`).

Scans then outlive the process that started them and are shared by every process on the file
(servers, the CLI's ``scan --resume``), for their owner only. The table's revisions make two
runs of one scan exclusive: a save at a stale revision (another run saved since) raises
:class:`~ecs_reboot_diagnosis.errors.ScanBusyError` and writes nothing, and since the scan saves
before each RunCommand, the loser sends no command. TTL (24 h after the last save), the per-owner
bound (the in-memory store's) and the size limit are the table's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecs_reboot_diagnosis.errors import ConcurrentUpdateError, ScanBusyError
from ecs_reboot_diagnosis.fleet_ports import StoredScan
from ecs_reboot_diagnosis.scan_store import check_scan_id, checkpoint_too_large
from ecs_reboot_diagnosis_mcp.scan_table import SqliteScanTable, StateTooLarge

__all__ = ["SqliteScanStore"]


class SqliteScanStore:
    """Fleet-scan checkpoints in a :class:`SqliteScanTable`."""

    def __init__(self, table: SqliteScanTable) -> None:
        self.table = table

    def save(
        self, scan_id: str, owner: str, checkpoint: Mapping[str, Any], *, revision: int
    ) -> int:
        check_scan_id(scan_id)
        try:
            return self.table.put(scan_id, owner, checkpoint, expected_revision=revision)
        except StateTooLarge as exc:
            raise checkpoint_too_large(scan_id, exc.size) from None
        except ConcurrentUpdateError:
            gone = revision > 0 and self.table.get(scan_id, owner) is None
            raise ScanBusyError(scan_id, gone=gone) from None

    def load(self, scan_id: str, owner: str) -> StoredScan | None:
        record = self.table.get(check_scan_id(scan_id), owner)
        return None if record is None else StoredScan(record.state, record.revision)
