"""parse_reboot_time: every accepted form, zones, and every refusal with what it says."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ecs_reboot_diagnosis.errors import InvalidInputError
from ecs_reboot_diagnosis.reboot_time import (
    ACCEPTED_FORMATS,
    MAX_INPUT_CHARS,
    days_back,
    parse_reboot_time,
)

NOW = datetime(2026, 12, 3, 7, 30, 0, tzinfo=UTC)


def at(
    year: int, month: int, day: int, hour: int, minute: int, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-30T03:00", at(2026, 11, 30, 3, 0)),
        ("2026-11-30 03:00", at(2026, 11, 30, 3, 0)),
        ("2026-11-30T03:00:15", at(2026, 11, 30, 3, 0, 15)),
        ("2026-11-30 03:00:15", at(2026, 11, 30, 3, 0, 15)),
        ("2026-11-30T03:00:15.250", at(2026, 11, 30, 3, 0, 15, 250000)),
        ("2026-11-30T03:00Z", at(2026, 11, 30, 3, 0)),
        ("2026-11-30T03:00:15z", at(2026, 11, 30, 3, 0, 15)),
        ("2026-11-30 03:00 UTC", at(2026, 11, 30, 3, 0)),
        ("2026-11-30t03:00", at(2026, 11, 30, 3, 0)),
        ("  2026-11-30T03:00  ", at(2026, 11, 30, 3, 0)),
    ],
)
def test_iso_8601_forms(text: str, expected: datetime) -> None:
    assert parse_reboot_time(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-30T03:00+08:00", at(2026, 11, 29, 19, 0)),
        ("2026-11-30T03:00+0800", at(2026, 11, 29, 19, 0)),
        ("2026-11-30T03:00+08", at(2026, 11, 29, 19, 0)),
        ("2026-11-30 03:00:00 +08:00", at(2026, 11, 29, 19, 0)),
        ("2026-11-30T03:00-05:30", at(2026, 11, 30, 8, 30)),
        ("2026-11-30T03:00+00:00", at(2026, 11, 30, 3, 0)),
    ],
)
def test_offsets_are_applied_and_the_result_is_utc(text: str, expected: datetime) -> None:
    value = parse_reboot_time(text, NOW)
    assert value == expected
    assert value.tzinfo is UTC


def test_a_time_without_a_zone_is_utc_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    if hasattr(time, "tzset"):
        time.tzset()
    try:
        assert parse_reboot_time("2026-11-30T03:00", NOW) == at(2026, 11, 30, 3, 0)
    finally:
        monkeypatch.delenv("TZ")
        if hasattr(time, "tzset"):
            time.tzset()


def test_now_in_another_zone_is_the_same_instant() -> None:
    shanghai_now = NOW.astimezone(timezone(timedelta(hours=8)))
    value = parse_reboot_time("2h ago", shanghai_now)
    assert value == NOW - timedelta(hours=2) and value.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("2h ago", timedelta(hours=2)),
        ("90m ago", timedelta(minutes=90)),
        ("3d ago", timedelta(days=3)),
        ("1d2h ago", timedelta(days=1, hours=2)),
        ("1d 2h 30m ago", timedelta(days=1, hours=2, minutes=30)),
        ("45 minutes ago", timedelta(minutes=45)),
        ("1 minute ago", timedelta(minutes=1)),
        ("2 hours ago", timedelta(hours=2)),
        ("1 hour ago", timedelta(hours=1)),
        ("2 hrs ago", timedelta(hours=2)),
        ("10 mins ago", timedelta(minutes=10)),
        ("1 day, 3 hours ago", timedelta(days=1, hours=3)),
        ("2 weeks ago", timedelta(weeks=2)),
        ("1w ago", timedelta(weeks=1)),
        ("2H AGO", timedelta(hours=2)),
        ("2hago", timedelta(hours=2)),
        ("0m ago", timedelta(0)),
    ],
)
def test_relative_forms(text: str, ago: timedelta) -> None:
    assert parse_reboot_time(text, NOW) == NOW - ago


def test_a_few_minutes_of_clock_skew_into_the_future_is_allowed() -> None:
    assert parse_reboot_time("2026-12-03T07:34", NOW) == at(2026, 12, 3, 7, 34)


def refusal(text: str, now: datetime = NOW) -> str:
    with pytest.raises(InvalidInputError) as err:
        parse_reboot_time(text, now)
    assert err.value.parameter == "reboot_time"
    assert err.value.hint == ACCEPTED_FORMATS
    for example in ("2026-11-30T03:00+08:00", "2h ago", "without a zone the time is UTC"):
        assert example in str(err.value)
    return err.value.message


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("garbage", "words such as 'yesterday'"),
        ("yesterday", "Convert it to ISO 8601 with the user's UTC offset"),
        ("last night", "words such as 'yesterday'"),
        ("2026-11-30", "date without a time of day"),
        ("2026/11/30 03:00", "not a date and time I can read"),
        ("03:00", "not a date and time I can read"),
        ("2h", "not a date and time I can read"),
        ("2 fortnights ago", "'fortnights' is not a unit"),
        ("2h 3h ago", "names the same unit twice"),
        ("ago", "words such as 'yesterday'"),
        ("-2h ago", "not a date and time I can read"),
        ("2026-02-30T03:00", "not a real date and time"),
        ("2026-11-30T25:00", "not a real date and time"),
        ("2026-11-30T03:00+15:00", "impossible UTC offset"),
        ("2026-11-30T03:00+08:75", "impossible UTC offset"),
        ("0001-01-01T00:00+14:00", "not a real date and time"),
        ("2026-12-03T07:36", "is in the future"),
        ("2027-01-01T00:00", "a time without a zone is read as UTC"),
        ("2025-12-02T07:29", "more than 365 days ago"),
        ("400d ago", "more than 365 days ago"),
        ("99999999d ago", "more than 365 days ago"),
        ("2026-11-30T03:00\x1b[31m", "not a date and time I can read"),
    ],
)
def test_refusals_say_why_and_list_the_formats(text: str, says: str) -> None:
    assert says in refusal(text)


def test_the_error_quotes_no_control_characters() -> None:
    message = refusal("bad\x1b[31mtime")
    assert "\x1b" not in message


def test_long_input_is_refused_before_parsing_in_linear_time() -> None:
    started = time.perf_counter()
    for text in ("1" * 100_000 + "d ago", "2026-11-30T03:00" + " " * 1_000_000, "1d" * 50_000):
        assert f"at most {MAX_INPUT_CHARS}" in refusal(text)
    # the longest accepted input, adversarial for backtracking, still parses at once
    worst = "1d " * 21 + "a"
    assert len(worst) <= MAX_INPUT_CHARS
    refusal(worst)
    assert time.perf_counter() - started < 1.0


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_reboot_time("2h ago", datetime(2026, 12, 3))


@pytest.mark.parametrize(
    ("ago", "days"),
    [(timedelta(0), 1), (timedelta(hours=2), 2), (timedelta(days=1), 2),
     (timedelta(days=20, seconds=1), 22), (timedelta(days=365), 366)],
)  # fmt: skip
def test_days_back_covers_the_time_plus_a_day(ago: timedelta, days: int) -> None:
    assert days_back(NOW - ago, NOW) == days
