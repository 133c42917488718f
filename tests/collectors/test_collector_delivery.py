"""The two delivery forms of the collectors: the readable script and the packed stub.

The packed Linux stub really runs (bash and dash) against every fixture tree and must print the
very envelope the readable script prints; a tampered payload is refused. PowerShell cannot run
here: the Windows stub is checked statically (its payload unpacks to the script it hashes).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from pathlib import Path

import pytest

from ecs_reboot_diagnosis.collectors import collector_parameters, load_collector, new_nonce
from ecs_reboot_diagnosis.collectors.delivery import (
    DEFAULT_CONTENT_LIMIT,
    REFUSED_EXIT_CODE,
    UNPACK_FAILED_EXIT_CODE,
    choose_delivery,
    content_size,
    minify_shell,
    packed_command,
    packed_script,
    plain_command,
    stub_text,
)
from ecs_reboot_diagnosis.models import OsType
from tests.collectors.linux_harness import LINUX_CASES, run_linux_case

CASES = sorted(p.name for p in LINUX_CASES.iterdir() if (p / "case.json").exists())
STUB_TOOLS = ("base64", "sha256sum")
REFERENCE = Path(__file__).resolve().parents[2] / "references" / "collector-delivery.md"


def _payload(stub: str) -> str:
    match = re.search(r"^\$?P = '([A-Za-z0-9+/=]+)'\r?$|^P='([A-Za-z0-9+/=]+)'$", stub, re.M)
    assert match is not None
    return match.group(1) or match.group(2)


def _expected_sha(stub: str) -> str:
    match = re.search(r"^\$?S ?= ?'?([0-9a-f]{64})'?\r?$", stub, re.M)
    assert match is not None
    return match.group(1)


def _stable(output: str) -> str:
    """The envelope without what the test machine changes between two runs (free disk space)."""
    return re.sub(r"^dump_path_free_kb=\d+$", "dump_path_free_kb=N", output, flags=re.M)


@pytest.mark.parametrize("shell", ["bash", "dash"])
@pytest.mark.parametrize("case", CASES)
def test_packed_stub_prints_the_envelope_of_the_readable_script(
    case: str, shell: str, tmp_path: Path
) -> None:
    nonce = new_nonce()
    runs = []
    for form in (plain_command, packed_command):
        work = tmp_path / form.__name__
        work.mkdir()
        content = form(load_collector("linux")).content
        runs.append(
            run_linux_case(
                case, work, shell=shell, nonce=nonce, content=content, extra_tools=STUB_TOOLS
            )
        )
    plain, packed = (_stable(run.output) for run in runs)
    assert plain.startswith("ECS_DIAG_ENVELOPE ")
    assert f"====={nonce} EOF sections=" in plain
    assert packed == plain  # byte for byte: same nonce, same DIAG_NOW
    assert runs[1].returncode == runs[0].returncode == 0


def test_packed_stub_hands_bad_parameters_to_the_script_as_data(tmp_path: Path) -> None:
    """A parameter value is an argument of the unpacked script, never code."""
    stub = packed_command(load_collector("linux")).content
    run = run_linux_case(
        "clean_reboot",
        tmp_path,
        nonce="$(touch pwned)",
        since_days="7; touch pwned",
        content=stub,
        extra_tools=STUB_TOOLS,
    )
    assert run.returncode == 2
    assert run.output.strip().endswith("nonce=invalid error=bad_parameter:nonce,since_days")
    assert not list(tmp_path.rglob("pwned"))


def test_packed_stub_falls_back_to_openssl(tmp_path: Path) -> None:
    """No base64 and no sha256sum (an old or trimmed userland): openssl decodes and hashes."""
    nonce = new_nonce()
    stub = packed_command(load_collector("linux")).content
    run = run_linux_case(
        "clean_reboot", tmp_path, nonce=nonce, content=stub, extra_tools=("openssl",)
    )
    assert run.returncode == 0, run.stderr
    assert f"====={nonce} EOF sections=" in run.output


def _tampered_stub() -> str:
    """The stub with a payload that is valid gzip + Base64 of another script."""
    stub = packed_command(load_collector("linux")).content
    evil = packed_script(load_collector("linux")).replace("V=1.", "touch pwned\nV=1.", 1)
    payload = base64.b64encode(gzip.compress(evil.encode(), mtime=0)).decode()
    return stub.replace(_payload(stub), payload)


@pytest.mark.parametrize("shell", ["bash", "dash"])
def test_packed_stub_refuses_a_tampered_payload(shell: str, tmp_path: Path) -> None:
    run = run_linux_case(
        "clean_reboot", tmp_path, shell=shell, content=_tampered_stub(), extra_tools=STUB_TOOLS
    )
    assert run.returncode == REFUSED_EXIT_CODE
    assert run.output == ""
    assert "collector not run: its SHA-256" in run.stderr
    assert not list(tmp_path.rglob("pwned"))


def test_packed_stub_refuses_a_payload_it_cannot_unpack(tmp_path: Path) -> None:
    stub = packed_command(load_collector("linux")).content
    payload = _payload(stub)
    broken = stub.replace(payload, payload[: len(payload) // 2])  # a cut payload
    run = run_linux_case("clean_reboot", tmp_path, content=broken, extra_tools=STUB_TOOLS)
    assert run.returncode in (UNPACK_FAILED_EXIT_CODE, REFUSED_EXIT_CODE)
    assert run.output == ""


def test_packed_forms_carry_the_script_they_hash() -> None:
    for os_type in ("linux", "windows"):
        collector = load_collector(os_type)
        form = packed_command(collector)
        script = gzip.decompress(base64.b64decode(_payload(form.content))).decode("ascii")
        assert script == packed_script(collector)
        assert _expected_sha(form.content) == form.script_sha256
        assert form.script_sha256 == hashlib.sha256(script.encode()).hexdigest()
        assert form.content_sha256 == hashlib.sha256(form.content.encode()).hexdigest()
        assert form.content.isascii()
        # Cloud Assistant still substitutes the parameters: in the stub, not in the payload.
        assert re.findall(r"\{\{[^}]*\}\}", form.content) == ["{{nonce}}", "{{since_days}}"]
        assert "{{" not in script
        assert packed_command(collector) == form  # deterministic


def test_windows_stub_text() -> None:
    """Static checks of the PowerShell stub (no PowerShell here)."""
    form = packed_command(load_collector("windows"))
    stub = form.content
    assert "\r\n" in stub and "\n" not in stub.replace("\r\n", "")
    assert "$N = @'\r\n{{nonce}}\r\n'@\r\n" in stub
    assert "$D = @'\r\n{{since_days}}\r\n'@\r\n" in stub
    assert "IO.Compression.GZipStream" in stub
    assert "[Security.Cryptography.SHA256]::Create()" in stub
    assert "if ($h -ne $S) {\r\n" in stub
    assert f"    exit {REFUSED_EXIT_CODE}\r\n" in stub
    assert "& ([ScriptBlock]::Create($C)) $N.Trim() $D.Trim()\r\n" in stub
    assert "Invoke-Expression" not in stub and "iex " not in stub
    script = packed_script(load_collector("windows"))
    assert "$Nonce = [string]$args[0]\r\n" in script
    assert "$Since = [string]$args[1]\r\n" in script
    # the rest of the packed script is the collector, unchanged
    original = load_collector("windows").content
    assert re.sub(r"= \[string\]\$args\[\d\]\r\n", "", script) == re.sub(
        r"= @'\r\n\{\{\w+\}\}\r\n'@\r\n", "", original
    )


def test_minify_keeps_here_documents_and_multi_line_strings() -> None:
    script = (
        "#!/bin/sh\n"
        "# a comment\n"
        "  echo 'one' # trailing\n"
        "\n"
        "cat <<'EOF'\n"
        "  # kept\n"
        "    indented\n"
        "EOF\n"
        "awk 'BEGIN {\n"
        "  # awk text\n"
        "    x = 1 }'\n"
        "    if true; then\n"
        '      echo "#not a comment"\n'
        "    fi\n"
    )
    assert minify_shell(script) == (
        "echo 'one' # trailing\n"
        "cat <<'EOF'\n"
        "  # kept\n"
        "    indented\n"
        "EOF\n"
        "awk 'BEGIN {\n"
        "  # awk text\n"
        "    x = 1 }'\n"
        "if true; then\n"
        'echo "#not a comment"\n'
        "fi\n"
    )
    with pytest.raises(ValueError):
        minify_shell("cat <<'EOF'\nnever ends\n")


def test_choice_follows_the_limit() -> None:
    parameters = collector_parameters(new_nonce())
    linux = load_collector("linux")
    plain_size = content_size(linux.content, parameters)
    assert choose_delivery(linux, parameters, 24 * 1024).delivery == "plain"
    assert choose_delivery(linux, parameters, plain_size).delivery == "plain"
    assert choose_delivery(linux, parameters, plain_size - 1).delivery == "packed"
    assert choose_delivery(linux, parameters).delivery == "packed"  # 16 KB default


def test_sizes() -> None:
    """The packed Linux form fits the strictest limit with room for the collector to grow."""
    parameters = collector_parameters(new_nonce())
    for os_type in ("linux", "windows"):
        packed = packed_command(load_collector(os_type))
        assert content_size(packed.content, parameters) <= DEFAULT_CONTENT_LIMIT - 2048
    windows = plain_command(load_collector("windows"))
    assert content_size(windows.content, parameters) <= DEFAULT_CONTENT_LIMIT


def test_the_reference_shows_the_stubs() -> None:
    """references/collector-delivery.md shows each stub exactly, with its fields named."""
    text = REFERENCE.read_text(encoding="utf-8")
    fields = {"version": "<version>", "sha256": "<sha256>", "payload": "<payload>"}
    forms: tuple[tuple[OsType, str], ...] = (("linux", "sh"), ("windows", "powershell"))
    for os_type, fence in forms:
        stub = stub_text(os_type, **fields).replace("\r\n", "\n")
        assert f"```{fence}\n{stub}```" in text
