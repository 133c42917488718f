"""A bundled Linux scenario reaches the same conclusion on any day, installed from any wheel.

The guest logs of a scenario carry fixed timestamps, and its files the time they were checked out
(or 2020-02-02, the fixed time a reproducible wheel gives them). Here each Linux scenario that
runs the collector is copied with every file dated 2020-02-02 and the guest clock (``DIAG_NOW``)
400 days ahead: the conclusion must not move.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ecs_reboot_diagnosis.report.render import load_report
from ecs_reboot_diagnosis_mcp.cli import main
from tests.e2e.scenarios.cases import CASES, REGION, Case
from tests.e2e.scenarios.conftest import SCENARIOS_DIR

WHEEL_TIME = datetime(2020, 2, 2, tzinfo=UTC).timestamp()
AHEAD_SECONDS = 400 * 86400
LINUX_GUESTS = [c for c in CASES if c.os == "linux" and c.branch == "full"]


def shifted_copy(case: Case, into: Path) -> Path:
    directory = into / case.directory
    shutil.copytree(SCENARIOS_DIR / case.directory, directory)
    spec_path = directory / "scenario.json"
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    env = spec["instances"][0]["guest"]["env"]
    env["DIAG_NOW"] = str(int(time.time()) + AHEAD_SECONDS)
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    for path in (directory, *directory.rglob("*")):
        os.utime(path, (WHEEL_TIME, WHEEL_TIME))
    return directory


def diagnose_to_file(case: Case, directory: Path, output: Path) -> str:
    argv = ["diagnose", "--simulator", str(directory), "--instance-id", case.instance_id]
    code = main([*argv, "--region", REGION, "--format", "json", "--output", str(output)])
    assert code == 0, case.directory
    return load_report(output.read_text(encoding="utf-8")).conclusion.rule_id


def test_linux_conclusions_do_not_depend_on_the_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copies = {case.key: shifted_copy(case, tmp_path) for case in LINUX_GUESTS}
    with ThreadPoolExecutor(max_workers=len(LINUX_GUESTS)) as pool:
        runs = {
            case.key: pool.submit(
                diagnose_to_file, case, copies[case.key], tmp_path / f"{case.key}.json"
            )
            for case in LINUX_GUESTS
        }
        rules = {key: run.result() for key, run in runs.items()}
    assert "Traceback" not in capsys.readouterr().err
    assert rules == {case.key: case.rule_id for case in LINUX_GUESTS}
