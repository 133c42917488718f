"""Chinese names for the identifiers the cloud API and the guest report: statuses, event types.

A Chinese report keeps each identifier as the API spells it and puts the Chinese name first:
``运行中（Running）``, ``因系统维护实例重启（SystemMaintenance.Reboot）``. The names follow
Alibaba Cloud's own Chinese documentation (ECS instance states, Cloud Assistant invocation
states, system event types and states); ``references/glossary-zh.md`` lists the terms of the
product's sentences. An identifier without a name here is shown alone, as it is.
"""

from __future__ import annotations

from typing import Final, Literal

from ecs_reboot_diagnosis.models import Lang

GlossKind = Literal["instance", "invocation", "cycle", "event", "service"]

GLOSSES: Final[dict[GlossKind, dict[str, str]]] = {
    # ECS instance states (DescribeInstances Status)
    "instance": {
        "Pending": "创建中",
        "Starting": "启动中",
        "Running": "运行中",
        "Stopping": "停止中",
        "Stopped": "已停止",
        "Expired": "已过期",
        "Deleted": "已释放",
    },
    # Cloud Assistant invocation states (DescribeInvocations InvocationStatus / InvokeStatus)
    "invocation": {
        "Pending": "等待中",
        "Scheduled": "已计划",
        "Running": "执行中",
        "Success": "执行成功",
        "Finished": "已完成",
        "Failed": "执行失败",
        "PartialFailed": "部分失败",
        "Error": "执行出错",
        "Timeout": "执行超时",
        "Cancelled": "已取消",
        "Stopping": "停止中",
        "Stopped": "已停止",
        "Terminated": "已终止",
        "Invalid": "无效",
        "Aborted": "已中止",
    },
    # system event states (EventCycleStatus)
    "cycle": {
        "Inquiring": "问询中",
        "Scheduled": "已计划",
        "Executing": "执行中",
        "Executed": "已完成",
        "Avoided": "已避免",
        "Failed": "已失败",
        "Canceled": "已取消",
    },
    # system event types (EventType), named as in ECS 系统事件概述
    "event": {
        "SystemMaintenance.Reboot": "因系统维护实例重启",
        "SystemMaintenance.Redeploy": "因系统维护实例重新部署",
        "SystemMaintenance.RebootAndIsolateErrorDisk": "因系统维护实例重启并隔离损坏的磁盘",
        "SystemMaintenance.RebootAndReInitErrorDisk": "因系统维护实例重启并重新初始化损坏的磁盘",
        "SystemMaintenance.StopAndRepair": "因系统维护实例停止并修复",
        "SystemMaintenance.ReInitErrorDisk": "因系统维护重新初始化损坏的磁盘",
        "SystemMaintenance.CleanInactiveDisks": "因系统维护清理失效磁盘",
        "SystemMaintenance.Stop": "因系统维护实例停止",
        "SystemUpgrade.Migrate": "因系统升级实例热迁移",
        "SystemFailure.Reboot": "因系统错误实例重启",
        "SystemFailure.Redeploy": "因系统错误实例重新部署",
        "SystemFailure.Stop": "因系统错误实例停止",
        "SystemFailure.Delete": "因实例创建失败实例释放",
        "InstanceFailure.Reboot": "因实例错误实例重启",
        "InstanceExpiration.Stop": "因包年包月期限到期实例停止",
        "InstanceExpiration.Delete": "因包年包月期限到期实例释放",
        "AccountUnbalanced.Stop": "因账号欠费按量付费资源停止",
        "AccountUnbalanced.Delete": "因账号欠费按量付费资源释放",
        "SecurityPunish.Locked": "因安全违规行为实例被锁定",
        "SecurityPunish.WebsiteBanned": "因安全违规行为网站被封禁",
    },
    # systemd unit states (systemctl is-active), as the collector reports kdump's
    "service": {
        "active": "运行中",
        "inactive": "未运行",
        "failed": "失败",
        "activating": "启动中",
        "deactivating": "停止中",
        "unknown": "未知",
    },
}


def gloss(kind: GlossKind, value: str, lang: Lang) -> str:
    """``value`` for a sentence in ``lang``: in Chinese its name first, the identifier after it
    in parentheses (``运行中（Running）``); otherwise, or when it has no name, as it is."""
    name = GLOSSES[kind].get(value) if lang == "zh-CN" else None
    return f"{name}（{value}）" if name else value
