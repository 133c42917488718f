"""The facts of a report that advice may presume, each True, False or None (unknown).

A recommendation declares the facts it presumes (``presumes = ["kdump_not_ready"]`` in the
tables); it is dropped when any of them is False in the report it would appear in, and kept when
one is unknown. The vocabulary is fixed: every fact has a name and its opposite, and both are
computed from what the diagnosis holds (the same attributes on a ``Diagnosis`` and a ``Report``),
never from the advice itself.

=========================  =========================  ==============================================
fact                       opposite                   true when
=========================  =========================  ==============================================
instance_running           instance_stopped           DescribeInstances: Running (Stopped: False)
platform_event             no_platform_event          a platform event that restarts or stops the
                                                      instance happened in the window
api_audit_read             api_audit_not_read         ActionTrail was read (even if it held nothing)
api_restart_call           no_api_restart_call        ActionTrail holds a successful reboot, stop,
                                                      start, redeploy, ... call on the instance
api_stop_call              no_api_stop_call           ActionTrail holds a successful StopInstance(s)
guest_logs_read            guest_logs_not_read        the collector ran and its output was parsed
cloud_assistant_usable     cloud_assistant_unusable   Cloud Assistant can run a command now
kdump_ready                kdump_not_ready            the kdump service is active and the capture
                                                      kernel is loaded (Linux)
dump_dir                   no_dump_dir                the kdump directory (/var/crash or the
                                                      configured path) exists (Linux)
crash_dump                 no_crash_dump              a crash dump exists (vmcore, MEMORY.DMP,
                                                      minidump)
kernel_panic               no_kernel_panic            a kernel panic was logged or read from a dump
bugcheck                   no_bugcheck                Windows logged a bug check (blue screen)
pagefile                   no_pagefile                a Windows page file is configured
fs_error                   no_fs_error                the kernel logged a file-system error
hung_task                  no_hung_task               tasks hung in D state (hung_task)
cpu_lockup                 no_cpu_lockup              a soft or hard lockup or an RCU stall
=========================  =========================  ==============================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from ecs_reboot_diagnosis.models import (
    ApiCall,
    CloudAssistantStatus,
    ConsoleEvidence,
    DumpTriage,
    EventCategory,
    EventVerdict,
    FindingKind,
    GuestEvidence,
    InstanceFacts,
)

# Each fact and its opposite; a presumption names either.
OPPOSITES: dict[str, str] = {
    "instance_running": "instance_stopped",
    "platform_event": "no_platform_event",
    "api_audit_read": "api_audit_not_read",
    "api_restart_call": "no_api_restart_call",
    "api_stop_call": "no_api_stop_call",
    "guest_logs_read": "guest_logs_not_read",
    "cloud_assistant_usable": "cloud_assistant_unusable",
    "kdump_ready": "kdump_not_ready",
    "dump_dir": "no_dump_dir",
    "crash_dump": "no_crash_dump",
    "kernel_panic": "no_kernel_panic",
    "bugcheck": "no_bugcheck",
    "pagefile": "no_pagefile",
    "fs_error": "no_fs_error",
    "hung_task": "no_hung_task",
    "cpu_lockup": "no_cpu_lockup",
}
FACT_NAMES: frozenset[str] = frozenset(OPPOSITES) | frozenset(OPPOSITES.values())

Facts = Mapping[str, bool | None]

RESTART_EVENT_CATEGORIES: frozenset[EventCategory] = frozenset(
    {"platform_maintenance", "platform_failure", "instance_failure", "billing"}
)
STOP_ACTIONS: frozenset[str] = frozenset({"StopInstance", "StopInstances"})
RESTART_ACTIONS: frozenset[str] = STOP_ACTIONS | frozenset(
    {
        "RebootInstance",
        "RebootInstances",
        "StartInstance",
        "StartInstances",
        "RedeployInstance",
        "ReplaceSystemDisk",
        "ResetDisk",
        "ModifyInstanceSpec",
        "ModifyPrepayInstanceSpec",
        "DeleteInstance",
        "DeleteInstances",
    }
)
PANIC_KINDS: frozenset[FindingKind] = frozenset(
    {"kernel_panic", "oom_panic", "sysrq_crash", "init_killed", "vfs_root_mount"}
)
CPU_LOCKUP_KINDS: frozenset[FindingKind] = frozenset({"soft_lockup", "hard_lockup", "rcu_stall"})
# Log sections whose loss (cut to nothing) makes "no such finding" unknowable.
_LOG_SECTIONS = frozenset(
    {"journal_kernel", "syslog", "dmesg", "oom", "crash_dmesg", "events_system"}
)


class FactSource(Protocol):
    """What a diagnosis or a report holds (both have these attributes)."""

    @property
    def instance(self) -> InstanceFacts: ...
    @property
    def events(self) -> EventVerdict | None: ...
    @property
    def api_calls(self) -> Sequence[ApiCall] | None: ...
    @property
    def cloud_assistant(self) -> CloudAssistantStatus | None: ...
    @property
    def guest(self) -> GuestEvidence | None: ...
    @property
    def dump_triage(self) -> DumpTriage | None: ...
    @property
    def console(self) -> ConsoleEvidence | None: ...


def successful_calls(
    api_calls: Sequence[ApiCall] | None, actions: frozenset[str]
) -> list[ApiCall] | None:
    """The successful calls among ``actions``, newest first; None when ActionTrail was not read."""
    if api_calls is None:
        return None
    calls = [c for c in api_calls if c.event_name in actions and not c.error_code]
    return sorted(calls, key=lambda c: c.event_time, reverse=True)


def _running(instance: InstanceFacts) -> bool | None:
    if instance.status == "Running":
        return True
    if instance.status == "Stopped":
        return False
    return None


def _platform_event(events: EventVerdict | None) -> bool | None:
    if events is None:
        return None
    return any(c.happened and c.category in RESTART_EVENT_CATEGORIES for c in events.events)


def _kinds(
    guest: GuestEvidence | None, console: ConsoleEvidence | None, kinds: Iterable[FindingKind]
) -> bool | None:
    wanted = frozenset(kinds)
    findings = [*(guest.findings if guest else ()), *(console.findings if console else ())]
    if any(f.kind in wanted and f.trusted for f in findings):
        return True
    if guest is None:
        return None
    lost = any(
        s.name in _LOG_SECTIONS and s.present and s.truncated and not s.has_data
        for s in guest.sections
    )
    return None if lost else False


def kdump_ready(guest: GuestEvidence | None) -> bool | None:
    if guest is None or guest.linux is None:
        return None
    if not any(s.name == "kdump" and s.present for s in guest.sections):
        return None
    k = guest.linux.kdump
    if k.service_state is not None and k.service_state != "active":
        return False
    if k.service_name is None and k.service_state is None:
        return False
    if k.crash_kernel_loaded is False:
        return False
    if k.service_state == "active" and k.crash_kernel_loaded:
        return True
    return None


def _dump_dir(guest: GuestEvidence | None) -> bool | None:
    if guest is None or guest.linux is None:
        return None
    section = next((s for s in guest.sections if s.name == "crash_files"), None)
    if section is None:
        return None
    if section.present:
        return True
    return False if section.note.startswith("no dump directory") else None


def _crash_dump(guest: GuestEvidence | None, triage: DumpTriage | None) -> bool | None:
    if triage is not None and triage.dump_found:
        return True
    if guest is None:
        return None
    if guest.linux is not None:
        if guest.linux.crash_files is not None:
            return bool(guest.linux.crash_files)
        return False if _dump_dir(guest) is False else None
    if guest.windows is not None:
        w = guest.windows
        if w.memory_dump is not None or w.minidumps:
            return True
        if w.memory_dump_checked and w.minidumps is not None:
            return False
    return triage.dump_found if triage is not None else None


def _bugcheck(guest: GuestEvidence | None, triage: DumpTriage | None) -> bool | None:
    if triage is not None and triage.bugcheck_code:
        return True
    if guest is None or guest.windows is None:
        return None
    if guest.windows.events is None:
        return None
    return _kinds(guest, None, ("bugcheck",))


def _pagefile(guest: GuestEvidence | None) -> bool | None:
    if guest is None or guest.windows is None:
        return None
    return guest.windows.pagefile_configured


def compute(source: FactSource) -> dict[str, bool | None]:
    """Every fact of the vocabulary, and its opposite, for what ``source`` holds."""
    guest, console, triage = source.guest, source.console, source.dump_triage
    restart = successful_calls(source.api_calls, RESTART_ACTIONS)
    stop = successful_calls(source.api_calls, STOP_ACTIONS)
    panic = _kinds(guest, console, PANIC_KINDS)
    if triage is not None and triage.dump_found and triage.panic_reason:
        panic = True
    ca = source.cloud_assistant
    base: dict[str, bool | None] = {
        "instance_running": _running(source.instance),
        "platform_event": _platform_event(source.events),
        "api_audit_read": source.api_calls is not None,
        "api_restart_call": None if restart is None else bool(restart),
        "api_stop_call": None if stop is None else bool(stop),
        "guest_logs_read": guest is not None,
        "cloud_assistant_usable": None if ca is None else ca.usable,
        "kdump_ready": kdump_ready(guest),
        "dump_dir": _dump_dir(guest),
        "crash_dump": _crash_dump(guest, triage),
        "kernel_panic": panic,
        "bugcheck": _bugcheck(guest, triage),
        "pagefile": _pagefile(guest),
        "fs_error": _kinds(guest, console, ("fs_error",)),
        "hung_task": _kinds(guest, console, ("hung_task",)),
        "cpu_lockup": _kinds(guest, console, CPU_LOCKUP_KINDS),
    }
    facts = dict(base)
    for name, opposite in OPPOSITES.items():
        value = base[name]
        facts[opposite] = None if value is None else not value
    return facts


def contradicted(presumes: Iterable[str], facts: Facts) -> list[str]:
    """The presumptions that the facts make false (unknown facts contradict nothing)."""
    return [p for p in presumes if facts.get(p) is False]


def check_names(presumes: Iterable[str], where: str) -> None:
    """Raise when a presumption is not in the vocabulary (tables are validated at load)."""
    unknown = sorted(set(presumes) - FACT_NAMES)
    if unknown:
        raise ValueError(f"{where}: unknown facts in presumes {unknown}")
