"""Where the command line writes a report: a file checked before any work starts, written
atomically (a temporary file beside it, then a rename), so that nothing is lost or half-written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from ecs_reboot_diagnosis_mcp.cli_errors import EXIT_USAGE, CliError


def check_output_path(path: Path, option: str = "--output") -> Path:
    """``path`` when a file can be written there; a CliError naming ``option`` otherwise.

    Called before any API call, so that a diagnosis never runs only to lose its report.
    """
    target = path.expanduser()
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise CliError(f"{option} {path}: is a directory; give a file name", EXIT_USAGE)
    if not parent.exists():
        raise CliError(
            f"{option} {path}: the directory {parent} does not exist; create it first",
            EXIT_USAGE,
        )
    if not parent.is_dir():
        raise CliError(f"{option} {path}: {parent} is not a directory", EXIT_USAGE)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CliError(
            f"{option} {path}: the directory {parent} is not writable by you", EXIT_USAGE
        )
    if target.exists() and not os.access(target, os.W_OK):
        raise CliError(f"{option} {path}: the file exists and is not writable", EXIT_USAGE)
    return target


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename:
    readers see the old file or the whole new one, never a part; a failure leaves no temporary
    file behind. The file gets the usual permissions (0666 less the umask)."""
    parent = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}", EXIT_USAGE) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise CliError(f"cannot write {path}: {exc.strerror or exc}", EXIT_USAGE) from exc
