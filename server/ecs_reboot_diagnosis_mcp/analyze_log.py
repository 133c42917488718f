"""``ecs-reboot-diagnosis analyze-log FILE``: the guest analyzers over saved evidence, offline.

Reads what an operator saved from a machine and prints the findings the diagnosis would draw
from it. Nothing is sent anywhere. Understood inputs:

- a collector envelope (``ECS_DIAG_ENVELOPE ...``; the nonce is taken from its own header);
- Linux text logs: ``dmesg`` (plain, ``-T``, ``-x``, ``--time-format iso``), ``vmcore-dmesg.txt``,
  pstore files, ``/var/log/messages`` or ``syslog``, ``journalctl`` ``short``/``short-iso``
  output, serial console captures;
- reboot records: ``last``, ``last -x`` (also ``--time-format iso``) and ``utmpdump`` output;
- ``journalctl -o export`` and ``-o json``/``json-pretty``;
- Windows event logs saved as XML (``wevtutil qe System /f:xml``, Event Viewer "Save as XML"),
  as Event Viewer text ("Log Name: ... Description: ... Event Xml: ..."), or event messages
  pasted as they are.

A Linux text log is streamed: read in chunks, each line cut to the analyzers' limit
(:data:`~ecs_reboot_diagnosis.analysis.log_lines.MAX_MODULES_LINE`) as it is read, so memory stays
bounded whatever the file holds (a file of random bytes without a newline is not one huge line).
The format is told from the file's head and a streamed scan for Windows markers; envelopes,
journal exports and JSON and Windows logs are read whole (their parsers need the document).

:func:`run` returns the exit code and the output; errors are one line, exit code 2.
"""

from __future__ import annotations

import codecs
import json
import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path
from typing import Any, BinaryIO, Final, Literal

from ecs_reboot_diagnosis.analysis.envelope import parse_envelope
from ecs_reboot_diagnosis.analysis.findings import analyze_log_lines
from ecs_reboot_diagnosis.analysis.guest import parse_guest_output
from ecs_reboot_diagnosis.analysis.incident_context import TRACE_HEADER, TRACE_LINES
from ecs_reboot_diagnosis.analysis.log_lines import MAX_MODULES_LINE, LogLine, cut_line
from ecs_reboot_diagnosis.analysis.reboot_records import looks_like_wtmp
from ecs_reboot_diagnosis.analysis.signatures import PREFILTER
from ecs_reboot_diagnosis.analysis.windows_guest import (
    RawEvent,
    analyze_windows_events,
    events_from_text,
    events_from_xml,
    looks_like_friendly_view,
)
from ecs_reboot_diagnosis.errors import CollectorIntegrityError
from ecs_reboot_diagnosis.models import Finding
from ecs_reboot_diagnosis.sizes import format_size
from ecs_reboot_diagnosis.text_safety import strip_controls, strip_controls_deep

__all__ = ["MAX_BYTES", "run"]

OsHint = Literal["linux", "windows", "auto"]
OutputFormat = Literal["text", "json"]

MAX_BYTES: Final = 512 * 1024 * 1024
HEAD_BYTES: Final = 256 * 1024  # what format detection reads (at least 64 Ki characters)
CHUNK_BYTES: Final = 1024 * 1024  # how much of a streamed file is in memory at once
_OVERLAP: Final = 4096  # characters a streamed scan keeps across chunks (markers are shorter)
EXIT_OK: Final = 0
EXIT_INPUT: Final = 2

