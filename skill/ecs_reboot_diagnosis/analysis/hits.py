"""A hit: one signature match (or ``last -x`` transition) before hits become findings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from ecs_reboot_diagnosis.analysis.log_lines import ParsedLine
from ecs_reboot_diagnosis.models import Confidence, Evidence, FindingKind

__all__ = ["Hit", "evidence_of", "hit", "norm"]


@dataclass(slots=True)
class Hit:
    kind: FindingKind | str  # "shutdown_generic" resolves to clean_shutdown or is dropped
    parsed: ParsedLine | None
    evidence: Evidence
    time: datetime | None
    order: int
    key: str
    facts: dict[str, object] = field(default_factory=dict)
    detail: str = ""
    detail_zh: str = ""
    """``detail`` in Simplified Chinese; guest text in it is quoted between backticks."""
    confidence: Confidence = "high"
    extra_evidence: list[Evidence] = field(default_factory=list)
    derived: bool = False  # reported because a panic reason names this kind
    notes: frozenset[str] = frozenset()  # "read_only", "corrected" ...
    announce: bool = False  # "Kill process N ... or sacrifice child": the kill line follows


def evidence_of(p: ParsedLine) -> Evidence:
    return Evidence(source=p.line.source, line_no=p.line.line_no, text=p.line.text)


def norm(message: str) -> str:
    """A message with its white space collapsed: copies of one line compare equal."""
    return re.sub(r"\s+", " ", message).strip()


def hit(kind: FindingKind | str, p: ParsedLine, **kw: object) -> Hit:
    """A hit on line ``p``; ``kw`` sets the optional fields."""
    return Hit(
        kind=kind,
        parsed=p,
        evidence=evidence_of(p),
        time=p.time,
        order=p.order,
        key=norm(p.message),
        **kw,  # type: ignore[arg-type]
    )
