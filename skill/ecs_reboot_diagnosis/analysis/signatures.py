"""The signature catalogue: which log lines are evidence of which finding kind.

The catalogue is data. :data:`KERNEL_SIGNATURES` (kernel lines) and :data:`SYSTEM_SIGNATURES`
(lines of systemd, logind, shutdown ...) are tables of :class:`Signature` entries, walked in
order by :func:`kernel_hits` and :func:`system_hits`. An entry names its kind and pattern and
says what it extracts: facts from named groups, a detail template, a confidence. The few cases
that need code (a panic reason naming its cause, OOM victims and their headers, file-system
devices, fatal or corrected machine checks) are small builder functions an entry refers to.
A new signature is one entry, one alternative of :data:`PREFILTER` when its words are not
there yet, and a test excerpt.

Rules that keep the result honest:

- Kernel signatures count only on kernel lines: lines without a syslog prefix (dmesg,
  vmcore-dmesg, pstore) or whose syslog tag is ``kernel``. An application that logs "Kernel
  panic" is ignored.
- Shutdown and reboot signatures count only from the programs that really print them (systemd,
  logind, shutdown, sudo ...).
- A panic gives a ``kernel_panic`` hit with the reason; when the reason names the cause (out of
  memory, SysRq, init killed, root mount, soft/hard lockup, hung task, machine check, RCU) the
  specific kind is reported as well (:data:`PANIC_CAUSES`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ecs_reboot_diagnosis.analysis.hits import Hit, hit
from ecs_reboot_diagnosis.analysis.incident_context import Context, Mark, record_context
from ecs_reboot_diagnosis.analysis.log_lines import ParsedLine, excerpt, kernel_message, quoted
from ecs_reboot_diagnosis.models import Confidence, FindingKind
from ecs_reboot_diagnosis.sizes import KIB, format_size

__all__ = [
    "KERNEL_SIGNATURES",
    "PANIC_CAUSES",
    "PREFILTER",
    "PSEUDO_KINDS",
    "SYSTEM_SIGNATURES",
    "Signature",
    "kernel_hits",
    "pending_hits",
    "reports_unclean_end",
    "system_hits",
]

# kinds of catalogue entries that never become findings: "shutdown_generic" (resolved to
# clean_shutdown unless a reboot is near), "warning" (kept for a panic_on_warn panic),
# "boot_marker" (a new boot: an unexpected reset when nothing ended the boot before it)
PSEUDO_KINDS: Final = frozenset({"shutdown_generic", "warning", "boot_marker"})

Builder = Callable[["Signature", ParsedLine, re.Match[str], Context], list[Hit]]


@dataclass(frozen=True, slots=True)
class Signature:
    """A line whose message matches ``pattern`` is evidence of ``kind``."""

    kind: FindingKind | str  # "shutdown_generic": clean_shutdown unless a reboot is near
    pattern: re.Pattern[str]
    facts: tuple[tuple[str, str], ...] = ()
    """(fact key, pattern group) pairs; ``pid`` facts are numbers."""
    detail: str | Callable[[re.Match[str]], str] = ""
    """A ``str.format`` template over the pattern's named groups, or a function of the match."""
    detail_zh: str | Callable[[re.Match[str]], str] = ""
    """``detail`` in Simplified Chinese (the template quotes guest text between backticks)."""
    confidence: Confidence = "high"
    exclusive: str = ""
    """Entries sharing this name are alternatives: only the first one that matches counts."""
    final: bool = False
    """A line matching this entry is nothing else (no other entry, no context line)."""
    build: Builder | None = None
    """Code for the hits when facts, detail and confidence are not enough."""

    def hits(self, p: ParsedLine, match: re.Match[str], ctx: Context) -> list[Hit]:
        if self.build is not None:
            return self.build(self, p, match, ctx)
        return [self.hit(p, match)]

    def hit(self, p: ParsedLine, match: re.Match[str], **overrides: object) -> Hit:
        """The plain hit of this entry; ``overrides`` replace any of its fields."""
        fields: dict[str, object] = {
            "facts": {
                key: int(match.group(group)) if key.endswith("pid") else match.group(group)
                for key, group in self.facts
            },
            "detail": (
                self.detail(match)
                if callable(self.detail)
                else self.detail.format(**match.groupdict())
            ),
            "detail_zh": (
                self.detail_zh(match)
                if callable(self.detail_zh)
                else self.detail_zh.format(
                    **{k: (v or "").replace("`", "'") for k, v in match.groupdict().items()}
                )
            ),
            "confidence": self.confidence,
        }
        fields.update(overrides)
        return hit(self.kind, p, **fields)


