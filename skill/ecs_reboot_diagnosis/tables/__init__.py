"""The decision tables, read from the TOML files beside this module and validated once.

The tables are data: the platform-event table, the Linux and Windows result tables, and the
dump-setup / manual-check table. Code that decides reads them; it does not restate them.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ecs_reboot_diagnosis.models import Confidence, EventCategory, Text

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


class RecommendationRow(_Row):
    en: str
    zh_CN: str = Field(alias="zh-CN")
    commands: tuple[str, ...] = ()

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


class DumpSetupTable(_Row):
    family: dict[OsFamily, FamilySetup]
    manual: dict[Literal["linux", "windows"], ManualChecks]


def _load(name: str) -> dict[str, Any]:
    return tomllib.loads(files(__name__).joinpath(name).read_text(encoding="utf-8"))


@cache
def platform_events() -> EventTable:
    return EventTable.model_validate(_load("platform_events.toml"))


def _result_table(name: str, signals: frozenset[str]) -> ResultTable:
    table = ResultTable.model_validate(_load(name))
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
