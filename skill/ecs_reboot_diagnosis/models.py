"""Typed records of a diagnosis: what the cloud said, what the guest said, what we concluded.

Every human-facing sentence the domain produces is a :class:`Text` carrying both report languages,
so one stored report renders in English or Chinese without re-running the diagnosis. Text that
comes from the guest (log lines, file names) is never translated and never trusted: the renderer
escapes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = 1

OsType = Literal["linux", "windows"]
Lang = Literal["en", "zh-CN"]
LANGS: tuple[Lang, ...] = ("en", "zh-CN")

INSTANCE_ID_PATTERN = r"^i-[a-z0-9]{4,40}$"
REGION_ID_PATTERN = r"^[a-z]{2,4}(-[a-z0-9]+){1,3}$"
BUGCHECK_CODE_PATTERN = r"^0x[0-9A-F]{8}$"

FindingKind = Literal[
    "kernel_panic",
    "oops",
    "null_pointer",
    "gpf",
    "kernel_bug",
    "hung_task",
    "soft_lockup",
    "hard_lockup",
    "rcu_stall",
    "mce_hardware",
    "oom_kill",
    "cgroup_oom",
    "oom_panic",
    "sysrq_crash",
    "init_killed",
    "vfs_root_mount",
    "fs_error",
    "kdump_saved",
    "clean_reboot",
    "clean_shutdown",
    "unexpected_shutdown",
    "bugcheck",
    "app_crash",
]
FINDING_KINDS: tuple[FindingKind, ...] = FindingKind.__args__  # type: ignore[attr-defined]

Severity = Literal["info", "warning", "critical"]

# How bad each kind is: one table for every analyzer (Linux, Windows) and analyze-log.
SEVERITY: dict[FindingKind, Severity] = {
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
# findings are listed most severe first, then in vocabulary order
SEVERITY_RANK: dict[Severity, int] = {"critical": 0, "warning": 1, "info": 2}
Confidence = Literal["low", "medium", "high"]


class Record(BaseModel):
    """Base of every record: immutable, and unknown keys in stored JSON are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Text(Record):
    """One sentence in both report languages."""

    en: str
    zh_CN: str = Field(alias="zh-CN")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def get(self, lang: Lang) -> str:
        return self.en if lang == "en" else self.zh_CN


# --- step 1: the instance ---------------------------------------------------------------------


class InstanceFacts(Record):
    instance_id: str
    region_id: str
    instance_name: str = ""
    status: str
    os_type: OsType
    os_name: str = ""
    instance_type: str = ""
    zone_id: str = ""
    public_ip: str = ""
    private_ip: str = ""
    creation_time: datetime | None = None


# --- step 2: platform events ------------------------------------------------------------------

EventCategory = Literal[
    "platform_maintenance",
    "platform_failure",
    "instance_failure",
    "billing",
    "security",
    "unknown",
]


class PlatformEvent(Record):
    """One entry of DescribeInstanceHistoryEvents, as the API reported it."""

    event_id: str
    event_type: str
    cycle_status: str
    publish_time: datetime | None = None
    not_before: datetime | None = None
    finish_time: datetime | None = None
    reason: str = ""
    reason_code: str = ""


class ClassifiedEvent(Record):
    """A platform event read against the platform-event table."""

    event: PlatformEvent
    category: EventCategory
    known_type: bool
    happened: bool
    ends_diagnosis: bool
    meaning: Text
    determination: Text
    next_step: Text


class EventVerdict(Record):
    outcome: Literal["platform_cause", "continue"]
    window_start: datetime
    window_end: datetime
    events: list[ClassifiedEvent]
    decisive: ClassifiedEvent | None = None
    instance_failure: ClassifiedEvent | None = None
    summary: Text


# --- step 3: Cloud Assistant ------------------------------------------------------------------


class CloudAssistantStatus(Record):
    running: bool
    last_heartbeat: datetime | None = None
    heartbeat_age_seconds: float | None = None
    agent_version: str = ""
    supports_session_manager: bool | None = None
    usable: bool
    reason: Text


# --- step 4: guest evidence -------------------------------------------------------------------


EvidenceTrust = Literal["trusted", "unconfirmed"]
"""``trusted``: from a source only the kernel or root writes (``journalctl -k``, ``dmesg``,
``vmcore-dmesg.txt``, pstore, the serial console, wtmp, the platform's APIs). ``unconfirmed``: text
any user can write (syslog files, the journal's syslog transport) that no kernel-only source of the
same boot confirms; it is kept as evidence but cannot decide a verdict on its own."""


