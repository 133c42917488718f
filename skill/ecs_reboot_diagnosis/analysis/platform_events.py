"""Step 2: read the instance's platform events against the platform-event table."""

from __future__ import annotations

from datetime import UTC, datetime

from ecs_reboot_diagnosis.glosses import gloss
from ecs_reboot_diagnosis.models import ClassifiedEvent, EventVerdict, PlatformEvent, Text
from ecs_reboot_diagnosis.tables import platform_events


def classify(event: PlatformEvent) -> ClassifiedEvent:
    table = platform_events()
    row = table.row(event.event_type)
    happened = event.cycle_status in table.cycle_status.happened
    if row is None:
        return ClassifiedEvent(
            event=event,
            category="unknown",
            known_type=False,
            happened=happened,
            ends_diagnosis=False,
            meaning=table.unknown.meaning,
            determination=table.unknown.determination,
            next_step=table.unknown.next_step,
        )
    return ClassifiedEvent(
        event=event,
        category=row.category,
        known_type=True,
        happened=happened,
        ends_diagnosis=row.ends_diagnosis and happened,
        meaning=row.meaning,
        determination=row.determination,
        next_step=row.next_step,
    )


def _when(event: PlatformEvent) -> datetime:
    return (
        event.finish_time
        or event.not_before
        or event.publish_time
        or datetime.min.replace(tzinfo=UTC)
    )


def judge(
    events: list[PlatformEvent],
    window_start: datetime,
    window_end: datetime,
    *,
    stopped: bool = False,
) -> EventVerdict:
    """The verdict of step 2: a platform cause ends the diagnosis; anything else goes on.

    ``stopped``: the instance is Stopped, so the question is why it stopped, not why it rebooted.

    The decisive event is the most recent one that happened and whose type ends the diagnosis.
    Events of unknown types are kept and reported, never dropped.
    """
    classified = sorted((classify(e) for e in events), key=lambda c: _when(c.event), reverse=True)
    decisive = next((c for c in classified if c.ends_diagnosis), None)
    instance_failure = next(
        (c for c in classified if c.category == "instance_failure" and c.happened), None
    )
    if decisive is not None:
        name = decisive.event.event_type
        status = decisive.event.cycle_status
        name_zh = gloss("event", name, "zh-CN")
        status_zh = gloss("cycle", status, "zh-CN")
        summary = (
            Text(
                en=f"Platform event {name} ({status}) explains why the instance is stopped.",
                zh_CN=f"系统事件{name_zh}解释了实例为何处于已停止状态，事件状态为{status_zh}。",
            )
            if stopped
            else Text(
                en=f"Platform event {name} ({status}) explains the reboot.",
                zh_CN=f"系统事件{name_zh}解释了此次重启，事件状态为{status_zh}。",
            )
        )
        if decisive.category in ("platform_failure", "platform_maintenance"):
            summary = Text(
                en=f"{summary.en} The platform may post its root cause for this event later "
                "(see the event in the ECS console or DescribeInstanceHistoryEvents).",
                zh_CN=f"{summary.zh_CN}平台可能稍后才会发布该事件的根因"
                "（可在 ECS 控制台或通过 DescribeInstanceHistoryEvents 查看）。",
            )
    elif instance_failure is not None:
        summary = Text(
            en="The platform recorded InstanceFailure.Reboot: it detected a failure inside the "
            "instance and restarted it. The cause inside the guest must be found.",
            zh_CN="平台记录了因实例错误实例重启（InstanceFailure.Reboot）事件：平台检测到实例内部"
            "故障并重启了实例，"
            "需要继续查找实例内部的原因。",
        )
    elif stopped:
        summary = Text(
            en=f"{len(classified)} event(s) in the window, none of which stopped the instance."
            if classified
            else "No platform event in the window: the platform did not stop the instance.",
            zh_CN=f"时间窗口内有 {len(classified)} 个事件，均未停止该实例。"
            if classified
            else "时间窗口内没有系统事件：实例不是被平台停止的。",
        )
    elif classified:
        summary = Text(
            en=f"{len(classified)} event(s) in the window, none of which explains a reboot.",
            zh_CN=f"时间窗口内有 {len(classified)} 个事件，均不能解释此次重启。",
        )
    else:
        summary = Text(
            en="No platform event in the window: the reboot was not initiated by the platform.",
            zh_CN="时间窗口内没有系统事件：此次重启不是平台发起的。",
        )
    return EventVerdict(
        outcome="platform_cause" if decisive is not None else "continue",
        window_start=window_start,
        window_end=window_end,
        events=classified,
        decisive=decisive,
        instance_failure=instance_failure,
        summary=summary,
    )
