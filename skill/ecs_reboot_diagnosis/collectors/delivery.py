"""How a collector travels in ``RunCommand``: the readable script, or a packed stub.

Cloud Assistant limits ``CommandContent``: the Base64 form of the content plus the custom
parameters may not exceed a size that differs between versions of the API reference (16 KB,
18 KB, 24 KB). Two forms exist:

- ``plain``: the collector script itself, as shipped (readable in the Cloud Assistant console).
- ``packed``: a short, fixed, readable stub that carries the script as gzip + Base64 (the way
  Ansible ships its modules), unpacks it, checks its SHA-256 against the hash written in the stub,
  refuses to run anything else, and runs it. The packed Linux script is
  :func:`minify_shell` of ``linux.sh`` (comment lines and indentation dropped, never inside a
  here-document or a multi-line quoted string); the stub keeps the ``{{nonce}}`` and
  ``{{since_days}}`` placeholders in the quoted here-documents of the original, so Cloud Assistant
  still substitutes them, and hands the values to the script as arguments: they are never spliced
  into code. ``references/collector-delivery.md`` shows the stub templates and how to check, in the
  console, what ran.

:func:`choose_delivery` picks ``plain`` when it fits the configured limit, else ``packed``; the
service retries once with ``packed`` when the API answers ``CmdContent.ExceedLimit``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Final, Literal

from ecs_reboot_diagnosis.collectors import COLLECTOR_PARAMETERS, Collector, load_collector
from ecs_reboot_diagnosis.models import OsType

__all__ = [
    "DEFAULT_CONTENT_LIMIT",
    "DOCUMENTED_CONTENT_LIMITS",
    "EXCEED_LIMIT_CODE",
    "LINUX_STUB_TEMPLATE",
    "REFUSED_EXIT_CODE",
    "UNPACK_FAILED_EXIT_CODE",
    "WINDOWS_STUB_TEMPLATE",
    "Delivery",
    "DeliveryForm",
    "choose_delivery",
    "content_size",
    "form_for",
    "minify_shell",
    "packed_command",
    "packed_script",
    "plain_command",
    "stub_text",
]

Delivery = Literal["plain", "packed"]

DOCUMENTED_CONTENT_LIMITS: Final = (16 * 1024, 18 * 1024, 24 * 1024)
"""``CommandContent`` limits (Base64 content plus parameters) in versions of the API docs."""
DEFAULT_CONTENT_LIMIT: Final = DOCUMENTED_CONTENT_LIMITS[0]
"""The strictest one, assumed unless configured."""
EXCEED_LIMIT_CODE: Final = "CmdContent.ExceedLimit"
UNPACK_FAILED_EXIT_CODE: Final = 5
REFUSED_EXIT_CODE: Final = 6

LINUX_STUB_TEMPLATE: Final = """\
#!/bin/sh
# ecs-reboot-diagnosis Linux collector {version}, packed: P is the collector script (comment lines
# and indentation removed) as gzip + Base64. It runs only if its SHA-256 is S.
# How to check what ran: references/collector-delivery.md of ecs-reboot-diagnosis.
read -r N <<'ECS_DIAG_PARAM'
{{{{nonce}}}}
ECS_DIAG_PARAM
read -r D <<'ECS_DIAG_PARAM'
{{{{since_days}}}}
ECS_DIAG_PARAM
S={sha256}
P='{payload}'
if command -v base64 >/dev/null 2>&1; then B='base64 -d'
elif command -v openssl >/dev/null 2>&1; then B='openssl base64 -d -A'
else B='busybox base64 -d'; fi
if command -v sha256sum >/dev/null 2>&1; then H=sha256sum
elif command -v openssl >/dev/null 2>&1; then H='openssl dgst -sha256 -r'
else H='busybox sha256sum'; fi
C=$(printf '%s' "$P" | $B 2>/dev/null | gzip -dc 2>/dev/null)
if [ -z "$C" ]; then
  echo "ecs-reboot-diagnosis: cannot unpack the collector (needs base64 or openssl, and gzip)" >&2
  exit {unpack_failed}