class Evidence(Record):
    """A line of data a finding or a conclusion rests on, with where it came from."""

    source: str
    line_no: int | None = None
    text: str
    trust: EvidenceTrust = "trusted"


class FindingFacts(Record):
    panic_reason: str | None = None
    panicked: bool | None = None
    """True when this finding panicked the kernel (it is the cause of the panic of its incident,
    or the panic itself); None when the log does not say."""
    rip_function: str | None = None
    rip_module: str | None = None
    modules: list[str] = Field(default_factory=list)
    process: str | None = None
    pid: int | None = None
    oom_victim_process: str | None = None
    oom_victim_pid: int | None = None
    bugcheck_code: str | None = Field(default=None, pattern=BUGCHECK_CODE_PATTERN)
    bugcheck_name: str | None = None
    event_ids: list[int] = Field(default_factory=list)
    timestamp: datetime | None = None
    kernel_version: str | None = None
    call_trace: list[str] = Field(default_factory=list)
    """The incident's call trace from the log (``func [module]``, the NMI/IRQ entry and the
    report machinery left out), when it printed one: untrusted guest text."""


class Finding(Record):
    kind: FindingKind
    severity: Severity
    summary: Text
    """What the analyzer found, in both languages; the Chinese quotes guest text between
    backticks. A report stored before summaries had a Chinese text reads its English as both."""
    evidence: list[Evidence] = Field(default_factory=list)
    facts: FindingFacts = Field(default_factory=FindingFacts)
    confidence: Confidence = "medium"
    trusted: bool = True
    """False when every line the finding rests on is ``unconfirmed`` guest text: such a finding
    is reported but cannot decide a verdict on its own."""

    @field_validator("summary", mode="before")
    @classmethod
    def _summary_of_old_reports(cls, value: object) -> object:
        return {"en": value, "zh-CN": value} if isinstance(value, str) else value


def finding_order(finding: Finding) -> tuple[int, int]:
    """Sort key of findings: most severe first, then in vocabulary order."""
    return SEVERITY_RANK[finding.severity], FINDING_KINDS.index(finding.kind)


class SectionStatus(Record):
    """How one collector section came back."""

    name: str
    present: bool
    truncated: bool = False
    has_data: bool = True
    """False when the section came back with no data line at all (only comments)."""
    note: str = ""
    cut: bool = False
    """True when Cloud Assistant's output limit dropped this section, or part of it."""


DumpKind = Literal["vmcore", "vmcore_dmesg", "dump", "dmesg", "memory_dmp", "minidump"]


class CrashDumpFile(Record):
    path: str
    kind: DumpKind
    size_bytes: int | None = None
    modified: datetime | None = None
    owner_uid: int | None = None
    mode: str | None = None
    """Octal permission bits as ``stat -c %a`` prints them, e.g. ``600``."""
    crash_time: datetime | None = None
    """When the crash it records happened, from the kdump directory or file name
    (``127.0.0.1-2026-11-30-10:30:00``, ``dump.202611301030``), else None."""
    suspicious: Text | None = None
    """Why this file cannot decide a verdict on its own (future or impossible time, not owned by
    root, outside the kdump layout), or None when nothing is wrong with it."""


class KdumpStatus(Record):
    service_name: str | None = None
    service_state: str | None = None
    crashkernel: str | None = None
    crash_kernel_loaded: bool | None = None
    config_file: str | None = None
    config_exists: bool | None = None
    dump_path: str | None = None


class LinuxGuest(Record):
    os_release: str | None = None
    kernel_version: str | None = None
    uptime_seconds: int | None = None
    boot_id: str | None = None
    sysctls: dict[str, str] = Field(default_factory=dict)
    kdump: KdumpStatus = Field(default_factory=KdumpStatus)
    crash_files: list[CrashDumpFile] | None = None
    reboot_records: list[str] = Field(default_factory=list)

    @property
    def panic_on_oom(self) -> int | None:
        value = self.sysctls.get("vm.panic_on_oom")
        return int(value) if value is not None and value.strip().isdigit() else None


class WindowsEvent(Record):
    event_id: int
    provider: str
    time: datetime | None = None
    message: str = ""


class WindowsGuest(Record):
    product_name: str | None = None
    last_boot_time: datetime | None = None
    uptime_seconds: int | None = None
    crash_dump_enabled: int | None = None
    dump_file_path: str | None = None
    minidump_dir: str | None = None
    pagefile_configured: bool | None = None
    memory_dump: CrashDumpFile | None = None
    memory_dump_checked: bool = False
    minidumps: list[CrashDumpFile] | None = None
    events: list[WindowsEvent] | None = None


