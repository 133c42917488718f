"""The cause signature of a report: one short string that is equal for two reboots with the
same cause, so that recurrences can be counted (and, later, fleets grouped).

What goes in, by verdict:

- platform or billing: the event type (``event.SystemMaintenance.Reboot``);
- API-initiated: the rule and the restarting action (``linux.api_reboot RebootInstance``);
- guest crash: the cause kind, the panic reason, and where it happened: the top frame (the RIP
  function) and its module, or the bug check code on Windows, or the OOM victim;
- a clean, guest-initiated reboot: its rule;
- no cause (unknown, no reboot, no abnormal records): no signature.

Numbers that change from one crash to the next (CPU numbers, seconds stuck, pids) are replaced
by ``N`` in the panic reason; hexadecimal codes stay. Deeper frames of the call trace are left
out on purpose: only a saved dump gives them, and two crashes with the same cause must match
whether or not kdump saved a dump of each.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ecs_reboot_diagnosis.analysis.conclusions import restarting_calls
from ecs_reboot_diagnosis.models import Finding, FindingKind, Report

__all__ = ["cause_signature", "crash_signature", "normalize_reason"]

NO_CAUSE = frozenset({"unknown", "no_reboot", "no_abnormal_records"})
# a finding of these kinds says the guest ended, not why
_NOT_A_CAUSE: frozenset[FindingKind] = frozenset(
    {"kdump_saved", "unexpected_shutdown", "clean_reboot", "clean_shutdown", "app_crash"}
)
_OOM: frozenset[FindingKind] = frozenset({"oom_kill", "cgroup_oom"})
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_DIGITS = re.compile(r"\d+")
MAX_REASON = 80


def normalize_reason(reason: str) -> str:
    """The panic reason with its varying numbers as ``N``, spaces collapsed, bounded."""
    parts: list[str] = []
    last = 0
    for m in _HEX.finditer(reason):
        parts.append(_DIGITS.sub("N", reason[last : m.start()]))
        parts.append(m.group())
        last = m.end()
    parts.append(_DIGITS.sub("N", reason[last:]))
    return " ".join("".join(parts).split())[:MAX_REASON]


def _cause_finding(findings: Sequence[Finding]) -> Finding | None:
    """The finding that names the cause: the first trusted one that panicked the kernel (other
    than the bare panic line), else the panic line, else the first trusted critical or warning
    one (a bug check, an OOM kill, a lockup that did not panic)."""
    trusted = [f for f in findings if f.trusted and f.kind not in _NOT_A_CAUSE]
    for f in trusted:
        if f.facts.panicked and f.kind != "kernel_panic":
            return f
    panic = next((f for f in trusted if f.kind == "kernel_panic"), None)
    if panic is not None:
        return panic
    return next((f for f in trusted if f.severity != "info"), None)


def crash_signature(findings: Sequence[Finding]) -> str | None:
    """The signature of a guest crash from its findings (the target boot's, and the serial
    console's): cause kind | panic reason | function [module] (or bug check code, OOM victim);
    None when no trusted finding names a cause."""
    cause = _cause_finding(findings)
    if cause is None:
        return None
    # from the finding only, never from the dump's triage: the same crash must give the same
    # signature whether or not a dump was saved (the logs kdump saved are findings too)
    facts = cause.facts
    parts: list[str] = [cause.kind]
    if cause.kind == "bugcheck" and facts.bugcheck_code:
        parts.append(facts.bugcheck_code)
    if facts.panic_reason:
        parts.append(normalize_reason(facts.panic_reason))
    function, module = facts.rip_function, facts.rip_module
    if function:
        parts.append(f"{function} [{module}]" if module else function)
    elif module:
        parts.append(f"[{module}]")
    victim = facts.oom_victim_process or (facts.process if cause.kind in _OOM else None)
    if victim:
        parts.append(f"victim {victim}")
    return " | ".join(parts)


def cause_signature(report: Report) -> str | None:
    """The signature of what the report concluded; None when it names no cause."""
    c = report.conclusion
    if c.verdict in NO_CAUSE:
        return None
    if c.verdict in ("platform", "billing"):
        return c.rule_id
    if c.verdict == "api_initiated":
        calls = restarting_calls(report.api_calls)
        return f"{c.rule_id} {calls[0].event_name}" if calls else c.rule_id
    if c.verdict == "guest_crash":
        findings = [
            *(report.guest.findings if report.guest else []),
            *(report.console.findings if report.console else []),
        ]
        crash = crash_signature(findings)
        return crash if crash is not None else c.rule_id
    return c.rule_id
