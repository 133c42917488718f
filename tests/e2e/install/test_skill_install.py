"""``ecs-reboot-diagnosis skill install``: the skill folder lands where Claude Code and Qwen Code
look (HOME points at a temporary directory), with front matter both clients accept; a different
folder is never replaced without ``--force``, and a replaced one is swapped in whole."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ecs_reboot_diagnosis_mcp.cli import EXIT_OK, EXIT_USAGE, main
from ecs_reboot_diagnosis_mcp.skill_install import SKILL_NAME

ROOT = Path(__file__).resolve().parents[3]
COLLECTORS = ROOT / "skill" / "ecs_reboot_diagnosis" / "collectors"


def expected_files() -> dict[str, bytes]:
    """What the folder must hold, read from the repository itself."""
    out = {"SKILL.md": (ROOT / "SKILL.md").read_bytes()}
    out |= {f"references/{p.name}": p.read_bytes() for p in (ROOT / "references").glob("*.md")}
    out |= {f"scripts/{n}": (COLLECTORS / n).read_bytes() for n in ("linux.sh", "windows.ps1")}
    return out


def folder_files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    return home


@pytest.mark.parametrize(
    ("args", "where"),
    [
        ([], ".claude/skills"),
        (["--target", "claude"], ".claude/skills"),
        (["--target", "qwen"], ".qwen/skills"),
        (["--target", "~/project/.claude/skills"], "project/.claude/skills"),
    ],
)
def test_the_folder_is_written_where_the_client_looks(
    home: Path, args: list[str], where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["skill", "install", *args]) == EXIT_OK
    folder = home / where / SKILL_NAME
    assert capsys.readouterr().out == f"wrote {folder}\n"
    assert folder_files(folder) == expected_files()
    assert sorted(p.name for p in folder.parent.iterdir()) == [SKILL_NAME]  # nothing left over


def test_front_matter_is_read_alike_by_a_full_yaml_parser_and_a_line_reader(home: Path) -> None:
    """Claude Code and current Qwen Code parse the front matter as YAML; older Qwen Code read
    it line by line (``key: value``, surrounding double quotes removed). Both must see the same
    name (the folder's, lowercase words joined by hyphens, at most 64 characters) and the same
    non-empty description of at most 1024 characters."""
    assert main(["skill", "install", "--target", "qwen"]) == EXIT_OK
    folder = home / ".qwen" / "skills" / SKILL_NAME
    text = (folder / "SKILL.md").read_text(encoding="utf-8")
    match = re.match(r"^---\n([\s\S]*?)\n---(?:\n|$)([\s\S]*)$", text)
    assert match is not None
    parsed = yaml.safe_load(match.group(1))
    by_line: dict[str, str] = {}
    for line in match.group(1).splitlines():
        key, _, value = line.partition(":")
        value = value.strip()
        by_line[key.strip()] = value[1:-1] if value[:1] == value[-1:] == '"' else value
    assert parsed == by_line
    assert parsed["name"] == folder.name
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", parsed["name"]) and len(parsed["name"]) <= 64
    assert 100 < len(parsed["description"]) <= 1024
    # the Agent Skills rules Claude applies: no XML tags, no reserved word in the name
    assert not re.search(r"[<>]", parsed["name"] + parsed["description"])
    assert "claude" not in parsed["name"] and "anthropic" not in parsed["name"]
    assert "kernel panic" in parsed["description"] and "蓝屏" in parsed["description"]
    assert match.group(2).strip().startswith("# ")


def test_a_second_install_leaves_an_identical_folder_alone(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["skill", "install"]) == EXIT_OK
    folder = home / ".claude" / "skills" / SKILL_NAME
    inode = folder.stat().st_ino
    capsys.readouterr()
    assert main(["skill", "install"]) == EXIT_OK
    assert capsys.readouterr().out == f"already up to date: {folder}\n"
    assert folder.stat().st_ino == inode


def test_a_different_folder_is_kept_unless_forced(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = home / ".claude" / "skills" / SKILL_NAME
    (folder / "references").mkdir(parents=True)
    (folder / "SKILL.md").write_text("---\nname: ecs-reboot-diagnosis\n---\nmy own edits\n")
    (folder / "references" / "notes.md").write_text("mine\n")
    before = folder_files(folder)

    assert main(["skill", "install"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert str(folder) in err and "--force" in err
    assert folder_files(folder) == before

    assert main(["skill", "install", "--force"]) == EXIT_OK
    assert capsys.readouterr().out == f"replaced {folder}\n"
    assert folder_files(folder) == expected_files()  # notes.md went with the old folder
    assert sorted(p.name for p in folder.parent.iterdir()) == [SKILL_NAME]


def test_a_link_is_replaced_only_when_forced_and_its_target_is_untouched(
    home: Path, tmp_path: Path
) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "SKILL.md").write_text("linked\n")
    skills = home / ".claude" / "skills"
    skills.mkdir(parents=True)
    (skills / SKILL_NAME).symlink_to(checkout, target_is_directory=True)
    assert main(["skill", "install"]) == EXIT_USAGE
    assert (skills / SKILL_NAME).is_symlink()
    assert main(["skill", "install", "--force"]) == EXIT_OK
    assert not (skills / SKILL_NAME).is_symlink()
    assert folder_files(skills / SKILL_NAME) == expected_files()
    assert folder_files(checkout) == {"SKILL.md": b"linked\n"}


def test_a_target_that_cannot_hold_a_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    assert main(["skill", "install", "--target", str(blocker / "skills")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("ecs-reboot-diagnosis: error: cannot write in ") and str(blocker) in err
    assert blocker.read_text() == "not a directory\n"


def test_the_installed_command_writes_the_folder(tmp_path: Path) -> None:
    """The same through the console entry point, in a child process with only HOME set."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "ecs_reboot_diagnosis_mcp", "skill", "install", "--target", "qwen"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    folder = tmp_path / ".qwen" / "skills" / SKILL_NAME
    assert (proc.returncode, proc.stdout) == (0, f"wrote {folder}\n"), proc.stderr
    assert proc.stderr == "Qwen Code loads skills when a session starts.\n"
    assert folder_files(folder) == expected_files()