# --- code some entries need -------------------------------------------------------------------

NEAR_WARNING: Final = 200  # lines: a WARNING's report may hold a long call trace and register dump
# the kinds a panic reason names as its cause
PANIC_CAUSES: Final[tuple[tuple[FindingKind, re.Pattern[str]], ...]] = (
    ("oom_panic", re.compile(r"Out of memory|deadlocked on memory|panic_on_oom", re.I)),
    ("sysrq_crash", re.compile(r"sysrq triggered crash", re.I)),
    ("init_killed", re.compile(r"Attempted to kill init")),
    ("vfs_root_mount", re.compile(r"VFS: (?:Unable to mount root|Cannot open root)")),
    ("soft_lockup", re.compile(r"softlockup", re.I)),
    ("hung_task", re.compile(r"hung_task|blocked tasks", re.I)),
    ("hard_lockup", re.compile(r"hard ?lockup", re.I)),
    ("mce_hardware", re.compile(r"machine check|\bMCE\b", re.I)),
    ("rcu_stall", re.compile(r"RCU Stall", re.I)),
    # a WARNING (WARN_ON, NETDEV WATCHDOG ...) that panic_on_warn turned into a panic: a kernel
    # assertion failed, as with BUG(); it has no kind of its own
    ("kernel_bug", re.compile(r"panic_on_warn")),
)
# what a derived hit says when the panic reason alone names the cause
_CAUSE_DETAIL: Final[dict[str, str]] = {
    "kernel_bug": "a kernel WARNING, made fatal by panic_on_warn",
}
_CAUSE_DETAIL_ZH: Final[dict[str, str]] = {
    "kernel_bug": "内核 WARNING，因 panic_on_warn 而变为致命错误",
}
# what sets a fatal machine check apart from corrected errors that were only logged
_MCE_FATAL: Final = re.compile(
    r"Machine Check Exception|Fatal [Mm]achine check|Processor context corrupt|[Uu]ncorrected"
)
# "4321 (mysqld)", RHEL 6 "21578, UID 503, (redis-server)"; a name may hold parentheses:
# "((resolved))"
_VICTIM: Final = r"(?P<pid>\d+)(?:, UID \d+,)? \((?P<proc>.{0,64}?)\)(?=[\s,]|$)"
_OOM_MEMORY: Final = re.compile(r"total-vm:(?P<vm>\d+)kB, anon-rss:(?P<anon>\d+)kB")
# the file system stopped taking writes
_FS_STOPPED: Final = re.compile(
    r"Remounting filesystem read-only|Shutting down filesystem|[Ff]orce[d]? shutdown|"
    r"Aborting journal|Detected aborted journal"
)
_FS_RECOVERY: Final = re.compile(
    r"(?:EXT[34]-fs \((?P<d1>[^)]{1,64})\): recovery complete|"
    r"XFS \((?P<d2>[^)]{1,64})\): Starting recovery)"
)


def _panic_reason(rest: str) -> str:
    """The reason after "not syncing:" without the trailing "]---" or quote (and white space)."""
    rest = rest.rstrip()
    for tail in ("]---", '"'):
        if rest.endswith(tail):
            return rest.removesuffix(tail).rstrip()
    return rest


def _panic(sig: Signature, p: ParsedLine, match: re.Match[str], ctx: Context) -> list[Hit]:
    reason = _panic_reason(match.group("reason"))
    hits = [sig.hit(p, match, facts={"panic_reason": reason})]
    for kind, pattern in PANIC_CAUSES:
        if pattern.search(reason):
            detail = _CAUSE_DETAIL.get(kind, "")
            detail_zh = _CAUSE_DETAIL_ZH.get(kind, "")
            if kind == "kernel_bug" and ctx.warnings:
                warning = ctx.warnings[-1]
                if 0 <= p.position - warning.parsed.position <= NEAR_WARNING:
                    detail += f" ({warning.value})"
                    detail_zh += f"（{quoted(warning.value)}）"
            hits.append(
                hit(
                    kind,
                    p,
                    facts={"panic_reason": reason},
                    detail=detail,
                    detail_zh=detail_zh,
                    derived=True,
                )
            )
    return hits


