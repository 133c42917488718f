"""Guest file templates through the official SDK: a Linux run sees the guest's files with their
times rendered against the simulator's clock (or the guest's DIAG_NOW), in the guest's zone,
with the mtimes and modes of ``guest.files``; the scenario directory itself is never changed,
and the rendered copy is gone after the run."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as ecs_models

from ecs_api_simulator import ManualClock, SimulatorServer
from ecs_api_simulator.scenario import ScenarioError, load_scenario
from tests.e2e.simulator.sdk_clients import make_client

REGION = "cn-hangzhou"
INSTANCE = "i-bp1simtemplates01"
NOW = datetime(2026, 12, 3, 7, 20, 11, tzinfo=UTC)
CRASH = "root/var/crash/127.0.0.1-@@kdump=-26h@@"  # the portable form of a templated name


def scenario(directory: Path, env: dict[str, str], **guest: Any) -> Path:
    (directory / CRASH).mkdir(parents=True)
    (directory / CRASH / "vmcore").write_bytes(b"KDUMP   body")
    (directory / CRASH / "vmcore-dmesg.txt").write_text("[  1.0] Kernel panic - not syncing\n")
    (directory / "root/proc").mkdir(parents=True)
    (directory / "root/proc/uptime").write_text("@@uptime:-2h@@ 100.00\n")
    (directory / "root/proc/stat").write_text("cpu  1 2 3\nbtime @@epoch:-2h@@\n")
    (directory / "root/var/log").mkdir(parents=True)
    (directory / "root/var/log/messages").write_text("@@syslog:-3d@@ h kernel: Linux version\n")
    (directory / "root/etc").mkdir()
    (directory / "root/etc/os-release").write_text('PRETTY_NAME="no tokens here"\n')
    (directory / "tools").mkdir()
    (directory / "tools/last.txt").write_text(
        "reboot   system boot  5.10 @@last:-2h@@   still running\n"
    )
    (directory / "bin").mkdir()
    (directory / "bin/last").write_text('cat "$DIAG_FIXTURE/tools/last.txt"\n')
    (directory / "console.log").write_text("[    0.0] booted at @@iso:-2h@@\n")
    spec = {
        "name": "templates",
        "instances": [
            {
                "instance_id": INSTANCE,
                "region_id": REGION,
                "os_type": "linux",
                "os_name": "Alibaba Cloud Linux 3",
                "invocation": {"pending_seconds": 0, "running_seconds": 0},
                "console_output": {"file": "console.log"},
                "guest": {"env": env, **guest},
            }
        ],
    }
    (directory / "scenario.json").write_text(json.dumps(spec))
    return directory


FILES = {
    f"{CRASH}/vmcore": {"mtime": "-25h59m", "mode": "0600", "owner": 0},
    CRASH: {"mtime": "-25h58m"},
    "root/var/log/messages": {"mtime": "-1m"},
}
SCRIPT = r"""
R=$DIAG_ROOT
echo "root=$R"
cat "$R/proc/uptime" "$R/proc/stat" "$R/var/log/messages"
last
for f in "$R"/var/crash/*/* "$R"/var/crash/* "$R/var/log/messages" "$R/etc/os-release"; do
  stat -c 'stat %Y %a %u %n' "$f"
done
"""


def run_script(sim: SimulatorServer) -> str:
    client = make_client(sim)
    invoke_id = client.run_command(
        ecs_models.RunCommandRequest(
            region_id=REGION,
            instance_id=[INSTANCE],
            type="RunShellScript",
            command_content=base64.b64encode(SCRIPT.encode()).decode(),
            content_encoding="Base64",
            timeout=30,
        )
    ).body.invoke_id
    assert sim.wait_for_invocations(timeout=30)
    body = client.describe_invocation_results(
        ecs_models.DescribeInvocationResultsRequest(region_id=REGION, invoke_id=invoke_id)
    ).body
    (item,) = body.invocation.invocation_results.invocation_result
    assert item.exit_code == 0, item
    return base64.b64decode(item.output).decode()


def stats(output: str) -> dict[str, tuple[int, str, str]]:
    rows = [line.split(" ", 4)[1:] for line in output.splitlines() if line.startswith("stat ")]
    return {name.split("/root/", 1)[1]: (int(m), mode, uid) for m, mode, uid, name in rows}


def test_a_run_sees_rendered_times_names_and_mtimes(tmp_path: Path) -> None:
    directory = scenario(tmp_path / "s", {"TZ": "CST-8"}, files=FILES)
    before = sorted(str(p) for p in directory.rglob("*"))
    now = datetime.now(UTC).replace(microsecond=0)  # signatures follow the clock: keep it real
    clock = ManualClock(now)
    with SimulatorServer([directory], clock=clock) as sim:
        output = run_script(sim)
        clock.advance(600)  # ten minutes later, the next run is dated ten minutes later
        later = run_script(sim)
        console = (
            make_client(sim)
            .get_instance_console_output(
                ecs_models.GetInstanceConsoleOutputRequest(region_id=REGION, instance_id=INSTANCE)
            )
            .body.console_output
        )
    epoch = int(now.timestamp())
    cst = timezone(timedelta(hours=8))

    def local(seconds_ago: int, fmt: str) -> str:
        return datetime.fromtimestamp(epoch - seconds_ago, cst).strftime(fmt)

    assert "@@" not in output
    assert "7200.00 100.00" in output
    assert f"btime {epoch - 7200}\n" in output
    syslog = local(3 * 86400, "%b %e %H:%M:%S")  # CST, the day padded with a space
    assert f"{syslog} h kernel: Linux version" in output
    assert f"boot  5.10 {local(7200, '%a %b %e %H:%M:%S %Y')}   still running" in output
    crash = f"var/crash/127.0.0.1-{local(26 * 3600, '%Y-%m-%d-%H:%M:%S')}"
    seen = stats(output)
    assert seen[f"{crash}/vmcore"] == (
        epoch - 93540,
        "600",
        str(os.geteuid()) if os.geteuid() else "0",
    )
    assert seen[crash][0] == epoch - 93480
    assert seen["var/log/messages"][0] == epoch - 60
    dmesg = seen[f"{crash}/vmcore-dmesg.txt"]
    assert dmesg[0] == int((directory / CRASH / "vmcore-dmesg.txt").stat().st_mtime)
    # a plain file is a hard link to the scenario's (same mtime), never the scenario's path
    assert seen["etc/os-release"][0] == int((directory / "root/etc/os-release").stat().st_mtime)
    root = output.split("root=", 1)[1].split("\n", 1)[0]
    assert not root.startswith(str(directory)) and not Path(root).exists()
    assert f"btime {epoch + 600 - 7200}\n" in later
    assert local(26 * 3600 - 600, "%Y-%m-%d-%H:%M:%S") in later
    booted = local(7200 - 600, "%Y-%m-%dT%H:%M:%S+0800")
    assert base64.b64decode(console).decode() == f"[    0.0] booted at {booted}\n"
    assert sorted(str(p) for p in directory.rglob("*")) == before  # the scenario is untouched


def test_the_guest_clock_diag_now_wins(tmp_path: Path) -> None:
    ahead = int(datetime.now(UTC).timestamp()) + 400 * 86400
    directory = scenario(tmp_path / "s", {"DIAG_NOW": str(ahead)})
    with SimulatorServer([directory]) as sim:
        output = run_script(sim)
    assert f"btime {ahead - 7200}\n" in output
    year = datetime.fromtimestamp(ahead - 7200, UTC).year
    assert f"{year}   still running" in output  # UTC, 400 days ahead


def test_plain_guests_run_from_the_scenario_directory(tmp_path: Path) -> None:
    directory = tmp_path / "plain"
    (directory / "root/etc").mkdir(parents=True)
    (directory / "root/etc/os-release").write_text("ID=alinux\n")
    spec = {"name": "plain", "instances": [{"instance_id": INSTANCE, "region_id": REGION,
            "os_type": "linux", "os_name": "x"}]}  # fmt: skip
    (directory / "scenario.json").write_text(json.dumps(spec))
    assert load_scenario(directory, NOW).instances[0].guest_template is None


@pytest.mark.parametrize(
    ("where", "text", "message"),
    [
        ("root/var/log/messages", "@@date:-2h@@ x\n", r"messages: token @@date:-2h@@: unknown"),
        ("tools/last.txt", "@@last:-2 hours@@ x\n", None),  # not a token: spaces
        ("tools/last.txt", "@@last:-2y@@\n", r"last.txt: token @@last:-2y@@: offset"),
        ("root/var/crash/dump.@@stamp:yesterday@@", "", r"in the file name: token"),
        ("root/var/crash/dump.@@stamp=-1x@@", "", r"in the file name: token @@stamp=-1x@@"),
    ],
)
def test_bad_tokens_fail_at_load_naming_the_file(
    tmp_path: Path, where: str, text: str, message: str | None
) -> None:
    directory = scenario(tmp_path / "s", {})
    path = directory / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if message is None:
        load_scenario(directory, NOW)
        return
    with pytest.raises(ScenarioError, match=message) as caught:
        load_scenario(directory, NOW)
    assert str(directory) in str(caught.value)


@pytest.mark.parametrize(
    ("files", "env", "message"),
    [
        (
            {"root/var/crash/nothing": {"mtime": "-1h"}},
            {},
            r"guest.files: 'root/var/crash/nothing'",
        ),
        ({"root/var/log/messages": {"mtime": "yesterday"}}, {}, r"mtime"),
        ({"root/var/log/messages": {"mode": "rw-r--r--"}}, {}, r"mode"),
        ({"root/var/log/messages": {"size": 3}}, {}, r"size"),
        ({}, {"TZ": "EST5EDT,M3.2.0,M11.1.0"}, r"TZ 'EST5EDT"),
    ],
)
def test_bad_file_overrides_and_zones_fail_at_load(
    tmp_path: Path, files: dict[str, Any], env: dict[str, str], message: str
) -> None:
    directory = scenario(tmp_path / "s", env, files=files)
    with pytest.raises(ScenarioError, match=message):
        load_scenario(directory, NOW)


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_owner_is_applied_as_root(tmp_path: Path) -> None:
    files = {"root/var/log/messages": {"owner": 1000, "group": 1000, "mode": "0666"}}
    directory = scenario(tmp_path / "s", {}, files=files)
    with SimulatorServer([directory]) as sim:
        seen = stats(run_script(sim))
    assert seen["var/log/messages"][1:] == ("666", "1000")
    assert (directory / "root/var/log/messages").stat().st_uid == 0
