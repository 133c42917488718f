"""No recommendation of any bundled scenario's report contradicts a fact of the same report.

Every bundled instance is diagnosed through the real CLI (``ecs-reboot-diagnosis diagnose
--simulator DIR --format json``, one process each, several at a time) on the simulator. For each
report, the facts are computed from the report alone (``report_facts.compute``) and two things
must hold: no recommendation presumes a fact the report makes false, and no sentence of the
report says what a known contradiction (below) forbids, whatever the recommendation declared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import pytest

from ecs_reboot_diagnosis.analysis.report_facts import compute, contradicted
from ecs_reboot_diagnosis.models import Report
from ecs_reboot_diagnosis.report.render import load_report
from tests.e2e.scenarios.cases import REGION
from tests.e2e.scenarios.conftest import SCENARIOS_DIR

CLI = [sys.executable, "-m", "ecs_reboot_diagnosis_mcp.cli"]
# The scenario whose report is an error (RAM denies step 2): no report, exit code 3.
NO_REPORT = {"s17-ram-denied-events": 3}

# (fact, its value, a phrase no recommendation or root cause may then hold): the measured
# contradictions, checked on the words, so a wrong or missing `presumes` cannot hide them.
FORBIDDEN: tuple[tuple[str, bool, str], ...] = (
    ("platform_event", True, "check the platform events"),
    ("api_audit_read", True, "Check the API audit trail (ActionTrail)"),
    ("kdump_ready", True, "kdump is not configured or did not work"),
    ("kdump_ready", True, "Enable kdump"),
    ("dump_dir", False, "Check the dump directory (/var/crash"),
    ("bugcheck", False, "Make sure a page file"),
    ("bugcheck", False, "Configure a page file"),
    ("bugcheck", False, "Check the page file size"),
    ("fs_error", True, "update that driver"),
    ("cpu_lockup", False, "CPU starvation"),
    ("instance_running", False, "restart Cloud Assistant"),
    ("instance_running", False, "why the instance was restarted"),
    ("instance_running", False, "alternative approaches"),
    ("api_restart_call", False, "Confirm with the caller"),
    ("no_crash_dump", False, "no dump was saved"),
)


def instances() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for directory in sorted(p for p in SCENARIOS_DIR.iterdir() if (p / "scenario.json").is_file()):
        spec = json.loads((directory / "scenario.json").read_text(encoding="utf-8"))
        found.extend((directory.name, i["instance_id"]) for i in spec["instances"])
    return found


def diagnose(directory: str, instance_id: str) -> tuple[int, str, str]:
    args = ["diagnose", "--simulator", str(SCENARIOS_DIR / directory), "--instance-id",
            instance_id, "--region", REGION, "--format", "json"]  # fmt: skip
    env = {**os.environ, "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"}
    done = subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=180, env=env, check=False
    )
    return done.returncode, done.stdout, done.stderr


@cache
def reports() -> dict[str, Report]:
    """Every bundled instance's report, by directory and instance id (one CLI run each)."""
    todo = instances()
    with ThreadPoolExecutor(max_workers=8) as pool:
        runs = {key: pool.submit(diagnose, *key) for key in todo}
    out: dict[str, Report] = {}
    for (directory, iid), run in runs.items():
        code, stdout, stderr = run.result()
        if directory in NO_REPORT:
            assert code == NO_REPORT[directory], stderr
            continue
        assert code == 0, (directory, stderr)
        out[f"{directory}/{iid}"] = load_report(stdout)
    return out


def test_every_bundled_instance_is_diagnosed() -> None:
    assert len(reports()) == len(instances()) - len(NO_REPORT)
    assert "s25-stopped-by-api/i-bp1out25stoppedbyapi" in reports()


@pytest.mark.parametrize("key", [f"{d}/{i}" for d, i in instances() if d not in NO_REPORT])
def test_no_recommendation_contradicts_a_fact_of_its_report(key: str) -> None:
    report = reports()[key]
    facts = compute(report)
    for rec in report.recommendations:
        assert contradicted(rec.presumes, facts) == [], (rec.text.en, facts)
    said = [report.conclusion.root_cause.en, *(r.text.en for r in report.recommendations)]
    for fact, value, phrase in FORBIDDEN:
        if facts[fact] is value:
            hits = [s for s in said if phrase.lower() in s.lower()]
            assert hits == [], (fact, value, phrase)
    if facts["instance_stopped"] and report.conclusion.verdict not in ("platform", "billing"):
        # a stop the platform made has its own next step (renew, top up); otherwise start it
        assert report.recommendations[0].text.en.startswith("Start the instance first")
        commands = [c for r in report.recommendations for c in r.commands]
        assert not [c for c in [*commands, *report.manual_steps] if c.startswith("ssh ")]