def _boot_marker(sig: Signature, p: ParsedLine, match: re.Match[str], ctx: Context) -> list[Hit]:
    marker = next(m for m in match.groups() if m)
    return [
        sig.hit(
            p,
            match,
            detail=f"a new boot began ({marker} at line {p.position}) with no shutdown, reboot "
            "or crash logged before it: the machine was reset or lost power",
            detail_zh=f"新的启动开始了（第 {p.position} 行的 {quoted(marker)}），此前没有关机、"
            "重启或崩溃的记录：机器被复位或断电",
            confidence="low",
            notes=frozenset({marker}),
        )
    ]


def _warning(sig: Signature, p: ParsedLine, match: re.Match[str], ctx: Context) -> list[Hit]:
    # not a finding by itself (most warnings are harmless); panic_on_warn may make it the cause
    ctx.warnings.append(Mark(p, excerpt(match.group(0), 120)))
    return []


def _mce(sig: Signature, p: ParsedLine, match: re.Match[str], ctx: Context) -> list[Hit]:
    fatal = _MCE_FATAL.search(p.message) is not None
    return [
        sig.hit(
            p,
            match,
            confidence="high" if fatal else "low",
            notes=frozenset() if fatal else frozenset({"corrected"}),
        )
    ]


def _size(kb: int) -> str:
    """A kernel figure in kB (1024 bytes, as the OOM report means it)."""
    return format_size(kb * KIB)


def _oom_hit(kind: FindingKind, p: ParsedLine, match: re.Match[str]) -> Hit:
    proc, pid = match.group("proc"), int(match.group("pid"))
    memory = _OOM_MEMORY.search(p.message, match.end())
    figures = (
        f", anon-rss {_size(int(memory.group('anon')))} of total-vm "
        f"{_size(int(memory.group('vm')))}"
        if memory is not None
        else ""
    )
    figures_zh = (
        f"，匿名内存（anon-rss）{_size(int(memory.group('anon')))}，"
        f"虚拟内存总量（total-vm）{_size(int(memory.group('vm')))}"
        if memory is not None
        else ""
    )
    # before 4.19 the OOM killer announced its choice ("Kill process 101 (java) score 915 or
    # sacrifice child") and then reported the kill ("Killed process 102 (java) ..."), maybe a child
    announce = "ed" in match.groupdict() and match.group("ed") is None
    return hit(
        kind,
        p,
        facts={"oom_victim_process": proc, "oom_victim_pid": pid},
        detail=f"{proc} (pid {pid}{figures})",
        detail_zh=f"{quoted(proc)}（pid {pid}{figures_zh}）",
        announce=announce,
    )


OOM_REPORT_LINES: Final = 400  # lines: how long an OOM report (task table included) may be


def _oom_invoked(sig: Signature, p: ParsedLine, match: re.Match[str], ctx: Context) -> list[Hit]:
    # the first line of an OOM report: a finding only if the report's kill line never comes
    proc = match.groupdict().get("proc")
    detail = (
        f"{excerpt(proc, 32)} invoked the OOM killer (the kill is not in the log)"
        if proc
        else "a memory cgroup hit its limit (the kill is not in the log)"
    )
    detail_zh = (
        f"{quoted(excerpt(proc, 32))} 触发了 OOM Killer（日志中没有终止进程的记录）"
        if proc
        else "某个内存 cgroup 达到了上限（日志中没有终止进程的记录）"
    )
    ctx.oom_pending.append(
        sig.hit(
            p,
            match,
            facts={"process": proc} if proc else {},
            detail=detail,
            detail_zh=detail_zh,
        )
    )
    return []


def _oom_memcg(sig: Signature, p: ParsedLine, match: re.Match[str], ctx: Context) -> list[Hit]:
    # a line of a memory cgroup's OOM report: the pending report is the cgroup's
    pending = ctx.oom_pending[-1] if ctx.oom_pending else None
    if pending is not None and pending.parsed is not None:
        if 0 <= p.position - pending.parsed.position <= OOM_REPORT_LINES:
            pending.kind = "cgroup_oom"
            return []
    # "Task in /cg killed as a result of limit of /cg": a report of its own (the other entries
    # that come here have no "task" group)
    if match.groupdict().get("task"):
        return _oom_invoked(sig, p, match, ctx)
    return []


