"""Reboot records: ``last -x`` (also ``--time-format iso``) and ``utmpdump`` output of wtmp.

:func:`parse_last_records` reads the records; :func:`last_hits` turns each boot and the record
before it into a clean reboot, a clean shutdown or an unexpected shutdown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from ecs_reboot_diagnosis.analysis.hits import Hit
from ecs_reboot_diagnosis.analysis.log_lines import MONTHS, parse_syslog_time
from ecs_reboot_diagnosis.models import Confidence, Evidence, FindingKind

__all__ = ["RebootRecord", "last_hits", "parse_last_records"]

_LAST_LINE: Final = re.compile(r"^(?P<kind>reboot|shutdown)\s+system (?:boot|down)\s+(?P<rest>.*)$")
_LAST_TIME: Final = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +"
    r"(?P<day>\d{1,2}) (?P<h>\d\d):(?P<m>\d\d)(?::(?P<s>\d\d))?(?: (?P<year>\d{4}))?|"
    r"(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:[+-]\d\d:?\d\d|Z)?)"
)
# utmpdump: [type] [pid] [id] [user] [line] [host] [addr] [time]; BOOT_TIME (2) "reboot" and
# RUN_LVL (1) "shutdown" records are what ``last -x`` shows as reboot and shutdown.
_UTMPDUMP_LINE: Final = re.compile(
    r"^\[(?P<type>[12])\] \[ *\d+\] \[[^\]]*\] \[(?P<kind>reboot|shutdown) *\] .*"
    r"\[(?P<rest>[^\]]*)\]$"
)
_UTMP_TYPE: Final = {"reboot": "2", "shutdown": "1"}


@dataclass(frozen=True, slots=True)
class RebootRecord:
    """One ``reboot`` or ``shutdown`` record of ``last -x`` (newest first in its output)."""

    kind: str
    text: str
    index: int
    start: datetime | None
    crash: bool


def _last_time(match: re.Match[str], reference: datetime | None) -> datetime | None:
    iso = match.group("iso")
    if iso:
        if re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(?!:)", iso):
            iso = iso[:16] + ":00" + iso[16:]
        return parse_syslog_time(iso, reference)
    zone = reference.tzinfo if reference is not None else None
    year = int(match.group("year")) if match.group("year") else None
    if year is None and reference is not None:
        year = reference.year
    if year is None or zone is None:
        return None
    try:
        stamp = datetime(
            year,
            MONTHS[match.group("mon")],
            int(match.group("day")),
            int(match.group("h")),
            int(match.group("m")),
            int(match.group("s") or 0),
            tzinfo=zone,
        )
    except ValueError:
        return None
    if not match.group("year") and reference is not None and stamp > reference + timedelta(days=1):
        stamp = stamp.replace(year=year - 1)
    return stamp


def parse_last_records(
    lines: Iterable[str], reference: datetime | None = None
) -> list[RebootRecord]:
    """The reboot/shutdown records of ``last -x`` output, in its order (newest first).

    Also reads ``last -x --time-format iso`` lines and the collector's ``utmpdump`` fallback
    (reboot and shutdown records of wtmp, newest first; the time is the record's last field).
    """
    out: list[RebootRecord] = []
    for index, text in enumerate(lines):
        line = text.strip()
        match = _LAST_LINE.match(line) or _UTMPDUMP_LINE.match(line)
        if match is None:
            continue
        if match.re is _UTMPDUMP_LINE and match.group("type") != _UTMP_TYPE[match.group("kind")]:
            continue  # a RUN_LVL "reboot" or a BOOT_TIME "shutdown": not a boot or shutdown record
        stamp = _LAST_TIME.search(match.group("rest"))
        out.append(
            RebootRecord(
                kind=match.group("kind"),
                text=text.rstrip(),
                index=index,
                start=_last_time(stamp, reference) if stamp is not None else None,
                crash=bool(re.search(r"-\s+crash\b", match.group("rest"))),
            )
        )
    return out


def _fmt(stamp: datetime | None) -> str:
    return stamp.strftime("%Y-%m-%d %H:%M:%S %z") if stamp is not None else "an unknown time"


def last_hits(
    records: Sequence[RebootRecord], source: str, window_start: datetime | None, first_order: int
) -> list[Hit]:
    hits: list[Hit] = []
    for i, rec in enumerate(records):
        if rec.kind != "reboot" or i + 1 >= len(records):
            continue
        if window_start is not None and rec.start is not None and rec.start < window_start:
            continue
        prev = records[i + 1]
        ev = [
            Evidence(source=source, line_no=rec.index + 1, text=rec.text),
            Evidence(source=source, line_no=prev.index + 1, text=prev.text),
        ]
        order = first_order - i  # newer records later in the ordering
        if prev.kind == "shutdown" and not prev.crash:
            gap = (
                (rec.start - prev.start).total_seconds()
                if rec.start is not None and prev.start is not None
                else None
            )
            kind: FindingKind = (
                "clean_reboot" if gap is not None and gap <= 900 else "clean_shutdown"
            )
            detail = (
                f"wtmp has a shutdown record at {_fmt(prev.start)} before the boot at "
                f"{_fmt(rec.start)}"
            )
            confidence: Confidence = "high" if gap is not None else "medium"
        else:
            kind = "unexpected_shutdown"
            detail = (
                f"the boot of {_fmt(prev.start)} ended without a shutdown record "
                f"before the boot at {_fmt(rec.start)}"
            )
            confidence = "medium"
        hits.append(
            Hit(
                kind=kind,
                parsed=None,
                evidence=ev[0],
                extra_evidence=ev[1:],
                time=rec.start,
                order=order,
                key=rec.text,
                detail=detail,
                confidence=confidence,
            )
        )
    return hits
