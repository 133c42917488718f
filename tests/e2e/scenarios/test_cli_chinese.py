"""The command line in Chinese (``ECS_DIAG_LANG=zh-CN`` or ``--lang zh-CN``): a run given up at
its deadline reports so in Chinese, and every error line a person can meet on the way is
Chinese, addressed to the person (no "ask the user"), with one colon a sentence.

The deadline: the linux-no-events scenario, copied with its collector made to run 4 s, against
``ECS_DIAG_WAIT_DEADLINE_S=1``; the report says in Chinese that the wait stopped and how to read
the run's output later, one colon a label. The check is :mod:`tests.support.chinese_text`'s,
as for the reports.
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from ecs_api_simulator.server import builtin_scenarios_dir
from ecs_reboot_diagnosis_mcp.cli import EXIT_CANNOT_LISTEN, EXIT_NOT_FOUND, EXIT_USAGE, main
from tests.support.chinese_text import doubled_colons, is_chinese, untranslated

LINUX = ["--instance-id", "i-bp1sim0linux0000001", "--region", "cn-hangzhou"]
PREFIX = "ecs-reboot-diagnosis: "
NAMES = ["Alibaba Cloud Linux 3.2104 LTS 64位", "Alibaba Cloud Linux 3.2104 LTS 64 bit"]


def slow_scenario(tmp_path: Path, running_seconds: float) -> Path:
    """linux-no-events whose collector runs ``running_seconds``."""
    copy = tmp_path / "linux-slow"
    shutil.copytree(builtin_scenarios_dir() / "linux-no-events", copy, symlinks=True)
    spec = json.loads((copy / "scenario.json").read_text(encoding="utf-8"))
    spec["instances"][0]["invocation"]["running_seconds"] = running_seconds
    (copy / "scenario.json").write_text(json.dumps(spec), encoding="utf-8")
    return copy


def test_a_run_given_up_at_the_deadline_is_reported_in_chinese(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECS_DIAG_LANG", "zh-CN")
    monkeypatch.setenv("ECS_DIAG_WAIT_DEADLINE_S", "1")
    code = main(["diagnose", "--simulator", str(slow_scenario(tmp_path, 4.0)), *LINUX])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "## 诊断结论" in out
    assert "诊断等待 1 秒后不再等待" in out and "DescribeInvocationResults" in out, out
    noted = [line for line in out.splitlines() if "采集脚本未能完成" in line]
    assert len(noted) >= 3  # the gap of the guest step, the skipped steps, the root cause
    for line in noted:
        assert "执行中（Running）" in line and not doubled_colons(line), line
    problems = untranslated(out, NAMES)
    assert not problems, "\n".join(problems)


def chinese_error(err: str) -> str:
    """The one error line, checked: the program's name, then a Chinese sentence for a person."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(PREFIX), err
    said = lines[0][len(PREFIX) :]
    assert is_chinese(said), f"{untranslated(said)} {doubled_colons(said)}: {said}"
    assert "用户" not in said and "询问" not in said, said  # the agent's wording, turned
    return said


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--region", "cn-hangzhou"], EXIT_USAGE, "缺少 --instance-id"),
        ([*LINUX, "--reboot-time", "yesterday"], EXIT_USAGE, "--reboot-time 有误"),
        ([*LINUX, "--reboot-time", "2099-01-01T00:00"], EXIT_USAGE, "将来的时间"),
        (["--instance-id", "I-BP1", "--region", "cn-hangzhou"], EXIT_USAGE, "--instance-id 有误"),
        ([*LINUX, "--output", "/nonexistent-dir/r.md"], EXIT_USAGE, "不存在"),
        (["--instance-id", "i-bp1nosuchinstance01", "--region", "cn-hangzhou"], EXIT_NOT_FOUND,
         "请检查 --instance-id 和 --region"),
    ],
)  # fmt: skip
def test_the_error_lines_are_chinese_with_ecs_diag_lang(
    args: list[str],
    code: int,
    says: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ECS_DIAG_LANG", "zh-CN")
    assert main(["diagnose", "--simulator", *args]) == code
    assert says in chinese_error(capsys.readouterr().err)


def test_the_lang_option_and_the_other_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ECS_DIAG_LANG", raising=False)
    assert main(["diagnose", "--lang", "zh-CN", "--region", "cn-hangzhou"]) == EXIT_USAGE
    assert "缺少 --instance-id" in chinese_error(capsys.readouterr().err)
    missing = tmp_path / "none.json"
    assert main(["render-report", str(missing), "--lang", "zh-CN"]) == EXIT_USAGE
    assert "无法读取" in chinese_error(capsys.readouterr().err)
    monkeypatch.setenv("ECS_DIAG_LANG", "zh-CN")
    monkeypatch.setenv("ECS_DIAG_REGION_ID", "Hangzhou")
    assert main(["diagnose", "--simulator", "--instance-id", "i-bp1abc"]) == EXIT_USAGE
    assert "不是地域 ID" in chinese_error(capsys.readouterr().err)
    monkeypatch.setenv("ECS_DIAG_LOG_LEVEL", "LOUD")
    assert main(["diagnose", "--simulator", *LINUX]) == EXIT_USAGE
    assert "ECS_DIAG_LOG_LEVEL=LOUD：必须是" in chinese_error(capsys.readouterr().err)
    monkeypatch.delenv("ECS_DIAG_LOG_LEVEL")
    # the control: the same line in English without it
    monkeypatch.delenv("ECS_DIAG_LANG")
    assert main(["render-report", str(missing)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"{PREFIX}error: cannot read") and not is_chinese(err)


def test_a_busy_port_is_said_in_chinese(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECS_DIAG_LANG", "zh-CN")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["serve", "--simulator", "--transport", "http", "--port", str(port)])
    assert code == EXIT_CANNOT_LISTEN
    said = chinese_error(capsys.readouterr().err)
    assert f"无法在 127.0.0.1:{port} 上监听：端口 {port} 已被占用" in said, said
