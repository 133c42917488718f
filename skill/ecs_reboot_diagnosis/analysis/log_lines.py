"""Collected log lines: syslog, journal and dmesg prefixes, tags and timestamps.

A :class:`LogLine` is one line as collected (its source and line number); :func:`parse_line`
splits it into the program tag, the message without stamps and its time. Kernel signatures
(:mod:`.signatures`) look at the message only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Final

__all__ = [
    "MAX_LINE",
    "MAX_MODULES_LINE",
    "MONTHS",
    "LogLine",
    "ParsedLine",
    "cut_line",
    "excerpt",
    "kernel_message",
    "month_number",
    "parse_line",
    "parse_syslog_time",
    "syslog_host",
]

# A line is cut to MAX_LINE characters (the collector's limit) before anything matches it, and
# evidence text is the cut line: with linear patterns this bounds the work and memory per line.
# `Modules linked in:` lines are longer: the collector keeps 600 characters of them, saved logs
# hold up to the kernel's printk record (1024 bytes), and the module list is a fact.
MAX_LINE: Final = 300
MAX_MODULES_LINE: Final = 1024


def cut_line(text: str) -> str:
    """``text`` cut to :data:`MAX_LINE` characters (:data:`MAX_MODULES_LINE` for module lists)."""
    if len(text) <= MAX_LINE:
        return text
    head = text[:MAX_MODULES_LINE]
    return head if "Modules linked in" in head else text[:MAX_LINE]


MONTHS: Final = {
    m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)
}
_MON: Final = r"(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
# Month abbreviations as syslog and journalctl print them in other locales (glibc's %b), lower
# case: German, French, Spanish, Italian, Portuguese, Dutch, Russian; CJK locales print "12月".
# The syslog patterns take any short word (or "N月") as the month and look it up here: a table,
# not an alternation.
_LOCAL_MONTHS: Final[dict[str, int]] = {
    name: number
    for number, names in enumerate(
        (
            "jan janv janv. jän ene ene. gen янв января январь",
            "feb fév févr févr. fev фев февр февраля",
            "mar mär mars mrt mar. марта мар март",
            "apr avr avr. avril abr abr. апр апреля",
            "may mai mei mag may. мая май",
            "jun juin giu jun. июн июня июнь",
            "jul juil juil. lug jul. июл июля июль",
            "aug août ago ago. авг августа",
            "sep sept sept. set sep. сен сент сентября",
            "oct okt ott out oct. окт октября",
            "nov nov. ноя нояб ноября",
            "dec dez déc déc. dic dic. дек декабря",
        ),
        1,
    )
    for name in names.split()
}
_ANY_MON: Final = r"(?P<mon>[^\W\d_]{2,8}\.?|1?\d[月월])"
_SYSLOG_TRAD: Final = re.compile(
    r"^" + _ANY_MON + r" +(?P<day>\d{1,2})日? "
    r"(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d) (?:(?P<host>\S{0,255}[^\s:]) )?(?:[a-z0-9]+\.[a-z]+ )?"
    r"(?P<tag>[^\s:\[]+)(?:\[\d+\])?: ?(?P<msg>.*)$"
)
# (a syslog line may lack its host: "Feb 23 03:28:16 kernel: mce: ...")
# rsyslog forwarding kernel lines without a tag: "Aug 29 18:25:03 10.0.0.5 [  956.128533] RIP: ..."
_SYSLOG_NOTAG: Final = re.compile(
    r"^" + _ANY_MON + r" +(?P<day>\d{1,2})日? (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d) (?P<host>\S+) "
    r"(?P<msg>\[\s*\d+\.\d+\].*)$"
)
_SYSLOG_ISO: Final = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?) (?P<host>\S+) "
    r"(?:[a-z0-9]+\.[a-z]+ )?(?P<tag>[^\s:\[]+)(?:\[\d+\])?: ?(?P<msg>.*)$"
)
_ISO_TS: Final = re.compile(
    r"^(?P<date>\d{4}-\d\d-\d\d)[T ](?P<time>\d\d:\d\d:\d\d)(?P<frac>[.,]\d+)?"
    r"(?P<tz>Z|[+-]\d\d:?\d\d)?$"
)
# `dmesg --time-format iso`: "2022-01-27T15:01:57,611476+01:00 message" (a comma, no host)
_DMESG_ISO: Final = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d+(?:Z|[+-]\d\d:?\d\d)?) (?P<msg>.*)$"
)
# `<4>[ 12.3] ...` (pstore/ramoops, `dmesg -r`, serial consoles) or a syslog PRI
_LEVEL: Final = re.compile(r"^<\d{1,3}>")
# `dmesg -x`: "kern  :err   : ..."
_DMESG_X: Final = re.compile(
    r"^(?P<fac>kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local[0-7])"
    r"\s*:\s*(?:emerg|alert|crit|err|warn|notice|info|debug)\s*:\s?"
)
_MONO: Final = re.compile(r"^\[\s*(?P<mono>\d+\.\d+)\]\s?(?P<msg>.*)$")
# the other bracketed stamps dmesg prints before a message: relative (`-d`/`-x`: "[  +0.001354]"),
# human (`-T`: "[Thu Mar 25 00:50:20 2021]") and the caller id ("[T1234]", "[C3]")
_HUMAN: Final = re.compile(
    r"^\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) " + _MON + r" +(?P<day>\d{1,2}) "
    r"(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d) (?P<year>\d{4})\]\s?"
)
_OTHER_STAMP: Final = re.compile(r"^\[\s*(?:\+\d+\.\d+(?:\s*<\s*\d+\.\d+>)?|[TC]\d+)\]\s?")
# a line whose program prefix says who wrote it: serial consoles and kmsg carry systemd's lines
# ("[ 12.3] systemd[1]: Reached target Reboot.", the kdump capture kernel's "kdump[508]: saving
# vmcore"), wall messages the kernel's (" kernel:[ 1.2] ...")
_PROGRAM: Final = re.compile(
    r"^(?P<tag>kernel|systemd|systemd-logind|systemd-shutdown|systemd-journald|shutdown|init|"
    r"kdump|kdump\.sh|makedumpfile)"
    r"(?:\[\d+\])?:\s?(?P<msg>.*)$"
)
# a command typed at a shell prompt in a console capture: "cloud@cloud:~$ sudo shutdown -r now"
_SHELL_PROMPT: Final = re.compile(
    r"^(?:\(\S{1,40}\) )?\[?[a-z_][\w.-]{0,31}@[\w.-]{1,64}[: ][^\s$#\]]{0,200}\]?[$#] "
    r"(?P<msg>.{1,300})$"
)
# systemd's status lines on a console: "[  OK  ] Reached target Reboot."
_CONSOLE_STATUS: Final = re.compile(r"^\[\s*OK\s*\]\s+(?P<msg>.*)$")


@dataclass(frozen=True, slots=True)
class LogLine:
    """One collected log line. ``time`` overrides the time parsed from the text when known."""

    source: str
    line_no: int | None
    text: str
    time: datetime | None = None
    text_source: bool = False
    """The line comes from a file any program can write (syslog, the journal's every
    transport): it is a kernel line only with an explicit ``kernel`` tag."""

    def __post_init__(self) -> None:
        # the single entry of guest text: every line is cut before it is matched or quoted
        if len(self.text) > MAX_LINE:
            object.__setattr__(self, "text", cut_line(self.text))


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """A line split into its program tag (None for bare kernel lines), message and time."""

    line: LogLine
    order: int
    tag: str | None
    message: str
    time: datetime | None

    @property
    def is_kernel(self) -> bool:
        if self.line.text_source:
            return self.tag == "kernel"
        return self.tag is None or self.tag == "kernel"

    @property
    def position(self) -> int:
        return self.line.line_no if self.line.line_no is not None else self.order


def _parse_offset(text: str | None) -> tzinfo | None:
    if not text:
        return None
    if text == "Z":
        return UTC
    sign = 1 if text[0] == "+" else -1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


def _strip_prefixes(text: str) -> str:
    """Drop the log level (``<4>``) and ``dmesg -x`` facility/level prefixes of a line."""
    text = _LEVEL.sub("", text, count=1)
    return _DMESG_X.sub("", text, count=1)


def month_number(name: str) -> int | None:
    """The month an abbreviation names: English (``Mar``), another locale's (``Mär``, ``déc.``,
    ``dic``, ``дек``) or CJK (``12月``); None for any other word."""
    if name[-1:] in ("月", "월"):
        number = int(name[:-1]) if name[:-1].isdigit() else 0
        return number if 1 <= number <= 12 else None
    return MONTHS.get(name) or _LOCAL_MONTHS.get(name.casefold())


def _syslog_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """A traditional syslog stamp's match, when its month is a month."""
    match = pattern.match(text)
    if match is None or month_number(match.group("mon")) is None:
        return None
    return match


