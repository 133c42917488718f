"""Every bundled scenario, diagnosed by the CLI against its simulator, reads as Chinese in zh-CN.

The diagnosis runs as a user runs it (``diagnose --simulator SCENARIO_DIR --format json``); the
saved report is then rendered by ``render-report`` with ``ECS_DIAG_LANG=zh-CN`` and no ``--lang``
(the server's default language). What the product writes must be Chinese; only quoted evidence,
identifiers, paths and commands may stay as they are. The check is
:func:`tests.support.chinese_text.untranslated`, given the names the API and the guest give (the
instance's OS name and name, the guest's OS release or product).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ecs_reboot_diagnosis.models import Report
from ecs_reboot_diagnosis.report.render import load_report
from ecs_reboot_diagnosis_mcp.cli import main
from tests.e2e.scenarios.cases import CASES, REGION
from tests.e2e.scenarios.conftest import SCENARIOS_DIR
from tests.support.chinese_text import is_chinese, untranslated

REPEATED_KIND = re.compile(r"^- (.+?)（[^（）]*置信度[^（）]*）：\1：", re.M)
SOURCE_COLON = re.compile(r"UTC · `[^`]+`：")


def scenario_dirs() -> list[Path]:
    return sorted(p.parent for p in SCENARIOS_DIR.glob("*/scenario.json"))


def refused(directory: str) -> bool:
    """Scenarios whose diagnosis stops with an error (no report): their cases say so."""
    return any(c.directory == directory and c.exit_code != 0 for c in CASES)


def quoted_names(report: Report) -> list[str]:
    """The names the API and the guest give, as they appear in the report (not translated)."""
    names = [report.instance.os_name, report.instance.instance_name]
    guest = report.guest
    if guest is not None and guest.linux is not None:
        names.append(guest.linux.os_release or "")
    if guest is not None and guest.windows is not None:
        names.append(guest.windows.product_name or "")
    # the report shows each on one line, its white space collapsed
    return sorted({" ".join(n.split()) for n in names if n.strip()}, key=len, reverse=True)


# --- the rule itself --------------------------------------------------------------------------


def test_the_rule_catches_english_and_bare_statuses() -> None:
    assert untranslated("- 发现：Kernel panic: Fatal exception at foo")
    assert untranslated("- 当前状态：Running")
    assert untranslated("调用 x，状态 Success")
    assert untranslated("- 原因：The instance was restarted.")
    assert not is_chinese("Report ready.")  # a short English line has no run of three words
    assert not is_chinese("ecs_check_cloud_assistant: usable.")
    assert not is_chinese("Cloud Assistant invocation t-abc: Running")
    assert not is_chinese("云助手调用 t-abc：Running")  # a bare status
    assert not is_chinese("ecs_diagnose_instance：第 1/9 步：已确认实例 i-abc。")  # two colons
    assert is_chinese("ecs_diagnose_instance 第 1/9 步：已确认实例 i-abc（Linux）。")


def test_the_rule_lets_evidence_identifiers_and_names_through() -> None:
    assert not untranslated("- 证据：`Kernel panic - not syncing: Fatal exception`")
    assert not untranslated("```bash\nsystemctl enable kdump now please\n```")
    assert not untranslated(
        "- 当前状态：运行中（Running）；事件 因系统维护实例重启（SystemMaintenance.Reboot）"
    )
    assert not untranslated("位于 nvme_queue_rq [nvme] 的内核 oops，RIP: 0010:nvme_queue_rq+0x1a2")
    assert not untranslated(
        "参见 <https://help.aliyun.com/document_detail/64930.html> 与 OOM Killer"
    )
    assert not untranslated("- 类型：Linux（Alibaba Cloud Linux 3）", ["Alibaba Cloud Linux 3"])


# --- every bundled scenario -------------------------------------------------------------------


@pytest.mark.parametrize("scenario", scenario_dirs(), ids=lambda p: p.name)
def test_every_scenario_reads_as_chinese(
    scenario: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if refused(scenario.name):
        pytest.skip("the diagnosis of this scenario stops with an error: there is no report")
    instance_id = json.loads((scenario / "scenario.json").read_text())["instances"][0][
        "instance_id"
    ]
    saved = tmp_path / "report.json"
    args = ["diagnose", "--simulator", str(scenario), "--instance-id", instance_id]
    code = main([*args, "--region", REGION, "--format", "json", "--output", str(saved)])
    assert code == 0, capsys.readouterr().err

    monkeypatch.setenv("ECS_DIAG_LANG", "zh-CN")
    assert main(["render-report", str(saved)]) == 0
    markdown = capsys.readouterr().out
    assert "## 诊断结论" in markdown  # the server's default language, without --lang
    report = load_report(saved.read_text(encoding="utf-8"))
    problems = untranslated(markdown, quoted_names(report))
    assert not problems, "\n".join(problems)
    # one colon a label where the report composes two labels: a finding says its kind once,
    # a timeline line separates its source with a dot
    assert not REPEATED_KIND.search(markdown), REPEATED_KIND.search(markdown)
    assert not SOURCE_COLON.search(markdown), SOURCE_COLON.search(markdown)


def test_a_bad_ecs_diag_lang_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = Path(__file__).parents[2] / "fixtures" / "reports" / "s05_linux_oom_killer.json"
    monkeypatch.setenv("ECS_DIAG_LANG", "zh")
    code = main(["render-report", str(saved)])
    err = capsys.readouterr().err
    assert code == 2
    assert "ECS_DIAG_LANG=zh: must be en or zh-CN" in err, err
