"""Run one Linux RunShellScript for real, in a sandboxed invocation against a fixture root.

The sandbox is about the environment, not security: the script runs as the simulator's user with
``bash``, a clean environment (no host variables, so no secrets and no proxies), ``DIAG_ROOT``
pointing at the scenario's guest root (the guest's ``/``), ``PATH`` = the scenario's tool shims
(each run with bash, so they need no execute bit) then a minimal system PATH, a fresh temporary
working directory, stdin closed, its own process group, and a wall-clock limit after which the
whole group is killed. Output is stdout and stderr interleaved, bounded as Cloud Assistant
bounds it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ecs_api_simulator.output_limit import OutputCollector

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class RunOutcome:
    output: bytes
    dropped: int
    exit_code: int | None
    timed_out: bool = False
    start_error: str = ""


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class RunningScripts:
    """Processes currently running, so the simulator can kill them all when it stops."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._processes: set[subprocess.Popen[bytes]] = set()
        self._closed = False

    def add(self, process: subprocess.Popen[bytes]) -> bool:
        with self._lock:
            if self._closed:
                return False
            self._processes.add(process)
            return True

    def discard(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._processes.discard(process)

    def kill_all(self) -> None:
        with self._lock:
            self._closed = True
            processes = list(self._processes)
        for process in processes:
            _kill_group(process)


def install_shims(guest_bin: Path, target: Path, bash: str) -> None:
    """One small wrapper per tool shim in ``guest_bin``, so shims work without execute bits."""
    target.mkdir()
    if not guest_bin.is_dir():
        return
    for shim in sorted(guest_bin.iterdir()):
        if shim.is_file() and not shim.name.startswith("."):
            wrapper = target / shim.name
            command = f"exec {shlex.quote(bash)} {shlex.quote(str(shim))}"
            wrapper.write_text(f'#!{bash}\n{command} "$@"\n', encoding="utf-8")
            wrapper.chmod(0o755)


def sandbox_environment(
    guest_root: Path,
    shim_dir: Path,
    home: Path,
    *,
    fixture: Path | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The whole environment of a run: defaults, the scenario's extras, then the fixed paths."""
    env = {
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "SHELL": "/bin/bash",
        "USER": "root",
        "LOGNAME": "root",
    }
    env.update(extra or {})
    env.update(
        {
            "DIAG_ROOT": str(guest_root),
            "DIAG_FIXTURE": str(fixture or guest_root.parent),
            "PATH": f"{shim_dir}:{SYSTEM_PATH}",
            "HOME": str(home),
            "TMPDIR": str(home),
        }
    )
    return env


def run_shell_script(
    script: str,
    *,
    guest_root: Path,
    guest_bin: Path,
    timeout_seconds: float,
    running: RunningScripts,
    fixture: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> RunOutcome:
    bash = shutil.which("bash", path=SYSTEM_PATH)
    if bash is None:
        return RunOutcome(b"", 0, None, start_error="bash is not installed on the simulator host")
    workdir = Path(tempfile.mkdtemp(prefix="ecs-sim-run-"))
    try:
        script_path = workdir / "script.sh"
        script_path.write_text(script, encoding="utf-8")
        home = workdir / "home"
        home.mkdir()
        shim_dir = workdir / "bin"
        install_shims(guest_bin, shim_dir, bash)
        try:
            process = subprocess.Popen(
                [bash, str(script_path)],
                cwd=home,
                env=sandbox_environment(
                    guest_root, shim_dir, home, fixture=fixture, extra=extra_env
                ),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return RunOutcome(b"", 0, None, start_error=f"cannot start bash: {exc.strerror}")
        if not running.add(process):
            _kill_group(process)
        collector = OutputCollector()
        stdout = process.stdout
        assert stdout is not None

        def pump() -> None:
            while chunk := os.read(stdout.fileno(), 65536):
                collector.write(chunk)

        reader = threading.Thread(target=pump, name="ecs-sim-output", daemon=True)
        reader.start()
        timed_out = False
        try:
            process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
        _kill_group(process)  # the script and anything it left behind
        process.wait()
        reader.join(timeout=5)
        stdout.close()
        running.discard(process)
        output, dropped = collector.result()
        code = process.returncode
        exit_code = 128 - code if code < 0 else code
        return RunOutcome(output, dropped, None if timed_out else exit_code, timed_out=timed_out)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
