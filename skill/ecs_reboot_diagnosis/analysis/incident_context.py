"""The context lines of a kernel incident: RIP, ``Modules linked in``, CPU/PID/Comm, the call trace.

An oops, panic or lockup report prints these lines around its header. They are recorded per
source as :class:`Mark` values while the lines are matched (:func:`record_context`), and
:func:`nearest` attaches the closest one (within :data:`NEAR` lines) to a finding. A call trace
spans many lines that name no incident: :class:`TraceReader` follows one from its ``Call Trace:``
line (:func:`trace_after` picks the one an incident printed). The parsers are shared with the
crash-dump analysis.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar

from ecs_reboot_diagnosis.analysis.hits import Hit
from ecs_reboot_diagnosis.analysis.log_lines import ParsedLine
from ecs_reboot_diagnosis.models import FindingKind

__all__ = [
    "MAX_TRACE_FRAMES",
    "NEAR",
    "TRACE_HEADER",
    "TRACE_LINES",
    "Context",
    "Mark",
    "Trace",
    "TraceReader",
    "blocked_in",
    "is_entry_frame",
    "nearest",
    "parse_call_trace_frame",
    "parse_modules",
    "parse_rip",
    "past_waits",
    "record_context",
    "strip_trace_markers",
    "trace_after",
    "trace_frame_label",
]

NEAR: Final = 60  # lines: how far an incident's RIP / Modules / CPU lines may be from it
MAX_TRACE_FRAMES: Final = 16  # frames kept of one call trace
TRACE_LINES: Final = 96  # lines one call trace may span (frames, markers, other programs' lines)
TRACE_HEADER: Final = re.compile(r"\bCall [Tt]race:")
_NMI_END: Final = re.compile(r"<<?EOE>>?|</NMI>")
_REGISTER_LINE: Final = re.compile(
    r"(?:RIP|Code|RSP|EFLAGS|ORIG_RAX|R[A-D]X|R[SD]I|RBP|R\d{1,2}|[CDEFGS]S|CR\d|DR\d|PKRU) ?:"
)

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
# the release after the taint flags, which RHEL pads with "------------ T" and the like (the
# flags hold no colon, and every run is bounded: a line of repeated "Tainted: " costs little)
_KVER: Final = re.compile(
    r"(?:Not tainted\s{1,40}|Tainted: [^#:]{0,120}?\s)(?P<ver>\d+\.\d+[\w.+~-]*+)\s{1,20}#"
)
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


# Frames of the NMI / interrupt entry, the watchdog and the panic machinery: where the report
# was printed from, not where the CPU was. Skipped (like "? " unreliable frames and the
# <NMI>/<IRQ>/<EOI> markers) when looking for the faulting function.
_ENTRY_FRAME: Final = re.compile(
    r"(?:__pfx_)?(?:nmi_handle|default_do_nmi|do_nmi|exc_nmi|asm_exc_nmi|end_repeat_nmi|repeat_nmi|"
    r"nmi_restore|first_nmi|perf_event_nmi_handler|x86_pmu_handle_irq|intel_pmu_handle_irq|"
    r"amd_pmu_handle_irq|__perf_event_overflow|perf_event_overflow|"
    r"watchdog_overflow_callback|watchdog_timer_fn|watchdog_hardlockup_check|"
    r"apic_timer_interrupt|smp_apic_timer_interrupt|__sysvec_apic_timer_interrupt|"
    r"sysvec_apic_timer_interrupt|asm_sysvec_apic_timer_interrupt|hrtimer_interrupt|"
    r"__hrtimer_run_queues|tick_sched_timer|tick_sched_handle|update_process_times|"
    r"common_interrupt|asm_common_interrupt|ret_from_intr|irq_exit|irq_exit_rcu|"
    r"__irq_exit_rcu|do_IRQ|handle_irq|"
    r"dump_stack|dump_stack_lvl|show_stack|dump_backtrace|show_trace_log_lvl|panic|nmi_panic|"
    r"vpanic|oops_end|die|die_body|__die|__die_body|no_context|"
    r"rcu_dump_cpu_stacks|print_cpu_stall|rcu_sched_clock_irq|check_cpu_stall|"
    r"warn_slowpath_common|warn_slowpath_fmt|warn_slowpath_null|__warn|report_bug|"
    # the sanitizers' and the sleep checks' own reporting
    r"print_address_description|kasan_report|__kasan_\w+|kasan_\w+|__asan_\w+|"
    r"check_memory_region\w*|__ubsan_handle_\w+|ubsan_\w+|kcsan_\w+|kmsan_\w+|"
    r"print_report|start_report|end_report|__schedule_bug|_{2,3}might_sleep|__might_resched|"
    r"__might_fault)"
    r"(?:\.(?:cold|constprop|isra|part)[\w.]*)?"
)


# "<NMI>  [<addr>] dump_stack+..", "<IRQ> [ 10.5]  [<addr>] ? panic+..": markers before a frame
_TRACE_MARKERS: Final = re.compile(
    r"^\s*(?:(?:<<?/?(?:NMI|IRQ|EOI|EOE|TASK|SOFTIRQ)>>?|\[\s*\d+\.\d+\])\s*)+"
)


def strip_trace_markers(message: str) -> str:
    """A call-trace line without its leading <NMI>/<IRQ>/<EOI> markers ("" for a bare marker)."""
    return _TRACE_MARKERS.sub("", message)


def is_entry_frame(function: str) -> bool:
    """Whether a call-trace function belongs to the NMI/IRQ entry or the report machinery."""
    return _ENTRY_FRAME.fullmatch(function) is not None


def trace_frame_label(frame: tuple[str, str | None, bool]) -> str | None:
    """``func [mod]`` for a frame that says where the CPU was (not the NMI/IRQ entry or the
    report machinery); None for the others. Reliability is the caller's to judge."""
    func, mod, _ = frame
    if is_entry_frame(func):
        return None
    return f"{func} [{mod}]" if mod else func


