"""Kernel and system log signatures -> findings.

Pure functions from log lines to :class:`~ecs_reboot_diagnosis.models.Finding` records. Each line
keeps where it came from (``Evidence.source`` and ``line_no``), so every finding points at the data
it rests on.

Rules that keep the result honest:

- Kernel signatures count only on kernel lines: lines without a syslog prefix (dmesg, vmcore-dmesg,
  pstore) or whose syslog tag is ``kernel``. An application that logs "Kernel panic" is ignored.
- Shutdown and reboot signatures count only from the programs that really print them (systemd,
  logind, shutdown, sudo ...).
- One finding per kind. Its facts come from the most recent occurrence; its evidence is that line,
  the RIP and ``Modules linked in`` lines of the same incident, then other distinct occurrences,
  at most :data:`MAX_EVIDENCE` lines.
- A panic gives a ``kernel_panic`` finding with the reason; when the reason names the cause
  (out of memory, SysRq, init killed, root mount, soft/hard lockup, hung task, machine check, RCU)
  the specific kind is reported as well.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Final, Generic, TypeVar

from ecs_reboot_diagnosis.models import (
    FINDING_KINDS,
    Confidence,
    Evidence,
    Finding,
    FindingFacts,
    FindingKind,
    Severity,
)

__all__ = [
    "MAX_EVIDENCE",
    "LogLine",
    "RebootRecord",
    "analyze_log_lines",
    "analyze_log_text",
    "kernel_message",
    "parse_call_trace_frame",
    "parse_last_records",
    "parse_modules",
    "parse_rip",
    "parse_syslog_time",
]

MAX_EVIDENCE: Final = 5
_NEAR: Final = 60  # lines: how far an incident's RIP / Modules / CPU lines may be from it

SEVERITY: Final[dict[FindingKind, Severity]] = {
    "kernel_panic": "critical",
    "oom_panic": "critical",
    "sysrq_crash": "critical",
    "init_killed": "critical",
    "vfs_root_mount": "critical",
    "mce_hardware": "critical",
    "kdump_saved": "critical",
    "bugcheck": "critical",
    "oops": "warning",
    "null_pointer": "warning",
    "gpf": "warning",
    "kernel_bug": "warning",
    "hung_task": "warning",
    "soft_lockup": "warning",
    "hard_lockup": "warning",
    "rcu_stall": "warning",
    "oom_kill": "warning",
    "cgroup_oom": "warning",
    "fs_error": "warning",
    "unexpected_shutdown": "warning",
    "app_crash": "warning",
    "clean_reboot": "info",
    "clean_shutdown": "info",
}
_SEVERITY_RANK: Final = {"critical": 0, "warning": 1, "info": 2}
_CONTEXT_KINDS: Final[frozenset[str]] = frozenset(
    {
        "kernel_panic",
        "oops",
        "null_pointer",
        "gpf",
        "kernel_bug",
        "soft_lockup",
        "hard_lockup",
        "rcu_stall",
        "sysrq_crash",
        "oom_panic",
        "init_killed",
        "mce_hardware",
    }
)

# --- line parsing -----------------------------------------------------------------------------

_MONTHS: Final = {
    m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)
}
_MON: Final = r"(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_SYSLOG_TRAD: Final = re.compile(
    r"^" + _MON + r" +(?P<day>\d{1,2}) "
    r"(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d) (?P<host>\S+) (?:[a-z0-9]+\.[a-z]+ )?"
    r"(?P<tag>[^\s:\[]+)(?:\[\d+\])?: ?(?P<msg>.*)$"
)
# rsyslog forwarding kernel lines without a tag: "Aug 29 18:25:03 10.0.0.5 [  956.128533] RIP: ..."
_SYSLOG_NOTAG: Final = re.compile(
    r"^" + _MON + r" +(?P<day>\d{1,2}) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d) (?P<host>\S+) "
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
# ("[ 12.3] systemd[1]: Reached target Reboot."), wall messages the kernel's (" kernel:[ 1.2] ...")
_PROGRAM: Final = re.compile(
    r"^(?P<tag>kernel|systemd|systemd-logind|systemd-shutdown|systemd-journald|shutdown|init)"
    r"(?:\[\d+\])?:\s?(?P<msg>.*)$"
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


@dataclass(frozen=True, slots=True)
class _Parsed:
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


def _stamp(match: re.Match[str], year: int, zone: tzinfo | None) -> datetime | None:
    try:
        return datetime(
            year,
            _MONTHS[match.group("mon")],
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
    trad = _SYSLOG_TRAD.match(text) or _SYSLOG_NOTAG.match(text)
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
    trad = _SYSLOG_TRAD.match(msg)
    if trad is not None:
        tag, msg = trad.group("tag"), trad.group("msg")
    elif (iso := _SYSLOG_ISO.match(msg)) is not None:
        tag, msg = iso.group("tag"), iso.group("msg")
    elif (notag := _SYSLOG_NOTAG.match(msg)) is not None:
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
    return tag, msg


def syslog_host(text: str) -> str | None:
    """The host name field of a syslog line (traditional, ISO or forwarded), else None."""
    msg = _strip_prefixes(text)
    match = _SYSLOG_TRAD.match(msg) or _SYSLOG_ISO.match(msg) or _SYSLOG_NOTAG.match(msg)
    return match.group("host") if match is not None else None


_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def excerpt(text: str, limit: int = 60) -> str:
    """A short, printable excerpt of guest text for a summary sentence (never the whole line)."""
    clean = _CONTROL.sub(" ", text[: limit * 4]).strip()
    return clean if len(clean) <= limit else clean[: limit - 3].rstrip() + "..."


def reports_unclean_end(text: str) -> bool:
    """A boot-time line that describes how the boot BEFORE it ended (a file system replaying
    its journal after an unclean shutdown)."""
    if "recovery" not in text:
        return False
    _, msg = kernel_message(text[:600])
    return _FS_RECOVERY.search(msg) is not None


def _parse(line: LogLine, order: int, reference: datetime | None) -> _Parsed:
    tag, msg = kernel_message(line.text)
    time = line.time if line.time is not None else parse_syslog_time(line.text, reference)
    return _Parsed(line=line, order=order, tag=tag, message=msg, time=time)


# --- context lines: RIP, modules, CPU/PID/Comm --------------------------------------------------

# x86 "RIP: 0010:func+0x1/0x2 [mod]" (3.x: "RIP: 0010:[<addr>]  [<addr>] func+..",
# "IP: [<addr>] .."), arm64 "pc : func+..", arm "PC is at func+..", riscv "epc : func+..",
# mips "epc   : 8026a400 func+..", powerpc "NIP [c00000000069d168] func+.."
_RIP: Final = re.compile(
    r"(?:\b(?:RIP|IP|pc|epc)\s*:\s*|\bPC is at |\bNIP \[[0-9a-f]+\] )(?:[0-9a-f]{4}:\s?)?"
    r"(?:\[<[0-9a-f]+>\]\s+(?:\[<[0-9a-f]+>\]\s+)?|[0-9a-f]{8,16}\s+)?"
    r"(?P<func>[A-Za-z_.$][\w.$]*)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(?P<mod>[\w-]+)\])?"
)
_MODULES: Final = re.compile(r"Modules linked in:\s*(?P<mods>.*)$")
# "CPU: 3 PID: 0 Comm: swapper/3 Not tainted 5.10.134 #1"; 6.x adds "UID: n"; 3.x and older print
# "Pid: 0, comm: swapper/0 Not tainted 3.8.9 #1". A comm has up to 15 characters and may hold
# spaces ("CPU 2/KVM", "Execution worke"); what follows it says where it ends.
_COMM: Final = re.compile(
    r"\b(?:CPU: (?P<cpu>\d+) (?:UID: \d+ )?PID: (?P<pid>\d+) Comm|Pid: (?P<pid2>\d+), comm): "
    r"(?P<comm>.{1,16}?)(?= (?:Not tainted|Tainted:|Kdump:)|\s*$)"
)
# the release after the taint flags, which RHEL pads with "------------ T" and the like
_KVER: Final = re.compile(r"(?:Not tainted|Tainted: [^#]*?)\s+(?P<ver>\d+\.\d+[\w.+~-]*)\s+#")
_FRAME: Final = re.compile(
    r"^\s*(?:\[<[0-9a-f]+>\]\s*)?(?P<unreliable>\? )?(?P<func>[A-Za-z_.$][\w.$]*)"
    r"\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(?P<mod>[\w-]+)\])?"
)


def parse_rip(message: str) -> tuple[str, str | None] | None:
    """``RIP: 0010:nvme_queue_rq+0x1a2/0x4d0 [nvme]`` -> ("nvme_queue_rq", "nvme")."""
    match = _RIP.search(message)
    if match is None:
        return None
    return match.group("func"), match.group("mod")


def parse_modules(message: str) -> list[str] | None:
    """The module names of a ``Modules linked in:`` line (taint flags dropped), or None."""
    match = _MODULES.search(message)
    if match is None:
        return None
    names: list[str] = []
    for token in match.group("mods").split():
        if token.startswith("[") or token.endswith(":"):  # "[last unloaded: foo]"
            break
        name = token.split("(", 1)[0]
        if re.fullmatch(r"[\w-]{1,64}", name) and name not in names:
            names.append(name)
    return names


def parse_call_trace_frame(message: str) -> tuple[str, str | None, bool] | None:
    """A call-trace frame -> (function, module, reliable); None for other lines."""
    match = _FRAME.match(message)
    if match is None:
        return None
    return match.group("func"), match.group("mod"), match.group("unreliable") is None


# --- signatures -------------------------------------------------------------------------------

# also "---[ end Kernel panic - not syncing: ... ]---" and crash(8)'s PANIC: "Kernel panic - ..."
_PANIC: Final = re.compile(r"Kernel panic - not syncing:\s?(?P<reason>.*?)\s*(?:\]---|\")?\s*$")
_PANIC_CAUSES: Final[tuple[tuple[FindingKind, re.Pattern[str]], ...]] = (
    ("oom_panic", re.compile(r"Out of memory|deadlocked on memory|panic_on_oom", re.I)),
    ("sysrq_crash", re.compile(r"sysrq triggered crash", re.I)),
    ("init_killed", re.compile(r"Attempted to kill init")),
    ("vfs_root_mount", re.compile(r"VFS: (?:Unable to mount root|Cannot open root)")),
    ("soft_lockup", re.compile(r"softlockup", re.I)),
    ("hung_task", re.compile(r"hung_task|blocked tasks", re.I)),
    ("hard_lockup", re.compile(r"hard ?lockup", re.I)),
    ("mce_hardware", re.compile(r"machine check|\bMCE\b", re.I)),
    ("rcu_stall", re.compile(r"RCU Stall", re.I)),
)
_SYSRQ: Final = re.compile(r"\b(?:sysrq|SysRq)\s?:\s(?:SysRq : )?Trigger a crash")
_INIT: Final = re.compile(r"Attempted to kill init")
_VFS: Final = re.compile(r"VFS: (?:Unable to mount root fs|Cannot open root device)")
_NULL: Final = re.compile(
    r"BUG: (?:unable to handle )?kernel NULL pointer dereference|"
    r"Unable to handle kernel NULL pointer dereference"
)
_SOFT: Final = re.compile(
    r"BUG: soft lockup - CPU#(?P<cpu>\d+) stuck for (?P<secs>\d+)s! \[(?P<proc>.+):(?P<pid>\d+)\]"
)
_GPF: Final = re.compile(r"general protection fault\b.*\[#\d+\]")
_KBUG: Final = re.compile(r"kernel BUG at (?P<loc>[^!\s]+)")
_BUG_OTHER: Final = re.compile(
    r"\bBUG: (?!soft lockup|kernel NULL|unable to handle|Unable to handle)(?P<what>.+?)\s*$"
)
_OOPS: Final = re.compile(
    r"\bOops\b.*\[#\d+\]|BUG: unable to handle (?:page fault|kernel paging request)|"
    r"\b(?:invalid opcode|stack segment|double fault): [0-9a-f]{4} \[#\d+\]"
)
_HUNG: Final = re.compile(
    r"INFO: task (?P<proc>.+?):(?P<pid>\d+) blocked for more than (?P<secs>\d+) seconds"
)
_HARD: Final = re.compile(
    r"Watchdog detected hard LOCKUP on cpu (?P<cpu>\d+)|\bhard LOCKUP\b|"
    r"Watchdog CPU:\d+ Hard LOCKUP"
)
_RCU: Final = re.compile(
    r"(?:self-)?detected (?:expedited )?stalls? on CPU|rcu_\w+ detected stalls"
)
_MCE: Final = re.compile(
    r"\[Hardware Error\]|Machine check events logged|Machine Check Exception|"
    r"\bmce: .*Machine check|Fatal [Mm]achine check"
)
# what sets a fatal machine check apart from corrected errors that were only logged
_MCE_FATAL: Final = re.compile(
    r"Machine Check Exception|Fatal [Mm]achine check|Processor context corrupt|[Uu]ncorrected"
)
# "4321 (mysqld)", RHEL 6 "21578, UID 503, (redis-server)"; a name may hold parentheses:
# "((resolved))"
_VICTIM: Final = r"(?P<pid>\d+)(?:, UID \d+,)? \((?P<proc>.*?)\)(?=[\s,]|$)"
# before 4.19 the OOM killer announced its choice ("Kill process 101 (java) score 915 or sacrifice
# child") and then reported the kill ("Killed process 102 (java) ..."), which may be a child
_OOM_CG_KILL: Final = re.compile(r"Memory cgroup out of memory: Kill(?P<ed>ed)? process " + _VICTIM)
_OOM_CG: Final = re.compile(r"Memory cgroup out of memory")
_OOM_KILL: Final = re.compile(r"Out of memory(?: \([^)]*\))?: Kill(?P<ed>ed)? process " + _VICTIM)
_KILLED: Final = re.compile(r"^\s*Killed process " + _VICTIM)
_OOM_MEMORY: Final = re.compile(r"total-vm:(?P<vm>\d+)kB, anon-rss:(?P<anon>\d+)kB")
_OOM_CONSTRAINT: Final = re.compile(
    r"oom-kill:constraint=(?P<c>\w+).*?,task=(?P<proc>[^,]+),pid=(?P<pid>\d+)"
)
_INVOKED: Final = re.compile(r"(?P<proc>\S+) invoked oom-killer")
_FS: Final = re.compile(
    r"EXT[234]-fs error \(device (?P<d1>[^)]+)\)|"
    r"EXT[234]-fs \((?P<d2>[^)]+)\): (?:error|Remounting filesystem read-only|"
    r"I/O error while writing superblock)|"
    r"XFS \((?P<d3>[^)]+)\): (?:.*[Cc]orruption|Internal error|.*[Ss]hut ?down|"
    r"metadata I/O error|Log I/O [Ee]rror)|XFS: Internal error|"
    r"BTRFS (?:critical|error) \(device (?P<d4>[^)]+)\)|"
    r"Aborting journal on device (?P<d5>[^\s.]+(?:\.\d+)?)"
)
# the file system stopped taking writes
_FS_STOPPED: Final = re.compile(
    r"Remounting filesystem read-only|Shutting down filesystem|[Ff]orce[d]? shutdown|"
    r"Aborting journal|Detected aborted journal"
)
_FS_RECOVERY: Final = re.compile(
    r"(?:EXT[34]-fs \((?P<d1>[^)]+)\): recovery complete|XFS \((?P<d2>[^)]+)\): Starting recovery)"
)
_K_REBOOT: Final = re.compile(r"reboot: Restarting system")
_K_POWEROFF: Final = re.compile(r"reboot: (?:Power down|System halted)")

_SYSTEM_TAGS: Final = frozenset(
    {
        "systemd",
        "systemd-logind",
        "systemd-shutdown",
        "logind",
        "shutdown",
        "init",
        "reboot",
        "kernel",
        "systemctl",
        "halt",
        "poweroff",
    }
)
_T_REBOOT: Final = re.compile(
    r"Reached target .*?(?:\bReboot\b|reboot\.target|kexec\.target)|System is rebooting|"
    r"shutting down for system reboot|The system will reboot now"
)
_T_POWEROFF: Final = re.compile(
    r"Reached target .*?(?:Power[- ]Off|poweroff\.target|\bHalt\b|halt\.target)|"
    r"System is (?:powering down|halting)|shutting down for system (?:halt|power-?off)|"
    r"Power key pressed|The system will power off now"
)
_T_SHUTDOWN: Final = re.compile(r"Reached target .*?(?:\bShutdown\b|shutdown\.target)")
_SUDO: Final = re.compile(
    r"^\s*(?P<user>[^\s:]{1,64}) : (?P<head>.{0,300}?)\bCOMMAND=(?P<cmd>.{1,300})$"
)
# sudo logs refused attempts with the command too: they asked for a reboot and did not get one
_SUDO_REFUSED: Final = re.compile(
    r"NOT in sudoers|incorrect password attempt|command not allowed|user NOT authorized|"
    r"a password is required|unknown user|authentication failure|NOT allowed"
)
_CMD_REBOOT: Final = re.compile(
    r"(?:^|/)reboot\b|\bshutdown\b.*\s-r\b|\binit\s+6\b|\bsystemctl\s+(?:\S+\s+)*reboot\b"
)
_CMD_POWEROFF: Final = re.compile(
    r"(?:^|/)(?:poweroff|halt|shutdown)\b|\binit\s+0\b|\bsystemctl\s+(?:\S+\s+)*(?:poweroff|halt)\b"
)

# Lines worth a closer look: a cheap first pass for big logs.
_PREFILTER: Final = re.compile(
    r"panic|Oops|BUG|NULL pointer|general protection|blocked for more than|LOCKUP|stall|"
    r"[Mm]achine [Cc]heck|Hardware Error|[Oo]ut of memory|Killed process|oom-kill|"
    r"Attempted to kill init|VFS:|-fs |XFS|BTRFS|RIP|IP:|pc\s*:|Modules linked in|[Cc]omm:|"
    r"Reached target|System is|Power key|shutting down|reboot:|COMMAND=|recovery|\[#|"
    r"[Ss]ys[Rr]q|Trigger a crash|PC is at|NIP \[|Aborting journal|will (?:reboot|power off) now"
)


@dataclass(slots=True)
class _Hit:
    kind: FindingKind | str  # "shutdown_generic" resolves to clean_shutdown or is dropped
    parsed: _Parsed | None
    evidence: Evidence
    time: datetime | None
    order: int
    key: str
    facts: dict[str, object] = field(default_factory=dict)
    detail: str = ""
    confidence: Confidence = "high"
    extra_evidence: list[Evidence] = field(default_factory=list)
    derived: bool = False  # reported because a panic reason names this kind
    notes: frozenset[str] = frozenset()  # "read_only", "corrected" ...
    announce: bool = False  # "Kill process N ... or sacrifice child": the kill line follows


_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class _Mark(Generic[_T]):
    """A context line (RIP, modules, CPU/PID/Comm, oom invoker) and what it says."""

    parsed: _Parsed
    value: _T


@dataclass(slots=True)
class _Context:
    rips: list[_Mark[tuple[str, str | None]]] = field(default_factory=list)
    modules: list[_Mark[list[str]]] = field(default_factory=list)
    comms: list[_Mark[tuple[str, int, str | None]]] = field(default_factory=list)
    invoked: list[_Mark[str]] = field(default_factory=list)
    oom_headers: list[tuple[int, FindingKind]] = field(default_factory=list)


def _evidence(p: _Parsed) -> Evidence:
    return Evidence(source=p.line.source, line_no=p.line.line_no, text=p.line.text)


def _norm(message: str) -> str:
    return re.sub(r"\s+", " ", message).strip()


def _hit(kind: FindingKind | str, p: _Parsed, **kw: object) -> _Hit:
    return _Hit(
        kind=kind,
        parsed=p,
        evidence=_evidence(p),
        time=p.time,
        order=p.order,
        key=_norm(p.message),
        **kw,  # type: ignore[arg-type]
    )


def _kernel_hits(p: _Parsed, ctx: _Context) -> list[_Hit]:
    m = p.message
    hits: list[_Hit] = []
    if (panic := _PANIC.search(m)) is not None:
        reason = panic.group("reason")
        hits.append(_hit("kernel_panic", p, facts={"panic_reason": reason}))
        hits.extend(
            _hit(kind, p, facts={"panic_reason": reason}, derived=True)
            for kind, pattern in _PANIC_CAUSES
            if pattern.search(reason)
        )
        return hits
    if _SYSRQ.search(m):
        hits.append(_hit("sysrq_crash", p))
    if _INIT.search(m):
        hits.append(_hit("init_killed", p))
    if _VFS.search(m):
        hits.append(_hit("vfs_root_mount", p))
    if (soft := _SOFT.search(m)) is not None:
        hits.append(
            _hit(
                "soft_lockup",
                p,
                facts={"process": soft.group("proc"), "pid": int(soft.group("pid"))},
                detail=f"CPU#{soft.group('cpu')} stuck for {soft.group('secs')}s",
            )
        )
    elif _NULL.search(m):
        hits.append(_hit("null_pointer", p))
    elif _GPF.search(m):
        hits.append(_hit("gpf", p))
    elif _OOPS.search(m):
        hits.append(_hit("oops", p))
    elif (kbug := _KBUG.search(m)) is not None:
        hits.append(_hit("kernel_bug", p, detail=f"kernel BUG at {kbug.group('loc')}"))
    elif (other := _BUG_OTHER.search(m)) is not None:
        hits.append(_hit("kernel_bug", p, detail=other.group("what")[:120]))
    if (hung := _HUNG.search(m)) is not None:
        hits.append(
            _hit(
                "hung_task",
                p,
                facts={"process": hung.group("proc"), "pid": int(hung.group("pid"))},
                detail=f"blocked for more than {hung.group('secs')} seconds",
            )
        )
    if _HARD.search(m):
        hits.append(_hit("hard_lockup", p))
    if _RCU.search(m):
        hits.append(_hit("rcu_stall", p))
    if _MCE.search(m):
        fatal = _MCE_FATAL.search(m) is not None
        hits.append(
            _hit(
                "mce_hardware",
                p,
                confidence="high" if fatal else "low",
                notes=frozenset() if fatal else frozenset({"corrected"}),
            )
        )
    if (cg := _OOM_CG_KILL.search(m)) is not None:
        ctx.oom_headers.append((p.position, "cgroup_oom"))
        hits.append(_oom_hit("cgroup_oom", p, cg))
    elif _OOM_CG.search(m):
        ctx.oom_headers.append((p.position, "cgroup_oom"))
    elif (oom := _OOM_KILL.search(m)) is not None:
        ctx.oom_headers.append((p.position, "oom_kill"))
        hits.append(_oom_hit("oom_kill", p, oom))
    elif (killed := _KILLED.search(m)) is not None:
        kind: FindingKind = next(
            (k for pos, k in reversed(ctx.oom_headers) if 0 <= p.position - pos <= 12), "oom_kill"
        )
        hits.append(_oom_hit(kind, p, killed))
    elif (con := _OOM_CONSTRAINT.search(m)) is not None:
        ckind: FindingKind = "cgroup_oom" if con.group("c") == "CONSTRAINT_MEMCG" else "oom_kill"
        ctx.oom_headers.append((p.position, ckind))
        hits.append(_oom_hit(ckind, p, con))
    if (inv := _INVOKED.search(m)) is not None:
        ctx.invoked.append(_Mark(p, inv.group("proc")))
    if (fs := _FS.search(m)) is not None:
        device = next((d for d in fs.groups() if d), "")
        stopped = _FS_STOPPED.search(m) is not None
        hits.append(
            _hit(
                "fs_error",
                p,
                detail=device,
                notes=frozenset({"read_only"}) if stopped else frozenset(),
            )
        )
    if (rec := _FS_RECOVERY.search(m)) is not None:
        device = next((d for d in rec.groups() if d), "")
        hits.append(
            _hit(
                "unexpected_shutdown",
                p,
                confidence="medium",
                detail=f"file system {device} needed journal recovery at boot",
            )
        )
    if _K_REBOOT.search(m):
        hits.append(_hit("clean_reboot", p, detail="the kernel restarted the system on request"))
    if _K_POWEROFF.search(m):
        hits.append(_hit("clean_shutdown", p, detail="the kernel powered the system down"))
    if (rip := parse_rip(m)) is not None:
        ctx.rips.append(_Mark(p, rip))
    if (mods := parse_modules(m)) is not None:
        ctx.modules.append(_Mark(p, mods))
    if (comm := _COMM.search(m)) is not None:
        ver = _KVER.search(m, comm.end())
        pid = int(comm.group("pid") or comm.group("pid2"))
        ctx.comms.append(_Mark(p, (comm.group("comm"), pid, ver.group("ver") if ver else None)))
    return hits


def _size(kb: int) -> str:
    if kb >= 1024 * 1024:
        return f"{kb / (1024 * 1024):.1f} GiB"
    if kb >= 1024:
        return f"{kb // 1024} MiB"
    return f"{kb} kB"


def _oom_hit(kind: FindingKind, p: _Parsed, match: re.Match[str]) -> _Hit:
    proc, pid = match.group("proc"), int(match.group("pid"))
    memory = _OOM_MEMORY.search(p.message, match.end())
    figures = (
        f", anon-rss {_size(int(memory.group('anon')))} of total-vm "
        f"{_size(int(memory.group('vm')))}"
        if memory is not None
        else ""
    )
    announce = "ed" in match.groupdict() and match.group("ed") is None
    return _hit(
        kind,
        p,
        facts={"oom_victim_process": proc, "oom_victim_pid": pid},
        detail=f"{proc} (pid {pid}{figures})",
        announce=announce,
    )


def _system_hits(p: _Parsed) -> list[_Hit]:
    m = p.message
    if p.tag == "sudo":
        sudo = _SUDO.search(m[:700])
        if sudo is None or _SUDO_REFUSED.search(sudo.group("head")):
            return []
        cmd, user = sudo.group("cmd").strip(), sudo.group("user")
        program = cmd.split()[0].rsplit("/", 1)[-1] if cmd.split() else cmd
        detail = f"{excerpt(user, 32)} ran {excerpt(cmd)} through sudo"
        if _CMD_REBOOT.search(cmd):
            return [_hit("clean_reboot", p, facts={"process": program}, detail=detail)]
        if _CMD_POWEROFF.search(cmd):
            return [_hit("clean_shutdown", p, facts={"process": program}, detail=detail)]
        return []
    if p.tag not in _SYSTEM_TAGS:
        return []
    if _T_REBOOT.search(m):
        return [_hit("clean_reboot", p, detail="orderly reboot sequence")]
    if _T_POWEROFF.search(m):
        detail = (
            "ACPI power button (console or API stop/restart)"
            if "Power key" in m
            else "orderly power-off sequence"
        )
        return [_hit("clean_shutdown", p, detail=detail)]
    if _T_SHUTDOWN.search(m):
        return [_hit("shutdown_generic", p, detail="orderly shutdown sequence")]
    return []


# --- last -x ----------------------------------------------------------------------------------

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
            _MONTHS[match.group("mon")],
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


def _last_hits(
    records: Sequence[RebootRecord], source: str, window_start: datetime | None, first_order: int
) -> list[_Hit]:
    hits: list[_Hit] = []
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
            _Hit(
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


# --- assembly ---------------------------------------------------------------------------------


def _nearest(marks: Sequence[_Mark[_T]], p: _Parsed) -> _Mark[_T] | None:
    best: _Mark[_T] | None = None
    best_d = _NEAR + 1
    for mark in marks:
        other = mark.parsed
        d = abs(other.position - p.position)
        # ties go to the line after the incident: oops blocks print RIP after the header
        if d < best_d or (d == best_d and other.position > p.position):
            best, best_d = mark, d
    return best


def _sort_key(h: _Hit) -> tuple[float, int, int]:
    # latest first; at the same time a direct signature beats one inferred from a panic reason
    return (h.time.timestamp() if h.time is not None else -math.inf, not h.derived, h.order)


def _occurrences(hits: Sequence[_Hit]) -> int:
    """Distinct incidents: distinct times to the second, or line clusters for undated lines."""
    times = {int(h.time.timestamp()) for h in hits if h.time is not None}
    clusters = {
        (h.parsed.line.source, h.parsed.position // _NEAR)
        for h in hits
        if h.time is None and h.parsed is not None
    }
    return len(times) + len(clusters)


def _has_context(h: _Hit, ctx: dict[str, _Context]) -> bool:
    p = h.parsed
    return p is not None and _nearest(ctx.get(p.line.source, _Context()).rips, p) is not None


def _summary(
    kind: FindingKind,
    primary: _Hit,
    facts: FindingFacts,
    count: int,
    n_kills: int,
    notes: frozenset[str] = frozenset(),
) -> str:
    rip = ""
    if facts.rip_function:
        rip = f" at {facts.rip_function}" + (f" [{facts.rip_module}]" if facts.rip_module else "")
    once = ("oom_kill", "cgroup_oom", "clean_reboot", "clean_shutdown")
    times = f" (seen {count} times)" if count > 1 and kind not in once else ""
    reason = facts.panic_reason or ""
    who = (
        f" in {facts.process} (pid {facts.pid})" if facts.process and facts.pid is not None else ""
    )
    text: str
    if kind == "kernel_panic":
        text = f"Kernel panic: {reason or 'reason not logged'}{rip}"
    elif kind == "oom_panic":
        text = f"The kernel panicked on out of memory: {reason}"
    elif kind == "sysrq_crash":
        text = "A crash was triggered through SysRq (echo c > /proc/sysrq-trigger)"
    elif kind == "init_killed":
        text = "The init process (PID 1) died and the kernel panicked"
    elif kind == "vfs_root_mount":
        text = "The kernel could not mount the root file system"
    elif kind == "oops":
        text = f"Kernel oops{rip}{who}"
    elif kind == "null_pointer":
        text = f"Kernel NULL pointer dereference{rip}{who}"
    elif kind == "gpf":
        text = f"General protection fault in the kernel{rip}{who}"
    elif kind == "kernel_bug":
        text = f"Kernel BUG: {primary.detail}{rip}"
    elif kind == "hung_task":
        text = f"Task {facts.process} (pid {facts.pid}) {primary.detail or 'hung'}"
        if primary.derived:
            text = "Hung tasks panicked the kernel"
        if facts.panic_reason:
            text += f"; the kernel panicked ({facts.panic_reason})"
    elif kind == "soft_lockup":
        text = f"Soft lockup: {primary.detail or 'a CPU was stuck'}{who}{rip}"
        if facts.panic_reason:
            text += f"; the kernel panicked ({facts.panic_reason})"
    elif kind == "hard_lockup":
        text = f"Hard lockup detected by the NMI watchdog{rip}"
    elif kind == "rcu_stall":
        text = "RCU stall: a CPU or task did not pass a quiescent state in time"
    elif kind == "mce_hardware":
        text = (
            "Corrected machine check events were logged (the hardware recovered; "
            "a sign of failing hardware, not a crash by itself)"
            if notes == {"corrected"}
            else "Machine check or hardware error reported by the CPU or platform"
        )
    elif kind == "oom_kill":
        text = f"The OOM killer killed {n_kills} process(es); latest {primary.detail}"
    elif kind == "cgroup_oom":
        text = (
            f"A memory cgroup hit its limit and {n_kills} process(es) were killed; "
            f"latest {primary.detail}"
            if n_kills
            else "A memory cgroup hit its limit"
        )
    elif kind == "fs_error":
        text = f"File system error on {primary.detail or 'a device'}"
        if "read_only" in notes:
            text += "; the file system stopped taking writes (remounted read-only or shut down)"
    elif kind == "unexpected_shutdown":
        text = f"Unclean shutdown: {primary.detail}"
    elif kind == "clean_reboot":
        text = f"Clean reboot: {primary.detail}"
    elif kind == "clean_shutdown":
        text = f"Clean shutdown: {primary.detail}"
    else:  # pragma: no cover - every kind the engine emits is listed above
        text = kind
    return text + times


def _finding(kind: FindingKind, hits: list[_Hit], ctx: dict[str, _Context]) -> Finding:
    hits = sorted(hits, key=_sort_key)
    primary = hits[-1]
    direct = [h for h in hits if not h.derived]
    if primary.derived and direct:
        # "Kernel panic - not syncing: softlockup" comes just after the lockup report itself
        last = direct[-1]
        if (
            last.time is None
            or primary.time is None
            or (primary.time - last.time <= timedelta(minutes=10))
        ):
            primary = last
    if kind in _CONTEXT_KINDS and not _has_context(primary, ctx):
        # the same message collected from several sources: use the copy with its RIP nearby
        twin = next(
            (h for h in reversed(hits) if h.key == primary.key and _has_context(h, ctx)), None
        )
        if twin is not None:
            primary = twin
    if kind in ("clean_reboot", "clean_shutdown") and primary.time is not None:
        # who asked for it says the most: a sudo line of the same shutdown wins
        asked = [
            h
            for h in hits
            if "process" in h.facts
            and h.time is not None
            and abs((primary.time - h.time).total_seconds()) <= 1800
        ]
        if asked:
            primary = asked[-1]
    facts: dict[str, object] = dict(primary.facts)
    reason = next(
        (h.facts["panic_reason"] for h in reversed(hits) if "panic_reason" in h.facts), None
    )
    if reason is not None:
        facts.setdefault("panic_reason", reason)
    evidence: list[Evidence] = [primary.evidence, *primary.extra_evidence]
    p = primary.parsed
    if p is not None and kind in _CONTEXT_KINDS:
        c = ctx.get(p.line.source, _Context())
        rip = _nearest(c.rips, p)
        if rip is not None:
            facts.setdefault("rip_function", rip.value[0])
            facts.setdefault("rip_module", rip.value[1])
            evidence.append(_evidence(rip.parsed))
        mods = _nearest(c.modules, p)
        if mods is not None:
            facts.setdefault("modules", mods.value)
            evidence.append(_evidence(mods.parsed))
        comm = _nearest(c.comms, p)
        if comm is not None:
            if "process" not in facts:
                facts["process"], facts["pid"] = comm.value[0], comm.value[1]
            if comm.value[2]:
                facts.setdefault("kernel_version", comm.value[2])
        if kind == "oom_panic":
            invoked = _nearest(c.invoked, p)
            if invoked is not None:
                facts["process"] = invoked.value
                facts.pop("pid", None)
                evidence.append(_evidence(invoked.parsed))
    seen = {_norm(e.text) for e in evidence}
    for h in reversed(hits):
        if len(evidence) >= MAX_EVIDENCE:
            break
        if h is primary:
            continue
        if _norm(h.evidence.text) not in seen:
            seen.add(_norm(h.evidence.text))
            evidence.append(h.evidence)
    if primary.time is not None:
        facts["timestamp"] = primary.time
    kills = {
        (h.facts.get("oom_victim_pid"), h.facts.get("oom_victim_process"))
        for h in hits
        if "oom_victim_pid" in h.facts
    }
    typed = FindingFacts.model_validate(facts)
    confidence: Confidence = max(
        (h.confidence for h in hits), key=lambda c: ("low", "medium", "high").index(c)
    )
    notes = frozenset(
        n for n in set().union(*(h.notes for h in hits)) if all(n in h.notes for h in hits)
    ) | frozenset(n for h in hits for n in h.notes if n == "read_only")
    return Finding(
        kind=kind,
        severity=SEVERITY[kind],
        summary=_summary(kind, primary, typed, _occurrences(hits), len(kills), notes),
        evidence=evidence[:MAX_EVIDENCE],
        facts=typed,
        confidence=confidence,
    )


def _drop_announcements(hits: list[_Hit]) -> list[_Hit]:
    """Old kernels name the victim they chose, then report the kill (maybe a child's): count one."""
    kills: dict[str, list[int]] = {}
    for h in hits:
        if h.kind in ("oom_kill", "cgroup_oom") and not h.announce and h.parsed is not None:
            kills.setdefault(h.parsed.line.source, []).append(h.parsed.position)
    for positions in kills.values():
        positions.sort()
    out: list[_Hit] = []
    for h in hits:
        if h.announce and h.parsed is not None:
            positions = kills.get(h.parsed.line.source, [])
            pos = h.parsed.position
            after = bisect.bisect_right(positions, pos)
            if after < len(positions) and positions[after] - pos <= 12:
                continue
        out.append(h)
    return out


def analyze_log_lines(
    lines: Iterable[LogLine],
    *,
    reference: datetime | None = None,
    reboot_records: Sequence[str] = (),
    reboot_source: str = "guest:last -x",
    window_start: datetime | None = None,
) -> list[Finding]:
    """Findings from log lines (and ``last -x`` records), most severe first.

    ``reference`` is the guest's local time when the logs were collected (dates yearless syslog
    stamps); ``window_start`` drops ``last -x`` transitions older than the window.
    """
    ctx: dict[str, _Context] = {}
    hits: list[_Hit] = []
    order = 0
    for order, line in enumerate(lines):
        if not _PREFILTER.search(line.text):
            continue
        p = _parse(line, order, reference)
        if p.is_kernel:
            hits.extend(_kernel_hits(p, ctx.setdefault(line.source, _Context())))
        else:
            hits.extend(_system_hits(p))
    if reboot_records:
        records = parse_last_records(reboot_records, reference)
        hits.extend(_last_hits(records, reboot_source, window_start, order + 1 + len(records)))
    hits = _drop_announcements(hits)
    # "Reached target Shutdown" is part of every reboot too: keep it only without a reboot nearby.
    reboots = [h for h in hits if h.kind == "clean_reboot" and h.parsed is not None]
    resolved: list[_Hit] = []
    for h in hits:
        if h.kind == "shutdown_generic":
            assert h.parsed is not None
            near = any(
                r.parsed is not None
                and r.parsed.line.source == h.parsed.line.source
                and abs(r.parsed.position - h.parsed.position) <= _NEAR
                for r in reboots
            )
            if near:
                continue
            h.kind = "clean_shutdown"
        resolved.append(h)
    by_kind: dict[FindingKind, list[_Hit]] = {}
    for h in resolved:
        by_kind.setdefault(h.kind, []).append(h)  # type: ignore[arg-type]
    findings = [_finding(kind, group, ctx) for kind, group in by_kind.items()]
    findings.sort(key=lambda f: (_SEVERITY_RANK[f.severity], FINDING_KINDS.index(f.kind)))
    return findings


def analyze_log_text(
    text: str, *, source: str = "log", reference: datetime | None = None
) -> list[Finding]:
    """Findings from a saved log (``/var/log/messages``, ``dmesg`` output, ``vmcore-dmesg.txt``)."""
    lines = (
        LogLine(source=source, line_no=n, text=line)
        for n, line in enumerate(text.splitlines(), start=1)
    )
    return analyze_log_lines(lines, reference=reference)