def _stamp(match: re.Match[str], year: int, zone: tzinfo | None) -> datetime | None:
    month = month_number(match.group("mon"))
    if month is None:
        return None
    try:
        return datetime(
            year,
            month,
            int(match.group("day")),
            int(match.group("h")),
            int(match.group("m")),
            int(match.group("s")),
            tzinfo=zone,
        )
    except ValueError:  # Feb 29 in a non-leap year
        return None


def parse_syslog_time(text: str, reference: datetime | None = None) -> datetime | None:
    """The time at the start of a syslog, journal or dmesg line, or None.

    ISO stamps (rsyslog high precision, ``journalctl -o short-iso``, ``dmesg --time-format iso``)
    carry their offset. Traditional ``Mar 20 10:30:00`` stamps have no year and no zone: they take
    the zone of ``reference`` (the guest's local time when the collector ran) and the year that
    puts them at most one day after it; ``dmesg -T`` stamps (``[Thu Mar 20 10:30:00 2025]``) have
    a year but no zone and take the reference's. Without a reference neither is dated.
    """
    text = _strip_prefixes(text)
    first = text.split(" ", 1)[0]
    match = _ISO_TS.match(first) if text[:1].isdigit() else None
    if match is not None:
        frac = (match.group("frac") or "").replace(",", ".")[:7]
        try:
            naive = datetime.fromisoformat(f"{match.group('date')}T{match.group('time')}{frac}")
        except ValueError:
            return None
        zone = _parse_offset(match.group("tz")) or (reference.tzinfo if reference else None)
        return naive.replace(tzinfo=zone) if zone is not None else None
    if reference is None:
        return None
    human = _HUMAN.match(text)
    if human is not None:
        return _stamp(human, int(human.group("year")), reference.tzinfo)
    trad = _syslog_match(_SYSLOG_TRAD, text) or _syslog_match(_SYSLOG_NOTAG, text)
    if trad is None:
        return None
    stamp = _stamp(trad, reference.year, reference.tzinfo)
    if stamp is not None and stamp > reference + timedelta(days=1):
        try:
            stamp = stamp.replace(year=reference.year - 1)
        except ValueError:
            return None
    return stamp