@dataclass(slots=True)
class Trace:
    """One call trace's frames, as :func:`trace_frame_label` labels, in order."""

    frames: list[tuple[str, bool]] = field(default_factory=list)
    """(label, reliable): ``?`` frames are guesses the unwinder made from the stack."""

    def labels(self) -> list[str]:
        """The reliable frames; all of them when none is (a kernel built without frame
        pointers marks every frame ``?``)."""
        reliable = [label for label, ok in self.frames if ok]
        return reliable or [label for label, _ in self.frames]


# Where a sleeping task waits: the scheduler, locks, completions, bit and page waits. A hung
# task's trace starts with these; the first frame past them is what it waits for. Plain string
# tests (no pattern with a leading wildcard: a long name costs linear time).
_WAIT_PREFIXES: Final = (
    "__switch_to", "__schedule", "schedule", "preempt_schedule", "io_schedule", "__down",
    "down_", "call_rwsem", "__lock_page", "__folio_lock", "folio_wait", "prepare_to_wait",
    "__wait_event", "__sched_text_start",
)  # fmt: skip
_WAIT_PARTS: Final = (
    "mutex_lock", "rwsem_down", "wait_for_common", "wait_for_completion", "wait_on_",
    "bit_wait", "wait_bit", "rt_mutex", "percpu_down", "percpu_rwsem",
)  # fmt: skip
_WAIT_NAMES: Final = frozenset({"down", "wait_woken", "finish_wait"})


def _is_wait_frame(function: str) -> bool:
    name = function.partition(".")[0]  # "__mutex_lock_common.isra.5"
    return (
        name in _WAIT_NAMES
        or name.startswith(_WAIT_PREFIXES)
        or any(part in name for part in _WAIT_PARTS)
    )


def past_waits(trace: Sequence[str]) -> str | None:
    """The first frame past the scheduler and lock waits, else the first frame (None for an
    empty trace): where a CPU that scheduled from the wrong context came from."""
    return blocked_in(trace) or (trace[0] if trace else None)


def blocked_in(trace: Sequence[str]) -> str | None:
    """A hung task's trace -> the first frame past the scheduler and lock waits (``func
    [mod]``), or None when the trace is only those."""
    for label in trace:
        if not _is_wait_frame(label.partition(" [")[0]):
            return label
    return None


# (?<!\S): the name is tried from the start of a token only (\S+ from every offset of a long
# token would be quadratic)
_INVOKED: Final = re.compile(r"(?<!\S)(?P<proc>\S+) invoked oom-killer")

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Mark(Generic[_T]):
    """A context line (RIP, modules, CPU/PID/Comm, oom invoker) and what it says."""

    parsed: ParsedLine
    value: _T


@dataclass(slots=True)
class Context:
    """The context lines of one source, in line order."""

    rips: list[Mark[tuple[str, str | None]]] = field(default_factory=list)
    modules: list[Mark[list[str]]] = field(default_factory=list)
    comms: list[Mark[tuple[str, int, str | None]]] = field(default_factory=list)
    invoked: list[Mark[str]] = field(default_factory=list)
    oom_headers: list[tuple[int, FindingKind]] = field(default_factory=list)
    oom_pending: list[Hit] = field(default_factory=list)
    """OOM reports ("X invoked oom-killer", "Task in /cg killed as a result of limit") whose kill
    line has not come (yet): findings of their own at the end (:func:`pending_hits`)."""
    oom_kills: int = 0
    warnings: list[Mark[str]] = field(default_factory=list)
    """``WARNING: CPU: ...`` and ``NETDEV WATCHDOG`` lines (what panic_on_warn makes fatal)."""
    traces: list[Mark[Trace]] = field(default_factory=list)
    """Call traces, each at its ``Call Trace:`` line."""
    incidents: list[tuple[int, frozenset[str]]] = field(default_factory=list)
    """The lines that reported an incident: position and kinds (a trace past another report's
    line is that report's)."""


