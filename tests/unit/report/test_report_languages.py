"""Reports stored before finding summaries were bilingual still load and render."""

from __future__ import annotations

import json
from pathlib import Path

from ecs_reboot_diagnosis.models import Finding
from ecs_reboot_diagnosis.report import load_report, render_markdown

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "reports"


def test_a_summary_stored_as_one_string_reads_as_both_languages() -> None:
    finding = Finding.model_validate(
        {"kind": "oom_kill", "severity": "warning", "summary": "The OOM killer killed java"}
    )
    assert finding.summary.en == finding.summary.zh_CN == "The OOM killer killed java"


def test_an_old_report_renders_in_both_languages() -> None:
    data = json.loads((FIXTURES / "s05_linux_oom_killer.json").read_text(encoding="utf-8"))
    for f in data["guest"]["findings"]:
        f["summary"] = f["summary"]["en"]  # as written before summaries had a Chinese text
    report = load_report(json.dumps(data))
    assert report.guest is not None
    summary = report.guest.findings[0].summary.en
    for lang in ("en", "zh-CN"):
        assert summary.split(";")[0] in render_markdown(report, lang).replace("\\", "")
