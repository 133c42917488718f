"""linux.sh on hostile trees (issue 12 item 2): every read bounded, every command under a
timeout, decisive sections first and always present, no temp directory left on any exit."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ecs_reboot_diagnosis.analysis.conclusions import conclude_guest
from ecs_reboot_diagnosis.analysis.envelope import LINUX_SECTIONS, parse_envelope
from ecs_reboot_diagnosis.analysis.guest import parse_guest_output
from tests.collectors.hostile_trees import CASE, DECISIVE, HOSTILE
from tests.collectors.linux_harness import run_linux_case, setup_linux_case

DECISIVE_FIRST = ("meta", "os", *DECISIVE[:5])


def _temp_dirs(work: Path) -> list[Path]:
    return [p for p in work.iterdir() if p.name.startswith(("tmp.", "ecs-diag."))]


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("shell", ["bash", "dash"])
def test_each_hostile_tree_completes_with_its_decisive_sections(
    tmp_path: Path, name: str, shell: str
) -> None:
    h = HOSTILE[name]
    start = time.monotonic()
    run = run_linux_case(CASE, tmp_path, shell=shell, prepare=h.prepare, shims=h.shims, env=h.env)
    wall = time.monotonic() - start
    assert run.returncode == 0, run.stderr
    env = parse_envelope(run.output, run.nonce)
    assert env.complete
    assert tuple(env.sections) == LINUX_SECTIONS
    assert tuple(env.sections)[: len(DECISIVE_FIRST)] == DECISIVE_FIRST
    for s in ("boot", "reboot_history", "sysctl", "kdump"):
        assert env.sections[s].status == "ok", s
    assert wall < 30, wall
    assert _temp_dirs(tmp_path) == []
    crash = env.sections["crash_files"]
    if name == "stat_hangs":
        assert (crash.status, crash.note) == ("error", "stat timed out")
    else:
        assert crash.status == "ok"
    if name == "sparse_crash":
        assert "64 GiB" not in run.output
        assert f"{64 << 30} " in "\n".join(crash.lines)  # listed with its apparent size
        assert (env.sections["crash_dmesg"].status, env.sections["crash_dmesg"].note) == (
            "error",
            "sparse file skipped",
        )
    if name == "sparse_log":
        assert "1 sparse skipped" in env.sections["syslog"].note
    if name in {"gzip_bomb", "fifo_symlink_loop", "unreadable"}:
        # the real messages file is still read
        assert "recovery complete" in "\n".join(env.sections["syslog"].lines)


def test_over_the_time_budget_log_scans_are_skipped_and_say_so(tmp_path: Path) -> None:
    run = run_linux_case(CASE, tmp_path, env={"DIAG_BUDGET": "0"})
    env = parse_envelope(run.output, run.nonce)
    assert env.complete
    for s in ("crash_dmesg",):
        assert (env.sections[s].status, env.sections[s].note) == ("error", "time budget spent")
    assert env.sections["syslog"].note.endswith("skipped: time budget")
    for s in ("reboot_history", "sysctl", "kdump", "crash_files"):
        assert env.sections[s].status == "ok" and env.sections[s].lines, s


@pytest.mark.parametrize("group", [True, False], ids=["process_group", "shell_only"])
def test_killed_mid_run_leaves_no_temp_directory(tmp_path: Path, group: bool) -> None:
    h = HOSTILE["stat_hangs"]  # stalls in the crash-file list for a few seconds
    setup = setup_linux_case(CASE, tmp_path, prepare=h.prepare, shims=h.shims)
    proc = subprocess.Popen(
        setup.argv,
        env=setup.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while not _temp_dirs(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _temp_dirs(tmp_path), "the collector made no temp directory"
        time.sleep(1)
        assert proc.poll() is None, "the run ended before it could be killed"
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) != 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        else:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the stat shim's sleep, if it outlived it
            except ProcessLookupError:
                pass
    assert _temp_dirs(tmp_path) == []


def test_a_clean_reboot_without_its_decisive_sections_says_what_is_missing(tmp_path: Path) -> None:
    run = run_linux_case("clean_reboot", tmp_path)
    guest = parse_guest_output("linux", run.output, run.nonce)
    conclusion, _ = conclude_guest("linux", guest, None, None)
    assert conclusion.rule_id == "linux.clean_reboot"
    assert "Not collected" not in conclusion.root_cause.en
    # the same run, had the kdump section failed and the crash-file list timed out
    cut = re.sub(
        rf"(====={run.nonce} END (kdump|crash_files)) status=\w+ truncated=0 note=[^=]*=====",
        r"\1 status=error truncated=0 note=stat timed out=====",
        run.output,
    )
    guest = parse_guest_output("linux", cut, run.nonce)
    conclusion, _ = conclude_guest("linux", guest, None, None)
    assert conclusion.rule_id == "linux.clean_reboot"
    assert conclusion.confidence == "low"
    assert "Not collected: kdump (error: stat timed out); crash_files (error: " in (
        conclusion.root_cause.en
    )
    assert "未采集到" in conclusion.root_cause.zh_CN