class TraceReader:
    """Follows the call traces of one log source line by line.

    :meth:`start` is given every line the first pass keeps (it opens a trace at a ``Call
    Trace:`` line); while one is open, :meth:`feed` is given every kernel line after it: a frame
    is kept (up to :data:`MAX_TRACE_FRAMES`), a trace marker (``<IRQ>``, ``</TASK>``) is passed
    over, and any other kernel text (registers, ``Code:``, the next report) closes the trace, as
    does a trace longer than its bound. Lines of other programs interleaved in a syslog are
    passed over (they count towards the bound)."""

    __slots__ = ("_frames", "_left", "_nmi")

    def __init__(self) -> None:
        self._frames: Trace | None = None
        self._left = 0
        self._nmi = False

    @property
    def open(self) -> bool:
        return self._frames is not None

    def start(self, p: ParsedLine, ctx: Context) -> bool:
        """Open a trace if ``p`` is a kernel ``Call Trace:`` line; True when it did."""
        if not p.is_kernel or TRACE_HEADER.search(p.message) is None:
            return False
        self._frames = Trace()
        self._left = TRACE_LINES
        self._nmi = False
        ctx.traces.append(Mark(p, self._frames))
        return True

    def feed(self, p: ParsedLine) -> None:
        """The line after the open trace's last one."""
        frames = self._frames
        if frames is None:
            return
        self._left -= 1
        if self._left <= 0:
            self._frames = None
            return
        if not p.is_kernel:
            return
        message = p.message
        if _NMI_END.search(message):
            self._nmi = False
        elif "<NMI>" in message:
            self._nmi = True
        rest = strip_trace_markers(message)
        frame = parse_call_trace_frame(rest)
        if frame is None:
            # a newer kernel prints the interrupted context's registers inside the trace
            if rest.strip() and not _REGISTER_LINE.match(rest.lstrip()):
                self._frames = None
            return
        if self._nmi:  # the NMI handler: the watchdog or perf, never where the CPU was
            return
        label = trace_frame_label(frame)
        if label is not None and len(frames.frames) < 2 * MAX_TRACE_FRAMES:
            frames.frames.append((label, frame[2]))


_DIE_KINDS: Final = frozenset({"oops", "null_pointer", "gpf", "kernel_bug"})
"""Kinds one oops report prints over several header lines ("BUG: ...", "#PF: ...", "Oops: ...")."""


def _other_report(kinds: frozenset[str], mine: frozenset[str]) -> bool:
    """Whether a line of ``kinds`` starts another report than the incident of ``mine``: a
    panic line ends a report, the header lines of one oops are one report, and every hung
    task, lockup or stall header starts its own."""
    kinds = kinds - {"kernel_panic"}
    if not kinds:
        return False
    return not (kinds <= _DIE_KINDS and mine & _DIE_KINDS)


def trace_after(ctx: Context, p: ParsedLine) -> list[str]:
    """The call trace the incident at ``p`` printed (up to :data:`MAX_TRACE_FRAMES` frames):
    the first one with frames after it within :data:`NEAR` lines (a report prints its header,
    then RIP and registers, then the trace), else the nearest before it within NEAR (a panic
    after the oops it ends); never one with another incident's line in between (that trace is
    the other incident's). [] when there is none."""
    at = p.position
    mine = next((kinds for i, kinds in ctx.incidents if i == at), frozenset())

    def between(a: int, b: int) -> bool:
        return any(a < i < b and _other_report(kinds, mine) for i, kinds in ctx.incidents)

    found = [t for t in ctx.traces if t.value.frames]
    after = [t for t in found if 0 < t.parsed.position - at <= NEAR]
    before = [t for t in found if 0 <= at - t.parsed.position <= NEAR]
    if after:
        first = min(after, key=lambda t: t.parsed.position)
        if not between(at, first.parsed.position):
            return first.value.labels()[:MAX_TRACE_FRAMES]
    if before:
        last = max(before, key=lambda t: t.parsed.position)
        if not between(last.parsed.position, at):
            return last.value.labels()[:MAX_TRACE_FRAMES]
    return []


def record_context(p: ParsedLine, ctx: Context) -> None:
    """Note the context line ``p`` is, if any (a kernel line)."""
    m = p.message
    if (inv := _INVOKED.search(m)) is not None:
        ctx.invoked.append(Mark(p, inv.group("proc")))
    if (rip := parse_rip(m)) is not None:
        ctx.rips.append(Mark(p, rip))
    if (mods := parse_modules(m)) is not None:
        ctx.modules.append(Mark(p, mods))
    if (comm := _COMM.search(m)) is not None:
        ver = _KVER.search(m, comm.end())
        pid = int(comm.group("pid") or comm.group("pid2"))
        ctx.comms.append(Mark(p, (comm.group("comm"), pid, ver.group("ver") if ver else None)))


def nearest(marks: Sequence[Mark[_T]], p: ParsedLine) -> Mark[_T] | None:
    """The mark closest to ``p`` within :data:`NEAR` lines (ties: the one after it)."""
    best: Mark[_T] | None = None
    best_d = NEAR + 1
    for mark in marks:
        other = mark.parsed
        d = abs(other.position - p.position)
        # ties go to the line after the incident: oops blocks print RIP after the header
        if d < best_d or (d == best_d and other.position > p.position):
            best, best_d = mark, d
    return best
