"""The table of bundled scenarios agrees with the scenario files, the README and the packaging."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.scenarios.cases import CASES, REGION, UNKNOWN_INSTANCE, Case
from tests.e2e.scenarios.conftest import SCENARIOS_DIR

REPO = Path(__file__).resolve().parents[3]
NONCE = re.compile(r"\b[0-9a-f]{32}\b")


def scenario_json(case: Case) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (SCENARIOS_DIR / case.directory / "scenario.json").read_text(encoding="utf-8")
    )
    return data


def only_instance(case: Case) -> dict[str, Any]:
    instances = scenario_json(case)["instances"]
    assert len(instances) == 1, case.directory
    instance: dict[str, Any] = instances[0]
    return instance


def bundled() -> list[Path]:
    return sorted(p for p in SCENARIOS_DIR.iterdir() if (p / "scenario.json").is_file())


def test_every_entry_is_a_bundled_scenario() -> None:
    names = {p.name for p in bundled()}
    assert [c.directory for c in CASES if c.directory not in names] == []
    keys = [c.key for c in CASES]
    assert len(set(keys)) == len(keys)


def test_every_bundled_scenario_is_diagnosed_by_an_end_to_end_test() -> None:
    """This table or another end-to-end table names each scenario: nothing ships untested."""
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "tests" / "e2e").rglob("*.py"))
    assert [p.name for p in bundled() if f'"{p.name}"' not in tests] == []


def test_instance_ids_are_distinct_and_match_the_scenarios() -> None:
    ids = [
        instance["instance_id"]
        for directory in bundled()
        for instance in json.loads((directory / "scenario.json").read_text(encoding="utf-8"))[
            "instances"
        ]
    ]
    assert len(set(ids)) == len(ids)
    assert UNKNOWN_INSTANCE not in ids
    for case in CASES:
        instance = only_instance(case)
        assert re.fullmatch(r"i-bp1[a-z0-9]{4,37}", case.instance_id), case.instance_id
        assert instance["instance_id"] == case.instance_id
        assert instance["region_id"] == REGION
        assert instance["os_type"] == case.os


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_scenario_conventions(case: Case) -> None:
    """Relative times, short Cloud Assistant delays, live shims, a recorded nonce placeholder."""
    instance = only_instance(case)
    for event in instance.get("events", []):
        for key in ("not_before", "publish_time", "finish_time"):
            assert not str(event.get(key, "-")).startswith("20"), (case.directory, key)
    if case.branch == "full":
        invocation = instance["invocation"]
        assert invocation["pending_seconds"] <= 0.2 and invocation["running_seconds"] <= 0.5
    if case.branch == "full" and case.os == "linux":
        assert instance["guest"]["env"]["DIAG_LIVE"] == "1"
        root = SCENARIOS_DIR / case.directory / "root"
        assert (root / "etc" / "os-release").is_file()
        assert (root / "proc" / "sys" / "vm" / "panic_on_oom").is_file()
    if case.branch == "full" and case.os == "windows":
        recorded = SCENARIOS_DIR / case.directory / instance["invocation"]["recorded_output"]
        text = recorded.read_text(encoding="utf-8")
        assert text.startswith("ECS_DIAG_ENVELOPE schema_version=1 collector=windows ")
        assert "nonce={{nonce}}" in text.splitlines()[0]
        assert not NONCE.search(text), "a literal nonce would fail the integrity check"


def test_no_scenario_file_is_lost_in_packaging() -> None:
    """The wheel leaves out what .gitignore ignores (a scenario naming console.log broke once)."""
    patterns = [
        line.strip()
        for line in (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#") and "/" not in line.strip().rstrip("/")
    ]
    lost = [
        str(path.relative_to(SCENARIOS_DIR))
        for path in SCENARIOS_DIR.rglob("*")
        if any(fnmatch.fnmatch(path.name, p.rstrip("/")) for p in patterns)
    ]
    assert lost == []


def test_the_readme_lists_every_scenario() -> None:
    readme = (SCENARIOS_DIR / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(" `"): line for line in readme.splitlines() if "| `" in line}
    for directory in bundled():
        spec = json.loads((directory / "scenario.json").read_text(encoding="utf-8"))
        row = rows.get(directory.name, "")
        for instance in spec["instances"]:
            assert f"`{instance['instance_id']}`" in row, directory.name
    for case in CASES:
        if case.rule_id:
            assert f"`{case.rule_id}`" in rows[case.directory], case.directory
