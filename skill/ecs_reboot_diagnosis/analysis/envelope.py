"""Parse the envelope a guest collector prints (format: ``collectors/ENVELOPE.md``).

The parser trusts nothing but the structure it expects for *this* run:

- the first line starting with ``ECS_DIAG_ENVELOPE`` is the header; it must carry a supported
  ``schema_version`` and this run's nonce, else :class:`CollectorIntegrityError`;
- a marker is a whole line ``=====<nonce> SECTION|END|EOF ...=====``; lines that look like markers
  but carry another nonce are plain data (log text cannot know the nonce);
- markers with this run's nonce must come in order (no section inside a section, END names the
  open section, nothing after EOF, no section twice), else :class:`CollectorIntegrityError`;
- output that stops inside a section yields that section marked truncated and incomplete, and
  the envelope marked incomplete;
- output Cloud Assistant cut (it keeps a 6000-byte head and the last bytes of its 24 KB quota,
  and reports the rest as ``Dropped``): given ``dropped_bytes``, the head and the tail are parsed
  on their own, every section whose END marker arrived is kept, the ones the cut touched are
  marked (``Section.cut``) and the ones it removed are reported lost. The header must still be
  this run's, and markers in the tail still need the nonce.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from ecs_reboot_diagnosis.errors import CollectorIntegrityError
from ecs_reboot_diagnosis.models import SectionStatus

__all__ = [
    "CLOUD_ASSISTANT_HEAD_BYTES",
    "CLOUD_ASSISTANT_OUTPUT_QUOTA",
    "LINUX_SECTIONS",
    "SUPPORTED_SCHEMA_VERSIONS",
    "WINDOWS_SECTIONS",
    "CutPart",
    "Envelope",
    "Section",
    "SectionState",
    "parse_envelope",
    "split_at_cut",
]

SUPPORTED_SCHEMA_VERSIONS: Final = frozenset({1})

LINUX_SECTIONS: Final[tuple[str, ...]] = (
    "meta",
    "os",
    "boot",
    "reboot_history",
    "sysctl",
    "kdump",
    "crash_files",
    "journal_boots",
    "journal_tail",
    "journal_kernel",
    "syslog",
    "dmesg",
    "oom",
    "crash_dmesg",
    "pstore",
)
WINDOWS_SECTIONS: Final[tuple[str, ...]] = (
    "meta",
    "os",
    "events_system",
    "events_application",
    "crash_control",
    "pagefile",
    "memory_dump",
    "minidumps",
)

SectionState = Literal["ok", "missing", "error"]
CutPart = Literal["end_lost", "start_lost", "middle_lost"]
"""Which part of a section Cloud Assistant's output limit removed."""

CLOUD_ASSISTANT_OUTPUT_QUOTA: Final = 24 * 1024
"""Bytes of a run's output the API keeps (the Cloud Assistant agent's quota)."""
CLOUD_ASSISTANT_HEAD_BYTES: Final = 6000
"""Of those, the head the agent keeps; the rest is the end of the output (a ring buffer)."""

_HEADER_PREFIX: Final = "ECS_DIAG_ENVELOPE"
_MARKER: Final = re.compile(
    r"^=====(?P<nonce>[0-9a-f]{32}) (?P<kind>SECTION|END|EOF)(?P<rest>.*)=====$"
)
_SECTION_REST: Final = re.compile(r"^ (?P<name>[a-z0-9_]{1,40})$")
_END_REST: Final = re.compile(
    r"^ (?P<name>[a-z0-9_]{1,40}) status=(?P<status>ok|missing|error)"
    r" truncated=(?P<truncated>[01]) note=(?P<note>.*)$"
)
_EOF_REST: Final = re.compile(r"^(?: sections=(?P<count>\d+))?$")
_NONCE: Final = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True, slots=True)
class Section:
    """One named section: its data lines and how the collector said it went."""

    name: str
    lines: tuple[str, ...]
    status: SectionState
    truncated: bool
    note: str
    complete: bool
    """False when the output ended before this section's END marker, or the cut took part of it."""
    cut: CutPart | None = None
    """Set when Cloud Assistant's output limit removed part of this section."""

    def kv(self) -> dict[str, str]:
        """``key=value`` lines (a leading ``#`` is dropped; the last value of a key wins)."""
        out: dict[str, str] = {}
        for line in self.lines:
            key, sep, value = line.removeprefix("#").partition("=")
            if sep and key and " " not in key and "\t" not in key:
                out[key] = value
        return out

    def to_status(self) -> SectionStatus:
        note = self.note
        if self.cut is not None:
            note = _CUT_NOTES[self.cut]
        elif not self.complete:
            note = "output ended inside this section (Cloud Assistant output limit?)"
        elif self.status == "error":
            note = f"error: {self.note}" if self.note else "error"
        return SectionStatus(
            name=self.name,
            present=self.status == "ok",
            truncated=self.truncated,
            has_data=any(line and not line.startswith("#") for line in self.lines),
            note=note,
            cut=self.cut is not None,
        )


