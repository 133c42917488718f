"""``diagnose --reboot-time``: the time reaches the analysis, and a bad one stops the command
with exit code 2 before any API call (the simulator counts the requests it serves)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from ecs_api_simulator import SimulatorServer
from ecs_reboot_diagnosis.report.render import load_report
from ecs_reboot_diagnosis_mcp.cli import EXIT_NOT_FOUND, EXIT_USAGE, main

LINUX = ["--instance-id", "i-bp1sim0linux0000001", "--region", "cn-hangzhou"]


@pytest.mark.parametrize(
    ("value", "ago", "event_days"),
    [("2h ago", timedelta(hours=2), 7), ("20d ago", timedelta(days=20), 22)],
)
def test_the_time_reaches_the_guest_analysis_and_the_event_window(
    value: str, ago: timedelta, event_days: int, capsys: pytest.CaptureFixture[str]
) -> None:
    before = datetime.now(UTC)
    code = main(["diagnose", "--simulator", *LINUX, "--reboot-time", value, "--format", "json"])
    after = datetime.now(UTC)
    out = capsys.readouterr().out
    assert code == 0
    report = load_report(out)
    assert report.guest is not None
    asked = report.guest.asked_reboot_time
    assert asked is not None and before - ago <= asked <= after - ago
    assert report.events is not None
    window = report.events.window_end - report.events.window_start
    assert window == timedelta(days=event_days)


def test_without_the_option_nothing_is_asked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "--simulator", *LINUX, "--format", "json"]) == 0
    report = load_report(capsys.readouterr().out)
    assert report.guest is not None and report.guest.asked_reboot_time is None


def run_cli(sim: SimulatorServer, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed command in a child process, on the default credential chain (the
    simulator's keys in the environment) against ``sim``."""
    env = {
        **os.environ,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": sim.access_key_id,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": sim.access_key_secret,
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
    }
    argv = [sys.executable, "-m", "ecs_reboot_diagnosis_mcp", "diagnose", "--endpoint", sim.url]
    return subprocess.run(
        [*argv, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("bad", "says"),
    [("yesterday", "words such as 'yesterday'"), ("2099-01-01T00:00", "is in the future"),
     ("5h", "not a date and time I can read"), ("x" * 200, "at most 64")],
)  # fmt: skip
def test_a_bad_time_exits_2_before_any_api_call(
    bundled_sim: SimulatorServer, bad: str, says: str
) -> None:
    served = bundled_sim.request_count()
    done = run_cli(bundled_sim, *LINUX, "--reboot-time", bad)
    assert done.returncode == EXIT_USAGE, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("ecs-reboot-diagnosis: error: --reboot-time: ")
    assert says in lines[0]
    assert "Accepted formats" in lines[0] and "2h ago" in lines[0]
    assert bundled_sim.request_count() == served


def test_with_a_good_time_the_same_command_reaches_the_endpoint(
    bundled_sim: SimulatorServer,
) -> None:
    """The control of the test above: its request count can move."""
    served = bundled_sim.request_count()
    done = run_cli(bundled_sim, "--instance-id", "i-bp1nosuchinstance01", "--region",
                   "cn-hangzhou", "--reboot-time", "2h ago")  # fmt: skip
    assert done.returncode == EXIT_NOT_FOUND, done.stderr
    assert bundled_sim.request_count() > served


def test_a_bad_time_is_refused_before_the_missing_ids_are_asked_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["diagnose", "--simulator", "--reboot-time", "soon"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--reboot-time" in err and "--instance-id is required" not in err
