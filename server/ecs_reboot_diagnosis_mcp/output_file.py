"""Where the command line writes a report: a file checked before any work starts, written
atomically (a temporary file beside it, then a rename), so that nothing is lost or half-written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from ecs_reboot_diagnosis.models import Lang, Text
from ecs_reboot_diagnosis_mcp.cli_errors import EXIT_USAGE, CliError


def check_output_path(path: Path, option: str = "--output", lang: Lang = "en") -> Path:
    """``path`` when a file can be written there; a CliError naming ``option`` otherwise (in
    ``lang``).

    Called before any API call, so that a diagnosis never runs only to lose its report.
    """
    target = path.expanduser()
    parent = target.parent if str(target.parent) else Path(".")
    said: Text | None = None
    if target.is_dir():
        said = Text(
            en=f"{option} {path}: is a directory; give a file name",
            zh_CN=f"{option} {path}：这是一个目录；请给出文件名",
        )
    elif not parent.exists():
        said = Text(
            en=f"{option} {path}: the directory {parent} does not exist; create it first",
            zh_CN=f"{option} {path}：目录 {parent} 不存在；请先创建它",
        )
    elif not parent.is_dir():
        said = Text(
            en=f"{option} {path}: {parent} is not a directory",
            zh_CN=f"{option} {path}：{parent} 不是目录",
        )
    elif not os.access(parent, os.W_OK | os.X_OK):
        said = Text(
            en=f"{option} {path}: the directory {parent} is not writable by you",
            zh_CN=f"{option} {path}：您没有目录 {parent} 的写权限",
        )
    elif target.exists() and not os.access(target, os.W_OK):
        said = Text(
            en=f"{option} {path}: the file exists and is not writable",
            zh_CN=f"{option} {path}：该文件已存在且不可写",
        )
    if said is not None:
        raise CliError(said.get(lang), EXIT_USAGE)
    return target


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


OS_REASONS_ZH: dict[int, str] = {
    errno.ENOENT: "文件或目录不存在",
    errno.EACCES: "权限不足",
    errno.EPERM: "不允许该操作",
    errno.EISDIR: "这是一个目录",
    errno.ENOTDIR: "路径中有一项不是目录",
    errno.ENOSPC: "磁盘空间不足",
    errno.EROFS: "文件系统为只读",
    errno.EDQUOT: "超出磁盘配额",
    errno.ENAMETOOLONG: "文件名太长",
}
"""The operating system's reasons a person meets most, in Chinese (others are quoted)."""


def os_reason(exc: OSError, lang: Lang = "en") -> str:
    """Why an operation on a file failed, as the person reads it in ``lang``."""
    if lang == "zh-CN":
        known = OS_REASONS_ZH.get(exc.errno or 0)
        return known or f"`{exc.strerror or exc}`"
    return str(exc.strerror or exc)


def _cannot_write(path: Path, exc: OSError, lang: Lang) -> CliError:
    why = os_reason(exc, lang)
    said = Text(en=f"cannot write {path}: {why}", zh_CN=f"无法写入 {path}：{why}")
    return CliError(said.get(lang), EXIT_USAGE)


def write_atomically(path: Path, data: bytes, lang: Lang = "en") -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename:
    readers see the old file or the whole new one, never a part; a failure leaves no temporary
    file behind. The file gets the usual permissions (0666 less the umask)."""
    parent = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise _cannot_write(path, exc, lang) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise _cannot_write(path, exc, lang) from exc
