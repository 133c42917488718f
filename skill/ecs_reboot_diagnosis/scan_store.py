"""Where fleet-scan checkpoints live: in memory (tests, one process), or one JSON file per scan
in a directory (the CLI, so that ``scan --resume SCAN_ID`` continues after an interruption).

Both implement :class:`~ecs_reboot_diagnosis.fleet_ports.ScanStore`. A file is replaced
atomically (written beside, then renamed), so an interruption never leaves half a checkpoint.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ecs_reboot_diagnosis.errors import InvalidInputError

__all__ = ["SCAN_ID_PATTERN", "InMemoryScanStore", "JsonFileScanStore", "check_scan_id"]

SCAN_ID_PATTERN = r"^s-[0-9a-f]{32}$"


def check_scan_id(scan_id: str) -> str:
    if not re.fullmatch(SCAN_ID_PATTERN, scan_id):
        raise InvalidInputError(
            "scan_id",
            f"{scan_id[:64]!r} is not a scan id.",
            hint="A scan id is s- and 32 hex digits, as a scan printed it when it started.",
        )
    return scan_id


class InMemoryScanStore:
    """The ``max_scans`` most recently saved scans (a long-running server forgets the oldest)."""

    def __init__(self, max_scans: int = 32) -> None:
        if max_scans < 1:
            raise ValueError("max_scans must be at least 1")
        self._lock = threading.Lock()
        self._scans: OrderedDict[str, str] = OrderedDict()
        """As JSON text: what is saved must be JSON, as in any other store."""
        self._max = max_scans

    def save(self, scan_id: str, checkpoint: Mapping[str, Any]) -> None:
        with self._lock:
            self._scans[check_scan_id(scan_id)] = json.dumps(checkpoint, ensure_ascii=False)
            self._scans.move_to_end(scan_id)
            while len(self._scans) > self._max:
                self._scans.popitem(last=False)

    def load(self, scan_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._scans.get(check_scan_id(scan_id))
        loaded = json.loads(found) if found is not None else None
        return loaded if isinstance(loaded, dict) else None


class JsonFileScanStore:
    """``<directory>/<scan_id>.json``, one file per scan."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _path(self, scan_id: str) -> Path:
        return self.directory / f"{check_scan_id(scan_id)}.json"

    def save(self, scan_id: str, checkpoint: Mapping[str, Any]) -> None:
        path = self._path(scan_id)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(checkpoint, ensure_ascii=False), encoding="utf-8")
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)

    def load(self, scan_id: str) -> dict[str, Any] | None:
        path = self._path(scan_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise InvalidInputError(
                "scan_id",
                f"The checkpoint of scan {scan_id} cannot be read: {exc}.",
                hint="Start a new scan instead of resuming this one.",
            ) from None
        return data if isinstance(data, dict) else None
