"""Every bundled scenario, diagnosed by the CLI against its simulator, reads as Chinese in zh-CN.

The diagnosis runs as a user runs it (``diagnose --simulator SCENARIO_DIR --format json``); the
saved report is then rendered by ``render-report`` with ``ECS_DIAG_LANG=zh-CN`` and no ``--lang``
(the server's default language). What the product writes must be Chinese; only quoted evidence,
identifiers, paths and commands may stay as they are. The check (:func:`untranslated`):

- remove what is quoted as it was written: fenced blocks, code spans, URLs, and the names the
  API and the guest give (the instance's OS name and name, the guest's OS release or product);
- then any run of three or more English words left is an untranslated product sentence;
- and every status or event type the API names must carry its Chinese name before it
  (``运行中（Running）``), never stand alone.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ecs_reboot_diagnosis.glosses import GLOSSES
from ecs_reboot_diagnosis.models import Report
from ecs_reboot_diagnosis.report.render import load_report
from ecs_reboot_diagnosis_mcp.cli import main
from tests.e2e.scenarios.cases import CASES, REGION
from tests.e2e.scenarios.conftest import SCENARIOS_DIR

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1[`~]*$", re.S | re.M)
CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.S)
URL = re.compile(r"<?https?://[^\s>)]+>?")
MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~&])")
WORD = r"[A-Za-z]+(?:['’][A-Za-z]+)*"
# three English words in a row, separated by spaces (and commas): a sentence, not an identifier
# (an identifier joins its parts with '.', '_', '-', '/', ':' or digits, and is one "word")
BOUNDARY_BEFORE = r"(?<![\w./\\:@=-])"
BOUNDARY_AFTER = r"(?![\w/\\:@=]|[.-]\w)"
ONE_WORD = rf"{BOUNDARY_BEFORE}{WORD}{BOUNDARY_AFTER}"
ENGLISH_RUN = re.compile(rf"{ONE_WORD}(?:,?[ \t]+{ONE_WORD}){{2,}}")
STATUS_WORDS = {value for kind in ("instance", "invocation", "cycle") for value in GLOSSES[kind]}


def glossed(word: str, line: str) -> bool:
    """Whether ``word`` (a status) appears in ``line`` with one of its Chinese names before it."""
    return any(f"{table[word]}（{word}）" in line for table in GLOSSES.values() if word in table)


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


def prose_of(markdown: str, names: list[str]) -> str:
    """The report's own text: the Markdown without what it quotes as written."""
    text = FENCE.sub(" ", markdown)
    text = CODE_SPAN.sub(" ", text)
    text = URL.sub(" ", text)
    text = MARKDOWN_ESCAPE.sub(r"\1", text)
    for name in names:
        text = text.replace(name, " ")
    return text


def untranslated(markdown: str, names: list[str] = ()) -> list[str]:  # type: ignore[assignment]
    """The lines of a Chinese report that hold English the product wrote."""
    problems = []
    for line in prose_of(markdown, list(names)).splitlines():
        runs = [m.group(0) for m in ENGLISH_RUN.finditer(line)]
        words = re.findall(ONE_WORD, line)
        bare = [w for w in words if w in STATUS_WORDS and not glossed(w, line)]
        if runs or bare:
            problems.append(f"{runs + bare}: {line.strip()}")
    return problems


# --- the rule itself --------------------------------------------------------------------------


def test_the_rule_catches_english_and_bare_statuses() -> None:
    assert untranslated("- 发现：Kernel panic: Fatal exception at foo")
    assert untranslated("- 当前状态：Running")
    assert untranslated("调用 x，状态 Success")
    assert untranslated("- 原因：The instance was restarted.")


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


def test_a_bad_ecs_diag_lang_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = Path(__file__).parents[2] / "fixtures" / "reports" / "s05_linux_oom_killer.json"
    monkeypatch.setenv("ECS_DIAG_LANG", "zh")
    code = main(["render-report", str(saved)])
    err = capsys.readouterr().err
    assert code == 2
    assert "ECS_DIAG_LANG=zh: must be en or zh-CN" in err, err
