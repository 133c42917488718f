"""CloudMonitor series before the diagnosis, reduced to the numbers that matter."""

from __future__ import annotations

from datetime import datetime, timedelta

from ecs_reboot_diagnosis.analysis.sparkline import buckets
from ecs_reboot_diagnosis.models import MetricSummary, Text
from ecs_reboot_diagnosis.ports import MetricSeries

# The metrics read for the window before a reboot. memory_usedutilization and load_1m need the
# CloudMonitor agent in the guest; CPUUtilization comes from the hypervisor.
METRICS: tuple[str, ...] = ("memory_usedutilization", "CPUUtilization", "load_1m")
FULL_PERCENT = 95.0
CLIMB_FROM_PERCENT = 80.0


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f}{'%' if unit == '%' else ''}"


def summarize(series: MetricSeries, start: datetime, end: datetime) -> MetricSummary:
    points = sorted(
        (p for p in series.points if p.average is not None or p.maximum is not None),
        key=lambda p: p.timestamp,
    )
    values = [(p.timestamp, p.maximum if p.maximum is not None else p.average) for p in points]
    if not values:
        return MetricSummary(
            metric=series.metric,
            unit=series.unit,
            period_seconds=series.period_seconds,
            window_start=start,
            window_end=end,
            points=0,
            note=Text(
                en=f"{series.metric}: no data points in the window (agent not reporting, or the "
                "instance was down).",
                zh_CN=f"{series.metric}：时间窗口内没有数据点（监控插件未上报，或实例处于停机状态）。",
            ),
        )
    peak_time, peak = max(values, key=lambda tv: tv[1] or 0.0)
    low = min(v or 0.0 for _, v in values)
    percent = series.unit == "%" or series.metric.lower().endswith("utilization")
    climbed = bool(
        percent
        and peak is not None
        and peak >= FULL_PERCENT
        and any((v or 0.0) < CLIMB_FROM_PERCENT for t, v in values if t < peak_time)
    )
    first, last = values[0][1], values[-1][1]
    unit = "%" if percent else series.unit
    en = (
        f"{series.metric}: {_fmt(first, unit)} at the start of the window, peak "
        f"{_fmt(peak, unit)} at {peak_time:%Y-%m-%d %H:%M} UTC, last {_fmt(last, unit)} "
        f"({len(values)} points every {series.period_seconds} s)."
    )
    zh = (
        f"{series.metric}：窗口开始时 {_fmt(first, unit)}，峰值 {_fmt(peak, unit)}"
        f"（{peak_time:%Y-%m-%d %H:%M} UTC），最后 {_fmt(last, unit)}"
        f"（共 {len(values)} 个点，间隔 {series.period_seconds} 秒）。"
    )
    if climbed:
        en += f" It climbed from below {CLIMB_FROM_PERCENT:.0f}% to {_fmt(peak, unit)}."
        zh += f"数值从低于 {CLIMB_FROM_PERCENT:.0f}% 攀升至 {_fmt(peak, unit)}。"
    # A CloudMonitor point is stamped with the start of its period: it is placed at the
    # period's middle, so that a reboot inside a period falls on the right side of most of it.
    middle = timedelta(seconds=series.period_seconds / 2)
    shape = buckets([(t + middle, v) for t, v in values if v is not None])
    samples, samples_start, samples_end = shape if shape is not None else ([], None, None)
    return MetricSummary(
        metric=series.metric,
        unit=unit,
        period_seconds=series.period_seconds,
        window_start=start,
        window_end=end,
        points=len(values),
        first=first,
        last=last,
        maximum=peak,
        minimum=low,
        peak_time=peak_time,
        last_point_time=values[-1][0],
        climbed_to_full=climbed,
        note=Text(en=en, zh_CN=zh),
        samples=samples,
        samples_start=samples_start,
        samples_end=samples_end,
    )
