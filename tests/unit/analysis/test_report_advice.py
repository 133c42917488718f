"""Advice follows the facts: every recommendation of every source declares the report facts it
presumes, and is dropped when the report's own facts make one of them false.

The walks go through the tables as shipped: each result rule's recommendations (Linux, Windows,
Stopped), the advice by finding kind, the general advice (start the instance first, Cloud
Assistant, dump set-up) and the manual check sets. The fact computations and the assembly are
the real ones (``report_facts.compute``, ``advice.assemble`` / ``advice.recommend``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ecs_reboot_diagnosis.analysis import advice, conclusions, dump_setup
from ecs_reboot_diagnosis.analysis.report_facts import FACT_NAMES, OPPOSITES, compute
from ecs_reboot_diagnosis.models import (
    ApiCall,
    CloudAssistantStatus,
    ConsoleEvidence,
    DumpAdvice,
    DumpTriage,
    EventVerdict,
    Finding,
    FindingFacts,
    FindingKind,
    GuestEvidence,
    InstanceFacts,
    KdumpStatus,
    LinuxGuest,
    Recommendation,
    SectionStatus,
    Text,
)
from ecs_reboot_diagnosis.tables import (
    RecommendationRow,
    ResultRule,
    linux_results,
    stopped_results,
    windows_results,
)
from ecs_reboot_diagnosis.tables import advice as advice_table
from ecs_reboot_diagnosis.tables import dump_setup as dump_setup_table

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
OPPOSITE = {**OPPOSITES, **{v: k for k, v in OPPOSITES.items()}}


def instance(status: str = "Running", os_type: str = "linux") -> InstanceFacts:
    return InstanceFacts(
        instance_id="i-bp1unitadvice01",
        region_id="cn-hangzhou",
        status=status,
        os_type="linux" if os_type == "linux" else "windows",
        public_ip="47.0.0.10",
    )


@dataclass(frozen=True)
class Held:
    """What a report holds, built by hand (a Report and a Diagnosis have the same attributes)."""

    instance: InstanceFacts = field(default_factory=instance)
    events: EventVerdict | None = None
    api_calls: Sequence[ApiCall] | None = None
    cloud_assistant: CloudAssistantStatus | None = None
    guest: GuestEvidence | None = None
    dump_triage: DumpTriage | None = None
    console: ConsoleEvidence | None = None


def unknown() -> dict[str, bool | None]:
    return dict.fromkeys(FACT_NAMES)


def against(fact: str) -> dict[str, bool | None]:
    """Every fact unknown but ``fact``, which is false (and its opposite true)."""
    facts = unknown()
    facts[fact] = False
    facts[OPPOSITE[fact]] = True
    return facts


def as_recommendation(row: RecommendationRow) -> Recommendation:
    return Recommendation(text=row.text, commands=list(row.commands), presumes=list(row.presumes))


def rule_rows() -> list[tuple[ResultRule, RecommendationRow]]:
    tables = (linux_results(), windows_results(), stopped_results())
    return [(rule, row) for t in tables for rule in t.rule for row in rule.recommendations]


def rows_id(item: tuple[ResultRule, RecommendationRow]) -> str:
    rule, row = item
    return f"{rule.id}:{row.en[:40]}"


def assembled(facts: dict[str, bool | None], recs: list[Recommendation]) -> list[Recommendation]:
    return advice.assemble(
        facts, instance(), recs, [], platform_cause=False, dump=None, agent_unavailable=False
    )


# --- the walks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("item", rule_rows(), ids=rows_id)
def test_each_rule_recommendation_is_dropped_by_each_fact_against_it(
    item: tuple[ResultRule, RecommendationRow],
) -> None:
    _, row = item
    rec = as_recommendation(row)
    assert rec in assembled(unknown(), [rec]), "an unknown fact keeps the advice"
    for fact in row.presumes:
        assert rec not in assembled(against(fact), [rec]), fact
    # the facts it does not presume leave it alone
    others = FACT_NAMES - set(row.presumes) - {OPPOSITE[p] for p in row.presumes}
    for fact in others:
        assert rec in assembled(against(fact), [rec]), fact


@pytest.mark.parametrize("row", advice_table().finding, ids=lambda r: f"{r.kind}:{r.en[:30]}")
def test_each_finding_advice_is_added_by_its_kind_and_dropped_by_each_fact_against_it(
    row: RecommendationRow,
) -> None:
    kind: FindingKind = row.kind  # type: ignore[attr-defined]

    def run(facts: dict[str, bool | None], kinds: list[FindingKind]) -> list[str]:
        out = advice.assemble(
            facts, instance(), [], kinds, platform_cause=False, dump=None, agent_unavailable=False
        )
        return [r.text.en for r in out]

    assert row.en in run(unknown(), [kind])
    assert row.en not in run(unknown(), []), "only when that finding is in the evidence"
    for fact in row.presumes:
        assert row.en not in run(against(fact), [kind]), fact


GENERAL = ("start_instance_first", "restart_cloud_assistant", "dump_setup_linux",
           "dump_setup_windows")  # fmt: skip


@pytest.mark.parametrize("name", GENERAL)
def test_each_general_advice_is_dropped_by_each_fact_against_it(name: str) -> None:
    row: RecommendationRow = getattr(advice_table().general, name)
    assert row.presumes, "general advice always presumes something"
    os_type = "windows" if name.endswith("windows") else "linux"
    dump = DumpAdvice(needed=True, reason=Text(en="x.", zh_CN="x。"), os_family="rhel")

    def run(facts: dict[str, bool | None]) -> list[str]:
        out = advice.assemble(
            facts,
            instance(os_type=os_type),
            [],
            [],
            platform_cause=False,
            dump=dump,
            agent_unavailable=True,
        )
        return [r.text.en.split(":")[0] for r in out]

    head = row.en.split(":")[0]
    facts = unknown()
    facts["instance_stopped"] = True  # "start first" is added only for a stopped instance
    assert head in run(facts)
    for fact in row.presumes:
        assert head not in run({**facts, **against(fact)}), fact


def test_the_dump_advice_carries_its_own_presumptions() -> None:
    guest = linux_guest(kdump=KdumpStatus(service_name="kdump", service_state="inactive"))
    dump = dump_setup.advise(instance(), guest, None)
    assert dump.needed and dump.presumes == ["kdump_not_ready"]
    recs = advice.dump_setup_advice("linux", dump)
    assert recs and "kdump_not_ready" in recs[0].presumes
    assert advice.keep(recs, against("kdump_not_ready")) == []


def test_the_manual_checks_of_a_stopped_instance_start_it_and_never_log_in() -> None:
    stopped = dump_setup.manual_checks(instance("Stopped"))
    assert "aliyun ecs StartInstance --RegionId cn-hangzhou --InstanceId i-bp1unitadvice01" in (
        stopped
    )
    assert not [c for c in stopped if c.startswith(("ssh ", "mstsc "))]
    assert "ssh root@47.0.0.10" in dump_setup.manual_checks(instance("Running"))
    assert "mstsc /v:47.0.0.10" in dump_setup.manual_checks(instance("Running", "windows"))
    for name, checks in dump_setup_table().manual.items():
        assert checks.presumes, name


def test_an_unknown_fact_in_a_table_is_refused_at_load() -> None:
    with pytest.raises(ValidationError, match="unknown facts"):
        RecommendationRow.model_validate({"en": "a", "zh-CN": "b", "presumes": ["sunny_day"]})


# --- the facts, from what a report holds ----------------------------------------------------------


def linux_guest(
    *,
    kdump: KdumpStatus | None = None,
    findings: Sequence[Finding] = (),
    crash_dir: bool | None = True,
) -> GuestEvidence:
    sections = [SectionStatus(name="kdump", present=True)]
    if crash_dir is not None:
        sections.append(
            SectionStatus(
                name="crash_files",
                present=crash_dir,
                note="" if crash_dir else "no dump directory /var/crash",
            )
        )
    return GuestEvidence(
        os_type="linux",
        schema_version=1,
        collector_version="test",
        sections=sections,
        linux=LinuxGuest(kdump=kdump or KdumpStatus(), crash_files=[] if crash_dir else None),
        findings=list(findings),
    )


def finding(kind: FindingKind, reason: str = "") -> Finding:
    return Finding(
        kind=kind,
        severity="critical",
        summary=f"{kind}: {reason}",
        facts=FindingFacts(panic_reason=reason or None),
    )


READY = KdumpStatus(
    service_name="kdump", service_state="active", crash_kernel_loaded=True, crashkernel="auto"
)


def test_facts_of_kdump_and_the_dump_directory() -> None:
    ready = compute(Held(guest=linux_guest(kdump=READY)))
    assert (ready["kdump_ready"], ready["kdump_not_ready"], ready["dump_dir"]) == (
        True,
        False,
        True,
    )
    assert ready["crash_dump"] is False
    absent = compute(Held(guest=linux_guest(crash_dir=False)))
    assert (absent["kdump_ready"], absent["dump_dir"], absent["no_dump_dir"]) == (
        False,
        False,
        True,
    )
    nothing = compute(Held())
    assert nothing["kdump_ready"] is None and nothing["dump_dir"] is None
    assert nothing["guest_logs_read"] is False and nothing["api_audit_read"] is False


def test_facts_of_the_instance_and_the_api() -> None:
    stop = ApiCall(event_id="e1", event_name="StopInstance", event_time=NOW, caller="ops-bob")
    refused = stop.model_copy(update={"event_id": "e2", "error_code": "Forbidden.RAM"})
    facts = compute(Held(instance=instance("Stopped"), api_calls=[stop]))
    assert (facts["instance_stopped"], facts["api_stop_call"], facts["api_restart_call"]) == (
        True,
        True,
        True,
    )
    facts = compute(Held(api_calls=[refused]))
    assert (facts["instance_running"], facts["api_stop_call"], facts["api_audit_read"]) == (
        True,
        False,
        True,
    )
    assert compute(Held(instance=instance("Starting")))["instance_running"] is None


def test_hung_tasks_are_not_cpu_lockups() -> None:
    facts = compute(Held(guest=linux_guest(findings=[finding("hung_task")])))
    assert (facts["hung_task"], facts["cpu_lockup"]) == (True, False)
    facts = compute(Held(guest=linux_guest(findings=[finding("rcu_stall")])))
    assert (facts["hung_task"], facts["cpu_lockup"]) == (False, True)


# --- through the conclusion: what the report says -----------------------------------------------


def report_advice(held: Held) -> tuple[str, list[str]]:
    conclusion, recs = conclusions.conclude_guest(
        held.instance.os_type,
        held.guest,
        held.dump_triage,
        held.events,
        api_calls=held.api_calls,
        console=held.console,
        status=held.instance.status,
    )
    out = advice.recommend(held, recs, platform_cause=False, dump=None, agent_unavailable=False)
    return conclusion.root_cause.en, [r.text.en for r in out]


def test_a_panic_without_a_dump_while_kdump_is_ready_is_a_failed_capture() -> None:
    panic = finding("kernel_panic", "Fatal exception")
    root, _ = report_advice(Held(guest=linux_guest(kdump=READY, findings=[panic])))
    assert "capture failed" in root and "not configured" not in root
    inactive = KdumpStatus(service_name="kdump", service_state="inactive")
    root, _ = report_advice(Held(guest=linux_guest(kdump=inactive, findings=[panic])))
    assert "kdump is not ready" in root and "capture failed" not in root


def test_hung_tasks_get_the_io_path_not_cpu_starvation() -> None:
    held = Held(guest=linux_guest(findings=[finding("hung_task"), finding("kernel_panic", "hung")]))
    _, recs = report_advice(held)
    assert any("wait for I/O" in r for r in recs)
    assert not any("CPU starvation" in r for r in recs)
    held = Held(guest=linux_guest(findings=[finding("soft_lockup"), finding("kernel_panic", "x")]))
    _, recs = report_advice(held)
    assert any("CPU starvation" in r for r in recs)
    assert not any("wait for I/O" in r for r in recs)


def test_file_system_errors_get_fsck_not_a_driver_update() -> None:
    held = Held(guest=linux_guest(findings=[finding("fs_error"), finding("kernel_panic", "ext4")]))
    _, recs = report_advice(held)
    assert any("check the file system offline" in r for r in recs)
    assert not any("update that driver" in r for r in recs)
    commands = [c for row in advice_table().finding if row.kind == "fs_error" for c in row.commands]
    assert any(c.startswith("e2fsck -f") for c in commands)
    assert any(c.startswith("xfs_repair -n") for c in commands)


def test_a_stopped_instance_is_about_why_it_stopped() -> None:
    stop = ApiCall(event_id="e1", event_name="StopInstance", event_time=NOW, caller="ops-bob")
    root, recs = report_advice(Held(instance=instance("Stopped"), api_calls=[stop]))
    assert root.startswith("The instance is Stopped because it was stopped through the")
    assert "StopInstance by ops-bob" in root
    assert recs[0].startswith("Start the instance first")
    root, recs = report_advice(Held(instance=instance("Stopped"), api_calls=[]))
    assert "why could not be determined" in root and "no successful StopInstance" in root
    assert recs[0].startswith("Start the instance first")
    root, _ = report_advice(Held(instance=instance("Stopped")))
    assert "ActionTrail could not be read" in root
