"""The report's recommendations: the rule's own advice, the advice by finding kind, the dump
set-up and the agent-down advice, in that order, with "start the instance first" ahead of all of
them when the instance is Stopped. Every piece declares the report facts it presumes
(``report_facts``); a piece whose presumption the report's own facts make false is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ecs_reboot_diagnosis.analysis.report_facts import (
    Facts,
    FactSource,
    compute,
    contradicted,
)
from ecs_reboot_diagnosis.models import (
    DumpAdvice,
    FindingKind,
    InstanceFacts,
    Recommendation,
    Text,
)
from ecs_reboot_diagnosis.tables import RecommendationRow, advice


def _fill(row: RecommendationRow, values: dict[str, Text]) -> Recommendation:
    en, zh = row.en, row.zh_CN
    commands = list(row.commands)
    for key, value in values.items():
        en = en.replace("{" + key + "}", value.en)
        zh = zh.replace("{" + key + "}", value.zh_CN)
        commands = [c.replace("{" + key + "}", value.en) for c in commands]
    text = Text(en=en, zh_CN=zh)
    return Recommendation(text=text, commands=commands, presumes=list(row.presumes))


def verdict_kinds(source: FactSource) -> list[FindingKind]:
    """The kinds of the trusted findings the verdict was drawn from (guest and console)."""
    guest, console = source.guest, source.console
    findings = [*(guest.findings if guest else ()), *(console.findings if console else ())]
    return list(dict.fromkeys(f.kind for f in findings if f.trusted))


def by_finding(kinds: Iterable[FindingKind]) -> list[Recommendation]:
    present = set(kinds)
    return [_fill(row, {}) for row in advice().finding if row.kind in present]


def dump_setup_advice(os_type: str, dump: DumpAdvice | None) -> list[Recommendation]:
    if dump is None or not dump.needed:
        return []
    general = advice().general
    row = general.dump_setup_linux if os_type == "linux" else general.dump_setup_windows
    rec = _fill(row, {"reason": dump.reason})
    presumes = list(dict.fromkeys([*rec.presumes, *dump.presumes]))
    return [rec.model_copy(update={"presumes": presumes})]


def keep(recommendations: Iterable[Recommendation], facts: Facts) -> list[Recommendation]:
    """The recommendations no fact contradicts, each once."""
    out: list[Recommendation] = []
    for rec in recommendations:
        if contradicted(rec.presumes, facts) or any(r.text == rec.text for r in out):
            continue
        out.append(rec)
    return out


def recommend(
    source: FactSource,
    rule_advice: Sequence[Recommendation],
    *,
    platform_cause: bool,
    dump: DumpAdvice | None,
    agent_unavailable: bool,
) -> list[Recommendation]:
    """Every recommendation of the report, filtered by the report's own facts."""
    return assemble(
        compute(source),
        source.instance,
        rule_advice,
        verdict_kinds(source),
        platform_cause=platform_cause,
        dump=dump,
        agent_unavailable=agent_unavailable,
    )


def assemble(
    facts: Facts,
    instance: InstanceFacts,
    rule_advice: Sequence[Recommendation],
    kinds: Iterable[FindingKind],
    *,
    platform_cause: bool,
    dump: DumpAdvice | None,
    agent_unavailable: bool,
) -> list[Recommendation]:
    """The recommendations in report order, without those the facts contradict."""
    general = advice().general
    ids = {"region": Text(en=instance.region_id, zh_CN=instance.region_id),
           "instance": Text(en=instance.instance_id, zh_CN=instance.instance_id)}  # fmt: skip
    recs: list[Recommendation] = []
    if facts.get("instance_stopped") and not platform_cause:
        recs.append(_fill(general.start_instance_first, ids))
    recs.extend(rule_advice)
    if not platform_cause:
        recs.extend(by_finding(kinds))
        recs.extend(dump_setup_advice(instance.os_type, dump))
        if agent_unavailable:
            recs.append(_fill(general.restart_cloud_assistant, {}))
    return keep(recs, facts)
