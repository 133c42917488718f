"""The bundled simulator scenarios and what a diagnosis of each must conclude.

One entry per bundled scenario of ``server/ecs_api_simulator/scenarios/`` that reproduces a
reboot or crash case from the guest's evidence (s01..s17, the boot-episode scenarios s27..s34 and
the two original examples); the scenarios of evidence from outside the guest (s18..s26) have
their own table in ``tests/e2e/outside/``. Both
end-to-end paths, the CLI and the MCP tools, are held to the same entry: exit code, conclusion
rule and verdict, the branch of the workflow, and the key facts the report must show.

The JSON report must name the newest crash dump (``dump_file``, where ``KDUMP`` stands for the
kdump directory stamp of a time relative to the run, ``2026-12-02-08:06:35``; none when empty)
and hold the
kernel settings in ``sysctls``. Facts are substrings of the rendered Markdown: ``facts`` hold in
both languages (evidence lines, paths, codes: they appear verbatim inside code spans);
``facts_en`` / ``facts_zh`` hold a label and its value, which differ by language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

REGION = "cn-hangzhou"
UNKNOWN_INSTANCE = "i-bp1seed00doesnotexist"

Branch = Literal["platform_cause", "agent_down", "full", "forbidden"]

# The tools an agent calls, following next_step from ecs_start_diagnosis, on each branch.
TOOLS: dict[Branch, tuple[str, ...]] = {
    "platform_cause": (
        "ecs_start_diagnosis",
        "ecs_check_platform_events",
        "ecs_render_report",
    ),
    "agent_down": (
        "ecs_start_diagnosis",
        "ecs_check_platform_events",
        "ecs_check_cloud_assistant",
        "ecs_collect_agentless_evidence",
        "ecs_render_report",
    ),
    "full": (
        "ecs_start_diagnosis",
        "ecs_check_platform_events",
        "ecs_check_cloud_assistant",
        "ecs_run_guest_diagnostics",
        "ecs_get_guest_results",
        "ecs_triage_crash_dumps",
        "ecs_recommend_dump_setup",
        "ecs_render_report",
    ),
    "forbidden": ("ecs_start_diagnosis", "ecs_check_platform_events"),
}


@dataclass(frozen=True)
class Case:
    key: str
    directory: str
    instance_id: str
    os: Literal["linux", "windows"]
    branch: Branch
    rule_id: str
    verdict: str
    facts: tuple[str, ...] = ()
    facts_en: tuple[str, ...] = ()
    facts_zh: tuple[str, ...] = ()
    dump_file: str = ""
    sysctls: tuple[tuple[str, str], ...] = ()
    exit_code: int = 0
    stderr: str = ""

    def dump_file_matches(self, path: str) -> bool:
        """``path`` is the expected dump, ``KDUMP`` matching any kdump directory stamp."""
        stamp = r"\d{4}-\d\d-\d\d-\d\d:\d\d:\d\d"
        return re.fullmatch(re.escape(self.dump_file).replace("KDUMP", stamp), path) is not None

    @property
    def id(self) -> str:
        return f"{self.key}-{self.directory}"


CASES: tuple[Case, ...] = (
    Case(
        key="s01",
        directory="s01-maintenance-reboot",
        instance_id="i-bp1seed01maintreboot",
        os="linux",
        branch="platform_cause",
        rule_id="event.SystemMaintenance.Reboot",
        verdict="platform",
        facts=("`SystemMaintenance.Reboot`", "SystemMaintenance.Reboot Executed"),
        facts_en=("This event explains the reboot.", "Platform-initiated maintenance."),
        facts_zh=("该事件可以解释本次重启。", "平台发起的维护。"),
    ),
    Case(
        key="s02",
        directory="s02-kernel-panic-vmcore",
        instance_id="i-bp1seed02panicvmcore",
        os="linux",
        branch="full",
        rule_id="linux.kernel_panic_with_dump",
        verdict="guest_crash",
        facts=(
            "Kernel panic - not syncing: Fatal exception in interrupt",
            "RIP: 0010:nvme_queue_rq+0x1a2/0x4d0 [nvme]",
            "Modules linked in: nvme nvme_core",
            "`/var/crash/127.0.0.1-20",
            "blk_mq_dispatch_rq_list\n",
            "nvme_irq [nvme]\n",
        ),
        facts_en=("Service Status: active", "Found crash dumps: Yes", "Dump type: vmcore"),
        facts_zh=("服务状态：运行中（active）", "是否发现崩溃转储：是", "转储类型：vmcore"),
        dump_file="/var/crash/127.0.0.1-KDUMP/vmcore",
    ),
    Case(
        key="s03",
        directory="s03-kernel-panic-no-vmcore",
        instance_id="i-bp1seed03panicnodump",
        os="linux",
        branch="full",
        rule_id="linux.kernel_panic_no_dump",
        verdict="guest_crash",
        facts=(
            "`guest:journalctl -k -b -1`",
            "Kernel panic - not syncing: Fatal exception",
            "RIP: 0010:virtnet_send_command+0x6f/0x160 [virtio_net]",
            "BUG: kernel NULL pointer dereference",
            "`/etc/default/kdump-tools`",
            "sed -i 's/^USE_KDUMP=.*/USE_KDUMP=1/' /etc/default/kdump-tools",
        ),
        facts_en=(
            "Ubuntu 22.04.4 LTS",
            "Service Status: inactive",
            "Service Type: kdump-tools",
            "Found crash dumps: No",
        ),
        facts_zh=("服务状态：未运行（inactive）", "服务类型：kdump-tools", "是否发现崩溃转储：否"),
    ),
    Case(
        key="s04",
        directory="s04-oom-panic",
        instance_id="i-bp1seed04oompanic",
        os="linux",
        branch="full",
        rule_id="linux.oom_panic",
        verdict="guest_crash",
        facts=(
            "Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled",
            "java invoked oom-killer",
            "`/data/crash/127.0.0.1-20",
            "sysctl -w vm.panic_on_oom=0",
        ),
        facts_en=("vm.panic_on_oom: 1", "Crash Dump Path: `/data/crash`"),
        facts_zh=("vm.panic_on_oom：1", "崩溃转储路径：`/data/crash`"),
        dump_file="/data/crash/127.0.0.1-KDUMP/vmcore",
        sysctls=(("vm.panic_on_oom", "1"),),
    ),
    Case(
        key="s05",
        directory="s05-oom-killer-only",
        instance_id="i-bp1seed05oomkiller",
        os="linux",
        branch="full",
        rule_id="linux.oom_killer",
        verdict="guest_crash",
        facts=(
            "Killed process 4321 (mysqld)",
            "`guest:dmesg`",
        ),
        facts_en=(
            "vm.panic_on_oom: 0",
            "OOM kills a process only; the system keeps running",
            "mysqld pid 4321",
        ),
        facts_zh=("vm.panic_on_oom：0", "OOM 只终止进程，系统继续运行", "`mysqld`（pid 4321）"),
        sysctls=(("vm.panic_on_oom", "0"),),
    ),
    Case(
        key="s06",
        directory="s06-bsod-memory-dump",
        instance_id="i-bp1seed06bsodmemdmp",
        os="windows",
        branch="full",
        rule_id="windows.bsod_memory_dump",
        verdict="guest_crash",
        facts=(
            r"`C:\Windows\MEMORY.DMP`",
            "`0x000000D1`",
            "`DRIVER_IRQL_NOT_LESS_OR_EQUAL`",
            "id=41 provider=Microsoft-Windows-Kernel-Power",
            "!analyze -v",
        ),
        facts_en=("CrashDumpEnabled: 7", "Automatic memory dump", "File size: 4.2 GiB"),
        facts_zh=("CrashDumpEnabled：7", "自动内存转储", "文件大小：4.2 GiB"),
        dump_file=r"C:\Windows\MEMORY.DMP",
    ),
    Case(
        key="s07",
        directory="s07-bsod-dumps-disabled",
        instance_id="i-bp1seed07bsodnodump",
        os="windows",
        branch="full",
        rule_id="windows.bsod_dump_disabled",
        verdict="guest_crash",
        facts=(
            "`0x0000007E`",
            "p2=BlueScreen",
            "id=6008 provider=EventLog",
            "-Name CrashDumpEnabled -Value 7",
        ),
        facts_en=(
            "CrashDumpEnabled: 0",
            "None (memory dumps disabled)",
            "Memory dump file: Not found",
        ),
        facts_zh=("CrashDumpEnabled：0", "无（已禁用内存转储）", "内存转储文件：未找到"),
    ),
    Case(
        key="s08",
        directory="s08-bsod-no-pagefile",
        instance_id="i-bp1seed08nopagefile",
        os="windows",
        branch="full",
        rule_id="windows.bsod_no_pagefile",
        verdict="guest_crash",
        facts=("id=41 provider=Microsoft-Windows-Kernel-Power", "id=6008 provider=EventLog"),
        facts_en=("CrashDumpEnabled: 7", "Pagefile: Not configured", "No BSOD events found."),
        facts_zh=("CrashDumpEnabled：7", "页面文件：未配置", "未发现蓝屏事件。"),
    ),
    Case(
        key="s09",
        directory="s09-minidump-only",
        instance_id="i-bp1seed09minidump",
        os="windows",
        branch="full",
        rule_id="windows.bsod_minidump",
        verdict="guest_crash",
        facts=(
            "`032025-12345-01.dmp`",
            r"C:\Windows\Minidump\032025-12345-01.dmp",
            "`0x0000007E`",
            "`SYSTEM_THREAD_EXCEPTION_NOT_HANDLED`",
        ),
        facts_en=("CrashDumpEnabled: 3", "Small memory dump (minidump)", "Count: 2"),
        facts_zh=("CrashDumpEnabled：3", "小内存转储（minidump）", "数量：2"),
        dump_file=r"C:\Windows\Minidump\032025-12345-01.dmp",
    ),
    Case(
        key="s10",
        directory="s10-app-crashes-only",
        instance_id="i-bp1seed10appcrash",
        os="windows",
        branch="full",
        rule_id="windows.app_crash_only",
        verdict="no_abnormal_records",
        facts=("p0=java.exe", "p0=w3wp.exe", "p2=APPCRASH", "`guest:Application event log`"),
        facts_en=("java.exe x3, w3wp.exe x1", "No unexpected shutdown events found."),
        facts_zh=("未发现意外关机事件。", "未发现蓝屏事件。"),
    ),
    Case(
        key="s11",
        directory="s11-cloud-assistant-down",
        instance_id="i-bp1seed11agentdown",
        os="linux",
        branch="agent_down",
        rule_id="linux.unknown",
        verdict="unknown",
        facts=(
            "```bash\nssh root@",
            "journalctl -k -b -1 -p warning",
            "ls -lht /var/crash/",
            "https://help.aliyun.com/document",
        ),
        facts_en=(
            "Cloud Assistant Running: No",
            "Not collected: Cloud Assistant not available",
            "Run these commands on the instance yourself (SSH)",
        ),
        facts_zh=(
            "云助手是否运行：否",
            "未采集（云助手不可用）",
            "请登录实例（SSH）手动执行以下命令",
        ),
    ),
    Case(
        key="s12",
        directory="s12-system-failure-reboot",
        instance_id="i-bp1seed12hostfailure",
        os="windows",
        branch="platform_cause",
        rule_id="event.SystemFailure.Reboot",
        verdict="platform",
        facts=("`SystemFailure.Reboot`", "SystemFailure.Reboot Executed"),
        facts_en=("Platform infrastructure failure.", "Consider redeploying the instance"),
        facts_zh=("平台基础设施故障。", "可考虑将实例重新部署到其他物理机"),
    ),
    Case(
        key="s13",
        directory="s13-expired-stop",
        instance_id="i-bp1seed13expired",
        os="linux",
        branch="platform_cause",
        rule_id="event.InstanceExpiration.Stop",
        verdict="billing",
        facts=("`InstanceExpiration.Stop`", "InstanceExpiration.Stop Executed"),
        facts_en=("Current Status: Stopped", "Renew the instance"),
        facts_zh=("当前状态：已停止（Stopped）", "为实例续费"),
    ),
    Case(
        key="s14",
        directory="linux-no-events",
        instance_id="i-bp1sim0linux0000001",
        os="linux",
        branch="full",
        rule_id="linux.clean_reboot",
        verdict="guest_initiated",
        facts=(
            "COMMAND=/usr/sbin/reboot",
            "systemd-logind[812]: System is rebooting.",
            "`guest:journalctl -b -1`",
        ),
        facts_en=("No platform event in the window", "Found crash dumps: No"),
        facts_zh=("时间窗口内没有系统事件", "是否发现崩溃转储：否"),
    ),
    Case(
        key="s15",
        directory="s15-softlockup-panic",
        instance_id="i-bp1seed15softlockup",
        os="linux",
        branch="full",
        rule_id="linux.lockup_panic",
        verdict="guest_crash",
        facts=(
            "watchdog: BUG: soft lockup - CPU#2 stuck for 22s! [java:31337]",
            "Kernel panic - not syncing: softlockup: hung tasks",
            "RIP: 0010:native_queued_spin_lock_slowpath+0x1e4/0x200",
            "systemctl enable kdump",
        ),
        facts_en=(
            "Service Status: failed",
            "no capture kernel is loaded",
            # no dump: the call trace the log recorded, under the finding
            "call trace in the log (innermost first): `_raw_spin_lock` < "
            "`ext4_es_lookup_extent [ext4]` < `ext4_map_blocks [ext4]`",
        ),
        facts_zh=(
            "服务状态：失败（failed）",
            "日志中的调用栈（最内层在前）：`_raw_spin_lock` < `ext4_es_lookup_extent [ext4]`",
        ),
        sysctls=(("kernel.softlockup_panic", "1"), ("vm.panic_on_oom", "0")),
    ),
    Case(
        key="s16",
        directory="s16-instance-failure-panic",
        instance_id="i-bp1seed16instfailpanic",
        os="linux",
        branch="full",
        rule_id="linux.kernel_panic_no_dump",
        verdict="guest_crash",
        facts=(
            "`InstanceFailure.Reboot`",
            "general protection fault, probably for non-canonical address",
            "RIP: 0010:__list_del_entry_valid+0x25/0x60",
            "Kernel panic - not syncing: Fatal exception",
        ),
        facts_en=(
            "The platform reported `InstanceFailure.Reboot` (an instance-level failure)",
            "Found crash dumps: No",
        ),
        facts_zh=(
            "平台报告了实例内部故障：因实例错误实例重启（`InstanceFailure.Reboot`）",
            "是否发现崩溃转储：否",
        ),
    ),
    Case(
        key="s17",
        directory="s17-ram-denied-events",
        instance_id="i-bp1seed17ramdenied",
        os="linux",
        branch="forbidden",
        rule_id="",
        verdict="",
        exit_code=3,
        stderr="ecs:DescribeInstanceHistoryEvents",
    ),
    # --- boot episodes and trust of sources (issue 10): which reboot, whose lines ---------------
    Case(
        key="s27",
        directory="s27-panic-then-clean-reboot",
        instance_id="i-bp1ep27panicreboot",
        os="linux",
        branch="full",
        rule_id="linux.clean_reboot",
        verdict="guest_initiated",
        facts=(
            "`guest:/var/log/messages`",
            "sudo[41873]: admin : TTY=pts/0 ; PWD=/home/admin ; USER=root ; COMMAND=/sbin/reboot`",
            "`guest:journalctl -k -b -1`",
            "kernel: reboot: Restarting system`",
        ),
        facts_en=(
            "Reboot explained: the boot that started at ",
            "- Earlier reboots in the window\n",
            "A NULL pointer dereference in fuse\\_request\\_end \\[fuse\\] panicked the kernel "
            "(Fatal exception), but no crash dump was captured",
        ),
        facts_zh=(
            "所诊断的重启：",
            "- 时间窗口内更早的重启\n",
            "位于 fuse\\_request\\_end \\[fuse\\] 的空指针解引用"
            "导致内核 panic（`Fatal exception`），但未捕获崩溃转储",
        ),
        sysctls=(("kernel.panic_on_oops", "1"),),
    ),
    Case(
        key="s28",
        directory="s28-oom-then-planned-reboot",
        instance_id="i-bp1ep28oomreboot",
        os="linux",
        branch="full",
        rule_id="linux.clean_reboot",
        verdict="guest_initiated",
        facts=(
            "COMMAND=/usr/bin/systemctl reboot`",
            "kernel: Out of memory: Killed process 24877 (java)",
        ),
        facts_en=(
            "OOM killer (warning, high confidence): The OOM killer killed 3 process(es)",
            "Reboot explained: the boot that started at ",
            "No earlier reboot in the window",
        ),
        facts_zh=("所诊断的重启：", "时间窗口内没有更早的重启"),
        sysctls=(("vm.panic_on_oom", "0"),),
    ),
    Case(
        key="s29",
        directory="s29-old-dump-clean-reboot",
        instance_id="i-bp1ep29olddump",
        os="linux",
        branch="full",
        rule_id="linux.clean_reboot",
        verdict="guest_initiated",
        facts=("COMMAND=/sbin/shutdown -r now`", "/var/crash/127.0.0.1-20"),
        facts_en=(
            "belongs to an earlier reboot",
            "- Earlier reboots in the window\n",
            "A kernel oops in virtqueue\\_get\\_buf\\_ctx \\[virtio\\_ring\\] panicked the kernel "
            "(Fatal exception in interrupt; RIP virtqueue\\_get\\_buf\\_ctx) and kdump saved a "
            "crash dump",
        ),
        facts_zh=(
            "- 时间窗口内更早的重启\n",
            "位于 virtqueue\\_get\\_buf\\_ctx \\[virtio\\_ring\\] 的内核 oops 导致内核 panic"
            "（`Fatal exception in interrupt`；`RIP virtqueue_get_buf_ctx`），"
            "kdump 已保存崩溃转储",
        ),
    ),
    Case(
        key="s30",
        directory="s30-log-host",
        instance_id="i-bp1ep30loghost",
        os="linux",
        branch="full",
        rule_id="linux.clean_reboot",
        verdict="guest_initiated",
        facts=("log-central-01 sudo[7781]: admin : TTY=pts/0",),
        facts_en=("Reboot explained: the boot that started at ", "No earlier reboot in the window"),
        facts_zh=("所诊断的重启：", "时间窗口内没有更早的重启"),
    ),
    Case(
        key="s31",
        directory="s31-logger-forged-panic",
        instance_id="i-bp1ep31loggerforge",
        os="linux",
        branch="full",
        rule_id="linux.clean_reboot",
        verdict="guest_initiated",
        facts=(
            "kernel: Kernel panic - not syncing: Fatal exception`",
            "COMMAND=/sbin/reboot`",
        ),
        facts_en=(
            "(unconfirmed: text any user can write)",
            "Unconfirmed evidence (kernel\\_panic) was reported but not counted",
            "low (rule `linux.clean_reboot`)",
        ),
        facts_zh=("（未经证实：任何用户都可写入的文本）", "低（规则 `linux.clean_reboot`）"),
    ),
    Case(
        key="s32",
        directory="s32-refused-sudo-reboot",
        instance_id="i-bp1ep32sudorefused",
        os="linux",
        branch="full",
        rule_id="linux.instance_hang",
        verdict="guest_crash",
        facts=("`InstanceFailure.Reboot`", "InstanceFailure.Reboot Executed"),
        facts_en=("the instance most likely hung at kernel level",),
        facts_zh=("实例很可能在内核层面挂起",),
    ),
    Case(
        key="s33",
        directory="s33-planted-crash-files",
        instance_id="i-bp1ep33plantedcrash",
        os="linux",
        branch="full",
        rule_id="linux.clean_reboot",
        verdict="guest_initiated",
        facts=("COMMAND=/sbin/reboot`",),
        facts_en=(
            "its modification time is in the future",
            "it is owned by uid 1000, not root",
            "its directory is owned by uid 1000, not root",
            "cannot be trusted",
        ),
        facts_zh=("其修改时间在未来", "其属主为 uid 1000，不是 root", "不可信"),
    ),
    Case(
        key="s34",
        directory="s34-no-reboot-in-window",
        instance_id="i-bp1ep34noreboot",
        os="linux",
        branch="full",
        rule_id="linux.no_reboot_in_window",
        verdict="no_reboot",
        facts_en=(
            "The instance has not rebooted in the last 7 days: it has been running since ",
            "No reboot in the last 7 days: the instance has been running since ",
            "run the diagnosis again with that time as reboot\\_time (diagnose --reboot-time)",
        ),
        facts_zh=("实例在最近 7 天内没有重启：它自 ", "最近 7 天内没有重启：实例自 "),
    ),
    Case(
        key="windows-basic",
        directory="windows-basic",
        instance_id="i-bp1sim0windows000001",
        os="windows",
        branch="platform_cause",
        rule_id="event.SystemMaintenance.Reboot",
        verdict="platform",
        facts=("`SystemMaintenance.Reboot`",),
        facts_en=("Platform-initiated maintenance.",),
        facts_zh=("平台发起的维护。",),
    ),
)

REPORTED = tuple(c for c in CASES if c.exit_code == 0)
BY_KEY = {c.key: c for c in CASES}

# The ##/### headings every report has, in this order (templates/<os>.md.j2, strings.toml).
# Reports may hold more sections between them (evidence from outside the guest, a timeline).
HEADINGS: dict[tuple[str, str], tuple[str, ...]] = {
    ("linux", "en"): (
        "## Diagnostic Progress",
        "### Step 1: Confirm Instance Information",
        "### Step 2: Check Maintenance Events",
        "### Step 3A: Linux System Diagnosis (if needed)",
        "### Step 4A: vmcore-dmesg.txt Analysis (if vmcore found)",
        "### Step 5: Kdump Configuration Recommendation (if no vmcore and kdump not configured)",
        "## Diagnostic Conclusion",
        "## Recommendations",
    ),
    ("windows", "en"): (
        "## Diagnostic Progress",
        "### Step 1: Confirm Instance Information",
        "### Step 2: Check Maintenance Events",
        "### Step 3B: Windows System Diagnosis (if needed)",
        "## Diagnostic Conclusion",
        "## Recommendations",
    ),
    ("linux", "zh-CN"): (
        "## 诊断过程",
        "### 步骤 1：确认实例信息",
        "### 步骤 2：检查运维事件",
        "### 步骤 3A：Linux 系统诊断（如需要）",
        "### 步骤 4A：vmcore-dmesg.txt 分析（如发现 vmcore）",
        "### 步骤 5：Kdump 配置建议（如无 vmcore 且 Kdump 未配置）",
        "## 诊断结论",
        "## 建议",
    ),
    ("windows", "zh-CN"): (
        "## 诊断过程",
        "### 步骤 1：确认实例信息",
        "### 步骤 2：检查运维事件",
        "### 步骤 3B：Windows 系统诊断（如需要）",
        "## 诊断结论",
        "## 建议",
    ),
}


def headings(markdown: str) -> tuple[str, ...]:
    """The ``##`` and ``###`` heading lines of a report, outside code blocks, in order."""
    found: list[str] = []
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith(("## ", "### ")):
            found.append(line)
    return tuple(found)


def headings_in_order(markdown: str, os: str, lang: str) -> bool:
    """The report has the required headings of its OS and language, in their order."""
    found = iter(headings(markdown))
    return all(required in found for required in HEADINGS[(os, lang)])


def missing_facts(case: Case, lang: str, markdown: str) -> list[str]:
    """The key facts of ``case`` that the report in ``lang`` does not show."""
    wanted = case.facts + (case.facts_en if lang == "en" else case.facts_zh)
    return [fact for fact in wanted if fact not in markdown]


def rule_marker(case: Case, lang: str) -> str:
    """How the conclusion names its rule: ``rule `x` `` / ``规则 `x` ``."""
    return f"rule `{case.rule_id}`" if lang == "en" else f"规则 `{case.rule_id}`"