def _oom_resolved(p: ParsedLine, ctx: Context) -> None:
    """A kill line ends the OOM reports before it."""
    ctx.oom_kills += 1
    ctx.oom_pending = [
        h
        for h in ctx.oom_pending
        if h.parsed is None or not 0 <= p.position - h.parsed.position <= OOM_REPORT_LINES
    ]


def pending_hits(ctx: Context) -> list[Hit]:
    """The OOM reports of a source that no kill line followed, when the source has no kill line
    at all (a report cut by the end of an excerpt, beside a kill, says nothing new)."""
    return [] if ctx.oom_kills else list(ctx.oom_pending)


def _oom_kill(sig: Signature, p: ParsedLine, match: re.Match[str], ctx: Context) -> list[Hit]:
    kind: FindingKind = sig.kind  # type: ignore[assignment]
    _oom_resolved(p, ctx)
    ctx.oom_headers.append((p.position, kind))
    return [_oom_hit(kind, p, match)]


def _oom_header(sig: Signature, p: ParsedLine, match: re.Match[str], ctx: Context) -> list[Hit]:
    _oom_memcg(sig, p, match, ctx)
    ctx.oom_headers.append((p.position, sig.kind))  # type: ignore[arg-type]
    return []


def _oom_killed(sig: Signature, p: ParsedLine, match: re.Match[str], ctx: Context) -> list[Hit]:
    # "Killed process" belongs to the OOM header just before it (a cgroup's or the system's)
    kind: FindingKind = next(
        (k for pos, k in reversed(ctx.oom_headers) if 0 <= p.position - pos <= 12), "oom_kill"
    )
    if kind == "oom_kill" and ctx.oom_pending and ctx.oom_pending[-1].kind == "cgroup_oom":
        last = ctx.oom_pending[-1].parsed
        if last is not None and 0 <= p.position - last.position <= OOM_REPORT_LINES:
            kind = "cgroup_oom"
    _oom_resolved(p, ctx)
    return [_oom_hit(kind, p, match)]


def _oom_constraint(sig: Signature, p: ParsedLine, match: re.Match[str], ctx: Context) -> list[Hit]:
    kind: FindingKind = "cgroup_oom" if match.group("c") == "CONSTRAINT_MEMCG" else "oom_kill"
    _oom_resolved(p, ctx)
    ctx.oom_headers.append((p.position, kind))
    return [_oom_hit(kind, p, match)]


def _device(match: re.Match[str]) -> str:
    return next((d for d in match.groups() if d), "")


def _fs_error(sig: Signature, p: ParsedLine, match: re.Match[str], ctx: Context) -> list[Hit]:
    stopped = _FS_STOPPED.search(p.message) is not None
    return [
        sig.hit(
            p,
            match,
            detail=_device(match),
            detail_zh=quoted(_device(match)),
            notes=frozenset({"read_only"}) if stopped else frozenset(),
        )
    ]


def _power_off_detail(match: re.Match[str]) -> str:
    if "Power key" in match.string:
        return "ACPI power button (console or API stop/restart)"
    return "orderly power-off sequence"


def _power_off_detail_zh(match: re.Match[str]) -> str:
    if "Power key" in match.string:
        return "ACPI 电源按钮（控制台或 API 停止/重启）"
    return "有序的关机流程"


# --- the catalogue ----------------------------------------------------------------------------