fi
h=$(printf '%s\\n' "$C" | $H 2>/dev/null)
h=${{h%% *}}
if [ "$h" != "$S" ]; then
  echo "ecs-reboot-diagnosis: collector not run: its SHA-256 ${{h:-?}} is not $S" >&2
  exit {refused}
fi
exec sh -c "$C" ecs-reboot-diagnosis "$N" "$D"
"""
"""The Linux stub; ``str.format`` fields: version, sha256, payload, unpack_failed, refused."""

WINDOWS_STUB_TEMPLATE: Final = """\
# ecs-reboot-diagnosis Windows collector {version}, packed: $P is the collector script as
# gzip + Base64. It runs only if its SHA-256 is $S.
# How to check what ran: references/collector-delivery.md of ecs-reboot-diagnosis.
$ErrorActionPreference = 'Stop'
$N = @'
{{{{nonce}}}}
'@
$D = @'
{{{{since_days}}}}
'@
$S = '{sha256}'
$P = '{payload}'
try {{
    $m = New-Object IO.MemoryStream(,[Convert]::FromBase64String($P))
    $z = New-Object IO.Compression.GZipStream($m, [IO.Compression.CompressionMode]::Decompress)
    $C = (New-Object IO.StreamReader($z, [Text.Encoding]::ASCII)).ReadToEnd()
}} catch {{
    [Console]::Error.WriteLine('ecs-reboot-diagnosis: cannot unpack the collector')
    exit {unpack_failed}
}}
$b = [Security.Cryptography.SHA256]::Create().ComputeHash([Text.Encoding]::ASCII.GetBytes($C))
$h = -join ($b | ForEach-Object {{ $_.ToString('x2') }})
if ($h -ne $S) {{
    [Console]::Error.WriteLine("ecs-reboot-diagnosis: collector not run: its SHA-256 $h is not $S")
    exit {refused}
}}
& ([ScriptBlock]::Create($C)) $N.Trim() $D.Trim()
exit $LASTEXITCODE
"""
"""The Windows stub (sent with CRLF line ends); ``str.format`` fields as for Linux."""

# The placeholder blocks of the scripts, replaced in the packed script by positional arguments.
_SH_PARAM = re.compile(r"^read -r (\w+) <<'ECS_DIAG_PARAM'\n\{\{(\w+)\}\}\nECS_DIAG_PARAM\n", re.M)
_PS_PARAM = re.compile(r"^(\$\w+) = @'\r\n\{\{(\w+)\}\}\r\n'@\r\n", re.M)
_HEREDOC = re.compile(r"<<-?[ \t]*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


@dataclass(frozen=True, slots=True)
class DeliveryForm:
    """One way to send a collector: the ``CommandContent`` text and the script it runs."""

    delivery: Delivery
    content: str
    """What ``RunCommand`` carries (before Cloud Assistant substitutes the parameters)."""
    content_sha256: str
    script_sha256: str
    """SHA-256 of the script that runs: the collector itself (plain) or the unpacked one."""


def content_size(content: str, parameters: Mapping[str, str]) -> int:
    """What the ``CommandContent`` limit counts: Base64 of the content plus the parameters."""
    size = len(base64.b64encode(content.encode("utf-8")))
    if parameters:
        size += len(json.dumps(dict(parameters), ensure_ascii=False).encode("utf-8"))
    return size


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _open_single_quote(line: str, open_quote: bool) -> bool:
    """Whether a single-quoted string is still open at the end of ``line`` (sh quoting)."""
    double = False
    i = 0
    while i < len(line):
        ch = line[i]
        if open_quote:
            if ch == "'":
                open_quote = False
        elif ch == "\\":
            i += 1
        elif ch == '"':
            double = not double
        elif ch == "'" and not double:
            open_quote = True
        elif ch == "#" and not double and (i == 0 or line[i - 1] in " \t;"):
            break  # a comment: quotes in it do not count
        i += 1
    return open_quote


def minify_shell(text: str) -> str:
    """Drop comment-only lines, blank lines and leading indentation of a POSIX sh script.

    Lines of here-documents and of quoted strings that span lines (awk programs) are kept as
    they are, as is the rest of every line. The result ends with one newline.
    """
    out: list[str] = []
    heredocs: list[str] = []
    in_quote = False
    for line in text.split("\n"):
        if heredocs:
            out.append(line)
            if line == heredocs[0]:
                heredocs.pop(0)
            continue
        if in_quote:
            out.append(line)
            in_quote = _open_single_quote(line, True)
            continue
        stripped = line.lstrip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        out.append(stripped)
        in_quote = _open_single_quote(stripped, False)
        if not in_quote:
            heredocs.extend(m.group(2) for m in _HEREDOC.finditer(stripped))
    if heredocs or in_quote:
        raise ValueError("unterminated here-document or quoted string")
    return "\n".join(out).rstrip("\n") + "\n"


def _arguments_for_parameters(collector: Collector, script: str) -> str:
    """The script with its parameter blocks turned into reads of positional arguments."""
    position = {name: i for i, name in enumerate(COLLECTOR_PARAMETERS)}
    if collector.os_type == "linux":
        pattern = _SH_PARAM

        def repl(m: re.Match[str]) -> str:
            return f"{m.group(1)}=${position[m.group(2)] + 1}\n"
    else:
        pattern = _PS_PARAM

        def repl(m: re.Match[str]) -> str:
            return f"{m.group(1)} = [string]$args[{position[m.group(2)]}]\r\n"

    result, count = pattern.subn(repl, script)
    if count != len(COLLECTOR_PARAMETERS) or "{{" in result:
        raise ValueError(f"{collector.name}: unexpected parameter blocks")
    return result


@cache
def packed_script(collector: Collector) -> str:
    """The script the packed form carries and runs (deterministic)."""
    script = _arguments_for_parameters(collector, collector.content)
    return minify_shell(script) if collector.os_type == "linux" else script


def _gzip(data: bytes) -> bytes:
    # mtime 0 and no file name: the same bytes on every build.
    return gzip.compress(data, compresslevel=9, mtime=0)


def plain_command(collector: Collector) -> DeliveryForm:
    return DeliveryForm("plain", collector.content, collector.sha256, collector.sha256)


@cache
def packed_command(collector: Collector) -> DeliveryForm:
    script = packed_script(collector)
    payload = base64.b64encode(_gzip(script.encode("ascii"))).decode("ascii")
    stub = stub_text(
        collector.os_type, version=collector.version, sha256=_sha256(script), payload=payload
    )
    return DeliveryForm("packed", stub, _sha256(stub), _sha256(script))


def stub_text(os_type: OsType, *, version: str, sha256: str, payload: str) -> str:
    """The stub of ``os_type`` filled in (Windows: CRLF line ends, as ``windows.ps1``)."""
    template = LINUX_STUB_TEMPLATE if os_type == "linux" else WINDOWS_STUB_TEMPLATE
    stub = template.format(
        version=version,
        sha256=sha256,
        payload=payload,
        unpack_failed=UNPACK_FAILED_EXIT_CODE,
        refused=REFUSED_EXIT_CODE,
    )
    return stub.replace("\n", "\r\n") if os_type == "windows" else stub


def choose_delivery(
    collector: Collector, parameters: Mapping[str, str], limit: int = DEFAULT_CONTENT_LIMIT
) -> DeliveryForm:
    """``plain`` when it fits ``limit`` (Base64 content plus parameters), else ``packed``."""
    plain = plain_command(collector)
    if content_size(plain.content, parameters) <= limit:
        return plain
    return packed_command(collector)


def form_for(os_type: OsType, delivery: Delivery) -> DeliveryForm:
    """The given form of the collector for ``os_type`` (benchmarks, documentation, tests)."""
    collector = load_collector(os_type)
    return plain_command(collector) if delivery == "plain" else packed_command(collector)
