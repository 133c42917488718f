"""``ecs-reboot-diagnosis skill install``: the agent skill folder, written where a client looks.

The folder is ``SKILL.md``, ``references/`` and ``scripts/`` (the two collector scripts, for the
manual path when the MCP server is not available), under the skill's name:

- Claude Code loads personal skills from ``~/.claude/skills/<name>/SKILL.md``;
- Qwen Code loads them from ``~/.qwen/skills/<name>/SKILL.md``;
- any other directory (a project's ``.claude/skills``, a relocated config) is given as DIR.

Both clients read the YAML front matter's ``name`` and ``description``; ``SKILL.md`` keeps each on
one line (a double-quoted description) so that the simplest front-matter reader agrees with a
full YAML parser. A different folder already there is never replaced without ``--force``; the
new folder is written beside it first and swapped in whole, so an interrupted install leaves the
old one or the new one, never half of each.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from ecs_reboot_diagnosis_mcp.references import references_dir

SKILL_NAME = "ecs-reboot-diagnosis"
CLIENTS = {
    "claude": ("Claude Code", (".claude", "skills")),
    "qwen": ("Qwen Code", (".qwen", "skills")),
}
_CHECKOUT = Path(__file__).resolve().parents[2]
_COLLECTORS = ("linux.sh", "windows.ps1")


class SkillInstallError(Exception):
    """The folder was not written; the message says why and what to do."""


@dataclass(frozen=True)
class Installed:
    path: Path
    status: Literal["written", "replaced", "unchanged"]


def skill_md() -> Path:
    """``SKILL.md``: package data in a wheel, the repository's own file in a checkout."""
    packaged = Path(str(files(__package__ or "ecs_reboot_diagnosis_mcp"))) / "SKILL.md"
    for candidate in (packaged, _CHECKOUT / "SKILL.md"):
        if candidate.is_file():
            return candidate
    raise SkillInstallError("SKILL.md is not installed with this package; reinstall it")


def skill_files() -> dict[str, bytes]:
    """Relative path (``/``-separated) -> content of every file of the skill folder."""
    out = {"SKILL.md": skill_md().read_bytes()}
    for doc in sorted(references_dir().glob("*.md")):
        out[f"references/{doc.name}"] = doc.read_bytes()
    collectors = files("ecs_reboot_diagnosis.collectors")
    for name in _COLLECTORS:
        out[f"scripts/{name}"] = collectors.joinpath(name).read_bytes()
    return out


def skills_root(target: str, home: Path | None = None) -> Path:
    """The skills directory of ``claude`` or ``qwen``, or ``target`` itself as a directory."""
    client = CLIENTS.get(target)
    if client is None:
        return Path(target).expanduser()
    return (home or Path.home()).joinpath(*client[1])


def _current(folder: Path) -> dict[str, bytes] | None:
    """What a skill folder holds now; None when it is not a plain, readable directory (a file,
    a link, something unreadable in it)."""
    if folder.is_symlink() or not folder.is_dir():
        return None
    found: dict[str, bytes] = {}
    try:
        for path in folder.rglob("*"):
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                return None
            if path.is_file():
                found[path.relative_to(folder).as_posix()] = path.read_bytes()
    except OSError:
        return None
    return found


def _remove(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)


def install(root: Path, *, force: bool = False) -> Installed:
    """Write the skill folder ``root/<name>``; raises SkillInstallError when it cannot."""
    wanted = skill_files()
    dest = root / SKILL_NAME
    exists = dest.exists() or dest.is_symlink()
    if exists:
        if _current(dest) == wanted:
            return Installed(dest, "unchanged")
        if not force:
            raise SkillInstallError(
                f"{dest} already exists and differs from this version's skill folder; "
                "add --force to replace it (files added there are removed too)"
            )
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{SKILL_NAME}.installing-", dir=root))
    except OSError as exc:
        raise SkillInstallError(f"cannot write in {root}: {exc.strerror or exc}") from exc
    old: Path | None = None
    try:
        for name, data in wanted.items():
            path = staging.joinpath(*name.split("/"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        staging.chmod(0o755)
        if exists:
            old = root / f".{SKILL_NAME}.old-{os.getpid()}"
            if old.exists() or old.is_symlink():
                _remove(old)
            dest.rename(old)
        staging.rename(dest)
    except OSError as exc:
        if old is not None and not (dest.exists() or dest.is_symlink()):
            old.rename(dest)  # put the previous folder back
            old = None
        raise SkillInstallError(f"cannot write {dest}: {exc.strerror or exc}") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    if old is not None:
        _remove(old)
    return Installed(dest, "replaced" if exists else "written")


def cmd_skill_install(args: argparse.Namespace) -> int:
    from ecs_reboot_diagnosis_mcp.cli import EXIT_OK, EXIT_USAGE, CliError

    try:
        done = install(skills_root(args.target), force=args.force)
    except SkillInstallError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    client = CLIENTS.get(args.target, ("", ()))[0]
    verb = {"written": "wrote", "replaced": "replaced", "unchanged": "already up to date:"}
    print(f"{verb[done.status]} {done.path}", flush=True)
    if client and done.status != "unchanged":
        print(f"{client} loads skills when a session starts.", file=sys.stderr)
    return EXIT_OK


def add_skill_parser(sub: Any) -> None:
    """The ``skill`` command and its ``install`` subcommand, on the CLI's subparsers."""
    skill = sub.add_parser(
        "skill", help="install the agent skill folder for Claude Code or Qwen Code"
    )
    actions = skill.add_subparsers(dest="skill_command", metavar="ACTION", required=True)
    install_parser = actions.add_parser(
        "install",
        help="write the skill folder (SKILL.md, references/, scripts/) where a client loads it",
        description="Write the skill folder where the client looks for skills: claude = "
        "~/.claude/skills/ecs-reboot-diagnosis, qwen = ~/.qwen/skills/ecs-reboot-diagnosis, "
        "or DIR/ecs-reboot-diagnosis for any other skills directory (e.g. a project's "
        ".claude/skills). Prints the folder written.",
    )
    install_parser.add_argument(
        "--target",
        default="claude",
        metavar="claude|qwen|DIR",
        help="the client, or a skills directory (default: claude)",
    )
    install_parser.add_argument(
        "--force", action="store_true", help="replace a different folder already there"
    )
    install_parser.set_defaults(handler=cmd_skill_install)
