"""Escapers that keep untrusted text from changing the structure of a Markdown report.

Anything that comes from the guest (log lines, file paths, event messages, call traces) or from an
API (event reasons) goes through one of these before it reaches a template:

- :func:`inline` for prose: one line, Markdown specials backslash-escaped.
- :func:`code` for identifiers, paths and log lines: one line, an inline code span whose backtick
  delimiter is longer than any backtick run inside.
- :func:`rich` for sentences that may quote commands between backticks: the quoted parts become
  code spans, the rest is escaped as by :func:`inline`.
- :func:`fenced` for multi-line blocks: a fenced code block whose fence is longer than any run of
  backticks or tildes in the content (CommonMark: a closing fence must be at least as long).

Their results are :class:`Md`: text that is safe to place in a Markdown document as it is. The
renderer trusts :class:`Md` and escapes every other string it meets.
"""

from __future__ import annotations

import re
import unicodedata

from ecs_reboot_diagnosis.text_safety import strip_controls

__all__ = ["ELLIPSIS", "Md", "code", "fenced", "inline", "one_line", "rich"]

ELLIPSIS = "…"
INLINE_LIMIT = 400

# Characters that start or end inline constructs anywhere in a line: escape, code, emphasis,
# links and images, autolinks and raw HTML, entities, strikethrough, table cells, headings.
_SPECIALS = frozenset("\\`*_[]<>&~|#!")
# A blockquote marker needs nothing after it; list markers, thematic breaks and setext underlines
# need a space, the end of the line, or a line made of the marker alone.
_QUOTE_MARKER = ">"
_LIST_MARKERS = frozenset("-+=")
_ORDERED_MARKER = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")
_WS = re.compile(r"\s+")
_BACKTICK_RUN = re.compile(r"`+")
_FENCE_RUN = re.compile(r"`+|~+")


class Md(str):
    """A string that is already safe Markdown (escaped, or written by us)."""

    __slots__ = ()


def _printable(ch: str) -> bool:
    # Cc: control characters (newlines, escape sequences); Cf: format characters such as
    # bidi overrides and zero-width joiners; Zl/Zp: line and paragraph separators.
    return unicodedata.category(ch) not in {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def one_line(text: str, limit: int = INLINE_LIMIT) -> str:
    """Collapse ``text`` to one line of printable characters, at most ``limit`` long (escape
    sequences are removed whole, so no part of an OSC 8 link or a title change is left)."""
    cleaned = "".join(ch if _printable(ch) else " " for ch in strip_controls(text))
    cleaned = _WS.sub(" ", cleaned).strip()
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + ELLIPSIS
    return cleaned


def _opens_block(text: str) -> bool:
    """Whether ``text`` at the start of a line would begin a block rather than a paragraph."""
    first = text[:1]
    if first == _QUOTE_MARKER:
        return True
    if first not in _LIST_MARKERS:
        return False
    return len(text) == 1 or text[1] in " \t" or not text.replace(" ", "").strip(first)


def _escape(text: str) -> str:
    """Escape inline specials, and a block marker at the start."""
    out = _escape_mid(text)
    if _opens_block(out):
        out = "\\" + out
    return _ORDERED_MARKER.sub(r"\1\\\2", out)


def inline(text: str, limit: int = INLINE_LIMIT) -> Md:
    """Untrusted prose as one escaped line: it renders as the literal text, never as markup."""
    return Md(_escape(one_line(text, limit)))


def code(text: str, limit: int = INLINE_LIMIT) -> Md:
    """Untrusted text as one inline code span (CommonMark 6.1), safe whatever it contains."""
    content = one_line(text, limit)
    if not content:
        return Md("")
    longest = max((len(run) for run in _BACKTICK_RUN.findall(content)), default=0)
    delimiter = "`" * (longest + 1)
    # One space on each side is stripped by the parser; add it when the content starts or ends
    # with a backtick (it would merge with the delimiter) or with a space (it would be stripped).
    if content[0] in "` " or content[-1] in "` ":
        content = f" {content} "
    return Md(f"{delimiter}{content}{delimiter}")


def rich(text: str, limit: int = 2 * INLINE_LIMIT) -> Md:
    """A sentence where `quoted` parts become code spans and everything else is escaped.

    Meant for domain sentences (root causes, recommendations, dump set-up steps) that quote
    commands. A backtick without a partner is escaped like any other character.
    """
    line = one_line(text, limit)
    parts = line.split("`")
    if len(parts) % 2 == 0:  # unbalanced: the last backtick has no partner
        tail = parts.pop()
        parts[-1] += "`" + tail
    out: list[str] = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            if part:
                out.append(_escape(part) if index == 0 else _escape_mid(part))
        elif part.strip():
            if out and out[-1].endswith("`"):
                out.append(" ")  # two adjacent code spans would merge their delimiters
            out.append(code(part))
    return Md("".join(out))


def _escape_mid(text: str) -> str:
    """Escape text that follows other text on the same line (no block-start rules)."""
    return "".join("\\" + ch if ch in _SPECIALS else ch for ch in text)


def _clean_block_line(line: str) -> str:
    line = strip_controls(line)
    return "".join(ch if ch == "\t" or _printable(ch) else " " for ch in line).rstrip()


def fenced(lines: list[str] | str, info: str = "", max_lines: int = 200) -> Md:
    """Untrusted lines as a fenced code block that nothing inside can close early."""
    if isinstance(lines, str):
        lines = lines.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    body = [_clean_block_line(line) for line in lines[:max_lines]]
    if len(lines) > max_lines:
        body.append(f"{ELLIPSIS} ({len(lines) - max_lines} more lines)")
    longest = max((len(run) for line in body for run in _FENCE_RUN.findall(line)), default=0)
    fence = "`" * max(3, longest + 1)
    info_clean = one_line(info, 40).replace("`", "")
    return Md("\n".join([fence + info_clean, *body, fence]))
