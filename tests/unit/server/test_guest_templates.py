"""Time tokens of guest file templates: every format, zones, offsets and their errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ecs_api_simulator.guest_templates import (
    FORMATS,
    check_tokens,
    guest_zone,
    render_text,
    render_token,
)

NOW = datetime(2026, 12, 3, 7, 20, 11, tzinfo=UTC)  # a Thursday
CST = guest_zone("CST-8")


@pytest.mark.parametrize(
    ("fmt", "offset", "expected"),
    [
        ("iso", "-2h", "2026-12-03T13:20:11+0800"),
        ("syslog", "-2h", "Dec  3 13:20:11"),
        ("syslog", "-3d", "Nov 30 15:20:11"),
        ("boot", "-2h", "Thu 2026-12-03 13:20:11 CST"),
        ("last", "-2h", "Thu Dec  3 13:20:11 2026"),
        ("last", "-30d", "Tue Nov  3 15:20:11 2026"),
        ("epoch", "-2h", str(int(NOW.timestamp()) - 7200)),
        ("kdump", "-26h", "2026-12-02-13:20:11"),
        ("stamp", "-26h", "202612021320"),
        ("uptime", "-2h", "7200.00"),
        ("uptime", "-3d4h30m", f"{(3 * 86400 + 4 * 3600 + 1800):.2f}"),
        ("iso", "now", "2026-12-03T15:20:11+0800"),
        ("iso", "+1d", "2026-12-04T15:20:11+0800"),
        ("iso", "-90s", "2026-12-03T15:18:41+0800"),
        ("iso", "-3600", "2026-12-03T14:20:11+0800"),  # bare seconds, as the old render.sh
    ],
)
def test_each_format_in_the_guest_zone(fmt: str, offset: str, expected: str) -> None:
    assert render_token(fmt, offset, NOW, CST) == expected


def test_every_documented_format_renders() -> None:
    assert set(FORMATS) == {
        "iso", "syslog", "boot", "last", "epoch", "kdump", "stamp", "uptime",
        "secs", "utc", "windate", "wintime",
    }  # fmt: skip
    for fmt in FORMATS:
        assert render_token(fmt, "-1h", NOW, UTC)


def test_windows_formats() -> None:
    cst = guest_zone("CST-8")
    assert render_token("utc", "-2h", NOW, cst) == "2026-12-03T05:20:11Z"
    assert render_token("windate", "-2h", NOW, cst) == "12/3/2026"
    assert render_token("wintime", "-2h", NOW, cst) == "1:20:11 PM"
    assert render_token("wintime", "-8h", NOW, cst) == "7:20:11 AM"
    assert render_token("wintime", "-15h20m11s", NOW, cst) == "12:00:00 AM"
    assert render_token("secs", "-2h", NOW, cst) == "7200"


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        (None, "Thu 2026-12-03 07:20:11 UTC"),
        ("", "Thu 2026-12-03 07:20:11 UTC"),
        ("UTC0", "Thu 2026-12-03 07:20:11 UTC"),
        ("CST-8", "Thu 2026-12-03 15:20:11 CST"),
        ("EST+5", "Thu 2026-12-03 02:20:11 EST"),
        ("Asia/Shanghai", "Thu 2026-12-03 15:20:11 CST"),
        ("America/New_York", "Thu 2026-12-03 02:20:11 EST"),
    ],
)
def test_zones(tz: str | None, expected: str) -> None:
    assert render_token("boot", "now", NOW, guest_zone(tz)) == expected


def test_a_zone_name_follows_daylight_saving() -> None:
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert render_token("iso", "now", summer, guest_zone("America/New_York")).endswith("-0400")


@pytest.mark.parametrize("tz", ["EST5EDT,M3.2.0,M11.1.0", "Mars/Olympus", "+8"])
def test_unsupported_zones_are_refused(tz: str) -> None:
    with pytest.raises(ValueError, match="TZ"):
        guest_zone(tz)


def test_text_and_names_render_every_token_and_leave_the_rest() -> None:
    text = "@@syslog:-2h@@ host kernel: x @@ not a token @@ y @@iso:-2h@@\n"
    assert render_text(text, NOW, CST) == (
        "Dec  3 13:20:11 host kernel: x @@ not a token @@ y 2026-12-03T13:20:11+0800\n"
    )
    # names in the repository use "=" (portable); ":" is read the same way
    for name in ("127.0.0.1-@@kdump=-26h@@", "127.0.0.1-@@kdump:-26h@@"):
        assert render_text(name, NOW, CST) == "127.0.0.1-2026-12-02-13:20:11"
    assert render_text("dump.@@stamp:-1d@@", NOW, UTC) == "dump.202612020720"


def test_check_tokens() -> None:
    assert check_tokens(b"plain text, no tokens") is False
    assert check_tokens(b"a @@ b @@ c") is False
    assert check_tokens(b"@@last:-2h@@ and @@epoch:now@@") is True
    with pytest.raises(ValueError, match=r"@@isodate:-2h@@.*unknown token format"):
        check_tokens(b"@@isodate:-2h@@")
    with pytest.raises(ValueError, match=r"@@iso:-2x@@.*offset"):
        check_tokens(b"@@iso:-2x@@")
    with pytest.raises(ValueError, match=r"@@kdumps=-2h@@.*unknown token format"):
        check_tokens(b"@@kdumps=-2h@@")
    assert check_tokens(b"a@@b=c d@@") is False  # a space: not a token
    with pytest.raises(ValueError, match="offset"):
        check_tokens(b"@@iso:@@")
