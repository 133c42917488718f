"""Is Cloud Assistant usable on an instance: its status and heartbeat, judged. Shared by the
single diagnosis (step 3) and the fleet scan, so both gate guest commands the same way."""

from __future__ import annotations

from datetime import datetime, timedelta

from ecs_reboot_diagnosis.glosses import gloss
from ecs_reboot_diagnosis.models import CloudAssistantStatus, InstanceFacts, Text
from ecs_reboot_diagnosis.ports import AgentHeartbeat

__all__ = ["judge_agent"]


def judge_agent(
    instance: InstanceFacts, beat: AgentHeartbeat, now: datetime, max_age: timedelta
) -> CloudAssistantStatus:
    """The agent's status: usable only on a Running instance whose agent runs and whose last
    heartbeat is at most ``max_age`` old."""
    age = None
    if beat.last_heartbeat is not None:
        age = max(0.0, (now - beat.last_heartbeat).total_seconds())
    limit = max_age.total_seconds()
    if instance.status == "Stopped":
        usable, reason = (
            False,
            Text(
                en="The instance is Stopped: Cloud Assistant cannot run while the instance is "
                "stopped, so no command can run in it until it is started.",
                zh_CN="实例处于已停止状态，实例停止期间云助手无法运行，"
                "因此在实例启动之前无法在其中执行任何命令。",
            ),
        )
    elif instance.status != "Running":
        usable, reason = (
            False,
            Text(
                en=f"The instance is {instance.status}, so no command can run in it.",
                zh_CN=f"实例状态为{gloss('instance', instance.status, 'zh-CN')}，"
                "无法在其中执行命令。",
            ),
        )
    elif not beat.running:
        usable, reason = (
            False,
            Text(
                en="Cloud Assistant is not running or not installed on the instance.",
                zh_CN="实例上的云助手未运行或未安装。",
            ),
        )
    elif age is not None and age > limit:
        usable, reason = (
            False,
            Text(
                en=f"Cloud Assistant's last heartbeat is {int(age)} s old "
                f"(limit {int(limit)} s): the agent is not responding.",
                zh_CN=f"云助手最后一次心跳在 {int(age)} 秒前"
                f"（上限 {int(limit)} 秒），客户端无响应。",
            ),
        )
    else:
        usable, reason = (
            True,
            Text(
                en="Cloud Assistant is running and its heartbeat is recent.",
                zh_CN="云助手正在运行且心跳正常。",
            ),
        )
    return CloudAssistantStatus(
        running=beat.running,
        last_heartbeat=beat.last_heartbeat,
        heartbeat_age_seconds=age,
        agent_version=beat.agent_version,
        supports_session_manager=beat.supports_session_manager,
        usable=usable,
        reason=reason,
    )
