"""``ecs-reboot-diagnosis scan`` in-process over the bundled simulator plus a generated fleet:
its three formats, its checkpoints and its refusals of bad arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecs_reboot_diagnosis_mcp.cli import EXIT_OK, EXIT_USAGE, main

ARGS = ["scan", "--simulator", "--simulator-fleet", "40", "--region", "cn-shanghai,cn-beijing",
        "--since", "2d"]  # fmt: skip


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    return tmp_path / "ecs-reboot-diagnosis" / "scans"


def test_json_lists_every_instance_with_its_full_diagnosis(
    capsys: pytest.CaptureFixture[str], state_dir: Path
) -> None:
    assert main([*ARGS, "--format", "json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["complete"] is True and data["counts"]["instances"] == 40
    assert sum(g["count"] for g in data["groups"]) == 40
    first = data["instances"][0]
    assert first["diagnose"] == (
        f"ecs-reboot-diagnosis diagnose --instance-id {first['instance_id']} "
        f"--region {first['region_id']}"
    )
    # the checkpoint is on disk, complete
    checkpoint = json.loads((state_dir / f"{data['scan_id']}.json").read_text())
    assert checkpoint["complete"] is True and len(checkpoint["instances"]) == 40


def test_markdown_puts_the_causes_before_the_instances(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([*ARGS, "--format", "markdown", "--lang", "zh-CN"]) == EXIT_OK
    out = capsys.readouterr().out
    causes, instances = out.index("## 原因"), out.index("## 实例")
    assert causes < instances
    assert "nvme\\_queue\\_rq \\[nvme\\]" in out[causes:instances]  # escaped guest text
    assert "`ecs-reboot-diagnosis diagnose --instance-id i-" in out[instances:]


def test_table_and_resume_of_a_finished_scan(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(ARGS) == EXIT_OK
    captured = capsys.readouterr()
    assert "Causes:" in captured.out and "Instances:" in captured.out
    scan_id = captured.err.split()[1]
    assert main(["scan", "--simulator", "--resume", scan_id]) == EXIT_OK
    again = capsys.readouterr()
    assert again.out.splitlines()[1:] == captured.out.splitlines()[1:]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["scan", "--simulator"], "--region is required"),
        (["scan", "--simulator", "--region", "cn-shanghai", "--since", "45d"], "1h..30d"),
        (["scan", "--simulator", "--region", "cn-shanghai", "--tag", "team"], "KEY=VALUE"),
        (["scan", "--simulator", "--resume", "s-123"], "not a scan id"),
        (["scan", "--simulator", "--resume", "s-" + "0" * 32, "--region", "x"], "drop --region"),
        (["scan", "--region", "cn-shanghai", "--simulator-fleet", "5"], "needs --simulator"),
        (["scan", "--simulator", "--region", "cn-shanghai", "--rate-limits", "RunCommand"],
         "ACTION=CALLS"),
    ],
)  # fmt: skip
def test_bad_arguments_exit_2_and_say_what_to_do(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == EXIT_USAGE
    assert needle in capsys.readouterr().err
