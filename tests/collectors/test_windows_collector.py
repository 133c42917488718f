"""windows.ps1 cannot run here: static checks, and its recorded envelopes parse as expected."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ecs_reboot_diagnosis.analysis.envelope import WINDOWS_SECTIONS, parse_envelope
from ecs_reboot_diagnosis.collectors import load_collector

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "guest" / "windows"
NONCE = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"  # the nonce of the recorded runs


@pytest.fixture(scope="module")
def script() -> str:
    return load_collector("windows").content


def test_script_is_ascii_with_crlf_line_ends(script: str) -> None:
    assert script.isascii()
    assert script.endswith("\r\n")
    assert "\n" not in script.replace("\r\n", "")


def test_script_is_strict_and_stops_on_errors(script: str) -> None:
    assert "Set-StrictMode -Version 2.0" in script
    assert "$ErrorActionPreference = 'Stop'" in script
    # every section runs in its own try/catch and reports status=error on failure
    assert script.count("} catch {") >= 6


def test_script_declares_only_its_parameters(script: str) -> None:
    assert re.findall(r"\{\{[^}]*\}\}", script) == ["{{nonce}}", "{{since_days}}"]
    assert script.count("{{") == 2
    # single-quoted here-strings: a parameter value is never parsed as code
    assert "@'\r\n{{nonce}}\r\n'@" in script
    assert "@'\r\n{{since_days}}\r\n'@" in script
    assert "-cnotmatch '^[0-9a-f]{32}$'" in script


def test_script_emits_every_section_the_parser_knows(script: str) -> None:
    emitted = re.findall(r"^Emit '([a-z_]+)'", script, flags=re.MULTILINE)
    assert tuple(emitted) == WINDOWS_SECTIONS


def test_script_is_read_only(script: str) -> None:
    for verb in ("Set-ItemProperty", "New-Item", "Remove-Item", "Restart-", "Stop-", "Set-Content",
                 "Out-File", "Clear-EventLog", "wevtutil"):  # fmt: skip
        assert verb not in script


def test_script_bounds_its_output(script: str) -> None:
    budgets = [int(b) for b in re.findall(r"^Emit '[a-z_]+' \S+ \S+ (\d+) ", script, re.M)]
    assert len(budgets) == len(WINDOWS_SECTIONS)
    assert "$room = 19200 - $script:Used" in script
    assert len(script.encode()) * 4 / 3 < 16 * 1024  # fits even the older CommandContent limit


def test_braces_and_parentheses_balance(script: str) -> None:
    code = re.sub(r"'[^'\r\n]*'", "''", script)  # single-quoted strings
    code = re.sub(r"#.*", "", code)
    for open_, close in ("{}", "()", "[]"):
        assert code.count(open_) == code.count(close), open_


@pytest.mark.parametrize("path", sorted(RECORDED.glob("*.txt")), ids=lambda p: p.stem)
def test_recorded_envelopes_are_complete_and_small(path: Path) -> None:
    raw = path.read_bytes()
    assert raw.isascii() and b"\r\n" in raw
    assert len(raw) < 20_000
    envelope = parse_envelope(raw.decode("ascii"), NONCE)
    assert envelope.complete
    assert envelope.collector == "windows"
    assert envelope.version == load_collector("windows").version
    assert tuple(envelope.sections) == WINDOWS_SECTIONS
