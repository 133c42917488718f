"""Hits -> findings: grouping by kind, the primary occurrence, evidence, summaries and order.

Pure functions from log lines to :class:`~ecs_reboot_diagnosis.models.Finding` records. Each
line keeps where it came from (``Evidence.source`` and ``line_no``), so every finding points at
the data it rests on. Which lines are hits is the signature catalogue's business
(:mod:`.signatures`, :mod:`.reboot_records`); this module assembles them:

- One finding per kind. Its facts come from the most recent occurrence; its evidence is at most
  :data:`MAX_EVIDENCE` lines ranked by relevance (:data:`_RANK`): that line, the panic it
  caused, the RIP, decisive lines of other occurrences, ``Modules linked in``, the rest.
- Findings are listed most severe first (:data:`~ecs_reboot_diagnosis.models.SEVERITY`), a
  cause before what it caused (tables/precedence.toml, :func:`causal_order`); a cause of the
  panic carries ``panicked`` and the panic reason and is critical.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Final

from ecs_reboot_diagnosis.analysis.hits import Hit, evidence_of, norm
from ecs_reboot_diagnosis.analysis.incident_context import (
    NEAR,
    Context,
    TraceReader,
    blocked_in,
    nearest,
    past_waits,
    trace_after,
)
from ecs_reboot_diagnosis.analysis.log_lines import LogLine, parse_line, quoted
from ecs_reboot_diagnosis.analysis.reboot_records import (
    last_hits,
    looks_like_wtmp,
    parse_last_records,
)
from ecs_reboot_diagnosis.analysis.resets import resolve_boot_markers
from ecs_reboot_diagnosis.analysis.signatures import (
    PREFILTER,
    kernel_hits,
    pending_hits,
    system_hits,
)
from ecs_reboot_diagnosis.models import (
    SEVERITY,
    Confidence,
    Evidence,
    Finding,
    FindingFacts,
    FindingKind,
    Text,
    finding_order,
)
from ecs_reboot_diagnosis.tables import PrecedenceTable, precedence

__all__ = ["MAX_EVIDENCE", "analyze_log_lines", "analyze_log_text", "causal_order"]

MAX_EVIDENCE: Final = 5
# kinds whose finding takes the RIP, modules and CPU/PID/Comm lines of its incident
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


_FAULT_KINDS: Final[frozenset[str]] = frozenset(
    {"oops", "null_pointer", "gpf", "kernel_bug", "soft_lockup", "hard_lockup"}
)
"""Incidents where the CPU was running faulty code: without a RIP line, the top of the call
trace is the faulting function (a deliberate panic's trace, by contrast, shows who called it)."""


def _sort_key(h: Hit) -> tuple[float, int, int]:
    # latest first; at the same time a direct signature beats one inferred from a panic reason
    return (h.time.timestamp() if h.time is not None else -math.inf, not h.derived, h.order)


def _occurrences(hits: Sequence[Hit]) -> int:
    """Distinct incidents: distinct times to the second, or line clusters for undated lines."""
    times = {int(h.time.timestamp()) for h in hits if h.time is not None}
    clusters = {
        (h.parsed.line.source, h.parsed.position // NEAR)
        for h in hits
        if h.time is None and h.parsed is not None
    }
    return len(times) + len(clusters)


def _has_context(h: Hit, ctx: dict[str, Context]) -> bool:
    p = h.parsed
    return p is not None and nearest(ctx.get(p.line.source, Context()).rips, p) is not None


def _summary(
    kind: FindingKind,
    primary: Hit,
    facts: FindingFacts,
    count: int,
    n_kills: int,
    notes: frozenset[str] = frozenset(),
) -> Text:
    return Text(
        en=_summary_en(kind, primary, facts, count, n_kills, notes),
        zh_CN=_summary_zh(kind, primary, facts, count, n_kills, notes),
    )


def _summary_en(
    kind: FindingKind,
    primary: Hit,
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
        if (waits := blocked_in(facts.call_trace)) is not None:
            text += f", waiting in {waits}"
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
        text = (
            f"The OOM killer killed {n_kills} process(es); latest {primary.detail}"
            if n_kills
            else f"The system ran out of memory: {primary.detail}"
        )
    elif kind == "cgroup_oom":
        text = (
            f"A memory cgroup hit its limit and {n_kills} process(es) were killed; "
            f"latest {primary.detail}"
            if n_kills
            else f"A memory cgroup hit its limit: {primary.detail}"
        )
    elif kind == "fs_error":
        text = f"File system error on {primary.detail or 'a device'}"
        if "read_only" in notes:
            text += "; the file system stopped taking writes (remounted read-only or shut down)"
    elif kind == "kdump_saved":
        text = f"The kernel crashed and kdump ran: {primary.detail}"
    elif kind == "unexpected_shutdown":
        text = f"Unclean shutdown: {primary.detail}"
    elif kind == "clean_reboot":
        text = f"Clean reboot: {primary.detail}"
    elif kind == "clean_shutdown":
        text = f"Clean shutdown: {primary.detail}"
    else:  # pragma: no cover - every kind the engine emits is listed above
        text = kind
    return text + times


def _summary_zh(
    kind: FindingKind,
    primary: Hit,
    facts: FindingFacts,
    count: int,
    n_kills: int,
    notes: frozenset[str] = frozenset(),
) -> str:
    """:func:`_summary_en` in Simplified Chinese; guest text is quoted between backticks."""
    rip = ""
    if facts.rip_function:
        where = facts.rip_function + (f" [{facts.rip_module}]" if facts.rip_module else "")
        rip = f"，位于 {quoted(where)}"
    once = ("oom_kill", "cgroup_oom", "clean_reboot", "clean_shutdown")
    times = f"（出现 {count} 次）" if count > 1 and kind not in once else ""
    reason = quoted(facts.panic_reason) if facts.panic_reason else ""
    who = (
        f"，进程 {quoted(facts.process)}（pid {facts.pid}）"
        if facts.process and facts.pid is not None
        else ""
    )
    detail = primary.detail_zh
    panicked = f"；内核随后 panic（{reason}）" if facts.panic_reason else ""
    text: str
    if kind == "kernel_panic":
        text = f"内核 panic：{reason or '日志未记录原因'}{rip}"
    elif kind == "oom_panic":
        text = f"内核因内存耗尽（OOM）而 panic：{reason}"
    elif kind == "sysrq_crash":
        text = "通过 SysRq 触发了崩溃（echo c > /proc/sysrq-trigger）"
    elif kind == "init_killed":
        text = "init 进程（PID 1）退出，内核随之 panic"
    elif kind == "vfs_root_mount":
        text = "内核无法挂载根文件系统"
    elif kind == "oops":
        text = f"内核 oops{rip}{who}"
    elif kind == "null_pointer":
        text = f"内核空指针解引用{rip}{who}"
    elif kind == "gpf":
        text = f"内核一般保护错误（GPF）{rip}{who}"
    elif kind == "kernel_bug":
        text = f"内核 BUG：{detail}{rip}"
    elif kind == "hung_task":
        text = f"任务 {quoted(str(facts.process))}（pid {facts.pid}）{detail or '挂起'}"
        if (waits := blocked_in(facts.call_trace)) is not None:
            text += f"，等待位置：{quoted(waits)}"
        if primary.derived:
            text = "挂起的任务（hung task）导致内核 panic"
        text += panicked
    elif kind == "soft_lockup":
        text = f"软锁死（soft lockup）：{detail or '某个 CPU 卡住'}{who}{rip}{panicked}"
    elif kind == "hard_lockup":
        text = f"NMI watchdog 检测到硬锁死（hard lockup）{rip}"
    elif kind == "rcu_stall":
        text = "RCU stall：某个 CPU 或任务未能及时经过静止状态（quiescent state）"
    elif kind == "mce_hardware":
        text = (
            "记录了已纠正的机器检查（MCE）事件（硬件已自行恢复；这是硬件可能故障的迹象，"
            "本身并不会导致崩溃）"
            if notes == {"corrected"}
            else "CPU 或平台报告了机器检查（MCE）或硬件错误"
        )
    elif kind == "oom_kill":
        text = (
            f"OOM Killer 终止了 {n_kills} 个进程；最近一个是 {detail}"
            if n_kills
            else f"系统内存耗尽：{detail}"
        )
    elif kind == "cgroup_oom":
        text = (
            f"某个内存 cgroup 达到上限，{n_kills} 个进程被终止；最近一个是 {detail}"
            if n_kills
            else f"某个内存 cgroup 达到上限：{detail}"
        )
    elif kind == "fs_error":
        text = f"文件系统错误，设备 {detail or '未知'}"
        if "read_only" in notes:
            text += "；该文件系统已停止写入（被重新挂载为只读或已关闭）"
    elif kind == "kdump_saved":
        text = f"内核崩溃，kdump 已运行：{detail}"
    elif kind == "unexpected_shutdown":
        text = f"意外关机：{detail}"
    elif kind == "clean_reboot":
        text = f"正常重启：{detail}"
    elif kind == "clean_shutdown":
        text = f"正常关机：{detail}"
    else:  # pragma: no cover - every kind the engine emits is listed above
        text = kind
    return text + times


# How relevant an evidence line is (lower first): the finding's own line, the panic it caused,
# the RIP, a decisive line of another occurrence (a fatal MCE's "Machine Check Exception ...
# Bank" rather than "Machine check events logged"), the modules, then the rest.
_RANK: Final[dict[str, int]] = {
    "primary": 0,
    "panic": 1,
    "rip": 2,
    "decisive": 3,
    "modules": 4,
    "other": 5,
}
_DECISIVE: Final = re.compile(
    r"Machine Check Exception|Bank \d+|Fatal|Processor context corrupt|[Uu]ncorrected|"
    r"Kernel panic|kernel BUG at|NULL pointer|general protection fault|Oops|"
    r"blocked for more than|soft lockup|hard LOCKUP|stall"
)
_BURST_SECONDS: Final = 2.0  # a watchdog pass prints its reports within this
_MONO: Final = re.compile(r"\[\s*(\d{1,10}\.\d{1,9})\]")  # "[ 8643.504000]"
# kernel threads that file-system writers wait on: when blocked, they are the root of the burst
_IO_ROOT: Final = re.compile(r"jbd2/|kjournald|xfsaild/|flush-|btrfs-transacti|txg_sync")


def _same_burst(h: Hit, last: Hit) -> bool:
    """Whether ``h`` was printed by the same watchdog pass as ``last`` (at or before it)."""
    if h.parsed is None or last.parsed is None or h.parsed.line.source != last.parsed.line.source:
        return h is last
    gap = _seconds_between(h, last)
    if gap is not None:
        return 0 <= gap <= _BURST_SECONDS
    return 0 <= last.parsed.position - h.parsed.position <= NEAR


def _seconds_between(a: Hit, b: Hit) -> float | None:
    """Seconds from ``a`` to ``b``: by their seconds-since-boot stamps when both lines have one
    (a crash log's lines may all carry the file's time), else by their times."""
    if a.parsed is not None and b.parsed is not None:
        ma, mb = _MONO.search(a.parsed.line.text[:64]), _MONO.search(b.parsed.line.text[:64])
        if ma is not None and mb is not None:
            return float(mb.group(1)) - float(ma.group(1))
    if a.time is not None and b.time is not None:
        return (b.time - a.time).total_seconds()
    return None


def _primary(kind: FindingKind, hits: list[Hit], ctx: dict[str, Context]) -> Hit:
    """The occurrence a finding reports: the latest, or the report a panic reason points at."""
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
    if kind == "hung_task" and not primary.derived:
        # one watchdog pass reports every blocked task at once; a journal or flusher thread in
        # it is the one the others wait on (jbd2 before the processes blocked on the journal)
        root = next(
            (
                h
                for h in direct
                if _same_burst(h, primary) and _IO_ROOT.match(str(h.facts.get("process", "")))
            ),
            None,
        )
        primary = root or primary
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
    return primary


def _finding(
    kind: FindingKind,
    hits: list[Hit],
    primary: Hit,
    ctx: dict[str, Context],
    panic: Hit | None = None,
) -> Finding:
    """The finding of ``kind``; ``panic`` is the panic line this finding caused, if any."""
    facts: dict[str, object] = dict(primary.facts)
    reason = next(
        (h.facts["panic_reason"] for h in reversed(hits) if "panic_reason" in h.facts), None
    )
    if panic is not None and "panic_reason" in panic.facts:
        facts["panic_reason"] = panic.facts["panic_reason"]
    elif reason is not None:
        facts.setdefault("panic_reason", reason)
    if panic is not None or kind == "kernel_panic":
        facts["panicked"] = True
    # evidence by relevance: (rank, log position) -> line; see _RANK
    ranked: list[tuple[int, int, Evidence]] = []

    def keep(rank: int, ev: Evidence) -> None:
        ranked.append((rank, len(ranked), ev))

    keep(_RANK["primary"], primary.evidence)
    for ev in primary.extra_evidence:
        keep(_RANK["primary"], ev)
    if panic is not None:
        keep(_RANK["panic"], panic.evidence)
    p = primary.parsed
    if p is not None and kind == "hung_task":
        trace = trace_after(ctx.get(p.line.source, Context()), p)
        if trace:
            facts.setdefault("call_trace", trace)
    if p is not None and kind in _CONTEXT_KINDS:
        c = ctx.get(p.line.source, Context())
        rip = nearest(c.rips, p)
        if rip is not None:
            facts.setdefault("rip_function", rip.value[0])
            facts.setdefault("rip_module", rip.value[1])
            keep(_RANK["rip"], evidence_of(rip.parsed))
        mods = nearest(c.modules, p)
        if mods is not None:
            facts.setdefault("modules", mods.value)
            keep(_RANK["modules"], evidence_of(mods.parsed))
        comm = nearest(c.comms, p)
        if comm is not None:
            if "process" not in facts:
                facts["process"], facts["pid"] = comm.value[0], comm.value[1]
            if comm.value[2]:
                facts.setdefault("kernel_version", comm.value[2])
        trace = trace_after(c, p)
        if trace:
            facts.setdefault("call_trace", trace)
            if kind in _FAULT_KINDS and "rip_function" not in facts:
                # no RIP line (older kernels, an excerpt, a BUG that is a report): where the
                # trace says the CPU was, past the scheduler a "scheduling while atomic" enters
                func, _, mod = (past_waits(trace) or trace[0]).partition(" [")
                facts["rip_function"], facts["rip_module"] = func, mod.rstrip("]") or None
        if kind == "oom_panic":
            invoked = nearest(c.invoked, p)
            if invoked is not None:
                facts["process"] = invoked.value
                facts.pop("pid", None)
                keep(_RANK["decisive"], evidence_of(invoked.parsed))
    for h in reversed(hits):
        if h is not primary:
            decisive = _DECISIVE.search(h.evidence.text) is not None
            keep(_RANK["decisive"] if decisive else _RANK["other"], h.evidence)
    evidence: list[Evidence] = []
    seen: set[str] = set()
    for _, _, ev in sorted(ranked, key=lambda r: (r[0], r[1])):
        if norm(ev.text) not in seen and len(evidence) < MAX_EVIDENCE:
            seen.add(norm(ev.text))
            evidence.append(ev)
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
        severity="critical" if typed.panicked else SEVERITY[kind],
        summary=_summary(kind, primary, typed, _occurrences(hits), len(kills), notes),
        evidence=evidence,
        facts=typed,
        confidence=confidence,
    )


def _drop_announcements(hits: list[Hit]) -> list[Hit]:
    """Old kernels name the victim they chose, then report the kill (maybe a child's): count one."""
    kills: dict[str, list[int]] = {}
    for h in hits:
        if h.kind in ("oom_kill", "cgroup_oom") and not h.announce and h.parsed is not None:
            kills.setdefault(h.parsed.line.source, []).append(h.parsed.position)
    for positions in kills.values():
        positions.sort()
    out: list[Hit] = []
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
    ctx: dict[str, Context] = {}
    traces: dict[str, TraceReader] = {}
    hits: list[Hit] = []
    order = 0
    for order, line in enumerate(lines):
        reader = traces.get(line.source)
        tracing = reader is not None and reader.open
        if not tracing and not PREFILTER.search(line.text):
            continue
        p = parse_line(line, order, reference)
        if reader is not None and tracing:
            reader.feed(p)
            if not PREFILTER.search(line.text):
                continue
        if reader is None:
            reader = traces.setdefault(line.source, TraceReader())
        if reader.start(p, ctx.setdefault(line.source, Context())):
            continue
        if p.is_kernel:
            hits.extend(kernel_hits(p, ctx.setdefault(line.source, Context())))
        else:
            hits.extend(system_hits(p))
    if not any(h.kind in ("oom_kill", "cgroup_oom", "oom_panic") for h in hits):
        for c in ctx.values():
            hits.extend(pending_hits(c))  # OOM reports whose kill line is not in the log
    if reboot_records:
        records = parse_last_records(reboot_records, reference)
        hits.extend(last_hits(records, reboot_source, window_start, order + 1 + len(records)))
    hits = resolve_boot_markers(_drop_announcements(hits))
    # "Reached target Shutdown" is part of every reboot too: keep it only without a reboot nearby.
    reboots = [h for h in hits if h.kind == "clean_reboot" and h.parsed is not None]
    resolved: list[Hit] = []
    for h in hits:
        if h.kind == "shutdown_generic":
            assert h.parsed is not None
            near = any(
                r.parsed is not None
                and r.parsed.line.source == h.parsed.line.source
                and abs(r.parsed.position - h.parsed.position) <= NEAR
                for r in reboots
            )
            if near:
                continue
            h.kind = "clean_shutdown"
        resolved.append(h)
    by_kind: dict[FindingKind, list[Hit]] = {}
    for h in resolved:
        by_kind.setdefault(h.kind, []).append(h)  # type: ignore[arg-type]
    for group in by_kind.values():
        group.sort(key=_sort_key)
    primaries = {kind: _primary(kind, group, ctx) for kind, group in by_kind.items()}
    edges = _explanations(by_kind, primaries)
    panics = _panics(edges, primaries)
    findings = {
        kind: _finding(kind, group, primaries[kind], ctx, panics.get(kind))
        for kind, group in by_kind.items()
    }
    return causal_order(findings, edges)


# --- causal precedence (tables/precedence.toml) ------------------------------------------------

# how strongly a cause explains a consequence: (0, 0) when the panic reason names it, else
# (1, lines between them); lower is stronger
Strength = tuple[int, int]


def _explains(cause: list[Hit], effect: Hit, table: PrecedenceTable) -> Strength | None:
    """How ``cause``'s hits explain the consequence's occurrence ``effect`` (None: they don't).

    Same incident: a hit the panic reason of ``effect`` names (the same line), or a direct hit in
    the same log at most ``window_lines`` lines before it and, when both are dated (or carry
    seconds-since-boot stamps), at most ``window_seconds`` earlier (one second of skew allowed).
    When the panic reason names a cause, causes that are only near are dropped
    (:func:`_explanations`).
    """
    e = effect.parsed
    if e is None:
        return None
    best: Strength | None = None
    for h in cause:
        p = h.parsed
        if p is None or p.line.source != e.line.source:
            continue
        if h.derived:
            if p.position == e.position:
                return (0, 0)
            continue
        gap = e.position - p.position
        if not 0 <= gap <= table.window_lines:
            continue
        seconds = _seconds_between(h, effect)
        if seconds is not None and not -1 <= seconds <= table.window_seconds:
            continue
        if best is None or (1, gap) < best:
            best = (1, gap)
    return best


def _explanations(
    by_kind: dict[FindingKind, list[Hit]], primaries: dict[FindingKind, Hit]
) -> dict[FindingKind, dict[FindingKind, Strength]]:
    """cause -> {consequence: strength} among the kinds found."""
    table = precedence()
    edges: dict[FindingKind, dict[FindingKind, Strength]] = {}
    for cause, hits in by_kind.items():
        for effect, primary in primaries.items():
            reason = primary.facts.get("panic_reason")
            if not table.causes(cause, effect, reason if isinstance(reason, str) else None):
                continue
            strength = _explains(hits, primary, table)
            if strength is not None:
                edges.setdefault(cause, {})[effect] = strength
    # when the panic reason names its cause, nearness alone explains nothing more
    for effect in primaries:
        if any(e.get(effect) == (0, 0) for e in edges.values()):
            for e in edges.values():
                if e.get(effect, (0, 0)) != (0, 0):
                    del e[effect]
    return {cause: e for cause, e in edges.items() if e}


def _reach(
    kind: FindingKind, edges: dict[FindingKind, dict[FindingKind, Strength]]
) -> dict[FindingKind, int]:
    """Every kind ``kind`` explains, directly or through others, with the longest path to it."""
    depth: dict[FindingKind, int] = {}
    stack: list[tuple[FindingKind, int]] = [(kind, 0)]
    while stack:
        k, d = stack.pop()
        if depth.get(k, -1) >= d:
            continue
        depth[k] = d
        stack.extend((nxt, d + 1) for nxt in edges.get(k, {}))
    return depth


def _panics(
    edges: dict[FindingKind, dict[FindingKind, Strength]], primaries: dict[FindingKind, Hit]
) -> dict[FindingKind, Hit]:
    """The causes of the kernel panic (directly or through an oops) -> the panic line."""
    panic = primaries.get("kernel_panic")
    if panic is None:
        return {}
    return {
        cause: panic
        for cause in edges
        if "kernel_panic" in _reach(cause, edges) and cause != "kernel_panic"
    }


def causal_order(
    findings: dict[FindingKind, Finding],
    edges: dict[FindingKind, dict[FindingKind, Strength]],
) -> list[Finding]:
    """Most severe first, a cause before what it explains (the root cause first).

    A finding ranks with the most severe finding it explains (itself included); among those, the
    one farther up the causal chain first, then the one that explains most strongly (named by
    the panic reason, then nearest), then by :func:`finding_order`.
    """

    def key(f: Finding) -> tuple[tuple[int, int], int, Strength, tuple[int, int]]:
        reach = _reach(f.kind, edges)
        best = min(finding_order(findings[k]) for k in reach if k in findings)
        strength = min(edges.get(f.kind, {}).values(), default=(2, 0))
        return best, -max(reach.values()), strength, finding_order(f)

    return sorted(findings.values(), key=key)


def analyze_log_text(
    text: str, *, source: str = "log", reference: datetime | None = None
) -> list[Finding]:
    """Findings from a saved log (``/var/log/messages``, ``dmesg`` output, ``vmcore-dmesg.txt``;
    ``last -x`` or ``utmpdump`` output is read as reboot records)."""
    rows = text.splitlines()
    if looks_like_wtmp(rows):
        return analyze_log_lines((), reference=reference, reboot_records=rows, reboot_source=source)
    lines = (LogLine(source=source, line_no=n, text=line) for n, line in enumerate(rows, start=1))
    return analyze_log_lines(lines, reference=reference)
