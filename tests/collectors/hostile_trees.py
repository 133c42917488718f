"""Hostile guest trees for the Linux collector, built at test time on the ``hostile_files`` case.

Nothing here is in git: a 64 GiB sparse file costs no disk on a file system with holes, and the
gzip bomb is 64 copies of one gzip member of 64 MiB of zeros (4 GiB inflated, no newline in it).
Used by tests/collectors/test_linux_hostile.py and benchmarks/collector_hostile.py.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CASE = "hostile_files"
SPARSE_BYTES = 64 << 30
BOMB_MEMBER_BYTES = 64 << 20
BOMB_MEMBERS = 64
NEW_DUMP = "var/crash/127.0.0.1-2025-03-21-00-00-00"
"""A dump directory newer than the case's real one: its vmcore-dmesg.txt is the one scanned."""

DECISIVE = ("boot", "reboot_history", "sysctl", "kdump", "crash_files", "journal_boots")
"""Sections a report cannot conclude without (journal_boots only where journald is read)."""


def _mtime(path: Path, epoch: int = 1742500000) -> None:
    os.utime(path, (epoch, epoch), follow_symlinks=False)


def sparse_crash(root: Path) -> None:
    """A 64 GiB sparse vmcore-dmesg.txt (no newline anywhere) and vmcore in the newest dump dir."""
    d = root / NEW_DUMP
    d.mkdir(parents=True)
    for name in ("vmcore-dmesg.txt", "vmcore"):
        with open(d / name, "wb") as f:
            f.truncate(SPARSE_BYTES)
        _mtime(d / name)


def sparse_log(root: Path) -> None:
    """/var/log/syslog: 64 GiB of holes."""
    with open(root / "var/log/syslog", "wb") as f:
        f.truncate(SPARSE_BYTES)
    _mtime(root / "var/log/syslog")


def gzip_bomb(root: Path) -> None:
    """A rotated messages-*.gz that inflates to 4 GiB of zeros, one line."""
    member = gzip.compress(bytes(BOMB_MEMBER_BYTES), compresslevel=9, mtime=0)
    path = root / "var/log/messages-20250319.gz"
    with open(path, "wb") as f:
        for _ in range(BOMB_MEMBERS):
            f.write(member)
    _mtime(path)


def fifo_and_loop(root: Path) -> None:
    """A FIFO named like a rotated log (nothing ever writes to it) and a symlink loop."""
    log = root / "var/log"
    os.mkfifo(log / "messages-20250320")
    (log / "syslog.1").symlink_to("syslog.2")
    (log / "syslog.2").symlink_to("syslog.1")
    (log / "loop").symlink_to(".")
    for p in ("messages-20250320", "syslog.1", "syslog.2"):
        _mtime(log / p)


def unreadable(root: Path) -> None:
    """A rotated log and a dump file with mode 000 (root still reads them; others do not)."""
    for rel in ("var/log/messages-20250318", f"{NEW_DUMP}/dmesg.txt"):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("Mar 18 10:00:00 host kernel: Linux version 5.10\n")
        p.chmod(0)
        _mtime(p)


def nothing(root: Path) -> None:
    """The hung stat needs no file: the shim hangs on every path under /var/crash."""


@dataclass(frozen=True)
class Hostile:
    prepare: Callable[[Path], None]
    shims: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


HOSTILE: dict[str, Hostile] = {
    "sparse_crash": Hostile(sparse_crash),
    "sparse_log": Hostile(sparse_log),
    "gzip_bomb": Hostile(gzip_bomb),
    "fifo_symlink_loop": Hostile(fifo_and_loop),
    "unreadable": Hostile(unreadable),
    "stat_hangs": Hostile(nothing, shims=("stat",)),
}
