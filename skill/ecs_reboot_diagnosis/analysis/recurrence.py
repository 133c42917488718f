"""Recurrence across diagnoses: what a report leaves in the store for later ones
(:func:`summarize`), and which earlier reports of the instance a new report mentions
(:func:`history`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from ecs_reboot_diagnosis.analysis.cause_signature import cause_signature
from ecs_reboot_diagnosis.analysis.conclusions import restarting_calls
from ecs_reboot_diagnosis.models import History, PastDiagnosis, Report

__all__ = ["SAME_INCIDENT", "history", "incident_time", "summarize"]

SAME_INCIDENT = timedelta(minutes=10)
"""Two reports whose reboots lie this close explain the same reboot (a diagnosis run again)."""


def incident_time(report: Report) -> datetime | None:
    """When the reboot the report explains happened: the target reboot the guest showed, else
    the decisive platform event, else the restarting API call."""
    if report.guest is not None and report.guest.target_reboot is not None:
        return report.guest.target_reboot
    if report.events is not None and report.events.decisive is not None:
        e = report.events.decisive.event
        return e.finish_time or e.not_before or e.publish_time
    if report.conclusion.verdict == "api_initiated":
        calls = restarting_calls(report.api_calls)
        if calls:
            return calls[0].event_time
    return None


def summarize(report: Report) -> PastDiagnosis:
    """What the store keeps of a report for the recurrence line of later ones."""
    return PastDiagnosis(
        diagnosed_at=report.generated_at,
        incident_at=incident_time(report),
        verdict=report.conclusion.verdict,
        rule_id=report.conclusion.rule_id,
        signature=cause_signature(report),
    )


def _same_incident(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and b is not None and abs(a - b) <= SAME_INCIDENT


def history(report: Report, earlier: Sequence[PastDiagnosis], window_days: int) -> History:
    """The earlier diagnoses ``report`` mentions: one per earlier reboot with a cause, newest
    first. Re-diagnoses of the reboot this report explains are left out, and of two earlier
    reports of one reboot only the newer counts."""
    own = summarize(report)
    kept: list[PastDiagnosis] = []
    for past in sorted(earlier, key=lambda p: p.diagnosed_at, reverse=True):
        if past.signature is None or _same_incident(past.incident_at, own.incident_at):
            continue
        if any(_same_incident(past.incident_at, k.incident_at) for k in kept):
            continue
        kept.append(past)
    return History(window_days=window_days, signature=own.signature, earlier=kept)