KERNEL_SIGNATURES: Final[tuple[Signature, ...]] = (
    # also "---[ end Kernel panic - not syncing: ... ]---" and crash(8)'s
    # PANIC: "Kernel panic - ..."
    Signature(
        "kernel_panic",
        re.compile(r"Kernel panic - not syncing:\s?(?P<reason>.*)"),
        final=True,
        build=_panic,
    ),
    Signature("sysrq_crash", re.compile(r"\b(?:sysrq|SysRq)\s?:\s(?:SysRq : )?Trigger a crash")),
    Signature("init_killed", re.compile(r"Attempted to kill init")),
    Signature(
        "vfs_root_mount", re.compile(r"VFS: (?:Unable to mount root fs|Cannot open root device)")
    ),
    # the first line of an oops-like report: one kind per line
    Signature(
        "soft_lockup",
        re.compile(
            r"BUG: soft lockup - CPU#(?P<cpu>\d+) stuck for (?P<secs>\d+)s! "
            r"\[(?P<proc>.{1,64}):(?P<pid>\d+)\]"
        ),
        facts=(("process", "proc"), ("pid", "pid")),
        detail="CPU#{cpu} stuck for {secs}s",
        detail_zh="CPU#{cpu} 卡住 {secs} 秒",
        exclusive="oops",
    ),
    Signature(
        "null_pointer",
        re.compile(
            r"BUG: (?:unable to handle )?kernel NULL pointer dereference|"
            r"Unable to handle kernel NULL pointer dereference"
        ),
        exclusive="oops",
    ),
    Signature("gpf", re.compile(r"general protection fault\b.{0,200}?\[#\d+\]"), exclusive="oops"),
    Signature(
        "oops",
        re.compile(
            r"\bOops\b.{0,200}?\[#\d+\]|BUG: unable to handle (?:page fault|kernel paging request)|"
            r"\b(?:invalid opcode|stack segment|double fault|divide error): [0-9a-f]{4} \[#\d+\]"
        ),
        exclusive="oops",
    ),
    Signature(
        "kernel_bug",
        re.compile(r"kernel BUG at (?P<loc>[^!\s]+)"),
        detail="kernel BUG at {loc}",
        detail_zh="kernel BUG，位于 `{loc}`",
        exclusive="oops",
    ),
    Signature(
        # a sanitizer's report names the function where the bad access happened
        "kernel_bug",
        re.compile(
            r"\bBUG: (?P<what>K[ACM]SAN: [\w-]{1,40}(?: [\w-]{1,40}){0,4} in "
            r"(?P<func>[A-Za-z_.$][\w.$]{0,200}))"
        ),
        facts=(("rip_function", "func"),),
        detail=lambda match: match.group("what").rstrip()[:120],
        detail_zh=lambda match: quoted(match.group("what").rstrip()[:120]),
        exclusive="oops",
    ),
    Signature(
        "kernel_bug",
        re.compile(
            r"\bBUG: (?!soft lockup|kernel NULL|unable to handle|Unable to handle)(?P<what>.+)"
        ),
        detail=lambda match: match.group("what").rstrip()[:120],
        detail_zh=lambda match: quoted(match.group("what").rstrip()[:120]),
        exclusive="oops",
    ),
    Signature(
        "hung_task",
        re.compile(
            # a comm has at most 15 bytes, more when its non-ASCII bytes are escaped ("\\xe2");
            # newer kernels say "blocked in I/O wait for more than"
            r"INFO: task (?P<proc>.{1,64}?):(?P<pid>\d{1,10}) blocked (?P<io>in I/O wait )?"
            r"for more than (?P<secs>\d{1,10}) seconds"
        ),
        facts=(("process", "proc"), ("pid", "pid")),
        detail=lambda match: (
            f"blocked {match.group('io') or ''}for more than {match.group('secs')} seconds"
        ),
        detail_zh=lambda match: (
            f"{'在 I/O 等待中' if match.group('io') else ''}阻塞超过 {match.group('secs')} 秒"
        ),
    ),
    Signature(
        "hard_lockup",
        re.compile(
            r"Watchdog detected hard LOCKUP on cpu (?P<cpu>\d+)|\bhard LOCKUP\b|"
            r"Watchdog CPU:\d+ Hard LOCKUP"
        ),
    ),
    Signature(
        "rcu_stall",
        re.compile(r"(?:self-)?detected (?:expedited )?stalls? on CPU|\brcu_\w+ detected stalls"),
    ),
    Signature(
        "mce_hardware",
        re.compile(
            r"\[Hardware Error\]|Machine check events logged|Machine Check Exception|"
            r"\bmce: .{0,200}?Machine check|Fatal [Mm]achine check"
        ),
        build=_mce,
    ),
    # the OOM killer: one victim or header per line
    Signature(
        "oom_kill",
        re.compile(r"^(?P<proc>.{1,64}?) invoked oom-killer\b"),
        exclusive="oom",
        build=_oom_invoked,
    ),
    # lines of a memory cgroup's OOM report (3.x-5.x "Task in /cg killed as a result of limit of",
    # the memcg OOM path in the call trace, the cgroup's usage and stats)
    Signature(
        "cgroup_oom",
        re.compile(
            r"^(?P<task>Task in )\S{1,4096} killed as a result of limit of |"
            r"^\s{0,8}(?:\[<[0-9a-f]{1,16}>\] )?(?:\? )?mem_cgroup_out_of_memory\+|"
            r"^Memory cgroup stats for |^memory: usage \d{1,20}kB, limit \d{1,20}kB"
        ),
        exclusive="oom",
        build=_oom_memcg,
    ),
    Signature(
        "cgroup_oom",
        re.compile(r"Memory cgroup out of memory: Kill(?P<ed>ed)? process " + _VICTIM),
        exclusive="oom",
        build=_oom_kill,
    ),
    Signature(
        "cgroup_oom",
        re.compile(r"Memory cgroup out of memory"),
        exclusive="oom",
        build=_oom_header,
    ),
    Signature(
        "oom_kill",
        re.compile(r"Out of memory(?: \([^)]{0,100}\))?: Kill(?P<ed>ed)? process " + _VICTIM),
        exclusive="oom",
        build=_oom_kill,
    ),
    Signature(
        "oom_kill",
        re.compile(r"^\s*Killed process " + _VICTIM),
        exclusive="oom",
        build=_oom_killed,
    ),
    Signature(
        "oom_kill",
        re.compile(
            # the comma-separated fields before task= (a field cannot run across a comma)
            r"oom-kill:constraint=(?P<c>\w+)(?:,(?!task=)[^,]{0,300}){0,20}"
            r",task=(?P<proc>[^,]{1,64}),pid=(?P<pid>\d+)"
        ),
        exclusive="oom",
        build=_oom_constraint,
    ),
    Signature(
        "fs_error",
        re.compile(
            r"EXT[234]-fs error \(device (?P<d1>[^)]{1,64})\)|"
            r"EXT[234]-fs \((?P<d2>[^)]{1,64})\): (?:error|Remounting filesystem read-only|"
            r"I/O error while writing superblock)|"
            r"XFS \((?P<d3>[^)]{1,64})\): "
            r"(?:.{0,200}?[Cc]orruption|Internal error|.{0,200}?[Ss]hut ?down|"
            r"metadata I/O error|Log I/O [Ee]rror)|XFS: Internal error|"
            r"BTRFS (?:critical|error) \(device (?P<d4>[^)]{1,64})\)|"
            r"Aborting journal on device (?P<d5>[^\s.]+(?:\.\d+)?)"
        ),
        build=_fs_error,
    ),
    Signature(
        "unexpected_shutdown",
        _FS_RECOVERY,
        detail=lambda match: f"file system {_device(match)} needed journal recovery at boot",
        detail_zh=lambda match: f"文件系统 {quoted(_device(match))} 在启动时需要恢复日志",
        confidence="medium",
    ),
    # "WARNING: CPU: 2 PID: 0 at net/sched/sch_generic.c:477 dev_watchdog+0x21d/0x230" and
    # "NETDEV WATCHDOG: eth0 (virtio_net): transmit queue 0 timed out" (6.x: "virtio_net virtio1
    # enp1s0: NETDEV WATCHDOG: CPU: 0: transmit queue 0 timed out 9800 ms"): remembered for a
    # panic_on_warn panic; a transmit timeout alone is a driver hiccup, not a finding
    Signature(
        "warning",
        re.compile(
            r"^WARNING: CPU: \d{1,5} PID: \d{1,10} at \S{1,200}|"
            r"\bNETDEV WATCHDOG: (?:\S{1,40} \([^()]{0,40}\)|CPU: \d{1,5}): "
            r"transmit queue \d{1,5} timed out"
        ),
        build=_warning,
    ),
    # the first lines of a boot (firmware, kernel banner, memory map, KVM): resets.py decides
    # whether the boot before it ended without a reason
    Signature(
        "boot_marker",
        re.compile(
            r"(?P<m>SeaBIOS) \(version |^(?P<m2>Linux version) \d|"
            r"^(?P<m3>BIOS-provided physical RAM map):|"
            r"^(?P<m4>Booting paravirtualized kernel) on (?:KVM|Xen|bare hardware)"
        ),
        build=_boot_marker,
    ),
    # makedumpfile's progress on the capture kernel's console
    Signature(
        "kdump_saved",
        re.compile(r"^Copying data {0,80}: \[ {0,3}\d{1,3}\.\d ?%\]"),
        detail="makedumpfile copied the memory of the crashed kernel (capture kernel console)",
        detail_zh="makedumpfile 复制了崩溃内核的内存（捕获内核的控制台输出）",
        confidence="medium",
    ),
    Signature(
        "clean_reboot",
        re.compile(r"reboot: Restarting system"),
        detail="the kernel restarted the system on request",
        detail_zh="内核按请求重启了系统",
    ),
    Signature(
        "clean_shutdown",
        re.compile(r"reboot: (?:Power down|System halted)"),
        detail="the kernel powered the system down",
        detail_zh="内核关闭了系统电源",
    ),
)

