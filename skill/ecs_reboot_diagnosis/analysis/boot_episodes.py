"""Boot episodes: when the instance booted, and which boot a piece of evidence belongs to.

A boot episode is the span from one boot to the next. The boots come from several records that
each see part of the history: the running boot's start (``btime``), the journal's boot list,
``last -x`` reboot records, kernel boot banners in syslog and crash dump directories (a crash ends
an episode). Times from different records of one boot differ by seconds to minutes, so starts
closer than :data:`SAME_BOOT` are one boot.

Everything here is pure and works on already parsed values; guest text never reaches it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final

__all__ = [
    "SAME_BOOT",
    "Boot",
    "JournalBoot",
    "crash_time_from_path",
    "episode_index",
    "merge_boots",
    "nearest_boot",
    "parse_list_boots",
]

SAME_BOOT: Final = timedelta(minutes=15)
"""Two boot records closer than this describe the same boot."""


@dataclass(frozen=True, slots=True)
class Boot:
    """The start of one boot and where that was read."""

    start: datetime
    source: str
    boot_id: str | None = None


@dataclass(frozen=True, slots=True)
class JournalBoot:
    """One row of ``journalctl --list-boots``."""

    index: int
    boot_id: str
    first: datetime | None
    last: datetime | None


# "  -1 2b3c4d5e6f7a48b9c0d1e2f3a4b5c6d7 Thu 2025-02-20 10:00:00 CST Fri 2025-03-21 10:00:00 CST"
# (newer systemd: "IDX BOOT ID FIRST ENTRY LAST ENTRY" header, same rows)
_LIST_BOOT: Final = re.compile(
    r"^\s{0,8}(?P<idx>-?\d{1,6})\s+(?P<id>[0-9a-f]{32})\s+"
    r"(?:[A-Z][a-z]{2} )?(?P<first>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?: [A-Za-z0-9+:-]{1,8})?\s*"
    r"(?:[-—]\s*)?(?:[A-Z][a-z]{2} )?(?P<last>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)?"
)


def _local(text: str | None, zone: tzinfo) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=zone)
    except ValueError:
        return None


def parse_list_boots(lines: Iterable[str], zone: tzinfo) -> list[JournalBoot]:
    """The rows of ``journalctl --list-boots`` (times in the guest's zone ``zone``)."""
    out: list[JournalBoot] = []
    for line in lines:
        match = _LIST_BOOT.match(line[:200])
        if match is None:
            continue
        out.append(
            JournalBoot(
                index=int(match.group("idx")),
                boot_id=match.group("id"),
                first=_local(match.group("first"), zone),
                last=_local(match.group("last"), zone),
            )
        )
    return out


# kdump (RHEL): "127.0.0.1-2026-11-30-10:30:00" (older: "127.0.0.1-2026-11-30-10-30-00");
# kdump-tools (Debian): "202611301030" directories and "dump.202611301030" / "dmesg.202611301030"
_RHEL_DIR: Final = re.compile(
    r"(?:^|[-/])(?P<y>20\d\d)-(?P<mo>\d\d)-(?P<d>\d\d)-(?P<h>\d\d)[:-](?P<mi>\d\d)[:-](?P<s>\d\d)"
)
_DEBIAN_STAMP: Final = re.compile(
    r"(?:^|[/.])(?P<y>20\d\d)(?P<mo>\d\d)(?P<d>\d\d)(?P<h>\d\d)(?P<mi>\d\d)(?:/|$)"
)


def crash_time_from_path(path: str, zone: tzinfo) -> datetime | None:
    """The crash time a kdump directory or file name records, in the guest's zone."""
    for part in reversed(path.split("/")[-2:]):
        match = _RHEL_DIR.search(part) or _DEBIAN_STAMP.search(part + "/")
        if match is None:
            continue
        groups = match.groupdict()
        try:
            return datetime(
                int(groups["y"]),
                int(groups["mo"]),
                int(groups["d"]),
                int(groups["h"]),
                int(groups["mi"]),
                int(groups.get("s") or 0),
                tzinfo=zone,
            )
        except ValueError:
            continue
    return None


def merge_boots(boots: Iterable[Boot], *, latest: datetime | None) -> list[Boot]:
    """One start per boot, newest first.

    ``latest`` is the running boot's start: records after it (clock skew, a forged line) are
    dropped, and records within :data:`SAME_BOOT` of an earlier-kept one are the same boot.
    Among the records of one boot the most precise source wins (``btime`` first, then the
    journal, wtmp, and banners).
    """
    rank = {"btime": 0, "journal": 1, "wtmp": 2, "banner": 3, "crash": 4}
    ordered = sorted(
        (b for b in boots if latest is None or b.start <= latest + SAME_BOOT),
        key=lambda b: b.start.timestamp(),
        reverse=True,
    )
    out: list[Boot] = []
    for boot in ordered:
        if out and out[-1].start - boot.start <= SAME_BOOT:
            kept = out[-1]
            if rank.get(boot.source, 9) < rank.get(kept.source, 9):
                out[-1] = Boot(boot.start, boot.source, boot.boot_id or kept.boot_id)
            elif kept.boot_id is None and boot.boot_id is not None:
                out[-1] = Boot(kept.start, kept.source, boot.boot_id)
            continue
        out.append(boot)
    return out


def episode_index(time: datetime, boots: Sequence[Boot]) -> int:
    """The episode (0 = running, -1 = the one before, ...) that ``time`` falls in.

    A time before the oldest boot known belongs to the episode before it: with only the running
    boot's start known, everything older is "the previous boot, as far as the records tell".
    """
    stamp = time.astimezone(UTC)
    for i, boot in enumerate(boots):
        if stamp >= boot.start.astimezone(UTC):
            return -i
    return -len(boots)


def nearest_boot(boots: Sequence[Boot], when: datetime) -> int | None:
    """The position in ``boots`` (newest first) of the boot that started nearest ``when``."""
    if not boots:
        return None
    return min(range(len(boots)), key=lambda i: abs((boots[i].start - when).total_seconds()))