# [ \t]*, not \s*: \s* would run across blank lines from every line start (quadratic)
_ENVELOPE_HEADER: Final = re.compile(
    r"^\ufeff?[ \t]{0,40}ECS_DIAG_ENVELOPE\b(?P<rest>[^\r\n]{0,2000})", re.MULTILINE
)
_EXPORT_FIELD: Final = re.compile(rb"^(?:__REALTIME_TIMESTAMP|__CURSOR)=", re.MULTILINE)
_WINDOWS_XML: Final = re.compile(
    r"<Event\s+xmlns=['\"]http://schemas\.microsoft\.com/win/2004/08/events/event"
)
_WINDOWS_TEXT: Final = re.compile(r"^Log Name:[ \t]{1,40}\S", re.MULTILINE)
# XML pasted without its opening tags: an event's System elements
_WINDOWS_FRAGMENT: Final = re.compile(r"<EventID\b[^<>]{0,100}>\s{0,20}\d{1,6}\s{0,20}</EventID>")
# the Details tab's Friendly View: "[ Name]  Microsoft-Windows-..." and "EventID 41"
_WINDOWS_FRIENDLY: Final = re.compile(
    r"^[ \t]{0,40}(?:\[ ?Name\][ \t]{1,40}\S|EventID[ \t]{1,40}\d)", re.MULTILINE
)
_WINDOWS_MESSAGE: Final = re.compile(
    r"The computer has rebooted from a bugcheck|"
    r"The previous system shutdown at [^\r\n]{1,40}? on \S{1,40}? was unexpected|"
    r"has initiated the (?:restart|power off|shutdown) of computer|"
    r"The system has rebooted without cleanly shutting down first|"
    r"Event Name\s{0,5}[:：]\s{0,5}BlueScreen\b|"
    r"Faulting application name|Nom de l[\u2019']application d\u00e9faillante|"
    r"Name der fehlerhaften Anwendung|\u9519\u8bef\u5e94\u7528\u7a0b\u5e8f\u540d\u79f0|"
    r"stopped interacting with Windows and was closed",
    re.MULTILINE,
)


class _InputError(Exception):
    """The file cannot be analysed: one line for the operator."""


def _encoding(raw: bytes) -> str:
    """The text encoding of a file whose first bytes are ``raw``."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if raw.count(b"\x00") > len(raw) // 4 and len(raw) >= 4:
        # UTF-16 without a BOM (PowerShell's "> file" of old), guess the byte order
        little = raw[1::2].count(b"\x00") > raw[0::2].count(b"\x00")
        return "utf-16-le" if little else "utf-16-be"
    return "utf-8-sig"


def _decode(raw: bytes) -> str:
    return raw.decode(_encoding(raw), errors="replace")


def _chunks(fh: BinaryIO, encoding: str, size: int = CHUNK_BYTES) -> Iterator[str]:
    """The decoded text of ``fh`` from where it stands, ``size`` bytes at a time."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    while block := fh.read(size):
        if text := decoder.decode(block):
            yield text
    if text := decoder.decode(b"", final=True):
        yield text


class _WindowsFound(Exception):
    """A streamed Linux analysis met a Windows event log marker: read the file whole."""


def _windows_marker(window: str) -> bool:
    # "Log Name:" first: a literal is found much faster than the anchored pattern is run
    return bool(
        ("Log Name:" in window and _WINDOWS_TEXT.search(window))
        or _WINDOWS_XML.search(window)
        or _WINDOWS_MESSAGE.search(window)
    )


