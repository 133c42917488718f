"""The decision tables, read from the TOML files beside this module and validated once.

The tables are data: the platform-event table, the Linux, Windows and Stopped-instance result
tables, the dump-setup / manual-check table, the advice table (advice by finding kind, start
the instance first, Cloud Assistant, dump set-up) and the causal precedence of finding kinds
(which kind causes which). Every recommendation declares the report facts
it presumes (analysis/report_facts.py); unknown fact names are refused at load. Code that decides
reads them; it does not restate them.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from importlib.resources import files
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ecs_reboot_diagnosis.analysis.report_facts import FACT_NAMES
from ecs_reboot_diagnosis.models import Confidence, EventCategory, FindingKind, Text

LINUX_SIGNALS = frozenset(
    {
        "guest_collected",
        "reboot_in_window",
        "hardware",
        "kernel_panic",
        "crash_dump",
        "oom",
        "panic_on_oom",
        "sysrq",
        "lockup",
        "clean_reboot",
        "instance_failure",
        "api_reboot",
    }
)
WINDOWS_SIGNALS = frozenset(
    {
        "guest_collected",
        "reboot_in_window",
        "system_crash",
        "bugcheck",
        "dump_enabled",
        "memory_dump",
        "minidump",
        "pagefile",
        "app_crash",
        "clean_reboot",
        "instance_failure",
        "api_reboot",
    }
)
# Signals of the Stopped-instance table: why the instance is stopped, not why it rebooted.
STOPPED_SIGNALS = frozenset({"api_stop", "guest_poweroff"})
OsFamily = Literal["rhel", "debian", "suse", "other_linux", "windows"]


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class EventRow(_Row):
    type: str
    category: EventCategory
    ends_diagnosis: bool
    meaning: Text
    determination: Text
    next_step: Text


class UnknownEventRow(_Row):
    meaning: Text
    determination: Text
    next_step: Text


class CycleStatuses(_Row):
    happened: frozenset[str]
    not_happened: frozenset[str]
    upcoming: frozenset[str]


class EventTable(_Row):
    event: tuple[EventRow, ...]
    unknown: UnknownEventRow
    cycle_status: CycleStatuses

    def row(self, event_type: str) -> EventRow | None:
        return next((r for r in self.event if r.type == event_type), None)


def _known_facts(presumes: tuple[str, ...]) -> tuple[str, ...]:
    unknown = sorted(set(presumes) - FACT_NAMES)
    if unknown:
        raise ValueError(f"unknown facts in presumes: {unknown}")
    return presumes


class RecommendationRow(_Row):
    en: str
    zh_CN: str = Field(alias="zh-CN")
    commands: tuple[str, ...] = ()
    presumes: tuple[str, ...] = ()
    """Report facts (analysis/report_facts.py) this advice presumes; it is dropped when one is
    false in the report."""

    _check_presumes = field_validator("presumes")(_known_facts)

    @property
    def text(self) -> Text:
        return Text(en=self.en, zh_CN=self.zh_CN)


class ResultRule(_Row):
    id: str
    verdict: Literal[
        "api_initiated",
        "guest_crash",
        "guest_initiated",
        "no_abnormal_records",
        "no_reboot",
        "unknown",
    ]
    confidence: Confidence
    when: dict[str, bool]
    root_cause: Text
    impact: Text
    recommendations: tuple[RecommendationRow, ...]


class ResultTable(_Row):
    rule: tuple[ResultRule, ...]


class FamilySetup(_Row):
    label: str
    steps: tuple[str, ...]
    verify: tuple[str, ...]


class ManualChecks(_Row):
    commands: tuple[str, ...]
    presumes: tuple[str, ...] = ()

    _check_presumes = field_validator("presumes")(_known_facts)


class DumpSetupTable(_Row):
    family: dict[OsFamily, FamilySetup]
    manual: dict[Literal["linux", "windows", "stopped"], ManualChecks]
    zh: dict[str, str]
    """The Chinese of every sentence and ``# comment`` of the steps and commands above (the
    commands themselves stay as they are), keyed by the English."""

    @model_validator(mode="after")
    def _every_sentence_translated(self) -> DumpSetupTable:
        texts = [
            *(line for f in self.family.values() for line in (*f.steps, *f.verify)),
            *(line for m in self.manual.values() for line in m.commands),
        ]
        missing = sorted({p for line in texts for p in prose_parts(line)} - set(self.zh))
        if missing:
            raise ValueError(f"dump_setup.toml [zh] lacks a translation of {missing}")
        return self

    def in_chinese(self, line: str) -> str:
        """``line`` with its sentence or ``# comment`` in Chinese; a command stays as it is."""
        if line in self.zh:
            return self.zh[line]
        command, sep, comment = line.partition("   # ")
        if sep and comment in self.zh:
            return f"{command}   # {self.zh[comment]}"
        if line.startswith("# ") and line[2:] in self.zh:
            return "# " + self.zh[line[2:]]
        return line


