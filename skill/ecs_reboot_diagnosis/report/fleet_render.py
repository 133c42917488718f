"""A fleet scan as Markdown, a plain-text table or JSON: the groups by cause first, then the
instances, each with the command of a full diagnosis.

Guest- and API-derived strings (instance names, function names, callers, frames) go through the
Markdown escapers, or are cut to one printable line in the table.
"""

from __future__ import annotations

import json
from typing import Final

from ecs_reboot_diagnosis.fleet_models import CauseGroup, FleetScan, diagnose_command
from ecs_reboot_diagnosis.models import Lang, Text
from ecs_reboot_diagnosis.report.markdown import code, inline, one_line, rich
from ecs_reboot_diagnosis.text_safety import strip_controls_deep

__all__ = ["group_line", "render_fleet_json", "render_fleet_markdown", "render_fleet_table"]

_S: Final[dict[str, Text]] = {
    "title": Text(en="Fleet scan", zh_CN="实例群扫描"),
    "window": Text(en="Window", zh_CN="时间窗口"),
    "regions": Text(en="Regions", zh_CN="地域"),
    "incomplete": Text(
        en="The scan did not finish: these are the instances concluded so far. Resume it with "
        "`ecs-reboot-diagnosis scan --resume {scan_id}`.",
        zh_CN="扫描尚未完成：以下为目前已得出结论的实例。可用 "
        "`ecs-reboot-diagnosis scan --resume {scan_id}` 继续。",
    ),
    "summary": Text(
        en="{instances} instance(s): {rebooted} rebooted, {stopped} stopped, {unknown} unknown, "
        "{no_reboot} without a reboot in the window.",
        zh_CN="共 {instances} 个实例：{rebooted} 个重启，{stopped} 个已停止，{unknown} 个原因未知，"
        "{no_reboot} 个在时间窗口内没有重启。",
    ),
    "guest_on": Text(
        en="Guest commands: allowed (the read-only collector ran where the events did not "
        "explain the reboot and Cloud Assistant was usable).",
        zh_CN="实例内命令：允许（在平台事件无法解释且云助手可用的实例上运行了只读采集脚本）。",
    ),
    "guest_off": Text(
        en="Guest commands: disabled (cloud-side evidence only).",
        zh_CN="实例内命令：已禁用（仅使用云端证据）。",
    ),
    "causes": Text(en="Causes", zh_CN="原因"),
    "instances": Text(en="Instances", zh_CN="实例"),
    "group": Text(en="{count} instance(s)", zh_CN="{count} 个实例"),
    "same_stack": Text(en="same stack", zh_CN="调用栈相同"),
    "full": Text(
        en="Full diagnosis of one instance: `{command}` (CLI) or ecs_start_diagnosis "
        "(MCP) with its instance id and region.",
        zh_CN="对单个实例做完整诊断：`{command}`（命令行）或 ecs_start_diagnosis（MCP），"
        "传入其实例 ID 和地域。",
    ),
    "more": Text(
        en="{hidden} more instance(s) are in the JSON output (--format json).",
        zh_CN="另有 {hidden} 个实例见 JSON 输出（--format json）。",
    ),
    "notes": Text(en="Notes", zh_CN="说明"),
    "happened.rebooted": Text(en="rebooted", zh_CN="重启"),
    "happened.stopped": Text(en="stopped", zh_CN="已停止"),
    "happened.unknown": Text(en="unknown", zh_CN="未知"),
    "happened.no_reboot": Text(en="no reboot", zh_CN="未重启"),
    "col.instance": Text(en="instance", zh_CN="实例"),
    "col.region": Text(en="region", zh_CN="地域"),
    "col.name": Text(en="name", zh_CN="名称"),
    "col.happened": Text(en="happened", zh_CN="发生了什么"),
    "col.cause": Text(en="cause", zh_CN="原因"),
    "col.diagnose": Text(en="full diagnosis", zh_CN="完整诊断"),
}


def _t(key: str, lang: Lang, **fills: object) -> str:
    text = _S[key].get(lang)
    return text.format(**fills) if fills else text


def _happened(value: str, lang: Lang) -> str:
    return _t(f"happened.{value}", lang)


def group_line(group: CauseGroup, lang: Lang) -> str:
    """ "12 instance(s): A soft lockup in nvme_poll [nvme] panicked the kernel, same stack" as
    plain text (escape it for Markdown)."""
    line = f"{_t('group', lang, count=group.count)}: {group.label.get(lang)}"
    if group.frames and group.count > 1:
        line += f", {_t('same_stack', lang)}"
    return line


def _labels(scan: FleetScan) -> dict[str, CauseGroup]:
    return {g.signature: g for g in scan.groups}


