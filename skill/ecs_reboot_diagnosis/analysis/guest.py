"""Collector output -> :class:`~ecs_reboot_diagnosis.models.GuestEvidence`, for either OS."""

from __future__ import annotations

from datetime import datetime

from ecs_reboot_diagnosis.analysis.envelope import parse_envelope
from ecs_reboot_diagnosis.analysis.linux_guest import analyze_linux
from ecs_reboot_diagnosis.analysis.windows_guest import analyze_windows
from ecs_reboot_diagnosis.errors import CollectorIntegrityError
from ecs_reboot_diagnosis.models import GuestEvidence, OsType

__all__ = ["parse_guest_output"]


def parse_guest_output(
    os_type: OsType,
    output: str,
    nonce: str,
    *,
    target_time: datetime | None = None,
    dropped_bytes: int = 0,
) -> GuestEvidence:
    """Check the envelope of one collector run (nonce, schema, collector) and analyse it.

    ``target_time`` is the time of the reboot the user asked about (UTC), when given; the
    analysers record it as ``asked_reboot_time``.

    ``dropped_bytes`` is the invocation's ``Dropped`` count: a cut output keeps every section
    that arrived whole (see :func:`parse_envelope`).

    Raises :class:`CollectorIntegrityError` when the output is not this run's envelope or comes
    from the other OS's collector.
    """
    envelope = parse_envelope(output, nonce, dropped_bytes=dropped_bytes)
    if envelope.collector != os_type:
        raise CollectorIntegrityError(
            f"The envelope comes from the {envelope.collector!r} collector, not {os_type!r}.",
            hint="The instance's OS type and the collector that ran disagree.",
            message_zh=f"信封来自 {envelope.collector!r} 采集脚本，而不是 {os_type!r}。",
            hint_zh="实例的操作系统类型与实际运行的采集脚本不一致。",
        )
    if os_type == "linux":
        return analyze_linux(envelope, target_time=target_time)
    return analyze_windows(envelope, target_time=target_time)