class _Stream:
    """The candidate lines of a Linux text log, streamed: each line numbered as
    ``str.splitlines`` numbers it, cut to MAX_MODULES_LINE, and only the lines the analyzer's
    pre-filter passes become :class:`LogLine` values (the others cannot give a hit).

    A chunk is split into lines in one call; the pre-filter runs over the whole chunk and only the
    lines holding a match are looked at. A line never grows past the cut in memory: what a chunk
    adds to a line already at the limit is dropped. With ``windows`` set, a Windows event log
    marker anywhere raises :class:`_WindowsFound`.
    """

    def __init__(
        self, fh: BinaryIO, encoding: str, source: str, *, windows: bool, chunk: int = CHUNK_BYTES
    ) -> None:
        self.fh, self.encoding, self.source, self.windows = fh, encoding, source, windows
        self.chunk = chunk
        self.seen_text = False
        self._trace_left = 0
        """Lines of a call trace still to come at the start of the next chunk."""

    def _lines(self, base: int, pieces: Sequence[str], window: str) -> Iterator[LogLine]:
        starts = list(accumulate(map(len, pieces), initial=0))
        hits = {
            bisect_right(starts, m.start()) - 1 for m in PREFILTER.finditer(window, 0, starts[-1])
        }
        # the lines after a "Call Trace:" line are its frames: the analyzer reads them too
        # (they name no incident, so the pre-filter passes none of them)
        order = sorted(hits)
        n = len(pieces)
        trace_stop = self._trace_left  # lines [0, trace_stop) belong to a call trace
        i = k = 0
        while True:
            while k < len(order) and order[k] < i:
                k += 1
            if i >= min(trace_stop, n):
                if k == len(order):
                    break
                i = order[k]
            line = pieces[i][: MAX_MODULES_LINE + 2].splitlines()[0][:MAX_MODULES_LINE]
            if i < trace_stop or PREFILTER.search(cut_line(line)):
                yield LogLine(source=self.source, line_no=base + i + 1, text=line)
                if TRACE_HEADER.search(line):
                    trace_stop = max(trace_stop, i + 1 + TRACE_LINES)
            i += 1
        self._trace_left = max(0, trace_stop - n)

    def __iter__(self) -> Iterator[LogLine]:
        carry = ""  # the unfinished last line (cut), with its "\r" if "\n" may follow
        tail = ""  # the end of the previous chunk, for markers across chunks
        base = 0  # lines before the window
        for text in _chunks(self.fh, self.encoding, self.chunk):
            if self.windows:
                if _windows_marker(tail + text):
                    raise _WindowsFound
                tail = text[-_OVERLAP:]
                brk = tail.find("\n")  # keep a line start, or a character that is none (for ^)
                tail = tail[brk + 1 :] if brk >= 0 else "\x01" + tail
            self.seen_text = self.seen_text or not (text.isspace() or text == "")
            window = carry + text
            pieces = window.splitlines(keepends=True)
            last = pieces[-1]
            ends = last.splitlines()[0]
            if ends != last and not last.endswith("\r"):  # the window ends with a line break
                carry = ""
            else:
                pieces.pop()
                carry = ends[:MAX_MODULES_LINE] + last[len(ends) :]
            if pieces:
                yield from self._lines(base, pieces, window)
                base += len(pieces)
        if carry:
            line = carry.splitlines()[0] if carry.strip("\r") else ""
            yield from self._lines(base, [line], line)


# --- journald ---------------------------------------------------------------------------------


def _journal_line(fields: dict[str, str]) -> Iterator[str]:
    """A journal entry as ``journalctl -o short-iso`` prints it, one line per message line."""
    usec = fields.get("__REALTIME_TIMESTAMP", "")
    stamp = (
        datetime.fromtimestamp(int(usec) / 1_000_000, UTC).isoformat(timespec="microseconds")
        if usec.isdigit()
        else "-"
    )
    host = fields.get("_HOSTNAME") or "localhost"
    if fields.get("_TRANSPORT") == "kernel":
        ident = "kernel"
    else:
        ident = fields.get("SYSLOG_IDENTIFIER") or fields.get("_COMM") or "unknown"
        pid = fields.get("SYSLOG_PID") or fields.get("_PID")
        ident += f"[{pid}]" if pid else ""
    for message in (fields.get("MESSAGE") or "").splitlines() or [""]:
        yield f"{stamp} {host} {ident}: {message}"


def _export_lines(raw: bytes, source: str) -> list[LogLine]:
    """``journalctl -o export``: entries of KEY=value lines, binary fields length-prefixed."""
    out: list[LogLine] = []
    fields: dict[str, str] = {}
    message_line = 0
    line_no, pos = 1, 0

    def flush() -> None:
        if "MESSAGE" in fields:
            out.extend(
                LogLine(source=source, line_no=message_line, text=text)
                for text in _journal_line(fields)
            )
        fields.clear()

    while pos < len(raw):
        end = raw.find(b"\n", pos)
        end = len(raw) if end == -1 else end
        line = raw[pos:end]
        if not line:
            flush()
        elif b"=" in line:
            key, _, value = line.partition(b"=")
            name = key.decode("ascii", errors="replace")
            fields[name] = value.decode("utf-8", errors="replace")
            if name == "MESSAGE":
                message_line = line_no
        else:  # binary field: name, then a 64-bit little-endian size, then the data
            size = int.from_bytes(raw[end + 1 : end + 9], "little")
            data = raw[end + 9 : end + 9 + size]
            name = line.decode("ascii", errors="replace")
            fields[name] = data.decode("utf-8", errors="replace")
            if name == "MESSAGE":
                message_line = line_no
            line_no += data.count(b"\n")
            end = end + 9 + size
        line_no += 1
        pos = end + 1
    flush()
    return out