def render_fleet_markdown(scan: FleetScan, lang: Lang, *, instance_limit: int = 200) -> str:
    counts = scan.counts()
    lines = [f"# {_t('title', lang)} {scan.scan_id}", ""]
    regions = ", ".join(scan.request.region_ids)
    window = f"{scan.window_start:%Y-%m-%d %H:%M} – {scan.window_end:%Y-%m-%d %H:%M} UTC"
    lines += [
        f"{_t('regions', lang)}: {inline(regions)} · {_t('window', lang)}: {window}",
        "",
        _t("summary", lang, **counts),
        "",
        _t("guest_on" if scan.request.guest_commands else "guest_off", lang),
        "",
    ]
    if not scan.complete:
        lines += [rich(_t("incomplete", lang, scan_id=scan.scan_id)), ""]
    lines += [f"## {_t('causes', lang)}", ""]
    for index, group in enumerate(scan.groups, 1):
        happened = _happened(group.happened, lang)
        lines.append(
            f"{index}. **{inline(group_line(group, lang))}** ({happened}; {group.rule_id})"
        )
        if group.frames:
            lines.append(f"   - {' < '.join(code(f) for f in group.frames)}")
    lines += ["", f"## {_t('instances', lang)}", ""]
    header = [_t(f"col.{c}", lang) for c in ("instance", "region", "name", "happened", "cause",
                                             "diagnose")]  # fmt: skip
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    groups = _labels(scan)
    for instance in scan.instances[:instance_limit]:
        found = groups.get(instance.signature)
        cause = found.label.get(lang) if found else instance.root_cause.get(lang)
        lines.append(
            "| "
            + " | ".join(
                [
                    code(instance.instance_id),
                    inline(instance.region_id),
                    inline(instance.instance_name, 60) if instance.instance_name else "",
                    _happened(instance.happened, lang),
                    inline(cause, 160),
                    code(diagnose_command(instance.instance_id, instance.region_id)),
                ]
            ).replace("\n", " ")
            + " |"
        )
    hidden = len(scan.instances) - instance_limit
    if hidden > 0:
        lines += ["", _t("more", lang, hidden=hidden)]
    lines += ["", rich(_t("full", lang, command="ecs-reboot-diagnosis diagnose --instance-id "
                                                "ID --region REGION"))]  # fmt: skip
    if scan.notes:
        lines += ["", f"## {_t('notes', lang)}", ""]
        lines += [f"- {inline(n.get(lang))}" for n in scan.notes]
    return "\n".join(lines) + "\n"


def _cell(text: str, width: int) -> str:
    text = one_line(text, width)
    return text.ljust(width)


def render_fleet_table(scan: FleetScan, lang: Lang) -> str:
    """Plain text for a terminal: the groups, then one row per instance."""
    counts = scan.counts()
    out = [
        f"{_t('title', lang)} {scan.scan_id}  {', '.join(scan.request.region_ids)}  "
        f"{scan.window_start:%Y-%m-%d %H:%M} – {scan.window_end:%Y-%m-%d %H:%M} UTC",
        _t("summary", lang, **counts),
    ]
    if not scan.complete:
        out.append(_t("incomplete", lang, scan_id=scan.scan_id).replace("`", ""))
    out += ["", _t("causes", lang) + ":"]
    for group in scan.groups:
        out.append(f"  {one_line(group_line(group, lang), 200)}  [{group.rule_id}]")
        if group.frames:
            out.append(f"      {one_line(' < '.join(group.frames), 200)}")
    out += ["", _t("instances", lang) + ":"]
    groups = _labels(scan)
    for instance in scan.instances:
        found = groups.get(instance.signature)
        cause = found.label.get(lang) if found else instance.root_cause.get(lang)
        out.append(
            "  "
            + "  ".join(
                [
                    _cell(instance.instance_id, 26),
                    _cell(instance.region_id, 14),
                    _cell(_happened(instance.happened, lang), 10),
                    one_line(cause, 90),
                ]
            ).rstrip()
        )
    out += ["", _t("full", lang, command="ecs-reboot-diagnosis diagnose --instance-id ID "
                                         "--region REGION").replace("`", "")]  # fmt: skip
    out += [f"! {one_line(n.get(lang), 300)}" for n in scan.notes]
    return "\n".join(out) + "\n"


def render_fleet_json(scan: FleetScan) -> str:
    """The whole scan (every instance), with each instance's full-diagnosis command."""
    data = scan.model_dump(mode="json", by_alias=True)
    data["counts"] = scan.counts()
    for item, instance in zip(data["instances"], scan.instances, strict=True):
        item["diagnose"] = diagnose_command(instance.instance_id, instance.region_id)
    return json.dumps(strip_controls_deep(data), ensure_ascii=False, indent=2) + "\n"
