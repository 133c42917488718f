"""The metric sparkline: buckets, bars, the reboot mark, and how a memory climb to an OOM reads
in the report in both languages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ecs_reboot_diagnosis.analysis.metrics import summarize
from ecs_reboot_diagnosis.analysis.sparkline import (
    BARS,
    GAP,
    REBOOT_MARK,
    WIDTH,
    bars,
    buckets,
    mark_position,
    sparkline,
)
from ecs_reboot_diagnosis.models import Lang, Report
from ecs_reboot_diagnosis.ports import MetricPoint, MetricSeries
from ecs_reboot_diagnosis.report.render import load_report, render_markdown
from tests.unit.report.test_report_render import FIXTURES

T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)


def series(values: Sequence[float | None], metric: str = "memory_usedutilization") -> MetricSeries:
    points = [
        MetricPoint(timestamp=T0 + i * STEP, maximum=v, average=v)
        for i, v in enumerate(values)
        if v is not None
    ]
    return MetricSeries(metric=metric, unit="%", period_seconds=300, points=points)


def test_bars_span_low_to_high_and_a_flat_series_sits_in_the_middle() -> None:
    assert bars([0, 50, 100], 0, 100) == "▁▅█"
    assert bars([3, 3, 3], 3, 3) == BARS[3] * 3
    assert bars([None, 10], 0, 10) == GAP + "█"


def test_a_short_series_keeps_one_bucket_per_point() -> None:
    points = [(T0 + i * STEP, float(i)) for i in range(10)]
    shape = buckets(points)
    assert shape is not None
    values, start, end = shape
    assert values == [float(i) for i in range(10)]
    assert (start, end) == (T0, T0 + 9 * STEP)


def test_a_long_series_keeps_every_peak() -> None:
    values = [10.0] * 288
    values[137] = 97.0  # one five-minute spike in a day
    shape = buckets([(T0 + i * STEP, v) for i, v in enumerate(values)])
    assert shape is not None
    assert len(shape[0]) == WIDTH and max(v for v in shape[0] if v is not None) == 97.0


def test_a_missing_stretch_is_a_gap() -> None:
    values: list[float | None] = [50.0] * 5 + [None] * 5 + [50.0] * 5
    summary = summarize(series(values), T0, T0 + 15 * STEP)
    line = sparkline(summary.samples, T0, T0 + 14 * STEP, percent=True)
    assert line is not None and GAP in line.text


def test_the_reboot_mark_falls_between_the_last_point_before_and_the_first_after() -> None:
    reboot = T0 + 6 * STEP + timedelta(minutes=2)
    assert mark_position(T0, T0 + 9 * STEP, 10, reboot) == 7
    assert mark_position(T0, T0 + 9 * STEP, 10, T0 - STEP) is None
    assert mark_position(T0, T0 + 9 * STEP, 10, T0 + 10 * STEP) is None


@given(
    st.lists(st.floats(0, 100), min_size=1, max_size=400),
    st.integers(0, 500),
)
@example(values=[1.0] * 150 + [0.0] + [1.0] * 150, minutes=0)  # the low point shares a bucket
def test_the_line_is_never_wider_than_width_and_mark(values: list[float], minutes: int) -> None:
    points = [(T0 + i * STEP, v) for i, v in enumerate(values)]
    shape = buckets(points)
    assert shape is not None
    samples, start, end = shape
    line = sparkline(samples, start, end, percent=True, reboot=T0 + timedelta(minutes=minutes))
    assert line is not None
    assert len(line.text) <= WIDTH + 1
    assert line.text.count(REBOOT_MARK) == int(line.marked)
    assert set(line.text) <= set(BARS) | {GAP, REBOOT_MARK}
    # a bucket keeps its highest point (a spike is never averaged away), so the peak is the
    # series' own; the lowest bar may stand above the series' minimum, which the report takes
    # from every point (view: "every point, not the bars")
    assert line.high == max(values)
    assert line.low == min(v for v in samples if v is not None) >= min(values)
    if len(values) <= WIDTH:
        assert line.low == min(values)


def test_a_memory_climb_to_oom_rises_to_full_then_drops_after_the_reboot() -> None:
    climb = [40.0 + i * 2.5 for i in range(24)] + [99.0]  # 40% .. 99%
    after = [22.0] * 4
    summary = summarize(series(climb + after), T0, T0 + 30 * STEP)
    reboot = T0 + 24 * STEP + timedelta(minutes=3)
    assert summary.samples_start is not None and summary.samples_end is not None
    line = sparkline(summary.samples, summary.samples_start, summary.samples_end,
                     percent=True, reboot=reboot)  # fmt: skip
    assert line is not None and line.marked
    before, _, later = line.text.partition(REBOOT_MARK)
    assert before[0] in "▄▅" and before[-1] == "█"
    assert list(before) == sorted(before)  # it only climbs
    assert set(later) == {"▃"}  # 22% of 0-100
    assert (line.low, line.high) == (22.0, 99.0)


# --- in the report ---------------------------------------------------------------------------


def oom_report_with_metrics() -> tuple[Report, datetime]:
    report = load_report((FIXTURES / "s04_linux_oom_panic.json").read_text())
    assert report.guest is not None
    reboot = datetime(2025, 3, 20, 10, 0, 30, tzinfo=UTC)
    guest = report.guest.model_copy(update={"target_reboot": reboot})
    report = report.model_copy(update={"guest": guest})
    start = reboot - 25 * STEP
    values = [40.0 + i * 2.5 for i in range(24)] + [99.0] + [None, None] + [22.0, 22.0]
    points = [
        MetricPoint(timestamp=start + (i + 1) * STEP - timedelta(minutes=1), maximum=v)
        for i, v in enumerate(values)
        if v is not None
    ]
    memory = summarize(
        MetricSeries(metric="memory_usedutilization", unit="%", period_seconds=300,
                     points=points),
        start,
        start + 30 * STEP,
    )  # fmt: skip
    return report.model_copy(update={"metrics": [memory]}), reboot


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", ("min 22.0%, max 99.0%", "marks the reboot at")),
     ("zh-CN", ("最小 22.0%，最大 99.0%", "处为重启"))],
)  # fmt: skip
def test_the_report_draws_the_climb_with_min_max_and_the_reboot(
    lang: Lang, words: tuple[str, str]
) -> None:
    report, reboot = oom_report_with_metrics()
    markdown = render_markdown(report, lang)
    line = next(x for x in markdown.splitlines() if "▁" in x or "█" in x)
    assert line.startswith("  - `")
    drawn = line.split("`")[1]
    assert drawn.index("█") < drawn.index(REBOOT_MARK)
    assert all(word in line for word in words), line
    assert f"{reboot:%Y-%m-%d %H:%M}" in line


def test_both_templates_show_the_sparkline() -> None:
    for name in ("s04_linux_oom_panic.json", "s06_windows_bsod_memory_dump.json"):
        report = load_report((FIXTURES / name).read_text())
        memory = summarize(series([30.0, 60.0, 96.0]), T0, T0 + 3 * STEP)
        with_metrics = report.model_copy(update={"metrics": [memory]})
        langs: tuple[Lang, ...] = ("en", "zh-CN")
        for lang in langs:
            assert "`▃▅█`" in render_markdown(with_metrics, lang), (name, lang)