_CUT_NOTES: Final[dict[str, str]] = {
    "end_lost": "Cloud Assistant's output limit cut this section: its end was dropped",
    "start_lost": "Cloud Assistant's output limit cut this section: its beginning was dropped",
    "middle_lost": "Cloud Assistant's output limit cut this section: its middle was dropped",
}


@dataclass(frozen=True, slots=True)
class Envelope:
    """A parsed, nonce-checked collector envelope."""

    schema_version: int
    collector: str
    version: str
    nonce: str
    header: Mapping[str, str]
    sections: Mapping[str, Section]
    complete: bool
    """True when the EOF marker was seen: nothing was cut off."""
    stray_lines: tuple[str, ...] = field(default=())
    """Lines outside any section (stderr noise, or data after a cut), kept for diagnostics."""
    dropped_bytes: int = 0
    """Bytes Cloud Assistant dropped from the middle of the output (its ``Dropped`` count)."""

    @property
    def cut(self) -> bool:
        """True when Cloud Assistant's output limit removed the middle of the output."""
        return self.dropped_bytes > 0

    def section(self, name: str) -> Section | None:
        return self.sections.get(name)

    def lines(self, name: str) -> tuple[str, ...]:
        section = self.sections.get(name)
        return section.lines if section is not None else ()

    def ok(self, name: str) -> Section | None:
        """The section when the collector reported it ``ok``, else None."""
        section = self.sections.get(name)
        return section if section is not None and section.status == "ok" else None

    def statuses(self, expected: Sequence[str]) -> list[SectionStatus]:
        """A status for every expected section (absent ones say why), then any extra ones."""
        out: list[SectionStatus] = []
        for name in expected:
            section = self.sections.get(name)
            if section is not None:
                out.append(section.to_status())
            elif self.cut:
                why = (
                    f"lost: Cloud Assistant's output limit dropped {self.dropped_bytes} bytes "
                    "from the middle of the output, this section with them"
                )
                out.append(SectionStatus(name=name, present=False, note=why, cut=True))
            else:
                why = (
                    "not received: output was cut before it"
                    if not self.complete
                    else ("not reported by this collector version")
                )
                out.append(SectionStatus(name=name, present=False, note=why))
        out.extend(s.to_status() for n, s in self.sections.items() if n not in expected)
        return out


