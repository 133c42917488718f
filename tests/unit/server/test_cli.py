"""The command line as a user runs it: version, help, render-report, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ecs_reboot_diagnosis import __version__
from ecs_reboot_diagnosis.report.render import load_report
from ecs_reboot_diagnosis_mcp.cli import EXIT_USAGE, main

REPORTS = Path(__file__).resolve().parents[2] / "fixtures" / "reports"
PANIC = REPORTS / "s02_linux_panic_vmcore.json"


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert __version__ in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("render-report", "diagnose", "serve", "simulate"):
        assert command in out
    assert main([]) == EXIT_USAGE


@pytest.mark.slow
def test_the_console_script_is_installed() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ecs_reboot_diagnosis_mcp", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == f"ecs-reboot-diagnosis {__version__}"


@pytest.mark.parametrize(("lang", "heading"), [("en", "## Diagnostic Conclusion"),
                                               ("zh-CN", "## 诊断结论")])  # fmt: skip
def test_render_report_in_both_languages(
    lang: str, heading: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render-report", str(PANIC), "--lang", lang]) == 0
    out = capsys.readouterr().out
    assert heading in out
    assert "nvme_queue_rq+0x1a2/0x4d0" in out


def test_render_report_as_json_round_trips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "again.json"
    assert main(["render-report", str(PANIC), "--format", "json", "--output", str(target)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"written to {target}\n"
    assert load_report(target.read_text()) == load_report(PANIC.read_text())
    assert [p.name for p in tmp_path.iterdir()] == ["again.json"]  # no temporary file left


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "is not a saved report"), (json.dumps({"schema_version": 99}), "saved report")],
)
def test_a_bad_report_file_is_a_clear_error(
    tmp_path: Path, content: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert main(["render-report", str(bad)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_missing_file_and_an_unwritable_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render-report", str(tmp_path / "nope.json")]) == EXIT_USAGE
    assert "cannot read" in capsys.readouterr().err
    out = tmp_path / "no-such-dir" / "r.md"
    assert main(["render-report", str(PANIC), "--output", str(out)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"--output {out}: the directory {out.parent} does not exist" in err


def test_diagnose_without_a_terminal_says_what_to_pass(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    assert main(["diagnose", "--region", "cn-hangzhou"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--instance-id is required" in err and "never guessed" in err
