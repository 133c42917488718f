"""Unexpected resets: a new boot in a log whose previous boot ended without a reason.

A boot leaves markers in the console and the kernel log, in this order: the firmware banner
(``SeaBIOS (version ...)``), the kernel banner (``Linux version ...``), the firmware memory map
(``BIOS-provided physical RAM map:``) and, on KVM, ``Booting paravirtualized kernel on KVM``.
The catalogue reports each as a ``boot_marker`` hit (:mod:`.signatures`) and
:func:`resolve_boot_markers` turns them into findings: a marker begins a new boot when it does
not follow the markers before it in that order, or when it is the first of its log and ordinary
lines came before it. A new boot that follows the lines of an earlier one with nothing that
ended that boot in between (no shutdown or reboot sequence, no panic, oops, lockup ... only OOM
kills or file-system errors at most) is an ``unexpected_shutdown`` of low confidence: the guest
was reset, powered off or crashed without a word (a host-side reset, a hypervisor fault, a hang
the console could not show).
"""

from __future__ import annotations

from typing import Final

from ecs_reboot_diagnosis.analysis.hits import Hit

__all__ = ["BOOT_STAGES", "MIN_LINES_BEFORE", "resolve_boot_markers"]

# marker text -> its place in a boot (see the module docstring)
BOOT_STAGES: Final[dict[str, int]] = {
    "SeaBIOS": 0,
    "Linux version": 1,
    "BIOS-provided physical RAM map": 2,
    "Booting paravirtualized kernel": 3,
}
# a log's first boot marker begins a new boot only after this many lines of something else
# (a console shows a boot loader's few lines before the kernel banner)
MIN_LINES_BEFORE: Final = 30
# hits that do not end a boot: a reset after them is still unexplained
_NOT_AN_END: Final = frozenset({"oom_kill", "cgroup_oom", "fs_error", "unexpected_shutdown"})


def _stage(h: Hit) -> int:
    return next((BOOT_STAGES[n] for n in h.notes if n in BOOT_STAGES), 0)


def resolve_boot_markers(hits: list[Hit]) -> list[Hit]:
    """``hits`` (in line order) with each boot marker replaced by an unexpected shutdown or
    dropped."""
    stage: dict[str, int] = {}  # per source: the stage of the last marker
    ended: dict[str, bool] = {}  # per source: something ended the boot since its start
    out: list[Hit] = []
    for h in hits:
        p = h.parsed
        if h.kind != "boot_marker":
            if p is not None and h.kind not in _NOT_AN_END:
                ended[p.line.source] = True
            out.append(h)
            continue
        assert p is not None
        source, now = p.line.source, _stage(h)
        last = stage.get(source)
        stage[source] = now
        if last is None:
            new_after_lines = p.position > MIN_LINES_BEFORE
        else:
            new_after_lines = now <= last
        if not new_after_lines:
            continue
        if not ended.get(source, False):
            h.kind = "unexpected_shutdown"
            h.confidence = "low"
            h.notes = frozenset()
            out.append(h)
        ended[source] = False
    return out
