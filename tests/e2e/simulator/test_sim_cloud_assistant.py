"""Cloud Assistant: RunCommand really runs bash against the fixture root, invocations move through
their states, outputs are cut like the real agent's, and failures carry the real codes."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import ClientException

from ecs_api_simulator import ManualClock, SimulatorServer
from tests.e2e.simulator.sdk_clients import make_client
from tests.e2e.simulator.signed_requests import call

REGION = "cn-hangzhou"
LINUX = "i-bp1simguest0linux01"
WINDOWS = "i-bp1simguest0windows"


def run(client: Any, instance_id: str, content: str, **kwargs: Any) -> str:
    kwargs.setdefault("type", "RunShellScript")
    response = client.run_command(
        ecs_models.RunCommandRequest(
            region_id=REGION, instance_id=[instance_id], command_content=content, **kwargs
        )
    )
    assert response.body.command_id.startswith("c-")
    assert response.body.invoke_id.startswith("t-")
    return str(response.body.invoke_id)


def result(client: Any, invoke_id: str, **kwargs: Any) -> Any:
    body = client.describe_invocation_results(
        ecs_models.DescribeInvocationResultsRequest(region_id=REGION, invoke_id=invoke_id, **kwargs)
    ).body
    (item,) = body.invocation.invocation_results.invocation_result
    return item


def finished(sim: SimulatorServer, client: Any, invoke_id: str, **kwargs: Any) -> Any:
    assert sim.wait_for_invocations(timeout=30)
    return result(client, invoke_id, **kwargs)


def test_shell_script_runs_against_the_fixture_root(sim: SimulatorServer, client: Any) -> None:
    script = (
        'grep PRETTY_NAME "$DIAG_ROOT/etc/os-release"\n'
        'ls "$DIAG_ROOT/var/crash"\n'
        "journalctl --list-boots\n"
        "hostname\n"
        'echo "nonce={{nonce}} section={{ Section-Name }}"\n'
    )
    invoke_id = run(
        client,
        LINUX,
        base64.b64encode(script.encode()).decode(),
        content_encoding="Base64",
        enable_parameter=True,
        parameters={"nonce": "4f1d2c", "section-name": "kdump"},
        timeout=30,
    )
    item = finished(sim, client, invoke_id)
    assert (item.invocation_status, item.invoke_record_status) == ("Success", "Finished")
    assert item.exit_code == 0 and item.error_code == "" and item.dropped == 0
    output = base64.b64decode(item.output).decode()
    assert 'PRETTY_NAME="CentOS Linux 7 (Core)"' in output
    # the kdump directory is stored as 127.0.0.1-@@kdump=-3h1m@@ (no colon in a tracked path)
    # and reaches the guest with a real kdump name, colons and all, dated 3h1m before the run
    match = re.search(r"^127\.0\.0\.1-(\d{4}-\d\d-\d\d-\d\d:\d\d:\d\d)$", output, re.M)
    assert match is not None, output
    dumped = datetime.strptime(match.group(1), "%Y-%m-%d-%H:%M:%S").replace(tzinfo=UTC)
    expected = datetime.now(UTC) - timedelta(hours=3, minutes=1)
    assert abs(dumped - expected) < timedelta(minutes=2)
    assert "@@" not in output
    assert "11111111111111111111111111111111" in output  # from the journalctl shim
    assert "guest-linux" in output  # the hostname shim, not the host's name
    assert "nonce=4f1d2c section=kdump" in output
    assert item.start_time and item.finished_time


def test_script_environment_is_clean(
    sim: SimulatorServer, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_HOST_SECRET", "do-not-leak")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "do-not-leak-either")
    invoke_id = run(client, LINUX, "env; pwd")
    output = base64.b64decode(finished(sim, client, invoke_id).output).decode()
    assert "do-not-leak" not in output
    # the guest has templated names, so each run gets its own rendered copy of root/
    assert re.search(r"^DIAG_ROOT=/\S*/ecs-sim-guest-[^/]+/root$", output, re.M), output
    assert "PROXY" not in output.upper()


def test_parameters_are_literal_without_enable_parameter(sim: SimulatorServer, client: Any) -> None:
    invoke_id = run(client, LINUX, "echo '{{nonce}}'", parameters={"nonce": "x"})
    assert base64.b64decode(finished(sim, client, invoke_id).output) == b"{{nonce}}\n"


def test_output_is_cut_at_24_kb_keeping_head_and_tail(sim: SimulatorServer, client: Any) -> None:
    script = "printf HEAD; head -c 40000 /dev/zero | tr '\\0' x; printf TAIL"
    item = finished(sim, client, run(client, LINUX, script))
    output = base64.b64decode(item.output)
    assert len(output) == 24 * 1024
    assert item.dropped == 40008 - 24 * 1024
    assert output.startswith(b"HEADxxx") and output.endswith(b"xxxTAIL")


def test_nonzero_exit_is_failed(sim: SimulatorServer, client: Any) -> None:
    item = finished(sim, client, run(client, LINUX, "echo oops >&2; exit 3"))
    assert (item.invocation_status, item.exit_code) == ("Failed", 3)
    assert item.error_code == "ExitCodeNonzero"
    assert base64.b64decode(item.output) == b"oops\n"


def test_timeout_kills_the_script(sim: SimulatorServer, client: Any) -> None:
    item = finished(
        sim, client, run(client, LINUX, "echo started; sleep 30; echo never", timeout=1)
    )
    assert item.invocation_status == "Timeout"
    assert item.error_code == "ExecutionTimeout"
    assert item.error_info == "the command execution has been timeout"
    assert base64.b64decode(item.output) == b"started\n"


def test_plain_text_encoding_and_describe_invocations(sim: SimulatorServer, client: Any) -> None:
    invoke_id = run(client, LINUX, "echo hello", name="greeting")
    assert sim.wait_for_invocations()
    body = client.describe_invocations(
        ecs_models.DescribeInvocationsRequest(
            region_id=REGION, invoke_id=invoke_id, include_output=True, content_encoding="PlainText"
        )
    ).body
    (invocation,) = body.invocations.invocation
    assert invocation.command_content == "echo hello"
    assert invocation.command_name == "greeting"
    assert (invocation.invocation_status, invocation.invoke_status) == ("Success", "Finished")
    (instance,) = invocation.invoke_instances.invoke_instance
    assert (instance.instance_id, instance.output, instance.exit_code) == (LINUX, "hello\n", 0)
    by_status = client.describe_invocations(
        ecs_models.DescribeInvocationsRequest(
            region_id=REGION, invoke_status="Finished", command_name="greeting"
        )
    ).body
    assert invoke_id in {i.invoke_id for i in by_status.invocations.invocation}


def test_state_progression_follows_the_clock(
    manual_sim: tuple[SimulatorServer, ManualClock],
) -> None:
    sim, clock = manual_sim
    client = make_client(sim)
    invoke_id = run(client, "i-bp1simguest0delayed", "echo done")
    assert result(client, invoke_id).invocation_status == "Pending"  # 5 s pending
    clock.advance(6)
    assert sim.wait_for_invocations()
    running = result(client, invoke_id)
    assert running.invocation_status == "Running"  # runs at least 10 s
    assert running.output == "" and running.start_time
    clock.advance(10)
    done = result(client, invoke_id)
    assert done.invocation_status == "Success"
    assert base64.b64decode(done.output) == b"done\n"
    start = datetime.strptime(done.start_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    finish = datetime.strptime(done.finished_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert finish - start >= timedelta(seconds=9)


@pytest.mark.parametrize(
    ("instance_id", "status", "code", "info"),
    [
        (
            "i-bp1simguest0agentdn",
            "Failed",
            "ClientNotRunning",
            "the aliyun service is not running on the instance",
        ),
        (
            "i-bp1simguest0noresp1",
            "Failed",
            "ClientNotResponse",
            "the aliyun service in the instance does not response",
        ),
        (
            "i-bp1simguest0gone001",
            "Failed",
            "InstanceNotExists",
            "the specified instance does not exists",
        ),
        (
            "i-bp1simguest0stopped",
            "Aborted",
            "InstanceNotRunning",
            "the instance is not running when create task",
        ),
        (
            "i-bp1simguest0timeout",
            "Timeout",
            "ExecutionTimeout",
            "the command execution has been timeout",
        ),
    ],
)
def test_forced_failures(
    sim: SimulatorServer, client: Any, instance_id: str, status: str, code: str, info: str
) -> None:
    item = result(client, run(client, instance_id, "echo never-runs"))
    assert (item.invocation_status, item.error_code, item.error_info) == (status, code, info)
    assert base64.b64decode(item.output or "") == b""


def test_windows_returns_recorded_output_with_parameters(sim: SimulatorServer, client: Any) -> None:
    invoke_id = run(
        client,
        WINDOWS,
        "Write-Output '{{nonce}}'",
        type="RunPowerShellScript",
        enable_parameter=True,
        parameters={"nonce": "n0nce42", "lang": "en"},
    )
    item = result(client, invoke_id)
    assert (item.invocation_status, item.exit_code, item.username) == ("Success", 0, "System")
    output = base64.b64decode(item.output).decode()
    assert output.startswith("=====<n0nce42> BEGIN instance=i-bp1simguest0windows lang=en=====")
    assert "0x0000007e" in output and output.endswith("=====<n0nce42> END=====\n")


def test_cloud_assistant_status(sim: SimulatorServer, client: Any) -> None:
    body = client.describe_cloud_assistant_status(
        ecs_models.DescribeCloudAssistantStatusRequest(
            region_id=REGION, instance_id=[LINUX, "i-bp1simguest0agentdn"]
        )
    ).body
    by_id = {
        s.instance_id: s
        for s in body.instance_cloud_assistant_status_set.instance_cloud_assistant_status
    }
    alive, down = by_id[LINUX], by_id["i-bp1simguest0agentdn"]
    now = datetime.now(UTC)
    beat = datetime.strptime(alive.last_heartbeat_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert (alive.cloud_assistant_status, alive.ostype) == ("true", "Linux")
    assert now - beat < timedelta(minutes=2)
    assert alive.cloud_assistant_version and alive.support_session_manager is True
    assert (down.cloud_assistant_status, down.cloud_assistant_version) == ("false", "")
    old = datetime.strptime(down.last_heartbeat_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert now - old > timedelta(days=2)


def test_invocation_count_grows(sim: SimulatorServer, client: Any) -> None:
    def count() -> int:
        body = client.describe_cloud_assistant_status(
            ecs_models.DescribeCloudAssistantStatusRequest(region_id=REGION, instance_id=[LINUX])
        ).body
        return int(
            body.instance_cloud_assistant_status_set.instance_cloud_assistant_status[
                0
            ].invocation_count
        )

    before = count()
    run(client, LINUX, "true")
    assert count() == before + 1


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"Type": "RunShellScript", "InstanceId.1": WINDOWS}, 403, "InvalidInstance.NotMatch"),
        ({"Type": "RunPowerShellScript", "InstanceId.1": LINUX}, 403, "InvalidInstance.NotMatch"),
        ({"Type": "RunPythonScript", "InstanceId.1": LINUX}, 403, "InvalidCmdType.NotFound"),
        (
            {"Type": "RunShellScript", "InstanceId.1": "i-bp1nosuchinstance00"},
            404,
            "InvalidInstance.NotFound",
        ),
        ({"Type": "RunShellScript"}, 400, "MissingParameter"),
        (
            {
                "Type": "RunShellScript",
                "InstanceId.1": LINUX,
                "EnableParameter": "true",
                "Parameters": "{}",
            },
            400,
            "InvalidParameter.Parameters",
        ),
        (
            {"Type": "RunShellScript", "InstanceId.1": LINUX, "ContentEncoding": "Base64"},
            400,
            "InvalidParameter",
        ),
    ],
)
def test_run_command_errors(
    sim: SimulatorServer, params: dict[str, str], status: int, code: str
) -> None:
    request = {"RegionId": REGION, "CommandContent": "echo {{missing}} ~!", **params}
    response = call(sim, "RunCommand", request)
    assert (response.status_code, response.json()["Code"]) == (status, code)


def test_oversized_command_is_refused(client: Any) -> None:
    with pytest.raises(ClientException) as caught:
        run(client, LINUX, "#" * 20000)
    assert (caught.value.code, caught.value.status_code) == ("CmdContent.ExceedLimit", 403)
