"""The Markdown escapers: untrusted text renders literally and cannot change the structure."""

from __future__ import annotations

import random
import re

import pytest

from ecs_reboot_diagnosis.report.markdown import (
    ELLIPSIS,
    Md,
    code,
    fenced,
    inline,
    one_line,
    rich,
)

NASTY = [
    "plain",
    "`",
    "``",
    "a`b",
    "``a``",
    "` leading",
    "trailing `",
    " spaced ",
    "```python\nprint(1)\n```",
    "~~~~ tilde fence",
    "line1\n## Diagnostic Conclusion\nline3",
    "# heading",
    "<script>alert(1)</script>",
    "|table|cell|",
    "**bold** _em_ [link](http://x) ![img](y)",
    "\\` escaped backtick",
    "\x1b[31mred\x1b[0m",
    "bidi \u202e override \u2028 separator \u200b zero width",
    "tab\there\r\ncrlf",
]

ESCAPABLE = set("\\`*_[]<>&~|#!")


def parse_code_span(text: str) -> str:
    """The content of ``text`` read as one CommonMark code span (fails if it is not one)."""
    m = re.fullmatch(r"(`+)(.*?)(`+)", text, flags=re.S)
    assert m is not None, text
    opening, content, closing = m.groups()
    assert len(opening) == len(closing), text
    # No backtick run of the delimiter's length may occur inside (it would close the span).
    assert all(len(run) != len(opening) for run in re.findall(r"`+", content)), text
    if len(content) >= 2 and content[0] == " " and content[-1] == " " and content.strip():
        content = content[1:-1]
    return content


def unescape(text: str) -> str:
    """Undo CommonMark backslash escapes."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def parse_fence(block: str) -> tuple[str, list[str]]:
    """Read ``block`` as one fenced code block: its info string and its content lines."""
    lines = block.split("\n")
    m = re.fullmatch(r"(`{3,}|~{3,})(.*)", lines[0])
    assert m is not None, block
    fence, info = m.groups()
    body = lines[1:-1]
    assert lines[-1] == fence
    for line in body:
        c = re.fullmatch(r" {0,3}(`{3,}|~{3,})\s*", line)
        assert not (c and c.group(1)[0] == fence[0] and len(c.group(1)) >= len(fence)), line
    return info, body


def random_texts(count: int = 300) -> list[str]:
    rng = random.Random(20250320)
    alphabet = "`~ ab\n*_<>|#-+.1)\\[]!&\t\x00\u2028"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24))) for _ in range(count)]


# --- one_line -----------------------------------------------------------------------------------


def test_one_line_removes_line_breaks_and_control_characters() -> None:
    assert one_line("a\nb\r\nc\rd") == "a b c d"
    assert one_line("\x1b[31mred\x1b[0m") == "red"  # the whole escape sequence goes
    assert one_line("x\u202ey\u2028z\u200bw") == "xy zw"  # bidi, zero-width: removed
    assert one_line("  many    spaces\t\t") == "many spaces"


def test_one_line_truncates_with_an_ellipsis() -> None:
    text = one_line("x" * 50, limit=10)
    assert len(text) == 10
    assert text.endswith(ELLIPSIS)


# --- inline -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", NASTY)
def test_inline_is_one_line_and_reads_back_literally(text: str) -> None:
    check_inline(text)


def test_inline_on_random_text() -> None:
    for text in random_texts():
        check_inline(text)


def check_inline(text: str) -> None:
    out = inline(text)
    assert isinstance(out, Md)
    assert "\n" not in out and "\r" not in out
    assert unescape(out) == one_line(text)
    # Every special character is escaped.
    for index, ch in enumerate(out):
        if ch in ESCAPABLE and ch != "\\":
            assert out[index - 1] == "\\", (text, out)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- item", "\\- item"),
        ("+ item", "\\+ item"),
        ("> quote", "\\> quote"),
        (">quote", "\\>quote"),
        ("1. first", "1\\. first"),
        ("12) twelfth", "12\\) twelfth"),
        ("---", "\\---"),
        ("- - -", "\\- - -"),
        ("===", "\\==="),
        ("# heading", "\\# heading"),
        ("* star", "\\* star"),
    ],
)
def test_inline_escapes_block_markers_at_the_start(text: str, expected: str) -> None:
    assert inline(text) == expected


@pytest.mark.parametrize("text", ["1.0.0", "-1", "-foo", "a - b", "10:30", "x > y", "C:\\Windows"])
def test_inline_leaves_harmless_text_readable(text: str) -> None:
    assert unescape(inline(text)) == text
    assert not inline(text).startswith("\\") or text[0] in ESCAPABLE


# --- code ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [t for t in NASTY if one_line(t)])
def test_code_is_a_single_code_span_holding_the_text(text: str) -> None:
    out = code(text)
    assert "\n" not in out
    assert parse_code_span(out) == one_line(text)


def test_code_on_random_text() -> None:
    for text in random_texts():
        if one_line(text):
            assert parse_code_span(code(text)) == one_line(text)


def test_code_delimiter_is_longer_than_any_backtick_run_inside() -> None:
    assert code("a ``` b") == "````a ``` b````"
    assert code("`x`") == "`` `x` ``"
    assert code("nvme_queue_rq+0x1a2/0x4d0 [nvme]") == "`nvme_queue_rq+0x1a2/0x4d0 [nvme]`"


def test_code_of_empty_text_is_empty() -> None:
    assert code("") == ""
    assert code(" \n ") == ""


# --- rich ---------------------------------------------------------------------------------------


def test_rich_keeps_quoted_commands_as_code_and_escapes_the_rest() -> None:
    out = rich("Run `sysctl -w vm.panic_on_oom=0` then <reboot> *now*")
    assert out == "Run `sysctl -w vm.panic_on_oom=0` then \\<reboot\\> \\*now\\*"


def test_rich_escapes_an_unpaired_backtick() -> None:
    assert rich("a `b` c `d") == "a `b` c \\`d"


def test_rich_separates_adjacent_code_spans() -> None:
    out = rich("`a``b`")
    assert out == "`a` `b`"
    assert [parse_code_span(part) for part in out.split(" ")] == ["a", "b"]


def test_rich_is_one_line() -> None:
    for text in NASTY + random_texts():
        assert "\n" not in rich(text)


# --- fenced -------------------------------------------------------------------------------------


def test_fenced_content_cannot_close_the_fence() -> None:
    for text in NASTY + random_texts():
        info, body = parse_fence(fenced(text, "bash"))
        assert info == "bash"
        expected = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        assert len(body) == len(expected)


def test_fence_is_longer_than_backtick_and_tilde_runs() -> None:
    out = fenced(["ok", "````` five", "~~~~~~ six"])
    assert out.split("\n")[0] == "```````"
    assert out.split("\n")[-1] == "```````"


def test_fenced_keeps_indentation_and_strips_control_characters() -> None:
    _, body = parse_fence(fenced(["  <IRQ>", "\tfoo\x1b[0m  ", "bar\u202e"]))
    assert body == ["  <IRQ>", "\tfoo", "bar"]


def test_fenced_info_string_cannot_hold_backticks_or_newlines() -> None:
    info, _ = parse_fence(fenced(["x"], "ba`sh\nrm -rf"))
    assert "`" not in info and "\n" not in info


def test_fenced_limits_the_number_of_lines() -> None:
    _, body = parse_fence(fenced([str(i) for i in range(10)], max_lines=3))
    assert body == ["0", "1", "2", f"{ELLIPSIS} (7 more lines)"]