def _header_fields(line: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for token in line.split()[1:]:
        key, sep, value = token.partition("=")
        if sep:
            out[key] = value
    return out


def parse_envelope(output: str, nonce: str, *, dropped_bytes: int = 0) -> Envelope:
    """Parse ``output`` of a collector run started with ``nonce``.

    ``dropped_bytes`` is the invocation's ``Dropped`` count: when Cloud Assistant cut the middle
    of the output out, every section whose END marker arrived (in the head or in the kept tail)
    is kept, the sections the cut touched are marked (:attr:`Section.cut`), and the lost ones
    are reported as lost (:meth:`Envelope.statuses`).

    Raises :class:`CollectorIntegrityError` when the output is not an envelope of this run.
    """
    if not _NONCE.match(nonce):
        raise CollectorIntegrityError(
            "The expected nonce is malformed.", message_zh="预期的 nonce 格式不正确。"
        )
    if dropped_bytes > 0:
        head_text, tail_text = split_at_cut(output)
    else:
        head_text, tail_text = output, None
    lines = head_text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = next(
        (i for i, line in enumerate(lines) if line.lstrip("\ufeff \t").startswith(_HEADER_PREFIX)),
        None,
    )
    if start is None:
        raise CollectorIntegrityError(
            "The command output has no collector envelope header.",
            hint="The command may not be the packaged collector, or it failed before printing.",
            message_zh="命令输出中没有采集脚本的信封头。",
            hint_zh="该命令可能不是随产品发布的采集脚本，或在输出任何内容之前就已失败。",
        )
    header = _header_fields(lines[start].lstrip("\ufeff \t"))
    if "error" in header:
        raise CollectorIntegrityError(
            f"The collector refused to run: {header['error']}.",
            hint="Its parameters are validated in the guest; send the values new_nonce() and "
            "collector_parameters() produce.",
            message_zh=f"采集脚本拒绝运行：`{header['error']}`。",
            hint_zh="其参数在实例内校验；请传入 new_nonce() 和 collector_parameters() 生成的值。",
        )
    try:
        schema_version = int(header.get("schema_version", ""))
    except ValueError:
        raise CollectorIntegrityError(
            "The envelope header has no valid schema_version.",
            message_zh="信封头中没有有效的 schema_version。",
        ) from None
    if schema_version not in SUPPORTED_SCHEMA_VERSIONS:
        raise CollectorIntegrityError(
            f"Unsupported envelope schema_version {schema_version}.",
            hint="The collector and the analyzer come from different releases.",
            message_zh=f"不支持的信封 schema_version {schema_version}。",
            hint_zh="采集脚本与分析程序来自不同的版本。",
        )
    if header.get("nonce") != nonce:
        raise CollectorIntegrityError(
            "The envelope nonce does not match this run.",
            hint="The output belongs to another invocation, or was not produced by the collector.",
            message_zh="信封中的 nonce 与本次运行不符。",
            hint_zh="该输出属于另一次调用，或并非由采集脚本生成。",
        )
    collector = header.get("collector", "")
    version = header.get("version", "")
    if not collector or not version:
        raise CollectorIntegrityError(
            "The envelope header lacks the collector name or version.",
            message_zh="信封头中缺少采集脚本的名称或版本。",
        )

    parser = _Parser(nonce)
    parser.stray.extend(line for line in lines[:start] if line.strip())
    body = lines[start + 1 :]
    if tail_text is not None and body and not head_text.endswith(("\n", "\r")):
        body.pop()  # the head was cut inside this line
    for line_no, line in enumerate(body, start=start + 2):
        parser.feed(line, line_no)
    if tail_text is None:
        parser.finish_head_only(cut_mid_line=not output.endswith("\n"))
    else:
        parser.resume_after_cut(tail_text)
    return Envelope(
        schema_version=schema_version,
        collector=collector,
        version=version,
        nonce=nonce,
        header=header,
        sections=parser.sections,
        complete=parser.complete,
        stray_lines=tuple(parser.stray),
        dropped_bytes=max(dropped_bytes, 0),
    )


def split_at_cut(output: str) -> tuple[str, str]:
    """``output`` cut by Cloud Assistant's output limit -> (head, tail) as the agent kept them.

    The agent keeps a head of :data:`CLOUD_ASSISTANT_HEAD_BYTES` bytes of its 24 KB quota (the
    same share of a smaller quota) and a ring buffer of the last bytes, and returns them joined:
    when bytes were dropped the buffer is full, so the kept length *is* the quota.
    """
    data = output.encode("utf-8", errors="replace")
    quota = len(data)
    head_bytes = (
        CLOUD_ASSISTANT_HEAD_BYTES
        if quota >= CLOUD_ASSISTANT_OUTPUT_QUOTA
        else quota * CLOUD_ASSISTANT_HEAD_BYTES // CLOUD_ASSISTANT_OUTPUT_QUOTA
    )
    head_chars = len(data[:head_bytes].decode("utf-8", errors="ignore"))
    return output[:head_chars], output[head_chars:]


class _Parser:
    """The marker state machine, fed line by line (head, then the tail after a cut)."""

    def __init__(self, nonce: str) -> None:
        self.nonce = nonce
        self.sections: dict[str, Section] = {}
        self.stray: list[str] = []
        self.open_name: str | None = None
        self.buffer: list[str] = []
        self.complete = False

    def _marker(self, line: str) -> re.Match[str] | None:
        match = _MARKER.match(line)
        return match if match is not None and match.group("nonce") == self.nonce else None

    def feed(self, line: str, line_no: int) -> None:
        match = self._marker(line)
        if match is None:
            if self.complete:
                if line.strip():
                    self.stray.append(line)
            elif self.open_name is not None:
                self.buffer.append(line)
            elif line.strip():
                self.stray.append(line)
            return
        kind, rest = match.group("kind"), match.group("rest")
        if self.complete:
            raise CollectorIntegrityError(
                f"Marker after the end of the envelope (line {line_no}).",
                message_zh=f"信封结束之后还有标记（第 {line_no} 行）。",
            )
        if kind == "SECTION":
            name = self._section_name(rest, line_no)
            if self.open_name is not None:
                raise CollectorIntegrityError(
                    f"Section {name!r} starts inside section {self.open_name!r} (line {line_no}).",
                    message_zh=f"段 {name!r} 在段 {self.open_name!r} 内部开始（第 {line_no} 行）。",
                )
            self.open_name, self.buffer = name, []
        elif kind == "END":
            end = self._end(rest, line_no)
            if self.open_name is None or end.group("name") != self.open_name:
                raise CollectorIntegrityError(
                    f"End of section {end.group('name')!r} out of order (line {line_no}).",
                    message_zh=f"段 {end.group('name')!r} 的结束标记顺序错误（第 {line_no} 行）。",
                )
            self._close(end, self.buffer, cut=None)
        else:
            self._eof(rest, line_no)

    def _section_name(self, rest: str, line_no: int) -> str:
        sec = _SECTION_REST.match(rest)
        if sec is None:
            raise CollectorIntegrityError(
                f"Malformed section marker at line {line_no}.",
                message_zh=f"第 {line_no} 行的段标记格式不正确。",
            )
        name = sec.group("name")
        if name in self.sections:
            raise CollectorIntegrityError(
                f"Section {name!r} appears twice (line {line_no}).",
                message_zh=f"段 {name!r} 出现了两次（第 {line_no} 行）。",
            )
        return name

    @staticmethod
    def _end(rest: str, line_no: int) -> re.Match[str]:
        end = _END_REST.match(rest)
        if end is None:
            raise CollectorIntegrityError(
                f"Malformed end marker at line {line_no}.",
                message_zh=f"第 {line_no} 行的结束标记格式不正确。",
            )
        return end

    def _eof(self, rest: str, line_no: int) -> None:
        if _EOF_REST.match(rest) is None:
            raise CollectorIntegrityError(
                f"Malformed end-of-envelope marker at line {line_no}.",
                message_zh=f"第 {line_no} 行的信封结束标记格式不正确。",
            )
        if self.open_name is not None:
            raise CollectorIntegrityError(
                f"End of envelope inside section {self.open_name!r} (line {line_no}).",
                message_zh=f"信封在段 {self.open_name!r} 内部结束（第 {line_no} 行）。",
            )
        self.complete = True

    def _close(self, end: re.Match[str], lines: list[str], cut: CutPart | None) -> None:
        name = end.group("name")
        if name in self.sections:
            raise CollectorIntegrityError(
                f"Section {name!r} appears twice.", message_zh=f"段 {name!r} 出现了两次。"
            )
        note = end.group("note")
        self.sections[name] = Section(
            name=name,
            lines=tuple(lines),
            status=end.group("status"),  # type: ignore[arg-type]
            truncated=end.group("truncated") == "1" or cut is not None,
            note="" if note == "-" else note,
            complete=cut is None,
            cut=cut,
        )
        self.open_name, self.buffer = None, []

    def _cut_open_section(self, lines: list[str], cut: CutPart | None) -> None:
        """The open section, whose END marker never arrived: keep what came, marked cut."""
        assert self.open_name is not None
        while lines and not lines[-1]:
            lines.pop()
        self.sections[self.open_name] = Section(
            name=self.open_name,
            lines=tuple(lines),
            status="ok",
            truncated=True,
            note="",
            complete=False,
            cut=cut,
        )
        self.open_name, self.buffer = None, []

    def finish_head_only(self, *, cut_mid_line: bool) -> None:
        """The output simply stopped (no Dropped count): the open section ends where it stops."""
        if self.open_name is None:
            return
        buffer = self.buffer
        if buffer and cut_mid_line:
            buffer.pop()  # the output was cut inside this line: do not read half a line
        self._cut_open_section(buffer, cut=None)

    def resume_after_cut(self, tail_text: str) -> None:
        """Cloud Assistant dropped the middle: resynchronise on the tail's first marker.

        The tail starts inside a line (dropped); the lines before its first marker of this run
        belong to the section that marker ends, whose start was lost (or, before a SECTION
        marker, to no section at all). Markers still need this run's nonce, so guest text in the
        tail cannot forge one.
        """
        if self.complete:
            raise CollectorIntegrityError(
                "Output continues after the end of the envelope.",
                message_zh="信封结束之后还有输出。",
            )
        lines = tail_text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if lines:
            lines = lines[1:]  # the rest of the line the cut fell in (empty at a line start)
        index = next((i for i, line in enumerate(lines) if self._marker(line)), None)
        if index is None:
            raise CollectorIntegrityError(
                "The kept tail of a cut output holds no marker of this run.",
                hint="The output was not produced by this run's collector.",
                message_zh="被截断的输出所保留的尾部中没有本次运行的标记。",
                hint_zh="该输出并非由本次运行的采集脚本生成。",
            )
        orphan = lines[:index]
        first = self._marker(lines[index])
        assert first is not None
        kind, rest = first.group("kind"), first.group("rest")
        if kind == "END":
            end = self._end(rest, 0)
            if self.open_name == end.group("name"):
                self._close(end, [*self.buffer, *orphan], cut="middle_lost")
            else:
                if self.open_name is not None:
                    self._cut_open_section(self.buffer, cut="end_lost")
                self._close(end, orphan, cut="start_lost")
        else:
            if self.open_name is not None:
                self._cut_open_section(self.buffer, cut="end_lost")
            self.stray.extend(line for line in orphan if line.strip())
            if kind == "SECTION":
                self.open_name, self.buffer = self._section_name(rest, 0), []
            else:
                self._eof(rest, 0)
        for line in lines[index + 1 :]:
            self.feed(line, 0)
        if self.open_name is not None:
            self._cut_open_section(self.buffer, cut=None)