# the programs whose lines may say the system is going down
SYSTEM_TAGS: Final = frozenset(
    {
        "kdump",
        "kdump.sh",
        "makedumpfile",
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
# lines of the programs in SYSTEM_TAGS: the first entry that matches counts
SYSTEM_SIGNATURES: Final[tuple[Signature, ...]] = (
    Signature(
        "clean_reboot",
        re.compile(
            r"Reached target .{0,100}?(?:\bReboot\b|reboot\.target|kexec\.target)|"
            r"System is rebooting|"
            r"shutting down for system reboot|The system will reboot now"
        ),
        detail="orderly reboot sequence",
        detail_zh="有序的重启流程",
    ),
    # systemd starts plymouth-reboot.service (-kexec, -poweroff, -halt) when the shutdown begins
    Signature(
        "clean_reboot",
        re.compile(r"^Start(?:ing|ed) Show Plymouth Reboot (?:with kexec )?Screen"),
        detail="orderly reboot sequence (the Plymouth reboot screen was shown)",
        detail_zh="有序的重启流程（显示了 Plymouth 重启画面）",
    ),
    Signature(
        "clean_shutdown",
        re.compile(r"^Start(?:ing|ed) Show Plymouth (?:Power Off|Halt) Screen"),
        detail="orderly power-off sequence (the Plymouth power-off screen was shown)",
        detail_zh="有序的关机流程（显示了 Plymouth 关机画面）",
    ),
    Signature(
        "clean_shutdown",
        re.compile(
            r"Reached target .{0,100}?(?:Power[- ]Off|poweroff\.target|\bHalt\b|halt\.target)|"
            r"System is (?:powering down|halting)|shutting down for system (?:halt|power-?off)|"
            r"Power key pressed|The system will power off now"
        ),
        detail=_power_off_detail,
        detail_zh=_power_off_detail_zh,
    ),
    # the kdump capture kernel's initrd saving the dump (kexec-tools' dracut module)
    Signature(
        "kdump_saved",
        re.compile(r"^(?:kdump: )?saving vmcore(?:-dmesg\.txt)? complete"),
        detail=lambda match: (
            "the kdump capture kernel saved vmcore-dmesg.txt"
            if "dmesg" in match.group(0)
            else "the kdump capture kernel saved a vmcore"
        ),
        detail_zh=lambda match: (
            "kdump 捕获内核保存了 vmcore-dmesg.txt"
            if "dmesg" in match.group(0)
            else "kdump 捕获内核保存了 vmcore"
        ),
    ),
    Signature(
        "kdump_saved",
        re.compile(
            r"^(?:kdump: )?(?:saving (?:vmcore|to )|dump target is )|^Copying data {0,80}: \[|"
            r"^Start(?:ing|ed) Kdump Vmcore Save Service"
        ),
        detail="the kernel crashed and the kdump capture kernel began saving its memory",
        detail_zh="内核崩溃，kdump 捕获内核开始保存其内存",
        confidence="medium",
    ),
    Signature(
        "shutdown_generic",
        re.compile(r"Reached target .{0,100}?(?:\bShutdown\b|shutdown\.target)"),
        detail="orderly shutdown sequence",
        detail_zh="有序的关机流程",
    ),
)

# sudo's log of a command: who ran a reboot or power-off
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

# Lines worth a closer look: a cheap first pass for big logs. Every entry above (and every
# context line of incident_context) must match one of these alternatives. Each alternative starts
# with a literal character (write "Machine|machine", not "[Mm]achine"): the regex engine then
# skips every position whose character starts none of them, which makes this pass several times
# faster on big files.
PREFILTER: Final = re.compile(
    r"panic|Oops|BUG|NULL pointer|general protection|blocked for more than|LOCKUP|stall|"
    r"Call Trace|Call trace|"
    r"Machine [Cc]heck|machine [Cc]heck|Hardware Error|Out of memory|out of memory|"
    r"Killed process|oom-kill|"
    r"Attempted to kill init|VFS:|-fs |XFS|BTRFS|RIP|IP:|pc\s*:|Modules linked in|Comm:|comm:|"
    r"Reached target|System is|Power key|shutting down|reboot:|COMMAND=|recovery|\[#|"
    r"Sys[Rr]q|sys[Rr]q|Trigger a crash|PC is at|NIP \[|Aborting journal|"
    r"will (?:reboot|power off) now|"
    r"blocked in I/O wait|WARNING:|NETDEV WATCHDOG|Copying data|saving vmcore|saving to|"
    r"Kdump Vmcore|dump target|Plymouth (?:Reboot|Power Off|Halt)|SeaBIOS|Linux version|"
    r"BIOS-provided|Booting paravirtualized|invoked oom-killer|mem_cgroup_out_of_memory|"
    r"killed as a result of limit|Memory cgroup stats|memory: usage|"
    r"\$ (?:sudo )?\S{0,40}(?:reboot|shutdown|poweroff|halt|init [06])\b|"
    r"# (?:sudo )?\S{0,40}(?:reboot|shutdown|poweroff|halt|init [06])\b"
)


# --- matching ---------------------------------------------------------------------------------


def kernel_hits(p: ParsedLine, ctx: Context) -> list[Hit]:
    """The hits of a kernel line; its context lines (RIP, modules ...) go to ``ctx``."""
    m = p.message
    hits: list[Hit] = []
    decided: set[str] = set()  # exclusive groups that already matched
    for sig in KERNEL_SIGNATURES:
        if sig.exclusive and sig.exclusive in decided:
            continue
        match = sig.pattern.search(m)
        if match is None:
            continue
        if sig.exclusive:
            decided.add(sig.exclusive)
        hits.extend(sig.hits(p, match, ctx))
        if sig.final:
            ctx.incidents.append((p.position, frozenset(h.kind for h in hits)))
            return hits
    if hits:
        ctx.incidents.append((p.position, frozenset(h.kind for h in hits)))
    record_context(p, ctx)
    return hits


def _sudo_hits(p: ParsedLine) -> list[Hit]:
    sudo = _SUDO.search(p.message[:700])
    if sudo is None or _SUDO_REFUSED.search(sudo.group("head")):
        return []
    cmd, user = sudo.group("cmd").strip(), sudo.group("user")
    program = cmd.split()[0].rsplit("/", 1)[-1] if cmd.split() else cmd
    detail = f"{excerpt(user, 32)} ran {excerpt(cmd)} through sudo"
    detail_zh = f"{quoted(excerpt(user, 32))} 通过 sudo 执行了 {quoted(excerpt(cmd))}"
    said = {"detail": detail, "detail_zh": detail_zh}
    if _CMD_REBOOT.search(cmd):
        return [hit("clean_reboot", p, facts={"process": program}, **said)]
    if _CMD_POWEROFF.search(cmd):
        return [hit("clean_shutdown", p, facts={"process": program}, **said)]
    return []


def _shell_hits(p: ParsedLine) -> list[Hit]:
    # a console capture shows the command typed, not that it ran: medium confidence
    cmd = p.message.strip()
    if cmd.startswith("sudo "):
        cmd = cmd[5:].lstrip()
    words = cmd.split()
    program = words[0].rsplit("/", 1)[-1] if words else ""
    detail = f"{excerpt(cmd)} was typed at the console"
    detail_zh = f"在控制台输入了 {quoted(excerpt(cmd))}"
    if _CMD_REBOOT.search(cmd):
        kind: FindingKind = "clean_reboot"
    elif _CMD_POWEROFF.search(cmd):
        kind = "clean_shutdown"
    else:
        return []
    return [
        hit(
            kind,
            p,
            facts={"process": program},
            detail=detail,
            detail_zh=detail_zh,
            confidence="medium",
        )
    ]


def system_hits(p: ParsedLine) -> list[Hit]:
    """The hits of a line some program (not the kernel) wrote."""
    if p.tag == "sudo":
        return _sudo_hits(p)
    if p.tag == "shell":
        return _shell_hits(p)
    if p.tag not in SYSTEM_TAGS:
        return []
    for sig in SYSTEM_SIGNATURES:
        match = sig.pattern.search(p.message)
        if match is not None:
            return [sig.hit(p, match)]
    return []


def reports_unclean_end(text: str) -> bool:
    """A boot-time line that describes how the boot BEFORE it ended (a file system replaying
    its journal after an unclean shutdown)."""
    if "recovery" not in text:
        return False
    _, msg = kernel_message(text[:600])
    return _FS_RECOVERY.search(msg) is not None