EpisodeEnd = Literal["running", "clean_reboot", "clean_shutdown", "crash", "unclean", "unknown"]


class BootEpisode(Record):
    """One boot of the instance: the span from its start to the reboot that ended it."""

    index: int
    """0 = the running boot, -1 = the boot before it, and so on (``journalctl -b`` numbering)."""
    boot_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    """When it ended: the start of the next boot (or the crash time when known). None while
    running."""
    ended: EpisodeEnd = "unknown"
    target: bool = False
    """This episode ended in the reboot being explained."""
    findings: list[Finding] = Field(default_factory=list)
    crash_files: list[CrashDumpFile] = Field(default_factory=list)
    verdict: Text | None = None
    """One line: how this boot ended, from its own evidence (earlier reboots)."""
    rule_id: str | None = None
    """The result-table rule its own evidence matches (recurrence counts on it)."""


class GuestEvidence(Record):
    """What the collector reported, parsed and analysed."""

    os_type: OsType
    schema_version: int
    collector_version: str
    collected_at: datetime | None = None
    sections: list[SectionStatus] = Field(default_factory=list)
    linux: LinuxGuest | None = None
    windows: WindowsGuest | None = None
    findings: list[Finding] = Field(default_factory=list)
    """The findings the verdict rests on: those of the target episode (the boot that ended in
    the reboot being explained), or of the running boot when no reboot is in the window."""
    episodes: list[BootEpisode] = Field(default_factory=list)
    """Every boot seen in the window, newest first (index 0 = the running boot)."""
    target_reboot: datetime | None = None
    """When the reboot being explained happened (the start of the boot after the target
    episode); None when it is not known or no reboot is in the window."""
    reboot_in_window: bool | None = None
    """False when the instance has been up since before the log window: nothing to explain."""
    last_boot: datetime | None = None
    """When the running boot started (``btime``, ``uptime -s``, Windows LastBootUpTime)."""
    host_names: list[str] = Field(default_factory=list)
    """The guest's own host names; syslog lines of other hosts are not this host's evidence."""
    asked_reboot_time: datetime | None = None
    """The time the user asked about (``reboot_time``), when given."""
    log_window_days: int | None = None
    """How many days of logs the collector read."""


class GuestRun(Record):
    """A collector invocation in the guest."""

    invoke_id: str
    command_sha256: str
    """SHA-256 of the ``CommandContent`` sent (the script itself, or the packed stub)."""
    collector_version: str
    started_at: datetime
    delivery: Literal["plain", "packed"] = "plain"
    """How the collector travelled: the readable script, or the stub carrying it packed."""
    script_sha256: str = ""
    """SHA-256 of the script that ran (for ``packed``, the unpacked script the stub checked)."""
    status: str = "Pending"
    error_code: str = ""
    error_info: str = ""
    exit_code: int | None = None
    output_dropped_bytes: int = 0


# --- evidence from outside the guest: API audit, metrics, serial console, screenshot --------


class ApiCall(Record):
    """One ActionTrail event: an API call that touched the instance."""

    event_id: str
    event_name: str
    event_time: datetime
    service: str = "Ecs"
    caller: str = ""
    caller_type: str = ""
    access_key_id_suffix: str = ""
    source_ip: str = ""
    user_agent: str = ""
    request_id: str = ""
    error_code: str = ""
    resources: list[str] = Field(default_factory=list)


class MetricSummary(Record):
    """A CloudMonitor metric over the window before the diagnosis, reduced to its numbers."""

    metric: str
    unit: str = ""
    period_seconds: int
    window_start: datetime
    window_end: datetime
    points: int
    first: float | None = None
    last: float | None = None
    maximum: float | None = None
    minimum: float | None = None
    peak_time: datetime | None = None
    last_point_time: datetime | None = None
    climbed_to_full: bool = False
    note: Text
    samples: list[float | None] = Field(default_factory=list)
    """The series in at most 32 buckets centred at equal steps from ``samples_start`` to
    ``samples_end`` (the middles of its first and last points' periods), each the maximum of
    its points (None: no point): what the report draws as a sparkline (analysis/sparkline.py)."""
    samples_start: datetime | None = None
    samples_end: datetime | None = None


