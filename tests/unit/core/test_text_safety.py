"""strip_controls: what a terminal or a reader would act on is removed, text is kept."""

from __future__ import annotations

import pytest

from ecs_reboot_diagnosis.text_safety import strip_controls, strip_controls_deep


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain text, 中文", "plain text, 中文"),
        ("a\tb\nc", "a\tb\nc"),
        ("crlf\r\nand cr\rend", "crlf\nand cr\nend"),
        ("\x1b[31mred\x1b[0m", "red"),
        ("\x1b]0;new title\x07after", "after"),  # title change (OSC 0, BEL)
        ("\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\", "click"),  # OSC 8 link
        ("\x1b]52;c;cm0gLXJmIH4=\x07x", "x"),  # clipboard write
        ("\x1b[2J\x1b[Hx", "x"),  # clear screen, cursor home
        ("\x1bcreset", "reset"),  # RIS
        ("bell\x07", "bell"),
        ("\x9b31mc1 csi", "c1 csi"),
        ("nul\x00del\x7fc1\x85", "nuldelc1\n"),
        ("\u202eevil\u202c \u2066iso\u2069", "evil iso"),
        ("zero\u200bwidth\u200d\ufeff", "zerowidth"),
        ("ls\u2028ps\u2029", "ls\nps\n"),
    ],
)
def test_strip_controls(raw: str, clean: str) -> None:
    assert strip_controls(raw) == clean


def test_deep_cleans_keys_and_values() -> None:
    data = {"k\x1b[1m": ["v\x07", ("t\u202e", 1)], "n": None}
    assert strip_controls_deep(data) == {"k": ["v", ("t", 1)], "n": None}
