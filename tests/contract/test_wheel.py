"""The built wheel carries the package data (scripts, templates, tables, SKILL.md, references/)
and both packages; the skill folder's documents name only files the skill folder has."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "skill" / "ecs_reboot_diagnosis"


@pytest.mark.slow
def test_wheel_contains_the_assets(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("ecs_reboot_diagnosis-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assets = [
        p.relative_to(CORE.parent).as_posix()
        for p in CORE.rglob("*")
        if p.suffix in {".sh", ".ps1", ".j2", ".toml"}
    ]
    assert any(a.endswith(".toml") for a in assets)
    missing = [a for a in assets if a not in names]
    assert missing == []
    assert any(a.endswith(".sh") for a in assets) and any(a.endswith(".j2") for a in assets)
    assert "ecs_reboot_diagnosis/py.typed" in names
    for doc in (ROOT / "references").glob("*.md"):
        assert f"ecs_reboot_diagnosis_mcp/references/{doc.name}" in names
    # the skill folder that `skill install` writes comes from the wheel's own copy
    packaged = zipfile.ZipFile(wheel).read("ecs_reboot_diagnosis_mcp/SKILL.md")
    assert packaged == (ROOT / "SKILL.md").read_bytes()
    assert "ecs_api_simulator/scenarios/linux-no-events/scenario.json" in names
    assert "ecs_reboot_diagnosis_mcp/cli.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "ecs-reboot-diagnosis = ecs_reboot_diagnosis_mcp.cli:main" in text


def test_the_skill_documents_name_only_files_of_the_skill_folder() -> None:
    """SKILL.md and the manual path point at files an installed skill folder has (not at the
    repository's skill/ or server/ trees, which neither the wheel nor the folder carries)."""
    from ecs_reboot_diagnosis_mcp.skill_install import skill_files

    folder = set(skill_files())
    for doc in ("SKILL.md", "references/manual-diagnosis.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        named = set(re.findall(r"`((?:references|scripts|skill|server|tests)/[^`\s]+)`", text))
        assert named, doc
        assert sorted(named - folder) == [], doc
    assert {"scripts/linux.sh", "scripts/windows.ps1", "references/manual-diagnosis.md"} <= folder
