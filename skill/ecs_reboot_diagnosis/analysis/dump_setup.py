"""Step 6: whether the next crash would leave a dump, and how to make sure it does."""

from __future__ import annotations

from typing import Literal

from ecs_reboot_diagnosis.analysis.report_facts import contradicted
from ecs_reboot_diagnosis.glosses import gloss
from ecs_reboot_diagnosis.models import DumpAdvice, DumpTriage, GuestEvidence, InstanceFacts, Text
from ecs_reboot_diagnosis.tables import OsFamily, dump_setup

_FAMILY_WORDS: tuple[tuple[OsFamily, tuple[str, ...]], ...] = (
    ("debian", ("ubuntu", "debian")),
    ("suse", ("suse", "sles")),
    (
        "rhel",
        (
            "rhel",
            "centos",
            "red hat",
            "alibaba cloud linux",
            "aliyun",
            "alinux",
            "rocky",
            "almalinux",
            "anolis",
            "fedora",
            "oracle",
        ),
    ),
)


def os_family(instance: InstanceFacts, guest: GuestEvidence | None) -> OsFamily:
    """The OS family, from the guest's os-release when collected, else from the API's OSName."""
    if instance.os_type == "windows":
        return "windows"
    release = guest.linux.os_release if guest and guest.linux and guest.linux.os_release else ""
    haystack = f"{release} {instance.os_name}".lower()
    for family, words in _FAMILY_WORDS:
        if any(w in haystack for w in words):
            return family
    return "other_linux"


def _advice(
    family: OsFamily, needed: bool, en: str, zh: str, presumes: tuple[str, ...] = ()
) -> DumpAdvice:
    """``presumes``: the report facts the reason takes for granted (report_facts)."""
    setup = dump_setup().family[family]
    return DumpAdvice(
        needed=needed,
        reason=Text(en=en, zh_CN=zh),
        os_family=family,
        steps=list(setup.steps) if needed else [],
        verify=list(setup.verify),
        presumes=list(presumes),
    )


def _crashed(guest: GuestEvidence, kinds: set[str]) -> bool:
    return any(f.kind in kinds for f in guest.findings)


def advise(
    instance: InstanceFacts, guest: GuestEvidence | None, triage: DumpTriage | None
) -> DumpAdvice:
    family = os_family(instance, guest)
    if guest is None:
        return _advice(
            family,
            False,
            "Not assessed: no guest evidence was collected.",
            "未评估：未采集到实例内部证据。",
        )
    dump_found = bool(triage and triage.dump_found)
    present = {s.name for s in guest.sections if s.present}
    if guest.linux is not None and "kdump" not in present:
        return _advice(
            family,
            False,
            "Not assessed: the collector output has no kdump section.",
            "未评估：采集输出中没有 kdump 部分。",
        )
    if guest.linux is not None:
        k = guest.linux.kdump
        problems_en: list[str] = []
        problems_zh: list[str] = []
        if k.service_state is not None and k.service_state != "active":
            problems_en.append(f"the {k.service_name or 'kdump'} service is {k.service_state}")
            state_zh = gloss("service", k.service_state, "zh-CN")
            problems_zh.append(f"{k.service_name or 'kdump'} 服务状态为{state_zh}")
        if k.service_state is None and k.service_name is None:
            problems_en.append("no kdump service was found")
            problems_zh.append("未找到 kdump 服务")
        if k.crashkernel is None:
            problems_en.append("crashkernel= is absent from the kernel command line")
            problems_zh.append("内核命令行中没有 crashkernel= 参数")
        if k.crash_kernel_loaded is False:
            problems_en.append("no capture kernel is loaded")
            problems_zh.append("未加载捕获内核")
        crashed = _crashed(
            guest,
            {
                "kernel_panic",
                "oom_panic",
                "sysrq_crash",
                "init_killed",
                "vfs_root_mount",
                "soft_lockup",
                "hard_lockup",
                "hung_task",
            },
        )
        if problems_en:
            lead_en = (
                "A kernel crash was found but no dump was captured: "
                if crashed and not dump_found
                else "kdump is not ready: "
            )
            lead_zh = (
                "发现内核崩溃但未捕获转储：" if crashed and not dump_found else "kdump 未就绪："
            )
            return _advice(
                family,
                True,
                lead_en + "; ".join(problems_en) + ".",
                lead_zh + "；".join(problems_zh) + "。",
                ("kdump_not_ready",),
            )
        if crashed and not dump_found:
            return _advice(
                family,
                True,
                "kdump looks configured, yet the crash left no dump: check the dump path's "
                "free space and the kdump service log.",
                "kdump 看起来已配置，但崩溃未留下转储：请检查转储路径的剩余空间和 kdump 服务日志。",
                ("no_crash_dump",),
            )
        return _advice(
            family,
            False,
            "kdump is ready: the next kernel crash will leave a dump.",
            "kdump 已就绪，下次内核崩溃将生成转储文件。",
        )
    if guest.windows is not None:
        w = guest.windows
        crashed = _crashed(guest, {"unexpected_shutdown", "bugcheck"})
        if w.crash_dump_enabled == 0:
            return _advice(
                family,
                True,
                "Memory dumps are disabled (CrashDumpEnabled=0).",
                "内存转储已被禁用（CrashDumpEnabled=0）。",
            )
        if w.pagefile_configured is False:
            return _advice(
                family,
                True,
                "No page file is configured, so Windows cannot write a dump.",
                "未配置页面文件，Windows 无法写入转储。",
                ("no_pagefile",),
            )
        if crashed and not dump_found:
            return _advice(
                family,
                True,
                "Windows stopped unexpectedly but left no dump: check the page file "
                "size and the free space on the system drive.",
                "Windows 意外停止但未留下转储：请检查页面文件大小和系统盘剩余空间。",
                # page-file advice only when something bug-checked (a hang writes no dump)
                ("no_crash_dump", "bugcheck"),
            )
        if w.crash_dump_enabled is None:
            return _advice(
                family,
                False,
                "Not assessed: the dump configuration was not collected.",
                "未评估：未采集到内存转储配置。",
            )
        return _advice(
            family,
            False,
            "Memory dumps are enabled and a page file is configured.",
            "已启用内存转储并配置了页面文件。",
        )
    return _advice(
        family,
        False,
        "Not assessed: the collector output had no OS section.",
        "未评估：采集输出中没有操作系统部分。",
    )


def manual_checks(instance: InstanceFacts) -> list[str]:
    """The manual commands for when the collector cannot run: the first set of the table whose
    presumed facts hold (a Stopped instance must be started first; SSH and RDP need it
    running)."""
    running = {"Running": True, "Stopped": False}.get(instance.status)
    facts = {
        "instance_running": running,
        "instance_stopped": None if running is None else not running,
    }
    table = dump_setup().manual
    keys: tuple[Literal["linux", "windows", "stopped"], ...] = (instance.os_type, "stopped")
    chosen = next(
        (table[k] for k in keys if not contradicted(table[k].presumes, facts)),
        table[instance.os_type],
    )
    if contradicted(chosen.presumes, facts):
        return []
    values = {
        "{address}": instance.public_ip or instance.private_ip or "<instance address>",
        "{region}": instance.region_id,
        "{instance}": instance.instance_id,
    }
    out = []
    for command in chosen.commands:
        for key, value in values.items():
            command = command.replace(key, value)
        out.append(command)
    return out
