"""Parse the envelope a guest collector prints (format: ``collectors/ENVELOPE.md``).

The parser trusts nothing but the structure it expects for *this* run:

- the first line starting with ``ECS_DIAG_ENVELOPE`` is the header; it must carry a supported
  ``schema_version`` and this run's nonce, else :class:`CollectorIntegrityError`;
- a marker is a whole line ``=====<nonce> SECTION|END|EOF ...=====``; lines that look like markers
  but carry another nonce are plain data (log text cannot know the nonce);
- markers with this run's nonce must come in order (no section inside a section, END names the
  open section, nothing after EOF, no section twice), else :class:`CollectorIntegrityError`;
- output that stops inside a section (Cloud Assistant keeps only the first 24 KB) yields that
  section marked truncated and incomplete, and the envelope marked incomplete.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from ecs_reboot_diagnosis.errors import CollectorIntegrityError
from ecs_reboot_diagnosis.models import SectionStatus

__all__ = [
    "LINUX_SECTIONS",
    "SUPPORTED_SCHEMA_VERSIONS",
    "WINDOWS_SECTIONS",
    "Envelope",
    "Section",
    "SectionState",
    "parse_envelope",
]

SUPPORTED_SCHEMA_VERSIONS: Final = frozenset({1})

LINUX_SECTIONS: Final[tuple[str, ...]] = (
    "meta",
    "os",
    "boot",
    "reboot_history",
    "journal_boots",
    "journal_tail",
    "journal_kernel",
    "syslog",
    "dmesg",
    "oom",
    "sysctl",
    "kdump",
    "crash_files",
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
    """False when the output ended before this section's END marker."""

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
        if not self.complete:
            note = "output ended inside this section (Cloud Assistant output limit?)"
        elif self.status == "error":
            note = f"error: {self.note}" if self.note else "error"
        return SectionStatus(
            name=self.name,
            present=self.status == "ok",
            truncated=self.truncated,
            has_data=any(line and not line.startswith("#") for line in self.lines),
            note=note,
        )


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


def parse_envelope(output: str, nonce: str) -> Envelope:
    """Parse ``output`` of a collector run started with ``nonce``.

    Raises :class:`CollectorIntegrityError` when the output is not an envelope of this run.
    """
    if not _NONCE.match(nonce):
        raise CollectorIntegrityError("The expected nonce is malformed.")
    lines = output.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = next(
        (i for i, line in enumerate(lines) if line.lstrip("\ufeff \t").startswith(_HEADER_PREFIX)),
        None,
    )
    if start is None:
        raise CollectorIntegrityError(
            "The command output has no collector envelope header.",
            hint="The command may not be the packaged collector, or it failed before printing.",
        )
    header = _header_fields(lines[start].lstrip("\ufeff \t"))
    if "error" in header:
        raise CollectorIntegrityError(
            f"The collector refused to run: {header['error']}.",
            hint="Its parameters are validated in the guest; send the values new_nonce() and "
            "collector_parameters() produce.",
        )
    try:
        schema_version = int(header.get("schema_version", ""))
    except ValueError:
        raise CollectorIntegrityError("The envelope header has no valid schema_version.") from None
    if schema_version not in SUPPORTED_SCHEMA_VERSIONS:
        raise CollectorIntegrityError(
            f"Unsupported envelope schema_version {schema_version}.",
            hint="The collector and the analyzer come from different releases.",
        )
    if header.get("nonce") != nonce:
        raise CollectorIntegrityError(
            "The envelope nonce does not match this run.",
            hint="The output belongs to another invocation, or was not produced by the collector.",
        )
    collector = header.get("collector", "")
    version = header.get("version", "")
    if not collector or not version:
        raise CollectorIntegrityError("The envelope header lacks the collector name or version.")

    sections: dict[str, Section] = {}
    stray: list[str] = [line for line in lines[:start] if line.strip()]
    open_name: str | None = None
    buffer: list[str] = []
    complete = False
    for line_no, line in enumerate(lines[start + 1 :], start=start + 2):
        match = _MARKER.match(line)
        if match is None or match.group("nonce") != nonce:
            if complete:
                if line.strip():
                    stray.append(line)
            elif open_name is not None:
                buffer.append(line)
            elif line.strip():
                stray.append(line)
            continue
        kind, rest = match.group("kind"), match.group("rest")
        if complete:
            raise CollectorIntegrityError(f"Marker after the end of the envelope (line {line_no}).")
        if kind == "SECTION":
            sec = _SECTION_REST.match(rest)
            if sec is None:
                raise CollectorIntegrityError(f"Malformed section marker at line {line_no}.")
            name = sec.group("name")
            if open_name is not None:
                raise CollectorIntegrityError(
                    f"Section {name!r} starts inside section {open_name!r} (line {line_no})."
                )
            if name in sections:
                raise CollectorIntegrityError(f"Section {name!r} appears twice (line {line_no}).")
            open_name, buffer = name, []
        elif kind == "END":
            end = _END_REST.match(rest)
            if end is None:
                raise CollectorIntegrityError(f"Malformed end marker at line {line_no}.")
            if open_name is None or end.group("name") != open_name:
                raise CollectorIntegrityError(
                    f"End of section {end.group('name')!r} out of order (line {line_no})."
                )
            note = end.group("note")
            sections[open_name] = Section(
                name=open_name,
                lines=tuple(buffer),
                status=end.group("status"),  # type: ignore[arg-type]
                truncated=end.group("truncated") == "1",
                note="" if note == "-" else note,
                complete=True,
            )
            open_name, buffer = None, []
        else:
            if _EOF_REST.match(rest) is None:
                raise CollectorIntegrityError(
                    f"Malformed end-of-envelope marker at line {line_no}."
                )
            if open_name is not None:
                raise CollectorIntegrityError(
                    f"End of envelope inside section {open_name!r} (line {line_no})."
                )
            complete = True
    if open_name is not None:
        if buffer and not output.endswith("\n"):
            buffer.pop()  # the output was cut inside this line: do not read half a line
        while buffer and not buffer[-1]:
            buffer.pop()
        sections[open_name] = Section(
            name=open_name,
            lines=tuple(buffer),
            status="ok",
            truncated=True,
            note="",
            complete=False,
        )
    return Envelope(
        schema_version=schema_version,
        collector=collector,
        version=version,
        nonce=nonce,
        header=header,
        sections=sections,
        complete=complete,
        stray_lines=tuple(stray),
    )