def _json_value(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return bytes(v & 0xFF for v in value).decode("utf-8", errors="replace")
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def _json_lines(text: str, source: str) -> list[LogLine]:
    """``journalctl -o json`` (one object a line) or ``-o json-pretty``."""
    decoder = json.JSONDecoder()
    out: list[LogLine] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,[]":
            pos += 1
        if pos >= len(text):
            return out
        try:
            obj, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise _InputError(f"{source}: not journal JSON at line {exc.lineno}") from None
        if isinstance(obj, dict):
            fields = {str(k): _json_value(v) for k, v in obj.items()}
            line_no = text.count("\n", 0, pos) + 1
            out.extend(
                LogLine(source=source, line_no=line_no, text=t) for t in _journal_line(fields)
            )
        pos = end


# --- detection --------------------------------------------------------------------------------


def _looks_like_json(text: str) -> bool:
    head = text.lstrip()[:4096]
    return head.startswith(("{", "[")) and '"MESSAGE"' in head


def _envelope(text: str, os_hint: OsHint) -> tuple[str, list[Finding]]:
    header = _ENVELOPE_HEADER.search(text)
    assert header is not None
    fields = dict(t.partition("=")[::2] for t in header.group("rest").split() if "=" in t)
    nonce = fields.get("nonce", "")
    try:
        envelope = parse_envelope(text, nonce)
    except CollectorIntegrityError as exc:
        raise _InputError(f"not a valid collector envelope: {exc}") from None
    collector = envelope.collector
    if collector not in ("linux", "windows"):
        raise _InputError(f"the envelope comes from an unknown collector {collector!r}")
    if os_hint != "auto" and os_hint != collector:
        raise _InputError(f"the file is a {collector} collector envelope, not {os_hint}")
    guest = parse_guest_output(collector, text, nonce)  # type: ignore[arg-type]
    return f"collector envelope ({collector}, version {envelope.version})", list(guest.findings)


def _windows(events: Sequence[RawEvent]) -> list[Finding]:
    return analyze_windows_events(events)


def _analyze(raw: bytes, text: str, os_hint: OsHint, source: str) -> tuple[str, list[Finding]]:
    if _ENVELOPE_HEADER.search(text[:65536] if len(text) > 65536 else text):
        return _envelope(text, os_hint)
    if os_hint != "linux":
        if _WINDOWS_TEXT.search(text):
            return "Windows Event Viewer text", _windows(events_from_text(text, source))
        if (
            _WINDOWS_XML.search(text)
            or _WINDOWS_FRAGMENT.search(text[:65536])
            or (os_hint == "windows" and "<Event" in text)
        ):
            try:
                events = events_from_xml(text, source)
            except ValueError as exc:
                if "document type" in str(exc):
                    raise _InputError(f"{source}: {exc}") from None
                # not XML after all, or too broken to read: what the text matchers find
                return "Windows event text (unreadable XML)", _windows(
                    events_from_text(text, source)
                )
            return "Windows event XML", _windows(events)
        if looks_like_friendly_view(text) and _WINDOWS_FRIENDLY.search(text[:65536]):
            return "Windows Event Viewer details", _windows(events_from_text(text, source))
        if os_hint == "windows" or _WINDOWS_MESSAGE.search(text):
            return "Windows event messages", _windows(events_from_text(text, source))
    if _EXPORT_FIELD.search(raw[:65536]):
        return "journal export", analyze_log_lines(_export_lines(raw, source))
    if _looks_like_json(text):
        return "journal JSON", analyze_log_lines(_json_lines(text, source))
    rows = text.splitlines()
    if looks_like_wtmp(rows):
        return "reboot records (last / utmpdump)", analyze_log_lines(
            (), reboot_records=rows, reboot_source=source
        )
    lines = (LogLine(source=source, line_no=n, text=line) for n, line in enumerate(rows, start=1))
    return "Linux log", analyze_log_lines(lines)


# --- output -----------------------------------------------------------------------------------


def _facts(finding: Finding) -> dict[str, Any]:
    facts = finding.facts.model_dump(mode="json", exclude_none=True)
    return {k: v for k, v in facts.items() if v != []}


def _ordered(findings: Sequence[Finding]) -> list[Finding]:
    # the analyzers list the findings in order: most severe first, a cause before what it caused
    # (tables/precedence.toml); re-sorting by severity alone would put the panic before its cause
    return list(findings)


def _as_json(findings: Sequence[Finding]) -> str:
    kinds: list[str] = []
    for f in findings:
        if f.kind not in kinds:
            kinds.append(f.kind)
    document = {
        "primary_kind": findings[0].kind if findings else None,
        "kinds": kinds,
        "findings": [
            {
                "kind": f.kind,
                "severity": f.severity,
                "summary": f.summary.en,
                "confidence": f.confidence,
                "evidence": [{"line_no": e.line_no, "text": e.text} for e in f.evidence],
                "facts": _facts(f),
            }
            for f in findings
        ],
    }
    return json.dumps(strip_controls_deep(document), ensure_ascii=False, indent=2)


def _as_text(path: Path, what: str, findings: Sequence[Finding]) -> str:
    if not findings:
        return f"{path}: no crash or reboot signature found ({what})"
    blocks = [f"{path}: {len(findings)} finding(s) ({what})"]
    for f in findings:
        lines = [f"[{f.severity}] {f.kind} (confidence {f.confidence})", f"  {f.summary.en}"]
        facts = _facts(f)
        if facts:
            shown = ", ".join(
                f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                for k, v in facts.items()
            )
            lines.append(f"  facts: {shown}")
        for e in f.evidence:
            # an envelope's evidence points into the guest's own files and sections
            where = "" if e.source == path.name else e.source
            if e.line_no is not None:
                where = f"{where} line {e.line_no}".strip()
            lines.append(f"  {where or e.source}: {e.text}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _read_whole(head: bytes, os_hint: OsHint) -> bool:
    """Whether the file needs its whole text, told from its head: an envelope, a Windows log, a
    journal export or JSON, reboot records (as :func:`_analyze` tells them). Else it is a Linux
    text log, streamed (with a scan for the Windows markers :func:`_analyze` looks for in the
    whole text)."""
    rows = head.decode(_encoding(head), errors="replace").splitlines()
    if len(head) == HEAD_BYTES:
        rows = rows[:-1]  # the last line of the head may go on
    if looks_like_wtmp(rows):
        return True
    head_text = head.decode(_encoding(head), errors="replace")[:65536]
    if _ENVELOPE_HEADER.search(head_text) or os_hint == "windows":
        return True
    if os_hint != "linux" and (
        _WINDOWS_FRAGMENT.search(head_text)
        or (looks_like_friendly_view(head_text) and _WINDOWS_FRIENDLY.search(head_text))
    ):
        return True
    return bool(_EXPORT_FIELD.search(head[:65536])) or _looks_like_json(head_text)


def _analyze_file(path: Path, os_hint: OsHint) -> tuple[str, list[Finding]]:
    source = path.name
    empty = _InputError(f"{path} is empty")
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
        fh.seek(0)
        if not _read_whole(head, os_hint):
            stream = _Stream(fh, _encoding(head), source, windows=os_hint != "linux")
            try:
                findings = analyze_log_lines(stream)
            except _WindowsFound:
                fh.seek(0)
            else:
                if not stream.seen_text:
                    raise empty
                return "Linux log", findings
        raw = fh.read()
    text = _decode(raw)
    if not text.strip():
        raise empty
    return _analyze(raw, text, os_hint, source)


def run(path: Path, os_hint: OsHint, fmt: OutputFormat) -> tuple[int, str]:
    """Analyse the saved evidence in ``path``: (exit code, output or a one-line error).

    The output carries no control character: log text cannot reach the terminal as escape
    sequences (title changes, screen clears, clipboard writes, hyperlinks) or bidi overrides.
    """
    code, out = _run(path, os_hint, fmt)
    return code, strip_controls(out)


def _run(path: Path, os_hint: OsHint, fmt: OutputFormat) -> tuple[int, str]:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return EXIT_INPUT, (
                f"{path} is {format_size(size)}; analyse at most "
                f"{format_size(MAX_BYTES)} (cut the log around the incident)"
            )
        what, findings = _analyze_file(path, os_hint)
    except OSError as exc:
        return EXIT_INPUT, f"cannot read {path}: {exc.strerror or exc}"
    except _InputError as exc:
        return EXIT_INPUT, str(exc)
    ordered = _ordered(findings)
    return EXIT_OK, _as_json(ordered) if fmt == "json" else _as_text(path, what, ordered)