_PROSE_STEP: Final = re.compile(r"^[A-Z][a-z]+ [a-z]")


def prose_parts(line: str) -> list[str]:
    """The parts of a set-up line that are sentences: the line itself when it is one, else its
    ``   # comment`` or the text of a ``# `` comment line."""
    if _PROSE_STEP.match(line):
        return [line]
    if line.startswith("# "):
        return [line[2:]]
    _, sep, comment = line.partition("   # ")
    return [comment] if sep else []


class FindingAdviceRow(RecommendationRow):
    """Advice added when a finding of ``kind`` is among those the verdict was drawn from."""

    kind: FindingKind


class GeneralAdvice(_Row):
    """Advice that does not come from a result rule: the Stopped instance, Cloud Assistant
    down, the dump set-up. Placeholders are filled by analysis/advice.py."""

    start_instance_first: RecommendationRow
    restart_cloud_assistant: RecommendationRow
    dump_setup_linux: RecommendationRow
    dump_setup_windows: RecommendationRow


class AdviceTable(_Row):
    general: GeneralAdvice
    finding: tuple[FindingAdviceRow, ...]


def _load(name: str) -> dict[str, Any]:
    return tomllib.loads(files(__name__).joinpath(name).read_text(encoding="utf-8"))


@cache
def platform_events() -> EventTable:
    return EventTable.model_validate(_load("platform_events.toml"))


def _result_table(name: str, signals: frozenset[str]) -> ResultTable:
    try:
        table = ResultTable.model_validate(_load(name))
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from exc
    for rule in table.rule:
        unknown = set(rule.when) - signals
        if unknown:
            raise ValueError(f"{name}: rule {rule.id} uses unknown signals {sorted(unknown)}")
    if table.rule[-1].when:
        raise ValueError(f"{name}: the last rule must match anything (when = {{}})")
    return table


@cache
def linux_results() -> ResultTable:
    return _result_table("linux_results.toml", LINUX_SIGNALS)


@cache
def windows_results() -> ResultTable:
    return _result_table("windows_results.toml", WINDOWS_SIGNALS)


@cache
def dump_setup() -> DumpSetupTable:
    return DumpSetupTable.model_validate(_load("dump_setup.toml"))


@cache
def stopped_results() -> ResultTable:
    return _result_table("stopped_results.toml", STOPPED_SIGNALS)


@cache
def advice() -> AdviceTable:
    return AdviceTable.model_validate(_load("advice.toml"))


class CauseRow(_Row):
    """``kind`` causes each of ``consequences`` (when ``reason`` matches the panic reason)."""

    kind: FindingKind
    consequences: tuple[FindingKind, ...]
    reason: str | None = None

    @field_validator("reason")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"reason is not a regular expression: {exc}") from None
        return value


class PrecedenceTable(_Row):
    window_lines: int = Field(gt=0)
    window_seconds: int = Field(gt=0)
    cause: tuple[CauseRow, ...]

    @model_validator(mode="after")
    def _acyclic(self) -> PrecedenceTable:
        kinds = [row.kind for row in self.cause]
        if len(kinds) != len(set(kinds)):
            raise ValueError("a cause kind is listed twice")
        edges = {row.kind: set(row.consequences) for row in self.cause}
        for row in self.cause:
            if row.kind in row.consequences:
                raise ValueError(f"{row.kind} is listed as its own consequence")
        # depth-first search for a cycle (the table is small)
        state: dict[str, int] = {}

        def visit(kind: str) -> None:
            if state.get(kind) == 1:
                raise ValueError(f"causal cycle through {kind}")
            if state.get(kind) == 2:
                return
            state[kind] = 1
            for nxt in edges.get(kind, ()):  # type: ignore[call-overload]
                visit(nxt)
            state[kind] = 2

        for kind in edges:
            visit(kind)
        return self

    def row(self, cause: FindingKind) -> CauseRow | None:
        return next((r for r in self.cause if r.kind == cause), None)

    def causes(self, cause: FindingKind, consequence: FindingKind, reason: str | None) -> bool:
        """Whether ``cause`` may explain ``consequence`` whose panic reason is ``reason``."""
        row = self.row(cause)
        if row is None or consequence not in row.consequences:
            return False
        return row.reason is None or (
            reason is not None and re.search(row.reason, reason) is not None
        )


@cache
def precedence() -> PrecedenceTable:
    try:
        return PrecedenceTable.model_validate(_load("precedence.toml"))
    except ValueError as exc:
        raise ValueError(f"precedence.toml: {exc}") from exc
