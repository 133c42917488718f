"""Every tracked path can be checked out, packed and unpacked anywhere: Windows, macOS's
case-insensitive file system, an sdist that uv or pip unpacks (uv refuses a member name with a
colon). Names that need such characters (a kdump directory ``127.0.0.1-2026-12-02-13:20:11``)
are made at run time: the simulator renders ``@@kdump=OFFSET@@`` in a scenario's file names."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_FORBIDDEN = re.compile(r'[:\\*?"<>|\x00-\x1f]')
_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?$", re.IGNORECASE)
_NOT_SHIPPED = {".git", ".venv", "__pycache__", "dist", "build", ".mypy_cache", ".ruff_cache",
                ".pytest_cache", ".hypothesis"}  # fmt: skip


def non_portable(paths: Iterable[str]) -> list[str]:
    """Why each offending path would not survive a checkout or an archive elsewhere."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in paths:
        parts = path.split("/")
        for part in parts:
            bad = sorted(set(_FORBIDDEN.findall(part)))
            if bad:
                problems.append(f"{path}: {''.join(bad)!r} in {part!r}")
            if part.endswith((".", " ")):
                problems.append(f"{path}: {part!r} ends with a dot or a space")
            if _RESERVED.match(part):
                problems.append(f"{path}: {part!r} is a reserved name on Windows")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            other = seen.setdefault(prefix.casefold(), prefix)
            if other != prefix:
                problems.append(f"{prefix} and {other} differ only in case")
    return sorted(set(problems))


def shipped_paths() -> list[str]:
    """The tracked files of a git checkout; in an unpacked sdist (no .git), its files."""
    if (ROOT / ".git").exists():
        listing = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
        ).stdout
        return [p for p in listing.decode("utf-8").split("\0") if p]
    found = []
    for current, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in _NOT_SHIPPED and not d.endswith(".egg-info")]
        here = Path(current).relative_to(ROOT)
        found += [(here / name).as_posix() for name in files]
    return found


def test_every_tracked_path_is_portable() -> None:
    paths = shipped_paths()
    assert len(paths) > 100
    assert any("@@kdump=" in p for p in paths)  # templated kdump names are among them
    assert non_portable(paths) == []


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("tests/root/var/crash/127.0.0.1-2024-11-20-10:30:00/vmcore", "':'"),
        ("scenarios/s02/root/var/crash/127.0.0.1-@@kdump:-2h@@/vmcore", "':'"),
        ("a\\b.txt", "'\\\\'"),
        ("docs/what?.md", "'?'"),
        ("docs/*.md", "'*'"),
        ('docs/"quoted".md', "'\"'"),
        ("docs/<x>.md", "'<>'"),
        ("docs/a|b.md", "'|'"),
        ("docs/tab\there", "'\\t'"),
        ("docs/trailing./x.md", "ends with a dot"),
        ("docs/trailing /x.md", "ends with a dot or a space"),
        ("logs/nul.txt", "reserved name"),
        ("logs/COM1", "reserved name"),
    ],
)
def test_each_rule_refuses_its_path(path: str, why: str) -> None:
    (problem,) = non_portable(["README.md", path])
    assert problem.startswith(path) and why in problem


def test_case_collisions_are_refused_for_files_and_directories() -> None:
    assert non_portable(["docs/Readme.md", "docs/README.md"]) == [
        "docs/README.md and docs/Readme.md differ only in case"
    ]
    assert non_portable(["Tests/a.py", "tests/b.py"]) == ["tests and Tests differ only in case"]
    assert non_portable(["docs/a.md", "docs/b.md", "127.0.0.1-@@kdump=-2h@@/vmcore"]) == []