class ConsoleEvidence(Record):
    """The serial console (GetInstanceConsoleOutput): a bounded ring buffer, not a full log."""

    last_update_time: datetime | None = None
    stale_seconds: float | None = None
    line_count: int
    excerpt: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    note: Text


class ScreenshotInfo(Record):
    captured_at: datetime
    size_bytes: int
    note: Text


class SourceNote(Record):
    """An evidence source that could not be read, and why (permission, API error)."""

    source: str
    detail: Text


class TimelineEntry(Record):
    time: datetime
    source: str
    text: Text


# --- steps 5 and 6: crash dumps ---------------------------------------------------------------


class DumpTriage(Record):
    dump_found: bool
    dump_file: CrashDumpFile | None = None
    dump_kind_label: str | None = None
    panic_reason: str | None = None
    rip: str | None = None
    rip_function: str | None = None
    rip_module: str | None = None
    modules: list[str] = Field(default_factory=list)
    call_trace: list[str] = Field(default_factory=list)
    bugcheck_code: str | None = Field(default=None, pattern=BUGCHECK_CODE_PATTERN)
    bugcheck_name: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    note: Text | None = None


class DumpAdvice(Record):
    needed: bool
    reason: Text
    os_family: Literal["rhel", "debian", "suse", "other_linux", "windows"]
    steps: list[str] = Field(default_factory=list)
    verify: list[str] = Field(default_factory=list)
    presumes: list[str] = Field(default_factory=list)
    """The report facts the reason presumes (``analysis/report_facts.py``)."""


# --- conclusion and report --------------------------------------------------------------------


Verdict = Literal[
    "platform",
    "billing",
    "api_initiated",
    "guest_crash",
    "guest_initiated",
    "no_abnormal_records",
    "no_reboot",
    "unknown",
]


class Conclusion(Record):
    rule_id: str
    verdict: Verdict
    root_cause: Text
    impact_scope: Text
    evidence: list[Evidence] = Field(default_factory=list)
    confidence: Confidence = "medium"


class Recommendation(Record):
    text: Text
    commands: list[str] = Field(default_factory=list)
    presumes: list[str] = Field(default_factory=list)
    """The report facts this advice presumes (``analysis/report_facts.py``); it is dropped when
    the report's own facts make one of them false."""


SkipReasonCode = Literal[
    "platform_cause_found",
    "cloud_assistant_unavailable",
    "guest_commands_disabled",
    "guest_collection_failed",
    "no_crash_dump",
    "not_applicable_os",
]


class Skip(Record):
    """Why a step was not performed or a piece of evidence was not collected."""

    step: str
    code: SkipReasonCode
    detail: Text


class PastDiagnosis(Record):
    """What an earlier report of the same instance concluded, as the store keeps it for the
    recurrence line (``analysis/recurrence.py``)."""

    diagnosed_at: datetime
    incident_at: datetime | None = None
    """When the reboot it explained happened (the target reboot, or the decisive platform
    event); None when not known."""
    verdict: Verdict
    rule_id: str
    signature: str | None = None
    """The cause signature (``analysis/cause_signature.py``); None when the verdict names no
    cause (unknown, no reboot, no abnormal records)."""


class History(Record):
    """Earlier diagnoses of this instance by the same caller, within ``window_days``."""

    window_days: int
    signature: str | None = None
    """This report's own cause signature."""
    earlier: list[PastDiagnosis] = Field(default_factory=list)
    """One per earlier incident, newest first (re-diagnoses of this same reboot left out)."""


class Report(Record):
    schema_version: int = SCHEMA_VERSION
    tool_version: str
    diagnosis_id: str
    generated_at: datetime
    instance: InstanceFacts
    events: EventVerdict | None = None
    cloud_assistant: CloudAssistantStatus | None = None
    guest_run: GuestRun | None = None
    guest: GuestEvidence | None = None
    dump_triage: DumpTriage | None = None
    dump_advice: DumpAdvice | None = None
    api_calls: list[ApiCall] | None = None
    metrics: list[MetricSummary] | None = None
    console: ConsoleEvidence | None = None
    screenshot: ScreenshotInfo | None = None
    unavailable: list[SourceNote] = Field(default_factory=list)
    skipped: list[Skip] = Field(default_factory=list)
    manual_steps: list[str] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    conclusion: Conclusion
    recommendations: list[Recommendation] = Field(default_factory=list)
    history: History | None = None
    """Earlier diagnoses of this instance (from the store), for the recurrence line."""

    def skip_for(self, step: str) -> Skip | None:
        return next((s for s in self.skipped if s.step == step), None)
