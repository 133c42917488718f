"""Run the real Linux collector with a shell against fixture trees.

Each case under ``tests/fixtures/guest/linux/<case>/`` has ``root/`` (the guest file system the
script reads through ``DIAG_ROOT``), optional ``tools/`` (what the shims in ``_shims/`` print for
journalctl, last, systemctl, dmesg, utmpdump, uptime and hostname) and ``case.json`` (the clock,
time zone and file times).
The script runs with a PATH made only of links to the tools it needs plus the case's shims, so a
tool the case lacks is really missing, and nothing reads the state of the test machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ecs_reboot_diagnosis.collectors import load_collector, new_nonce, substitute_parameters

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "guest"
LINUX_CASES = FIXTURES / "linux"
SHIMS = LINUX_CASES / "_shims"

# What a full distribution has; the minimal set is a busybox-like userland.
MINIMAL_TOOLS = (
    "sh awk grep sed find stat sort head tail wc tr cp date df mktemp rm gzip cat mkdir cut"
).split()
FULL_TOOLS = [*MINIMAL_TOOLS, "uname", "timeout", "true", "nice", "renice", "ionice", "xz"]
# tool -> the files of tools/ that put its shim on PATH (any one of them)
SHIMMED = {
    "journalctl": ("journalctl",),
    "last": ("last.txt", "last-iso.txt", "last-plain.txt"),
    "systemctl": ("systemctl",),
    "dmesg": ("dmesg.txt",),
    "utmpdump": ("utmpdump.txt",),
    "uptime": ("uptime.txt",),
    "hostname": ("hostname.txt",),
    "stat": (),  # only on request (``shims=("stat",)``): a stat that hangs on the dump path
}


@dataclass(frozen=True)
class LinuxRun:
    output: str
    stderr: str
    returncode: int
    nonce: str
    root: Path
    case: dict[str, object]


def _tool_dir(dest: Path, tools: list[str], case_dir: Path) -> Path:
    dest.mkdir()
    for tool in tools:
        real = shutil.which(tool, path=os.defpath + ":/usr/sbin:/sbin")
        if real is not None:
            (dest / tool).symlink_to(real)
    for tool, markers in SHIMMED.items():
        if any((case_dir / "tools" / marker).exists() for marker in markers):
            _shim(dest, tool)
    return dest


def _shim(dest: Path, tool: str) -> None:
    shim = dest / tool
    shim.unlink(missing_ok=True)  # never write through a link to the real tool
    shutil.copyfile(SHIMS / tool, shim)
    shim.chmod(0o755)


@dataclass(frozen=True)
class LinuxSetup:
    argv: list[str]
    env: dict[str, str]
    nonce: str
    root: Path
    case: dict[str, object]


def setup_linux_case(
    case: str,
    work: Path,
    *,
    shell: str = "bash",
    nonce: str | None = None,
    since_days: str = "7",
    prepare: Callable[[Path], None] | None = None,
    content: str | None = None,
    extra_tools: tuple[str, ...] = (),
    shims: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> LinuxSetup:
    """Copy the case to ``work`` and return how to run linux.sh on it with ``shell``.

    ``content`` replaces linux.sh (e.g. the packed stub); ``extra_tools`` join the PATH;
    ``shims`` are shims of ``_shims/`` put first whatever the case has; ``env`` is added.
    """
    src = LINUX_CASES / case
    case_dir = work / case
    shutil.copytree(src, case_dir, symlinks=True)
    spec: dict[str, object] = json.loads((case_dir / "case.json").read_text())
    root = case_dir / "root"
    mtimes = spec.get("mtimes", {})
    assert isinstance(mtimes, dict)
    for rel, epoch in mtimes.items():
        os.utime(root / rel, (epoch, epoch))
    old_files = spec.get("old_files", [])
    assert isinstance(old_files, list)
    now = spec["now"]
    assert isinstance(now, int)
    for rel in old_files:  # rotated files weeks older than the case's clock: outside any window
        os.utime(root / rel, (now - 40 * 86400, now - 40 * 86400))
    nonce = nonce or new_nonce()
    inject = spec.get("inject_nonce")
    if isinstance(inject, str):  # a log that somehow learnt this run's nonce
        target = root / inject
        target.write_bytes(target.read_bytes().replace(b"NONCE_PLACEHOLDER", nonce.encode()))
    if prepare is not None:
        prepare(root)
    tools = [*(MINIMAL_TOOLS if spec.get("minimal_path") else FULL_TOOLS), *extra_tools]
    bin_dir = _tool_dir(work / f"bin-{case}", tools, case_dir)
    for tool in shims:
        _shim(bin_dir, tool)
    script = work / "linux.sh"
    content = load_collector("linux").content if content is None else content
    params = {"nonce": nonce, "since_days": since_days}  # raw: the script validates them
    script.write_text(substitute_parameters(content, params))
    run_env = {
        "PATH": str(bin_dir),
        "DIAG_ROOT": str(root),
        "DIAG_LIVE": "1",
        "DIAG_FIXTURE": str(case_dir),
        "DIAG_NOW": str(spec["now"]),
        "TZ": str(spec.get("tz", "UTC")),
        "HOME": str(work),
        "TMPDIR": str(work),
        **(env or {}),
    }
    shell_path = shutil.which(shell)
    if shell_path is None:
        pytest.skip(f"{shell} is not installed")
    return LinuxSetup([shell_path, str(script)], run_env, nonce, root, spec)


def run_linux_case(case: str, work: Path, **kwargs: object) -> LinuxRun:
    """Copy the case to ``work``, run linux.sh on it and return what it printed (arguments: as
    ``setup_linux_case``)."""
    setup = setup_linux_case(case, work, **kwargs)  # type: ignore[arg-type]
    proc = subprocess.run(setup.argv, env=setup.env, capture_output=True, timeout=60, check=False)
    return LinuxRun(
        output=proc.stdout.decode("ascii"),
        stderr=proc.stderr.decode("utf-8", "replace"),
        returncode=proc.returncode,
        nonce=setup.nonce,
        root=setup.root,
        case=setup.case,
    )
