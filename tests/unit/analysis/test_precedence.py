"""Causal precedence (tables/precedence.toml): the cause heads the findings, the panic stays."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from ecs_reboot_diagnosis.analysis.findings import analyze_log_text
from ecs_reboot_diagnosis.tables import PrecedenceTable, precedence

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real_logs"


def test_the_table_loads_and_refuses_cycles_and_unknown_kinds() -> None:
    table = precedence()
    assert table.causes("soft_lockup", "kernel_panic", "softlockup: hung tasks")
    assert table.causes("null_pointer", "oops", None)
    assert not table.causes("kernel_panic", "soft_lockup", None)
    # an OOM kill explains a panic only when the panic says it ran out of memory
    assert table.causes("oom_kill", "kernel_panic", "Out of memory and no killable processes...")
    assert not table.causes("oom_kill", "kernel_panic", "Fatal exception")
    base = {"window_lines": 10, "window_seconds": 10}
    with pytest.raises(ValueError, match="cycle"):
        PrecedenceTable.model_validate(
            {
                **base,
                "cause": [
                    {"kind": "oops", "consequences": ["kernel_bug"]},
                    {"kind": "kernel_bug", "consequences": ["oops"]},
                ],
            }
        )
    with pytest.raises(ValueError):
        PrecedenceTable.model_validate(
            {**base, "cause": [{"kind": "meltdown", "consequences": ["kernel_panic"]}]}
        )
    with pytest.raises(ValueError):
        PrecedenceTable.model_validate(
            {**base, "cause": [{"kind": "oops", "consequences": ["kernel_panic"], "reason": "("}]}
        )


@pytest.mark.parametrize(
    ("name", "order"),
    [
        ("soft_lockup-1.log", ["soft_lockup", "kernel_panic"]),
        ("oom_panic-1.log", ["oom_panic", "kernel_panic"]),
        ("vfs_root_mount-1.log", ["vfs_root_mount", "kernel_panic"]),
        ("init_killed-1.log", ["init_killed", "kernel_panic"]),
    ],
)
def test_the_cause_comes_first_and_carries_the_panic(name: str, order: list[str]) -> None:
    text = (REAL / name).read_text("utf-8")
    findings = analyze_log_text(text)
    assert [f.kind for f in findings][: len(order)] == order
    cause, panic = findings[0], next(f for f in findings if f.kind == "kernel_panic")
    assert cause.facts.panicked is True and cause.severity == "critical"
    assert cause.facts.panic_reason == panic.facts.panic_reason
    assert panic.facts.panicked is True  # kernel_panic stays a finding
    assert any("Kernel panic" in e.text for e in cause.evidence)


def test_a_chain_puts_the_root_first() -> None:
    """kernel BUG -> oops (invalid opcode) -> Fatal exception panic."""
    lines = (REAL / "kernel_bug-1.log").read_text("utf-8").splitlines()
    assert not any("Kernel panic" in line for line in lines)
    stamp = re.match(r"\[\s*\d+\.\d+\]", lines[-1])
    assert stamp is not None  # the panic follows in the same second
    text = "\n".join([*lines, f"{stamp.group()} Kernel panic - not syncing: Fatal exception"])
    findings = analyze_log_text(text)
    assert [f.kind for f in findings] == ["kernel_bug", "oops", "kernel_panic"]
    assert findings[0].facts.panicked is True and findings[1].facts.panicked is True
    assert findings[0].facts.panic_reason == "Fatal exception"


def test_a_cause_from_another_incident_does_not_explain_the_panic() -> None:
    """A hung task an hour before an unrelated panic: the panic keeps the headline."""
    text = (REAL / "hung_task-3.log").read_text("utf-8")
    later = "[Wed Dec 19 04:40:00 2018] Kernel panic - not syncing: Fatal exception"
    ref = datetime(2026, 1, 1)  # dmesg -T stamps are read with the collection time at hand
    findings = analyze_log_text(text + "\n" + later, reference=ref)
    assert [f.kind for f in findings] == ["kernel_panic", "hung_task"]
    assert findings[1].facts.panicked is None and findings[1].severity == "warning"
    near = "[Wed Dec 19 03:37:00 2018] Kernel panic - not syncing: hung_task: blocked tasks"
    findings = analyze_log_text(text + "\n" + near, reference=ref)
    assert [f.kind for f in findings] == ["hung_task", "kernel_panic"]
    assert findings[0].facts.panicked is True


def test_evidence_is_ranked_by_relevance_not_log_order() -> None:
    """A fatal MCE: the "Machine Check Exception ... Bank" line is kept, the mcelog hint later."""
    findings = analyze_log_text((REAL / "mce_hardware-3.log").read_text("utf-8"))
    mce = findings[0]
    assert mce.kind == "mce_hardware" and mce.facts.panicked is True
    texts = [e.text for e in mce.evidence]
    assert len(texts) == 5
    assert "Processor context corrupt" in texts[0]
    assert "Kernel panic - not syncing: Fatal machine check" in texts[1]
    assert "Machine Check Exception: 4 Bank 0" in texts[2]
    assert not any("Machine check events logged" in t for t in texts[:3])
