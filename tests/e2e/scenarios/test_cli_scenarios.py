"""``diagnose --simulator SCENARIO_DIR`` in-process, for every bundled scenario.

Each run starts its own simulator on the one scenario directory, as a user would. The JSON
report goes to stdout (captured); the English and Chinese Markdown reports of the same scenario
are written with ``--output`` by two more runs at the same time, so that the collector waits of
the three runs overlap.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ecs_reboot_diagnosis.report.render import load_report
from ecs_reboot_diagnosis_mcp.cli import main
from tests.e2e.scenarios.cases import (
    CASES,
    REGION,
    REPORTED,
    UNKNOWN_INSTANCE,
    Case,
    headings,
    headings_in_order,
    missing_facts,
    rule_marker,
)
from tests.e2e.scenarios.conftest import SCENARIOS_DIR

LANGS = ("en", "zh-CN")


def diagnose_args(case: Case, instance_id: str | None = None) -> list[str]:
    return [
        "diagnose",
        "--simulator",
        str(SCENARIOS_DIR / case.directory),
        "--instance-id",
        instance_id or case.instance_id,
        "--region",
        REGION,
    ]


def assert_one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("ecs-reboot-diagnosis: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize("case", REPORTED, ids=lambda c: c.id)
def test_cli_report(case: Case, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = diagnose_args(case)
    outputs = {lang: tmp_path / f"report.{lang}.md" for lang in LANGS}
    with ThreadPoolExecutor(max_workers=len(LANGS)) as pool:
        markdown_runs = {
            lang: pool.submit(main, [*base, "--lang", lang, "--output", str(path)])
            for lang, path in outputs.items()
        }
        code = main([*base, "--format", "json"])
        markdown_codes = {lang: run.result() for lang, run in markdown_runs.items()}
    out, err = capsys.readouterr()

    assert code == 0
    assert "Traceback" not in err and "error" not in err.lower(), err
    assert markdown_codes == dict.fromkeys(LANGS, 0)
    report = load_report(out)
    assert report.instance.instance_id == case.instance_id
    assert report.instance.os_type == case.os
    assert (report.conclusion.rule_id, report.conclusion.verdict) == (case.rule_id, case.verdict)
    if case.branch == "platform_cause":
        assert report.guest_run is None and report.cloud_assistant is None
    elif case.branch == "agent_down":
        assert report.cloud_assistant is not None and not report.cloud_assistant.usable
        assert report.guest_run is None and report.manual_steps
        saved = {"en": "screenshot saved to", "zh-CN": "屏幕截图已保存到"}  # the run's language
        for lang, path in outputs.items():  # the agentless evidence: a screenshot beside it
            shot = path.with_name(path.stem + ".screenshot.png")
            assert shot.read_bytes().startswith(b"\x89PNG"), shot
            assert f"{saved[lang]} {shot}" in err
    else:
        assert report.guest is not None and report.guest_run is not None
        assert report.guest_run.status == "Success"
        assert report.dump_triage is not None
        dump = report.dump_triage.dump_file
        assert case.dump_file_matches(dump.path if dump else ""), dump
        assert report.dump_triage.dump_found == bool(case.dump_file)
        sysctls = report.guest.linux.sysctls if report.guest.linux else {}
        assert {k: sysctls.get(k) for k, _ in case.sysctls} == dict(case.sysctls)

    markdowns = {lang: path.read_text(encoding="utf-8") for lang, path in outputs.items()}
    assert len(headings(markdowns["en"])) == len(headings(markdowns["zh-CN"]))
    for lang, markdown in markdowns.items():
        assert headings_in_order(markdown, case.os, lang), (lang, headings(markdown))
        assert case.instance_id in markdown
        assert rule_marker(case, lang) in markdown
        assert not missing_facts(case, lang, markdown), (lang, missing_facts(case, lang, markdown))


def test_cli_unknown_instance_exits_4_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    some_scenario = CASES[0]
    code = main(diagnose_args(some_scenario, UNKNOWN_INSTANCE))
    out, err = capsys.readouterr()
    assert code == 4
    assert out == ""
    line = assert_one_error_line(err)
    assert UNKNOWN_INSTANCE in line and REGION in line


@pytest.mark.parametrize("case", [c for c in CASES if c.exit_code != 0], ids=lambda c: c.id)
def test_cli_refusal_exit_code_and_message(case: Case, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*diagnose_args(case), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == case.exit_code
    assert out == ""
    assert case.stderr in assert_one_error_line(err)
