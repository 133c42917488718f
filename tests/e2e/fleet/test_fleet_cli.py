"""``ecs-reboot-diagnosis scan`` in-process over the bundled simulator plus a generated fleet:
its three formats, its checkpoints and its refusals of bad arguments."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ecs_reboot_diagnosis_mcp.cli import EXIT_OK, EXIT_USAGE, main

ARGS = ["scan", "--simulator", "--simulator-fleet", "40", "--region", "cn-shanghai,cn-beijing",
        "--since", "2d"]  # fmt: skip


@pytest.fixture(autouse=True)
def store_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default store (ECS_DIAG_STORE unset) in a throwaway state directory."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.delenv("ECS_DIAG_STORE")
    return tmp_path / "ecs-reboot-diagnosis" / "diagnoses.sqlite3"


def stored_scan(store_file: Path, scan_id: str) -> dict[str, Any]:
    """The scan's checkpoint as the store file holds it (read as another process would)."""
    with contextlib.closing(sqlite3.connect(store_file)) as conn:
        (state,) = conn.execute(
            "SELECT state FROM fleet_scans WHERE scan_id = ?", (scan_id,)
        ).fetchone()
    return dict(json.loads(state))


def test_json_lists_every_instance_with_its_full_diagnosis(
    capsys: pytest.CaptureFixture[str], store_file: Path
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
    # the scan is in the store file with the diagnoses, complete
    checkpoint = stored_scan(store_file, data["scan_id"])
    assert checkpoint["complete"] is True and len(checkpoint["instances"]) == 40
    assert sorted(p.name for p in store_file.parent.iterdir() if p.is_dir()) == []


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
    assert f"(if interrupted: ecs-reboot-diagnosis scan --resume {scan_id})" in captured.err
    assert main(["scan", "--simulator", "--resume", scan_id]) == EXIT_OK
    again = capsys.readouterr()
    assert again.out.splitlines()[1:] == captured.out.splitlines()[1:]


def test_with_the_memory_store_a_scan_is_not_kept_and_resume_says_why(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, store_file: Path
) -> None:
    monkeypatch.setenv("ECS_DIAG_STORE", "memory")
    assert main([*ARGS, "--format", "json"]) == EXIT_OK
    captured = capsys.readouterr()
    scan_id = json.loads(captured.out)["scan_id"]
    assert "not kept: ECS_DIAG_STORE=memory, it cannot be resumed" in captured.err
    assert "--resume" not in captured.err
    assert not store_file.exists()
    assert main(["scan", "--simulator", "--resume", scan_id]) == EXIT_USAGE
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("ecs-reboot-diagnosis: error: --resume reads the scan from the store")
    assert "ECS_DIAG_STORE=memory keeps no scan" in line and "unset ECS_DIAG_STORE" in line


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