def _strip_stamps(msg: str) -> str:
    """Drop the bracketed dmesg stamps in front of a message (at most one of each kind)."""
    for _ in range(3):
        mono = _MONO.match(msg)
        if mono is not None:
            msg = mono.group("msg")
            continue
        other = _HUMAN.match(msg) or _OTHER_STAMP.match(msg)
        if other is None:
            break
        msg = msg[other.end() :]
    return msg


def kernel_message(text: str) -> tuple[str | None, str]:
    """Split a collected line into (syslog tag or None, message without stamps).

    Understands syslog (traditional, ISO and tag-less forwarded kernel lines), journal
    ``short``/``short-iso``, raw ``dmesg`` (monotonic, ``-T``, ``-x``, ``--time-format iso``,
    ``<level>`` prefixes as pstore and serial consoles show them) and wall messages. A line of
    the kernel ring buffer or a console that names its program (``systemd[1]: ...``) is that
    program's line, not the kernel's.
    """
    tag: str | None = None
    msg = _strip_prefixes(text)
    trad = _syslog_match(_SYSLOG_TRAD, msg)
    if trad is not None:
        tag, msg = trad.group("tag"), trad.group("msg")
    elif (iso := _SYSLOG_ISO.match(msg)) is not None:
        tag, msg = iso.group("tag"), iso.group("msg")
    elif (notag := _syslog_match(_SYSLOG_NOTAG, msg)) is not None:
        tag, msg = "kernel", notag.group("msg")
    elif (diso := _DMESG_ISO.match(msg)) is not None:
        msg = diso.group("msg")
    msg = _strip_stamps(msg.lstrip() if tag is not None else msg)
    if tag is None or tag == "kernel":
        program = _PROGRAM.match(msg.lstrip())
        if program is not None and not (tag == "kernel" and program.group("tag") == "kernel"):
            tag, msg = program.group("tag"), _strip_stamps(program.group("msg"))
            if tag == "kernel":
                program = _PROGRAM.match(msg)
                if program is not None and program.group("tag") != "kernel":
                    tag, msg = program.group("tag"), program.group("msg")
        elif tag is None and (status := _CONSOLE_STATUS.match(msg)) is not None:
            tag, msg = "systemd", status.group("msg")
        elif tag is None and (prompt := _SHELL_PROMPT.match(msg)) is not None:
            tag, msg = "shell", prompt.group("msg")
    return tag, msg


def syslog_host(text: str) -> str | None:
    """The host name field of a syslog line (traditional, ISO or forwarded), else None."""
    msg = _strip_prefixes(text)
    match = (
        _syslog_match(_SYSLOG_TRAD, msg)
        or _SYSLOG_ISO.match(msg)
        or _syslog_match(_SYSLOG_NOTAG, msg)
    )
    return match.group("host") if match is not None else None


_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def quoted(text: str) -> str:
    """Guest text inside a Chinese sentence: between backticks (the report shows it as code,
    as it is), with any backtick of its own made a quote so that it cannot end the span."""
    return "`" + text.replace("`", "'") + "`"


def excerpt(text: str, limit: int = 60) -> str:
    """A short, printable excerpt of guest text for a summary sentence (never the whole line)."""
    clean = _CONTROL.sub(" ", text[: limit * 4]).strip()
    return clean if len(clean) <= limit else clean[: limit - 3].rstrip() + "..."


def parse_line(line: LogLine, order: int, reference: datetime | None) -> ParsedLine:
    tag, msg = kernel_message(line.text)
    time = line.time if line.time is not None else parse_syslog_time(line.text, reference)
    return ParsedLine(line=line, order=order, tag=tag, message=msg, time=time)
