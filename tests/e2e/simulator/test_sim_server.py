"""Starting the simulator: built-in scenarios, scenario errors, the command line, and the
project's own Linux collector running through the SDK against the built-in Linux scenario."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from ecs_api_simulator import (
    BUILTIN_ACCESS_KEY_ID,
    ScenarioError,
    SimulatorServer,
    builtin_scenarios_dir,
)
from ecs_reboot_diagnosis.collectors import collector_parameters, load_collector, new_nonce
from ecs_reboot_diagnosis_mcp.aliyun import AliyunEcsGateway, EcsClientSettings

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def builtin() -> Iterator[SimulatorServer]:
    with SimulatorServer() as server:
        yield server


def test_builtin_scenarios_are_shipped_in_the_package() -> None:
    names = sorted(
        p.name for p in builtin_scenarios_dir().iterdir() if (p / "scenario.json").is_file()
    )
    assert {"linux-no-events", "windows-basic"} <= set(names)
    assert BUILTIN_ACCESS_KEY_ID == "LTAI5tSIMULATOR00000000"


async def test_project_linux_collector_runs_through_the_whole_stack(
    builtin: SimulatorServer,
) -> None:
    gateway = AliyunEcsGateway(
        EcsClientSettings(
            endpoint=builtin.endpoint,
            access_key_id=builtin.access_key_id,
            access_key_secret=builtin.access_key_secret,
        )
    )
    instance = "i-bp1sim0linux0000001"
    facts = await gateway.describe_instance("cn-hangzhou", instance)
    assert facts is not None and facts.os_type == "linux"
    nonce = new_nonce()
    invoke_id = await gateway.run_command(
        "cn-hangzhou",
        instance,
        command_type="RunShellScript",
        content=load_collector("linux").content,
        parameters=collector_parameters(nonce, 7),
        timeout_seconds=120,
        name="ecs-reboot-diagnosis",
    )
    assert builtin.wait_for_invocations(timeout=60)
    result = await gateway.invocation_result("cn-hangzhou", instance, invoke_id)
    while result.status in ("Pending", "Running"):  # the scenario's delays are on the real clock
        await anyio.sleep(0.2)
        result = await gateway.invocation_result("cn-hangzhou", instance, invoke_id)
    assert (result.status, result.exit_code) == ("Success", 0)
    assert f"====={nonce} SECTION kdump=====" in result.output
    assert "service_state=active" in result.output
    assert "COMMAND=/usr/sbin/reboot" in result.output


def _scenario(tmp_path: Path, body: dict[str, object]) -> Path:
    directory = tmp_path / "scenario"
    directory.mkdir()
    (directory / "scenario.json").write_text(json.dumps(body))
    return directory


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x", "instances": [{"instance_id": "bad"}]}, "instance_id"),
        (
            {
                "name": "x",
                "instances": [
                    {
                        "instance_id": "i-abcd1234",
                        "region_id": "cn-hangzhou",
                        "os_type": "linux",
                        "os_name": "x",
                        "creation_time": "yesterday",
                    }
                ],
            },
            "creation_time",
        ),
        (
            {
                "name": "x",
                "instances": [
                    {
                        "instance_id": "i-abcd1234",
                        "region_id": "cn-hangzhou",
                        "os_type": "linux",
                        "os_name": "x",
                        "screenshot": "../../etc/passwd",
                    }
                ],
            },
            "leaves the scenario directory",
        ),
        ({"name": "x", "surprise": 1}, "surprise"),
    ],
)
def test_invalid_scenarios_are_reported(
    tmp_path: Path, body: dict[str, object], message: str
) -> None:
    with pytest.raises(ScenarioError, match=message):
        SimulatorServer([_scenario(tmp_path, body)])


def test_missing_scenario_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        SimulatorServer([tmp_path / "absent"])


@pytest.mark.slow
def test_command_line_serves_until_interrupted(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ecs_api_simulator",
            "--port",
            "0",
            "--scenario",
            str(builtin_scenarios_dir()),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("ECS API simulator on http://127.0.0.1:")
        url = first.split()[4]
        with httpx.Client(trust_env=False) as http:
            answer = http.post(url, params={"Action": "DescribeInstances", "Version": "2014-05-26"})
        assert answer.json()["Code"] == "MissingAccessKeyId"
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=15)
    assert process.returncode == 0
