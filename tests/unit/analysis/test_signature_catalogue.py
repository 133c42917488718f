"""The signature catalogue and the severity table speak the one vocabulary of finding kinds."""

from __future__ import annotations

from ecs_reboot_diagnosis.analysis.signatures import (
    KERNEL_SIGNATURES,
    PANIC_CAUSES,
    PSEUDO_KINDS,
    SYSTEM_SIGNATURES,
)
from ecs_reboot_diagnosis.models import FINDING_KINDS, SEVERITY, SEVERITY_RANK


def test_every_kind_has_one_severity() -> None:
    assert set(SEVERITY) == set(FINDING_KINDS)
    assert set(SEVERITY.values()) == set(SEVERITY_RANK)


def test_catalogue_kinds_are_finding_kinds() -> None:
    kinds = {s.kind for s in (*KERNEL_SIGNATURES, *SYSTEM_SIGNATURES)} | {
        k for k, _ in PANIC_CAUSES
    }
    assert kinds - set(FINDING_KINDS) <= PSEUDO_KINDS
    assert not PSEUDO_KINDS & set(FINDING_KINDS)
