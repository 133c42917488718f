"""Reboot records: ``last -x`` (also ``--time-format iso``) and ``utmpdump`` output of wtmp.

:func:`parse_last_records` reads the records; :func:`last_hits` turns each boot and the record
before it into a clean reboot, a clean shutdown or an unexpected shutdown.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from ecs_reboot_diagnosis.analysis.hits import Hit
from ecs_reboot_diagnosis.analysis.log_lines import MONTHS, cut_line, parse_syslog_time
from ecs_reboot_diagnosis.models import Confidence, Evidence, FindingKind

__all__ = ["RebootRecord", "last_hits", "looks_like_wtmp", "parse_last_records"]

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
    r"\[(?P<rest>[^\[\]]*)\]$"
)
_UTMP_TYPE: Final = {"reboot": "2", "shutdown": "1"}
# a user session of `last` that ended when the system went down: "- crash" (a boot came next
# with no shutdown record) or "- down" (a shutdown came next)
_SESSION_END: Final = re.compile(
    r"^(?!reboot |shutdown )(?P<user>[^\s\[]{1,32}) .{0,200}? - {1,4}(?P<end>crash|down)\b"
)
# any line of `last` or utmpdump output, to recognise such a file
_UTMPDUMP_ANY: Final = re.compile(r"^\[\d\] \[ *\d+\] \[")
_WTMP_TRAILER: Final = re.compile(r"^(?:wtmpx? begins|btmp begins)\b")


@dataclass(frozen=True, slots=True)
class RebootRecord:
    """One ``reboot`` or ``shutdown`` record of ``last -x`` (newest first in its output)."""

    kind: str
    """``reboot``, ``shutdown``, or a user session that ended with the system: ``crash`` or
    ``down`` (plain ``last`` output given to analyze-log)"""
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
    utmpdump = 0
    for index, full in enumerate(lines):
        text = cut_line(full)
        line = text.strip()
        match = _LAST_LINE.match(line) or _UTMPDUMP_LINE.match(line)
        if match is None:
            session = _SESSION_END.match(line)
            if session is not None:
                stamp = _LAST_TIME.search(line)
                out.append(
                    RebootRecord(
                        kind=session.group("end"),
                        text=text.rstrip(),
                        index=index,
                        start=_last_time(stamp, reference) if stamp is not None else None,
                        crash=session.group("end") == "crash",
                    )
                )
            continue
        utmpdump += match.re is _UTMPDUMP_LINE
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
    dated = [r.start for r in out if r.start is not None]
    if utmpdump and utmpdump == len(out) and len(dated) >= 2 and dated[0] < dated[-1]:
        out.reverse()  # utmpdump as it prints wtmp: oldest first
    return out


def looks_like_wtmp(lines: Sequence[str]) -> bool:
    """``lines`` are ``last`` / ``last -x`` or ``utmpdump`` output (at least one boot record;
    every other non-blank line a login record or the ``wtmp begins`` trailer)."""
    boots = 0
    for text in lines:
        line = text.strip()[:600]
        if not line or _WTMP_TRAILER.match(line):
            continue
        if _LAST_LINE.match(line) or _UTMPDUMP_LINE.match(line):
            boots += 1
        elif not (_UTMPDUMP_ANY.match(line) or _LAST_TIME.search(line)):
            return False
    return boots > 0


def _fmt(stamp: datetime | None) -> str:
    return stamp.strftime("%Y-%m-%d %H:%M:%S %z") if stamp is not None else "an unknown time"


def last_hits(
    records: Sequence[RebootRecord], source: str, window_start: datetime | None, first_order: int
) -> list[Hit]:
    hits: list[Hit] = []
    # plain `last` shows no shutdown records: only a session's "crash" or "down" says how a boot
    # ended (the collector's records have no sessions: a boot after a boot is unexpected there)
    plain = not any(r.kind == "shutdown" for r in records) and any(
        r.kind in ("crash", "down") for r in records
    )
    for i, rec in enumerate(records):
        if rec.kind != "reboot" or i + 1 >= len(records):
            continue
        if window_start is not None and rec.start is not None and rec.start < window_start:
            continue
        # what lies between this boot and the one before it, newest first
        between = list(itertools.takewhile(lambda r: r.kind != "reboot", records[i + 1 :])) or [
            records[i + 1]
        ]
        prev = next(
            (r for r in between if r.kind in ("shutdown", "down") and not r.crash),
            next((r for r in between if r.crash), between[0]),
        )
        if plain and prev.kind == "reboot":
            continue  # no session tells how that boot ended
        ev = [
            Evidence(source=source, line_no=rec.index + 1, text=rec.text),
            Evidence(source=source, line_no=prev.index + 1, text=prev.text),
        ]
        order = first_order - i  # newer records later in the ordering
        kind: FindingKind
        confidence: Confidence
        if prev.kind == "down":
            kind = "clean_shutdown"
            detail = (
                f"a session ended when the system went down before the boot at {_fmt(rec.start)}"
            )
            detail_zh = f"{_fmt(rec.start)} 的启动之前，有一个会话因系统关闭而结束"
            confidence = "medium"
        elif prev.kind == "shutdown" and not prev.crash:
            gap = (
                (rec.start - prev.start).total_seconds()
                if rec.start is not None and prev.start is not None
                else None
            )
            kind = "clean_reboot" if gap is not None and gap <= 900 else "clean_shutdown"
            detail = (
                f"wtmp has a shutdown record at {_fmt(prev.start)} before the boot at "
                f"{_fmt(rec.start)}"
            )
            detail_zh = f"wtmp 在 {_fmt(rec.start)} 的启动之前有一条 {_fmt(prev.start)} 的关机记录"
            confidence = "high" if gap is not None else "medium"
        elif prev.kind == "crash":
            kind = "unexpected_shutdown"
            detail = (
                f"a session ended by a crash (no shutdown record) before the boot at "
                f"{_fmt(rec.start)}"
            )
            detail_zh = f"{_fmt(rec.start)} 的启动之前，有一个会话因崩溃而结束（没有关机记录）"
            confidence = "medium"
        else:
            kind = "unexpected_shutdown"
            detail = (
                f"the boot of {_fmt(prev.start)} ended without a shutdown record "
                f"before the boot at {_fmt(rec.start)}"
            )
            detail_zh = (
                f"{_fmt(prev.start)} 开始的那次启动在 {_fmt(rec.start)} 的启动之前结束，"
                "没有关机记录"
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
                detail_zh=detail_zh,
                confidence=confidence,
            )
        )
    return hits
