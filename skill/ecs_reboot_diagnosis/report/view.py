"""Report -> view: every value the templates show, formatted, localized and escaped.

The templates hold the structure of output-format.md; this module decides what goes in each
placeholder. Every value is :class:`Md` (safe Markdown). A value that is missing says so: "Not
collected: <reason>" with the reason taken from ``report.skipped`` or derived from what is missing,
and a step the branch made unnecessary says "Not performed: <reason>".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from ecs_reboot_diagnosis.analysis.dump_setup import manual_checks
from ecs_reboot_diagnosis.analysis.sparkline import REBOOT_MARK, sparkline
from ecs_reboot_diagnosis.glosses import GLOSSES, GlossKind, gloss
from ecs_reboot_diagnosis.models import (
    FINDING_KINDS,
    ClassifiedEvent,
    Confidence,
    CrashDumpFile,
    DumpAdvice,
    Evidence,
    Finding,
    FindingKind,
    KdumpStatus,
    Lang,
    LinuxGuest,
    MetricSummary,
    Report,
    Severity,
    Skip,
    SkipReasonCode,
    Text,
    Verdict,
    WindowsEvent,
    WindowsGuest,
)
from ecs_reboot_diagnosis.report.catalog import Catalog
from ecs_reboot_diagnosis.report.markdown import Md, code, fenced, inline, rich
from ecs_reboot_diagnosis.sizes import format_size
from ecs_reboot_diagnosis.tables import dump_setup

__all__ = ["ReportView", "basename", "build_view", "format_size", "format_time", "step_text"]

# Skip.step values (workflow.Step) whose detail explains a missing part of the report.
EVENT_STEPS = ("check_events",)
AGENT_STEPS = ("check_agent",)
GUEST_STEPS = ("run_guest", "get_guest_results")
TRIAGE_STEPS = ("triage_dumps",)
ADVICE_STEPS = ("recommend_dump_setup",)

# Collector section names (GuestEvidence.sections) behind each part of the report.
SECTIONS_KDUMP = ("kdump",)
SECTIONS_SYSCTL = ("sysctl", "sysctls")
SECTIONS_CRASH = ("crash_files", "crash")
SECTIONS_UPTIME = ("os", "system", "uptime")
SECTIONS_WIN_EVENTS = ("events_system", "events")
SECTIONS_DUMP_CONFIG = ("crash_control", "dump_config")
SECTIONS_PAGEFILE = ("pagefile",)
SECTIONS_MEMORY_DUMP = ("memory_dump",)
SECTIONS_MINIDUMPS = ("minidumps", "minidump")

MAX_EVENTS = 10
MAX_FINDINGS = 20
MAX_EVIDENCE_PER_FINDING = 3
MAX_LOG_TRACE_FRAMES = 8
"""Frames of a call trace read from the logs that a finding shows (a dump's trace: step 4A)."""
MAX_REBOOT_RECORDS = 5
MAX_CONCLUSION_EVIDENCE = 20
MAX_CALL_TRACE = 40
MAX_TRIAGE_EVIDENCE = 3
MAX_HISTORY = 10

KIND_KEYS: dict[FindingKind, str] = {kind: f"kind.{kind}" for kind in FINDING_KINDS}
SEVERITY_KEYS: dict[Severity, str] = {
    "info": "severity.info",
    "warning": "severity.warning",
    "critical": "severity.critical",
}
CONFIDENCE_KEYS: dict[Confidence, str] = {
    "low": "confidence.low",
    "medium": "confidence.medium",
    "high": "confidence.high",
}
DUMP_TYPE_KEYS: dict[int, str] = {
    0: "dump_type.none",
    1: "dump_type.complete",
    2: "dump_type.kernel",
    3: "dump_type.small",
    7: "dump_type.automatic",
}
PANIC_ON_OOM_KEYS: dict[int, str] = {0: "oom.kill_only", 1: "oom.panic", 2: "oom.panic"}
WINDOWS_EVENT_KEYS: dict[int, str] = {
    41: "winevent.id_41",
    1074: "winevent.id_1074",
    1076: "winevent.id_1076",
    6006: "winevent.id_6006",
    6008: "winevent.id_6008",
    1001: "winevent.id_1001",
}
SKIP_SHORT_KEYS: dict[SkipReasonCode, str] = {
    "platform_cause_found": "short.platform_cause_found",
    "cloud_assistant_unavailable": "short.cloud_assistant_unavailable",
    "guest_commands_disabled": "short.guest_commands_disabled",
    "guest_collection_failed": "short.guest_collection_failed",
    "no_crash_dump": "short.no_crash_dump",
    "not_applicable_os": "short.not_applicable_os",
}
# what kind of reboot each verdict is, for the earlier diagnoses (a crash per OS)
HISTORY_KIND_KEYS: dict[str, str] = {
    kind: f"history.kind.{kind}"
    for kind in ("platform", "billing", "api_initiated", "guest_crash_linux",
                 "guest_crash_windows", "guest_initiated", "no_abnormal_records", "no_reboot",
                 "unknown")
}  # fmt: skip
SHUTDOWN_EVENT_IDS = frozenset({41, 1074, 1076, 6006, 6008})
KDUMP_SERVICE_TYPES = {"kdump": "kdump (RHEL/CentOS)", "kdump-tools": "kdump-tools (Ubuntu/Debian)"}
OS_FAMILY_LABELS = {
    "rhel": "RHEL/CentOS/Alibaba Cloud Linux",
    "debian": "Ubuntu/Debian",
    "suse": "SUSE Linux",
    "other_linux": "Linux",
    "windows": "Windows",
}

LINUX_MANUAL_COMMANDS = (
    "# Provide these commands to user for manual execution via SSH",
    "ssh root@{ip}",
    "",
    "# Check reboot history",
    "last reboot",
    "",
    "# Check system logs (/var/log/messages on RHEL family, /var/log/syslog on Ubuntu/Debian)",
    'grep -i "reboot\\|shutdown\\|panic\\|oom" /var/log/messages /var/log/syslog 2>/dev/null'
    " | tail -50",
    "",
    "# Check dmesg for errors",
    'dmesg | grep -i "panic\\|oom\\|error" | tail -20',
    "",
    "# Check kdump",
    "systemctl status kdump kdump-tools",
    "sysctl -n vm.panic_on_oom",
    "ls -lh /var/crash/",
)
WINDOWS_MANUAL_COMMANDS = (
    "# Connect with RDP to {ip} and run in PowerShell as Administrator",
    "Get-CimInstance Win32_OperatingSystem | Select-Object LastBootUpTime",
    "",
    "# Unexpected shutdown events",
    'Get-WinEvent -FilterHashtable @{LogName="System"; ID=41,1074,6008,6006}'
    " -MaxEvents 20 -ErrorAction SilentlyContinue | Format-List TimeCreated, Id, Message",
    "",
    "# Memory dump configuration and pagefile",
    'Get-ItemProperty "HKLM:\\SYSTEM\\CurrentControlSet\\Control\\CrashControl"'
    " | Select-Object CrashDumpEnabled, DumpFile, MinidumpDir",
    "Get-CimInstance Win32_PageFileUsage | Select-Object Name, AllocatedBaseSize, CurrentUsage",
    "",
    "# Dump files",
    "Get-Item C:\\Windows\\MEMORY.DMP -ErrorAction SilentlyContinue",
    "Get-ChildItem C:\\Windows\\Minidump -Filter *.dmp -ErrorAction SilentlyContinue"
    " | Sort-Object LastWriteTime -Descending",
    "",
    "# BSOD events",
    'Get-WinEvent -FilterHashtable @{LogName="System";'
    ' ProviderName="Microsoft-Windows-WER-SystemErrorReporting"}'
    " -MaxEvents 10 -ErrorAction SilentlyContinue",
)


# --- formatting --------------------------------------------------------------------------------


def format_time(value: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS UTC``; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ordinal_suffix(n: int) -> str:
    """English ordinal suffix: 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st."""
    if n % 100 in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def basename(path: str) -> str:
    """The last component of a Linux or Windows path."""
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or path


def _latest(files: Sequence[CrashDumpFile]) -> CrashDumpFile:
    floor = datetime.min.replace(tzinfo=UTC)

    def when(f: CrashDumpFile) -> datetime:
        if f.modified is None:
            return floor
        return f.modified if f.modified.tzinfo else f.modified.replace(tzinfo=UTC)

    return max(files, key=when)


_PROSE = re.compile(r"^[A-Z][a-z]+ [a-z]")
_TRAILING_COMMENT = re.compile(r"^(.*?)\s+#\s+(.*)$")


def step_text(step: str, lang: Lang = "en") -> Md:
    """A set-up step: a command (with an optional ``  # comment``) or a sentence.

    Sentences ("Make sure a page file ...") and text quoting commands between backticks are
    rendered as prose; anything else is a command, shown as code with its comment as prose.
    In Chinese the sentence or comment is the table's translation (the command stays).
    """
    zh = dump_setup().zh if lang == "zh-CN" else {}
    if "`" in step or _PROSE.match(step):
        return rich(zh.get(step, step))
    m = _TRAILING_COMMENT.match(step)
    if m is None:
        return code(step)
    comment = m.group(2)
    if lang == "zh-CN":
        return Md(f"{code(m.group(1))}（{inline(zh.get(comment, comment))}）")
    return Md(f"{code(m.group(1))} ({inline(comment)})")


@dataclass(frozen=True)
class Gap:
    """Why the guest data is missing: in full (said once) and in short (on every empty value)."""

    full: Md
    short: Md

    @classmethod
    def same(cls, reason: Md) -> Gap:
        return cls(reason, reason)


@dataclass(frozen=True)
class Item:
    """A list item with optional sub-items."""

    text: Md
    children: tuple[Md, ...] = ()


def bullet_list(items: Iterable[Item], indent: str = "") -> Md:
    lines: list[str] = []
    for item in items:
        lines.append(f"{indent}- {item.text}")
        lines.extend(f"{indent}  - {child}" for child in item.children)
    return Md("\n".join(lines))


def numbered_list(items: Iterable[Item]) -> Md:
    lines: list[str] = []
    for number, item in enumerate(items, start=1):
        marker = f"{number}. "
        lines.append(marker + item.text)
        lines.extend(" " * len(marker) + f"- {child}" for child in item.children)
    return Md("\n".join(lines))


# --- the view ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentView:
    running: Md
    if_no: Md


@dataclass(frozen=True)
class LinuxStep3:
    agent: AgentView
    findings: Md
    kdump_state: Md
    kdump_type: Md
    kdump_path: Md
    panic_on_oom: Md
    panic_on_oom_impact: Md
    dumps_found: Md
    dump_type: Md
    latest_dump: Md
    panic_reason: Md
    alternatives: Md


@dataclass(frozen=True)
class LinuxStep4:
    panic_reason: Md
    rip: Md
    modules: Md
    call_stack: Md


@dataclass(frozen=True)
class LinuxStep5:
    kdump_state: Md
    crashkernel: Md
    config_exists: Md
    os_label: Md
    steps: Md


@dataclass(frozen=True)
class WindowsStep3:
    agent: AgentView
    findings: Md
    last_boot: Md
    uptime: Md
    shutdown_events: Md
    crash_dump_enabled: Md
    dump_type: Md
    dump_path: Md
    pagefile: Md
    memory_dump: Md
    memory_dump_size: Md
    memory_dump_modified: Md
    minidump_count: Md
    minidump_latest: Md
    bsod_events: Md
    dump_advice: Md
    alternatives: Md


@dataclass(frozen=True)
class ReportView:
    header: Md
    instance_id: Md
    region_id: Md
    os_type: Md
    status: Md
    events: Md
    step3_quote: Md
    linux3: LinuxStep3 | None
    windows3: WindowsStep3 | None
    step4_quote: Md
    linux4: LinuxStep4 | None
    step5_quote: Md
    linux5: LinuxStep5 | None
    root_cause: Md
    impact_scope: Md
    confidence: Md
    evidence: Md
    recommendations: Md
    api_calls: Md
    metrics: Md
    console: Md
    screenshot: Md
    unavailable: Md
    timeline: Md
    reboot: Md


def build_view(report: Report, lang: Lang, catalog: Catalog) -> ReportView:
    return _Builder(report, lang, catalog).build()


class _Builder:
    def __init__(self, report: Report, lang: Lang, catalog: Catalog) -> None:
        self.report = report
        self.lang = lang
        self.catalog = catalog
        self.colon = catalog.text("punct.colon", lang)
        self.colon_end = catalog.text("punct.colon_end", lang)

    # --- small helpers ---

    def t(self, key: str, **params: str | int) -> Md:
        return self.catalog.text(key, self.lang, **params)

    def kv(self, key: str, value: Md) -> Md:
        return Md(self.t(key) + self.colon + value)

    def join(self, parts: Iterable[Md]) -> Md:
        return Md(self.t("punct.list_sep").join(parts))

    def paren(self, text: Md, extra: Md) -> Md:
        return self.t("punct.paren", text=text, extra=extra)

    def yes_no(self, value: bool) -> Md:
        return self.t("value.yes" if value else "value.no")

    def time(self, value: datetime | None) -> Md:
        return Md(format_time(value)) if value is not None else self.t("value.time_unknown")

    def size(self, value: int | None) -> Md:
        return Md(format_size(value)) if value is not None else self.t("value.size_unknown")

    def not_collected(self, reason: Md) -> Md:
        return self.t("status.not_collected", reason=reason)

    def not_performed(self, reason: Md) -> Md:
        return self.t("status.not_performed", reason=reason)

    def not_applicable(self, reason: Md) -> Md:
        return self.t("status.not_applicable", reason=reason)

    def prose(self, text: Text) -> Md:
        """A sentence of the analysis: the Chinese quotes guest text between backticks (code
        spans); the English is plain text, escaped."""
        return rich(text.zh_CN) if self.lang == "zh-CN" else inline(text.en)

    def quote(self, text: str) -> Md:
        """Text of the guest or the API inside a sentence: as code in Chinese (evidence stays
        as it was written), as escaped text in English."""
        return code(text) if self.lang == "zh-CN" else inline(text)

    def gloss(self, kind: GlossKind, value: str) -> Md:
        """A status or type as the API names it; in Chinese with its Chinese name first."""
        return inline(gloss(kind, value, self.lang))

    def gloss_code(self, kind: GlossKind, value: str) -> Md:
        """An identifier as code; in Chinese with its Chinese name first."""
        name = GLOSSES[kind].get(value) if self.lang == "zh-CN" else None
        return self.paren(inline(name), code(value)) if name else code(value)

    def text_or_missing(self, value: str) -> Md:
        return inline(value) if value.strip() else self.not_collected(self.t("reason.not_reported"))

    def find_skip(self, steps: Sequence[str]) -> Skip | None:
        return next((s for s in self.report.skipped if s.step in steps), None)

    def skip_detail(self, steps: Sequence[str]) -> Md | None:
        skip = self.find_skip(steps)
        return rich(skip.detail.get(self.lang)) if skip is not None else None

    def file_line(self, f: CrashDumpFile) -> Md:
        line = self.join([code(f.path), self.size(f.size_bytes), self.time(f.modified)])
        if f.suspicious is not None:
            line = self.t("value.suspicious_file", file=line, why=rich(f.suspicious.get(self.lang)))
        return line

    def evidence_line(self, e: Evidence) -> Md:
        where = code(e.source) if e.source.strip() else self.t("value.source_unknown")
        if e.line_no is not None:
            where = self.paren(where, self.t("evidence.line_no", n=e.line_no))
        text = code(e.text) if e.text.strip() else self.t("value.empty")
        if e.trust == "unconfirmed":
            text = self.paren(text, self.t("evidence.unconfirmed"))
        return Md(where + self.colon + text)

    # --- why data is missing ---

    @cached_property
    def platform_cause(self) -> Md | None:
        """The platform event that ended the diagnosis, when one did."""
        ev = self.report.events
        if ev is None or ev.outcome != "platform_cause":
            return None
        if ev.decisive is not None:
            return self.gloss_code("event", ev.decisive.event.event_type)
        return rich(ev.summary.get(self.lang))

    @cached_property
    def guest_gap(self) -> Gap | None:
        """Why there is no collector output, or None when it is there."""
        report = self.report
        if self.platform_cause is not None:
            return Gap(
                self.t("reason.platform_cause", event=self.platform_cause),
                self.t(SKIP_SHORT_KEYS["platform_cause_found"]),
            )
        if report.guest is not None:
            return None
        skip = self.find_skip(GUEST_STEPS) or self.find_skip(AGENT_STEPS)
        if skip is not None:
            return Gap(rich(skip.detail.get(self.lang)), self.t(SKIP_SHORT_KEYS[skip.code]))
        agent = report.cloud_assistant
        if agent is None:
            return Gap.same(self.t("reason.agent_not_checked"))
        if not agent.usable:
            return Gap(
                self.t("reason.agent_unavailable", detail=rich(agent.reason.get(self.lang))),
                self.t(SKIP_SHORT_KEYS["cloud_assistant_unavailable"]),
            )
        run = report.guest_run
        if run is None:
            return Gap.same(self.t("reason.guest_not_run"))
        reason = self.t(
            "reason.guest_failed",
            invoke=code(run.invoke_id),
            status=self.gloss("invocation", run.status),
        )
        if run.error_code or run.error_info:
            error = Md(" ".join(p for p in (code(run.error_code), inline(run.error_info)) if p))
            reason = self.paren(reason, error)
        return Gap(reason, self.t(SKIP_SHORT_KEYS["guest_collection_failed"]))

    def missing(self, sections: Sequence[str]) -> Md:
        """'Not collected: ...' for a value the guest did not provide."""
        if self.guest_gap is not None:
            return self.not_collected(self.guest_gap.short)
        guest = self.report.guest
        for section in guest.sections if guest is not None else []:
            if section.name in sections and not section.present:
                reason = self.t("reason.section_missing", name=code(section.name))
                if section.note.strip():
                    reason = self.paren(reason, inline(section.note))
                return self.not_collected(reason)
        return self.not_collected(self.t("reason.not_reported"))

    # --- the whole view ---

    def build(self) -> ReportView:
        r = self.report
        inst = r.instance
        linux = inst.os_type == "linux"
        os_name = "Linux" if linux else "Windows"
        os_type = self.paren(Md(os_name), inline(inst.os_name)) if inst.os_name else Md(os_name)
        conclusion = r.conclusion
        confidence = self.paren(
            self.t(CONFIDENCE_KEYS[conclusion.confidence]),
            self.t("conclusion.rule", rule=code(conclusion.rule_id)),
        )
        step4, step4_quote = self.linux_step4() if linux else (None, Md(""))
        step5, step5_quote = self.linux_step5() if linux else (None, Md(""))
        return ReportView(
            header=self.t(
                "header",
                id=code(r.diagnosis_id),
                time=self.time(r.generated_at),
                version=inline(r.tool_version),
            ),
            instance_id=self.text_or_missing(inst.instance_id),
            region_id=self.text_or_missing(inst.region_id),
            os_type=os_type,
            status=self.gloss("instance", inst.status)
            if inst.status.strip()
            else self.text_or_missing(inst.status),
            events=bullet_list(self.event_items()),
            step3_quote=self.step3_quote(),
            linux3=self.linux_step3() if linux and self.platform_cause is None else None,
            windows3=self.windows_step3() if not linux and self.platform_cause is None else None,
            step4_quote=step4_quote,
            linux4=step4,
            step5_quote=step5_quote,
            linux5=step5,
            root_cause=rich(conclusion.root_cause.get(self.lang)),
            impact_scope=rich(conclusion.impact_scope.get(self.lang)),
            confidence=confidence,
            evidence=self.conclusion_evidence(),
            recommendations=self.recommendations(),
            api_calls=self.api_calls(),
            metrics=self.metrics(),
            console=self.console(),
            screenshot=self.screenshot(),
            unavailable=self.unavailable(),
            timeline=self.timeline(),
            reboot=self.reboot(),
        )

    # --- evidence from outside the guest, and the timeline ---

    def source_gap(self, prefix: str) -> Md:
        note = next((n for n in self.report.unavailable if n.source.startswith(prefix)), None)
        if note is not None:
            return self.not_collected(rich(note.detail.get(self.lang)))
        return self.not_collected(self.t("reason.not_reported"))

    def api_calls(self) -> Md:
        calls = self.report.api_calls
        if calls is None:
            return bullet_list([Item(self.source_gap("actiontrail:"))])
        if not calls:
            return bullet_list([Item(self.t("outside.no_api_calls"))])
        items = []
        for call in calls[-MAX_EVENTS:]:
            who = inline(call.caller) if call.caller else self.t("outside.unknown_caller")
            text = self.t("outside.api_call", time=self.time(call.event_time),
                          name=code(call.event_name), caller=who)  # fmt: skip
            children = []
            if call.source_ip:
                children.append(self.t("outside.source_ip", ip=code(call.source_ip)))
            if call.error_code:
                children.append(self.t("outside.api_failed", code=code(call.error_code)))
            items.append(Item(text, tuple(children)))
        return bullet_list(items)

    def metrics(self) -> Md:
        metrics = self.report.metrics
        if metrics is None:
            return bullet_list([Item(self.source_gap("cms:"))])
        if not metrics:
            return bullet_list([Item(self.t("outside.no_metrics"))])
        return bullet_list(Item(rich(m.note.get(self.lang)), self.metric_shape(m)) for m in metrics)

    def metric_shape(self, m: MetricSummary) -> tuple[Md, ...]:
        """The series as a sparkline with its minimum and maximum, and the reboot marked when
        it falls in the span the points cover (analysis/sparkline.py)."""
        if m.samples_start is None or m.samples_end is None:
            return ()
        guest = self.report.guest
        reboot = guest.target_reboot if guest is not None else None
        line = sparkline(m.samples, m.samples_start, m.samples_end, percent=m.unit == "%",
                         reboot=reboot)  # fmt: skip
        if line is None:
            return ()
        unit = "%" if m.unit == "%" else ""
        low = m.minimum if m.minimum is not None else line.low  # every point, not the bars
        high = m.maximum if m.maximum is not None else line.high
        text = self.t(
            "outside.sparkline",
            bars=code(line.text),
            low=Md(f"{low:.1f}{unit}"),
            high=Md(f"{high:.1f}{unit}"),
        )
        if line.marked and reboot is not None:
            text = self.t(
                "outside.sparkline_reboot", line=text, mark=code(REBOOT_MARK),
                time=self.time(reboot),
            )  # fmt: skip
        return (text,)

    def console(self) -> Md:
        c = self.report.console
        if c is None:
            if any(n.source.startswith("ecs:GetInstanceConsoleOutput")
                   for n in self.report.unavailable):  # fmt: skip
                return bullet_list([Item(self.source_gap("ecs:GetInstanceConsoleOutput"))])
            return bullet_list([Item(self.outside_not_read(self.t("outside.console_not_read")))])
        items = [
            Item(rich(c.note.get(self.lang))),
            Item(
                self.t(
                    "outside.console_updated",
                    time=self.time(c.last_update_time),
                    lines=c.line_count,
                )
            ),
        ]
        items.extend(
            Item(self.prose(f.summary), tuple(code(e.text) for e in f.evidence[:3]))
            for f in c.findings[:5]
        )
        text = bullet_list(items)
        if c.excerpt:
            text = Md(f"{text}\n\n{fenced(chr(10).join(c.excerpt))}")
        return text

    def screenshot(self) -> Md:
        shot = self.report.screenshot
        if shot is None:
            if any(n.source.startswith("ecs:GetInstanceScreenshot")
                   for n in self.report.unavailable):  # fmt: skip
                return bullet_list([Item(self.source_gap("ecs:GetInstanceScreenshot"))])
            return bullet_list(
                [Item(self.outside_not_read(self.t("outside.screenshot_not_taken")))]
            )
        return bullet_list(
            [
                Item(rich(shot.note.get(self.lang))),
                Item(
                    self.t(
                        "outside.screenshot_taken",
                        time=self.time(shot.captured_at),
                        size=self.size(shot.size_bytes),
                    )
                ),
            ]
        )

    def outside_not_read(self, when_usable: Md) -> Md:
        """Why the console or the screen was not read: the branch the diagnosis took."""
        if self.report.events is not None and self.report.events.decisive is not None:
            return self.t("outside.not_read_platform")
        agent = self.report.cloud_assistant
        if agent is not None and agent.usable:
            return when_usable
        return self.t("outside.not_read")

    def unavailable(self) -> Md:
        notes = self.report.unavailable
        if not notes:
            return bullet_list([Item(self.t("outside.all_available"))])
        return bullet_list(Item(rich(n.detail.get(self.lang))) for n in notes)

    def reboot(self) -> Md:
        """Which reboot the conclusion explains, and the other reboots of the window."""
        guest = self.report.guest
        if guest is None:
            return bullet_list(
                [Item(self.not_collected(self.guest_gap_short())), *self.history_items()]
            )
        items: list[Item] = []
        if guest.reboot_in_window is False:
            since = self.time(guest.last_boot)
            days = str(guest.log_window_days or "?")
            items.append(Item(self.t("reboot.none", days=days, since=since)))
        elif guest.target_reboot is not None:
            items.append(Item(self.t("reboot.target", time=self.time(guest.target_reboot))))
            target = next((e for e in guest.episodes if e.target), None)
            if target is not None and target.start is not None:
                items.append(Item(self.t("reboot.previous", start=self.time(target.start))))
            else:
                items.append(Item(self.t("reboot.previous_unknown")))
        else:
            items.append(Item(self.t("reboot.unknown")))
        if guest.asked_reboot_time is not None:
            items.append(Item(self.t("reboot.asked", asked=self.time(guest.asked_reboot_time))))
        earlier = [e for e in guest.episodes if e.index < 0 and not e.target]
        rule = self.report.conclusion.rule_id
        same = [e for e in earlier if e.rule_id == rule and e.rule_id is not None]
        if same and guest.reboot_in_window:
            items.append(Item(self.t("reboot.recurrence", n=len(same) + 1, rule=code(rule))))
        entries = tuple(
            self.t(
                "reboot.earlier_entry",
                start=self.time(e.start),
                end=self.time(e.end),
                verdict=rich(e.verdict.get(self.lang)) if e.verdict else self.t("value.empty"),
            )
            if e.start is not None
            else self.t(
                "reboot.earlier_entry_open",
                end=self.time(e.end),
                verdict=rich(e.verdict.get(self.lang)) if e.verdict else self.t("value.empty"),
            )
            for e in earlier
        )
        target_start = guest.target_reboot
        later = target_start is not None and any(
            e.end is not None and e.end > target_start for e in earlier
        )
        if not entries:
            label = self.t("reboot.no_earlier")
        elif later:  # the user asked about an older reboot: some listed came after it
            label = self.t("reboot.other")
        else:
            label = self.t("reboot.earlier")
        items.append(Item(label, entries))
        items.extend(self.history_items())
        return bullet_list(items)

    def history_items(self) -> list[Item]:
        """Earlier diagnoses of this instance from the store: the recurrence line when some had
        this report's cause signature, then the list of them."""
        history = self.report.history
        if history is None:
            return []
        days = history.window_days
        if not history.earlier:
            return [Item(self.t("history.none", days=days))]
        items: list[Item] = []
        sig = history.signature
        same = [p for p in history.earlier if sig is not None and p.signature == sig]
        if same:
            n = len(same) + 1
            nth = Md(f"{n}{ordinal_suffix(n)}" if self.lang == "en" else f"第 {n} 次")
            what = self.t(self.cause_noun(self.report.conclusion.verdict))
            items.append(
                Item(self.t("history.recurrence", nth=nth, what=what, days=days,
                            signature=code(sig or "")))
            )  # fmt: skip
        entries = tuple(
            self.t(
                "history.entry",
                time=self.time(p.incident_at or p.diagnosed_at),
                what=self.t(self.cause_noun(p.verdict)),
                signature=code(p.signature or p.rule_id),
            )
            for p in history.earlier[:MAX_HISTORY]
        )
        if len(history.earlier) > MAX_HISTORY:
            entries = (*entries, self.t("value.more", n=len(history.earlier) - MAX_HISTORY))
        items.append(Item(self.t("history.earlier", days=days), entries))
        return items

    def cause_noun(self, verdict: Verdict) -> str:
        """The catalog key naming what kind of reboot a verdict is (a crash, a platform event)."""
        if verdict == "guest_crash":
            return HISTORY_KIND_KEYS[f"guest_crash_{self.report.instance.os_type}"]
        return HISTORY_KIND_KEYS[verdict]

    def guest_gap_short(self) -> Md:
        gap = self.guest_gap
        return gap.short if gap is not None else self.t("reason.not_reported")

    def timeline(self) -> Md:
        entries = self.report.timeline
        if not entries:
            return bullet_list([Item(self.t("outside.no_timeline"))])
        return bullet_list(
            Item(
                self.t(
                    "outside.timeline_entry",
                    time=self.time(e.time),
                    source=code(e.source),
                    text=self.prose(e.text),
                )
            )
            for e in entries
        )

    # --- step 2 ---

    def event_items(self) -> list[Item]:
        ev = self.report.events
        if ev is None:
            reason = self.skip_detail(EVENT_STEPS) or self.t("reason.events_not_checked")
            return [Item(self.not_collected(reason))]
        items = [Item(rich(ev.summary.get(self.lang)))]
        items.extend(self.event_item(c, c == ev.decisive) for c in ev.events[:MAX_EVENTS])
        if len(ev.events) > MAX_EVENTS:
            items.append(Item(self.t("value.more", n=len(ev.events) - MAX_EVENTS)))
        items.append(
            Item(
                self.t(
                    "event.window", start=self.time(ev.window_start), end=self.time(ev.window_end)
                )
            )
        )
        return items

    def event_item(self, c: ClassifiedEvent, decisive: bool) -> Item:
        e = c.event
        when = e.not_before or e.publish_time or e.finish_time
        head = self.t(
            "event.head",
            type=self.gloss_code("event", e.event_type) or self.t("value.empty"),
            status=self.gloss("cycle", e.cycle_status) or self.t("value.empty"),
            time=self.time(when),
        )
        children: list[Md] = []
        if decisive:
            children.append(self.t("event.decisive"))
        if not c.happened:
            children.append(self.t("event.not_happened"))
        if e.reason.strip() or e.reason_code.strip():
            parts = [p for p in (code(e.reason_code), self.quote(e.reason)) if p]
            children.append(self.kv("label.reason", Md(" ".join(parts))))
        children.append(self.kv("label.determination", rich(c.determination.get(self.lang))))
        children.append(self.kv("label.next_step", rich(c.next_step.get(self.lang))))
        return Item(head, tuple(children))

    # --- step 3, both systems ---

    def step3_quote(self) -> Md:
        if self.platform_cause is not None:
            return self.not_performed(self.t("reason.platform_cause", event=self.platform_cause))
        ev = self.report.events
        linux = self.report.instance.os_type == "linux"
        if ev is None:
            lead = self.t("quote.step3.events_unknown")
        elif ev.instance_failure is not None:
            lead = self.t(
                "quote.step3.instance_failure",
                event=self.gloss_code("event", ev.instance_failure.event.event_type),
            )
        elif ev.events:
            lead = self.t("quote.step3.no_platform_cause")
        else:
            lead = self.t("quote.step3.no_events")
        return Md(lead + self.t("quote.step3a.tail" if linux else "quote.step3b.tail"))

    def agent_view(self) -> AgentView:
        agent = self.report.cloud_assistant
        if agent is None:
            reason = self.skip_detail(AGENT_STEPS) or self.t("reason.agent_not_checked")
            return AgentView(
                running=self.not_collected(reason),
                if_no=self.t("agent.cannot_run", reason=reason),
            )
        running = self.yes_no(agent.running)
        if agent.last_heartbeat is not None:
            heartbeat = self.t("agent.heartbeat", time=self.time(agent.last_heartbeat))
            running = self.paren(running, heartbeat)
        reason = rich(agent.reason.get(self.lang).rstrip(".。"))
        if agent.usable:
            if_no = self.not_applicable(reason)
        elif self.report.instance.status == "Stopped":
            if_no = self.t("agent.cannot_run_stopped", reason=reason)
        else:
            if_no = self.t("agent.cannot_run", reason=reason)
        return AgentView(running=running, if_no=if_no)

    def guest_findings(self) -> Md:
        guest = self.report.guest
        if self.guest_gap is not None or guest is None:
            gap = self.guest_gap.full if self.guest_gap is not None else Md("")
            return bullet_list([Item(self.not_collected(gap))])
        run = self.report.guest_run
        if run is not None:
            invoke, status = code(run.invoke_id), self.gloss("invocation", run.status)
            if run.exit_code is not None:
                head = self.t("guest.run_exit", invoke=invoke, status=status, code=run.exit_code)
            else:
                head = self.t("guest.run", invoke=invoke, status=status)
        else:
            head = self.t("guest.output_received")
        children = [
            self.t(
                "guest.collector",
                version=inline(guest.collector_version),
                time=self.time(guest.collected_at),
            )
        ]
        if run is not None:
            sha256 = run.script_sha256 or run.command_sha256
            children.append(
                self.t(
                    "guest.script_packed" if run.delivery == "packed" else "guest.script_plain",
                    sha256=code(sha256),
                )
            )
        system = self.guest_system()
        if system is not None:
            children.append(system)
        if run is not None and run.output_dropped_bytes:
            children.append(self.t("guest.dropped", size=format_size(run.output_dropped_bytes)))
        missing = [code(s.name) for s in guest.sections if not s.present]
        truncated = [code(s.name) for s in guest.sections if s.present and s.truncated]
        if missing:
            children.append(self.kv("guest.sections_missing", self.join(missing)))
        if truncated:
            children.append(self.kv("guest.sections_truncated", self.join(truncated)))
        cut = [code(s.name) for s in guest.sections if s.cut]
        if cut:
            children.append(self.kv("guest.sections_cut", self.join(cut)))
        items = [Item(head, tuple(children))]
        items.extend(self.finding_item(f) for f in guest.findings[:MAX_FINDINGS])
        if len(guest.findings) > MAX_FINDINGS:
            items.append(Item(self.t("value.more", n=len(guest.findings) - MAX_FINDINGS)))
        if not guest.findings:
            items.append(Item(self.t("guest.no_findings")))
        records = guest.linux.reboot_records if guest.linux is not None else []
        if records:
            shown = tuple(code(line) for line in records[:MAX_REBOOT_RECORDS])
            items.append(Item(self.kv("guest.reboot_records", Md(str(len(records)))), shown))
        return bullet_list(items)

    def guest_system(self) -> Md | None:
        """The OS the collector saw: release and kernel (Linux) or product name (Windows)."""
        guest = self.report.guest
        lx = guest.linux if guest is not None else None
        win = guest.windows if guest is not None else None
        if lx is not None and (lx.os_release or lx.kernel_version):
            parts = [inline(lx.os_release)] if lx.os_release else []
            if lx.kernel_version:
                parts.append(self.t("guest.kernel", kernel=code(lx.kernel_version)))
            return self.join(parts)
        if win is not None and win.product_name:
            return inline(win.product_name)
        return None

    def finding_item(self, f: Finding) -> Item:
        kind = self.t(KIND_KEYS[f.kind])
        summary = self.prose(f.summary)
        if self.lang == "zh-CN" and summary.startswith(f"{kind}："):
            # "正常重启（提示，置信度高）：正常重启：…": the kind is said once, one colon a label
            summary = Md(summary[len(kind) + 1 :])
        head = self.t(
            "finding.head",
            kind=kind,
            severity=self.t(SEVERITY_KEYS[f.severity]),
            confidence=self.t(CONFIDENCE_KEYS[f.confidence]),
            summary=summary or self.t("value.empty"),
        )
        children = [self.evidence_line(e) for e in f.evidence[:MAX_EVIDENCE_PER_FINDING]]
        if len(f.evidence) > MAX_EVIDENCE_PER_FINDING:
            children.append(self.t("value.more", n=len(f.evidence) - MAX_EVIDENCE_PER_FINDING))
        if f.facts.call_trace:  # guest text, each frame quoted
            frames = [code(frame) for frame in f.facts.call_trace[:MAX_LOG_TRACE_FRAMES]]
            if len(f.facts.call_trace) > MAX_LOG_TRACE_FRAMES:
                frames.append(Md("…"))
            children.append(self.t("finding.call_trace", frames=Md(" < ".join(frames))))
        return Item(head, tuple(children))

    def alternatives(self) -> Md:
        r = self.report
        windows = r.instance.os_type == "windows"
        if r.instance.status == "Stopped" and (r.manual_steps or self.guest_gap is not None):
            # nothing runs in a stopped instance: the manual steps start it first
            steps = r.manual_steps or manual_checks(r.instance)
            return Md(
                self.t("alternatives.intro_stopped") + "\n\n" + fenced(self.commands(steps), "bash")
            )
        if r.manual_steps:
            lines: Sequence[str] = r.manual_steps
        elif self.guest_gap is not None:
            ip = r.instance.public_ip or r.instance.private_ip or "<instance-ip>"
            template = WINDOWS_MANUAL_COMMANDS if windows else LINUX_MANUAL_COMMANDS
            lines = [line.replace("{ip}", ip) for line in self.commands(template)]
        else:
            return self.t("alternatives.not_needed")
        intro = self.t("alternatives.intro_windows" if windows else "alternatives.intro_linux")
        return Md(
            intro + "\n\n" + fenced(self.commands(lines), "powershell" if windows else "bash")
        )

    def commands(self, lines: Iterable[str]) -> list[str]:
        """Commands to run by hand; in Chinese their comments are translated."""
        if self.lang == "en":
            return list(lines)
        return [dump_setup().in_chinese(line) for line in lines]

    # --- step 3A ---

    def linux_step3(self) -> LinuxStep3:
        guest = self.report.guest
        lx: LinuxGuest | None = guest.linux if guest is not None else None
        kdump = lx.kdump if lx is not None else KdumpStatus()
        raw_oom = lx.sysctls.get("vm.panic_on_oom") if lx is not None else None
        if raw_oom is None or not raw_oom.strip():
            oom_value = oom_impact = self.missing(SECTIONS_SYSCTL)
        else:
            oom_value = inline(raw_oom)
            level = lx.panic_on_oom if lx is not None else None
            key = PANIC_ON_OOM_KEYS.get(level) if level is not None else None
            oom_impact = self.t(key) if key else self.t("oom.unknown", value=oom_value)
        files = lx.crash_files if lx is not None else None
        if files is None:
            dumps_found = dump_type = latest = self.missing(SECTIONS_CRASH)
        elif not files:
            dumps_found = self.yes_no(False)
            dump_type = latest = self.not_applicable(self.t("reason.no_dump"))
        else:
            guest = self.report.guest
            target = next((e for e in guest.episodes if e.target), None) if guest else None
            odd = sum(f.suspicious is not None for f in files)
            if guest is not None and guest.episodes:
                mine = sum(f.suspicious is None for f in (target.crash_files if target else []))
                count = self.t(
                    "value.file_count_detail",
                    n=len(files),
                    mine=mine,
                    older=len(files) - mine - odd,
                    odd=odd,
                )
            else:
                count = self.t("value.file_count", n=len(files))
            dumps_found = self.paren(self.yes_no(True), count)
            kinds = {f.kind for f in files}
            labels = [
                inline(label)
                for label, members in (
                    ("vmcore (RHEL)", {"vmcore", "vmcore_dmesg"}),
                    ("dump.* + dmesg.* (Ubuntu)", {"dump", "dmesg"}),
                )
                if kinds & members
            ]
            dump_type = self.join(labels) if labels else self.t("value.unrecognized")
            triage = self.report.dump_triage
            primary = [f for f in files if f.kind in ("vmcore", "dump")] or list(files)
            shown = triage.dump_file if triage and triage.dump_file else _latest(primary)
            latest = self.file_line(shown)
        return LinuxStep3(
            agent=self.agent_view(),
            findings=self.guest_findings(),
            kdump_state=self.kdump_state(kdump),
            kdump_type=self.kdump_type(kdump),
            kdump_path=code(kdump.dump_path) if kdump.dump_path else self.missing(SECTIONS_KDUMP),
            panic_on_oom=oom_value,
            panic_on_oom_impact=oom_impact,
            dumps_found=dumps_found,
            dump_type=dump_type,
            latest_dump=latest,
            panic_reason=self.panic_reason(),
            alternatives=self.alternatives(),
        )

    def kdump_section_read(self) -> bool:
        guest = self.report.guest
        return guest is not None and any(
            s.name in SECTIONS_KDUMP and s.present for s in guest.sections
        )

    def kdump_type(self, kdump: KdumpStatus) -> Md:
        name = kdump.service_name
        if not name:
            if self.kdump_section_read():
                return self.t("value.no_kdump_service")
            return self.missing(SECTIONS_KDUMP)
        return inline(KDUMP_SERVICE_TYPES[name]) if name in KDUMP_SERVICE_TYPES else code(name)

    def kdump_state(self, kdump: KdumpStatus) -> Md:
        if kdump.service_state:
            return self.gloss("service", kdump.service_state)
        if self.kdump_section_read() and not kdump.service_name:
            return self.t("value.no_kdump_service")
        return self.missing(SECTIONS_KDUMP)

    def panic_reason(self) -> Md:
        triage = self.report.dump_triage
        if triage is not None and triage.panic_reason:
            return code(triage.panic_reason)
        guest = self.report.guest
        for f in guest.findings if guest is not None else []:
            if f.facts.panic_reason:
                return code(f.facts.panic_reason)
        if self.guest_gap is not None:
            return self.not_collected(self.guest_gap.short)
        return self.t("value.no_panic_message")

    # --- step 4A ---

    def linux_step4(self) -> tuple[LinuxStep4 | None, Md]:
        triage = self.report.dump_triage
        if self.guest_gap is not None:
            return None, self.not_performed(self.guest_gap.full)
        if triage is None:
            reason = self.skip_detail(TRIAGE_STEPS) or self.t("reason.triage_not_run")
            return None, self.not_performed(reason)
        if not triage.dump_found:
            note = rich(triage.note.get(self.lang)) if triage.note else None
            reason = self.skip_detail(TRIAGE_STEPS) or note or self.t("reason.no_dump")
            return None, self.not_performed(reason)
        quote = self.t("quote.step4a")
        if triage.note is not None:
            quote = Md(quote + " " + rich(triage.note.get(self.lang)))
        if triage.rip:
            rip = code(triage.rip)
        elif triage.rip_function:
            rip = code(" ".join(p for p in (triage.rip_function, triage.rip_module) if p))
        else:
            rip = self.t("value.not_in_dmesg")
        modules = triage.modules or ([triage.rip_module] if triage.rip_module else [])
        trace = triage.call_trace[:MAX_CALL_TRACE]
        if len(triage.call_trace) > MAX_CALL_TRACE:
            trace.append(f"... ({len(triage.call_trace) - MAX_CALL_TRACE} more frames)")
        step = LinuxStep4(
            panic_reason=bullet_list(
                [
                    Item(
                        code(triage.panic_reason)
                        if triage.panic_reason
                        else self.t("value.not_in_dmesg"),
                        tuple(self.evidence_line(e) for e in triage.evidence[:MAX_TRIAGE_EVIDENCE]),
                    )
                ]
            ),
            rip=rip,
            modules=(
                self.join([code(m) for m in modules])
                if modules
                else self.t("value.none_identified")
            ),
            call_stack=fenced(trace) if trace else self.t("value.no_call_trace"),
        )
        return step, quote

    # --- step 5 ---

    def advice_reason(self, advice: DumpAdvice | None) -> Md | None:
        """Why no dump set-up advice is given, or None when it is (advice.needed)."""
        if self.guest_gap is not None:
            return self.guest_gap.full
        if advice is None:
            triage = self.report.dump_triage
            captured = triage is not None and triage.dump_found
            fallback = self.t("reason.dump_captured" if captured else "reason.advice_not_run")
            return self.skip_detail(ADVICE_STEPS) or fallback
        if not advice.needed:
            return rich(advice.reason.get(self.lang))
        return None

    def advice_steps(self, advice: DumpAdvice) -> Md:
        steps = [Item(step_text(step, self.lang)) for step in advice.steps]
        text = numbered_list(steps) if steps else self.t("advice.no_steps")
        if advice.verify:
            verify = bullet_list(Item(step_text(v, self.lang)) for v in advice.verify)
            text = Md(f"{text}\n\n{self.t('advice.verify')}{self.colon_end}\n{verify}")
        return text

    def linux_step5(self) -> tuple[LinuxStep5 | None, Md]:
        advice = self.report.dump_advice
        reason = self.advice_reason(advice)
        if reason is not None or advice is None:
            return None, self.not_performed(reason or Md(""))
        guest = self.report.guest
        lx = guest.linux if guest is not None else None
        kdump = lx.kdump if lx is not None else KdumpStatus()
        known = any(v is not None for v in (kdump.service_state, kdump.crash_kernel_loaded))
        if kdump.crashkernel:
            crashkernel = self.paren(self.t("value.present"), code(kdump.crashkernel))
        elif known:
            crashkernel = self.t("value.absent_cmdline")
        else:
            crashkernel = self.missing(SECTIONS_KDUMP)
        if kdump.config_exists is None:
            config_exists = self.missing(SECTIONS_KDUMP)
        else:
            config_exists = self.yes_no(kdump.config_exists)
            if kdump.config_file:
                config_exists = self.paren(config_exists, code(kdump.config_file))
        step = LinuxStep5(
            kdump_state=self.kdump_state(kdump),
            crashkernel=crashkernel,
            config_exists=config_exists,
            os_label=inline(OS_FAMILY_LABELS[advice.os_family]),
            steps=self.advice_steps(advice),
        )
        return step, rich(advice.reason.get(self.lang))

    # --- step 3B ---

    def windows_step3(self) -> WindowsStep3:
        guest = self.report.guest
        w: WindowsGuest | None = guest.windows if guest is not None else None
        empty = WindowsGuest()
        win = w or empty
        collected_at = guest.collected_at if guest is not None else None
        uptime = win.uptime_seconds
        if uptime is None and win.last_boot_time is not None and collected_at is not None:
            uptime = max(0, int((collected_at - win.last_boot_time).total_seconds()))
        if win.crash_dump_enabled is None:
            enabled = dump_type = self.missing(SECTIONS_DUMP_CONFIG)
        else:
            enabled = Md(str(win.crash_dump_enabled))
            key = DUMP_TYPE_KEYS.get(win.crash_dump_enabled)
            dump_type = self.t(key) if key else self.t("dump_type.unknown", value=enabled)
        if win.pagefile_configured is None:
            pagefile = self.missing(SECTIONS_PAGEFILE)
        else:
            configured = win.pagefile_configured
            pagefile = self.t("value.configured" if configured else "value.not_configured")
        dump = win.memory_dump
        if dump is not None:
            memory_dump = self.paren(self.t("value.found"), code(dump.path))
            dump_size, dump_time = self.size(dump.size_bytes), self.time(dump.modified)
        elif w is not None and w.memory_dump_checked:
            memory_dump = self.t("value.not_found")
            dump_size = dump_time = self.not_applicable(self.t("reason.no_memory_dump"))
        else:
            memory_dump = dump_size = dump_time = self.missing(SECTIONS_MEMORY_DUMP)
        if win.minidumps is None:
            mini_count = mini_latest = self.missing(SECTIONS_MINIDUMPS)
        else:
            mini_count = Md(str(len(win.minidumps)))
            if win.minidump_dir:
                mini_count = self.paren(mini_count, code(win.minidump_dir))
            if win.minidumps:
                last = _latest(win.minidumps)
                name = code(basename(last.path))
                mini_latest = self.join(
                    [name, self.size(last.size_bytes), self.time(last.modified)]
                )
            else:
                mini_latest = self.not_applicable(self.t("reason.no_minidump"))
        advice = self.report.dump_advice
        advice_reason = self.advice_reason(advice)
        if advice_reason is not None or advice is None:
            dump_advice = self.not_performed(advice_reason or Md(""))
        else:
            reason = rich(advice.reason.get(self.lang))
            dump_advice = Md(reason + "\n\n" + self.advice_steps(advice))
        return WindowsStep3(
            agent=self.agent_view(),
            findings=self.guest_findings(),
            last_boot=(
                self.time(win.last_boot_time)
                if win.last_boot_time is not None
                else self.missing(SECTIONS_UPTIME)
            ),
            uptime=self.uptime(uptime) if uptime is not None else self.missing(SECTIONS_UPTIME),
            shutdown_events=self.shutdown_events(win.events),
            crash_dump_enabled=enabled,
            dump_type=dump_type,
            dump_path=(
                code(win.dump_file_path)
                if win.dump_file_path
                else self.missing(SECTIONS_DUMP_CONFIG)
            ),
            pagefile=pagefile,
            memory_dump=memory_dump,
            memory_dump_size=dump_size,
            memory_dump_modified=dump_time,
            minidump_count=mini_count,
            minidump_latest=mini_latest,
            bsod_events=self.bsod_events(win.events),
            dump_advice=dump_advice,
            alternatives=self.alternatives(),
        )

    def uptime(self, seconds: int) -> Md:
        days, rest = divmod(seconds, 86400)
        hours = rest // 3600
        return self.t(
            "uptime.value",
            days=days,
            hours=hours,
            day_unit=self.t("unit.day" if days == 1 else "unit.days"),
            hour_unit=self.t("unit.hour" if hours == 1 else "unit.hours"),
        )

    def windows_event_item(self, e: WindowsEvent) -> Item:
        head = self.t(
            "winevent.head", id=e.event_id, provider=code(e.provider), time=self.time(e.time)
        )
        children: list[Md] = []
        key = WINDOWS_EVENT_KEYS.get(e.event_id)
        if key is not None:
            children.append(self.t(key))
        if e.message.strip():
            children.append(self.kv("label.message", code(e.message)))
        return Item(head, tuple(children))

    def shutdown_events(self, events: list[WindowsEvent] | None) -> Md:
        if events is None:
            return bullet_list([Item(self.missing(SECTIONS_WIN_EVENTS))])
        chosen = [e for e in events if e.event_id in SHUTDOWN_EVENT_IDS]
        if not chosen:
            return bullet_list([Item(self.t("windows.no_shutdown_events"))])
        items = [self.windows_event_item(e) for e in chosen[:MAX_EVENTS]]
        if len(chosen) > MAX_EVENTS:
            items.append(Item(self.t("value.more", n=len(chosen) - MAX_EVENTS)))
        return bullet_list(items)

    def bsod_events(self, events: list[WindowsEvent] | None) -> Md:
        items: list[Item] = []
        wer = [
            e
            for e in events or []
            if "WER-SystemErrorReporting" in e.provider or "BugCheck" in e.provider
        ]
        items.extend(self.windows_event_item(e) for e in wer[:MAX_EVENTS])
        guest = self.report.guest
        checks = [
            (f.facts.bugcheck_code, f.facts.bugcheck_name)
            for f in (guest.findings if guest is not None else [])
            if f.kind == "bugcheck" and f.facts.bugcheck_code
        ]
        triage = self.report.dump_triage
        if triage is not None and triage.bugcheck_code:
            checks.append((triage.bugcheck_code, triage.bugcheck_name))
        seen: set[str] = set()
        for bug_code, name in checks:
            if bug_code in seen:
                continue
            seen.add(bug_code)
            text = code(bug_code)
            if name:
                text = self.paren(text, code(name))
            items.append(Item(self.kv("windows.bugcheck", text)))
        if items:
            return bullet_list(items)
        if events is None:
            return bullet_list([Item(self.missing(SECTIONS_WIN_EVENTS))])
        return bullet_list([Item(self.t("windows.no_bsod_events"))])

    # --- conclusion and recommendations ---

    def conclusion_evidence(self) -> Md:
        evidence = self.report.conclusion.evidence
        items = [Item(self.evidence_line(e)) for e in evidence[:MAX_CONCLUSION_EVIDENCE]]
        if len(evidence) > MAX_CONCLUSION_EVIDENCE:
            items.append(Item(self.t("value.more", n=len(evidence) - MAX_CONCLUSION_EVIDENCE)))
        if not items:
            items.append(Item(self.t("conclusion.no_evidence")))
        return bullet_list(items, indent="  ")

    def recommendations(self) -> Md:
        items = [
            Item(rich(rec.text.get(self.lang)), tuple(code(c) for c in rec.commands if c.strip()))
            for rec in self.report.recommendations
        ]
        if not items:
            items.append(Item(self.t("recommendation.none")))
        return numbered_list(items)
