"""The EcsGateway adapter end to end: official SDK (pooled, on worker threads) -> loopback
simulator -> port records."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta

import alibabacloud_credentials.utils.auth_util as auth_util
import pytest

from ecs_api_simulator import SimulatorServer
from ecs_reboot_diagnosis.errors import CloudApiError
from ecs_reboot_diagnosis.ports import TERMINAL_INVOCATION_STATUSES, EcsGateway
from ecs_reboot_diagnosis_mcp.aliyun import (
    USER_AGENT,
    AliyunEcsGateway,
    EcsClientSettings,
    resolve_default_credentials,
)
from ecs_reboot_diagnosis_mcp.aliyun import gateway as gateway_module
from ecs_reboot_diagnosis_mcp.aliyun.client_factory import build_config, retry_policy
from ecs_reboot_diagnosis_mcp.aliyun.retry import RetryPolicy
from tests.e2e.simulator.sdk_clients import settings_for

pytestmark = pytest.mark.anyio

REGION = "cn-hangzhou"
LINUX = "i-bp1simguest0linux01"
WINDOWS = "i-bp1simguest0windows"
DENIED = "i-2zesimdenied0000001"


@pytest.fixture
def gateway(sim: SimulatorServer) -> AliyunEcsGateway:
    return AliyunEcsGateway(settings_for(sim))


def test_it_is_an_ecs_gateway(gateway: AliyunEcsGateway) -> None:
    port: EcsGateway = gateway
    assert port is gateway


async def test_describe_instance(gateway: AliyunEcsGateway) -> None:
    facts = await gateway.describe_instance(REGION, LINUX)
    assert facts is not None
    assert (facts.instance_id, facts.region_id, facts.status, facts.os_type) == (
        LINUX,
        REGION,
        "Running",
        "linux",
    )
    assert (facts.instance_name, facts.zone_id) == ("guest-linux", "cn-hangzhou-k")
    assert (facts.public_ip, facts.private_ip) == ("47.98.1.2", "172.16.0.21")
    assert facts.os_name == "CentOS  7.9 64 bit"
    assert facts.creation_time is not None and facts.creation_time.tzinfo is not None
    windows = await gateway.describe_instance(REGION, WINDOWS)
    assert windows is not None and windows.os_type == "windows"


async def test_missing_instance_is_none(gateway: AliyunEcsGateway) -> None:
    assert await gateway.describe_instance(REGION, "i-bp1nosuchinstance00") is None


async def test_instance_hidden_by_ram_is_forbidden_not_missing(gateway: AliyunEcsGateway) -> None:
    with pytest.raises(CloudApiError) as caught:
        await gateway.describe_instance("cn-beijing", DENIED)
    error = caught.value
    assert (error.kind, error.code, error.action) == (
        "forbidden",
        "Forbidden.RAM",
        "DescribeInstances",
    )
    assert "ecs:DescribeInstances" in error.hint
    assert error.request_id and error.request_id in str(error)


async def test_history_events_all_pages(
    gateway: AliyunEcsGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway_module, "HISTORY_PAGE_SIZE", 10)
    now = datetime.now(UTC)
    events = await gateway.describe_history_events(
        REGION, LINUX, cycle_statuses=[], start=now - timedelta(days=30), end=now
    )
    assert len(events) == 18  # two pages of ten
    assert len({e.event_id for e in events}) == 18
    failure = next(e for e in events if e.event_id == "e-simguestinstfail01")
    assert (failure.event_type, failure.cycle_status) == ("InstanceFailure.Reboot", "Executed")
    assert failure.not_before and failure.finish_time and failure.publish_time
    assert failure.reason.startswith("The instance was restarted")


async def test_history_events_by_cycle_status_and_window(gateway: AliyunEcsGateway) -> None:
    now = datetime.now(UTC)
    events = await gateway.describe_history_events(
        REGION,
        LINUX,
        cycle_statuses=["Scheduled", "Executing", "Inquiring"],
        start=now - timedelta(hours=2),
        end=now + timedelta(days=7),
    )
    assert sorted(e.cycle_status for e in events) == ["Executing", "Inquiring", "Scheduled"]


async def test_cloud_assistant(gateway: AliyunEcsGateway) -> None:
    alive = await gateway.describe_cloud_assistant(REGION, LINUX)
    assert alive.running and alive.agent_version and alive.supports_session_manager
    assert alive.last_heartbeat is not None
    assert datetime.now(UTC) - alive.last_heartbeat < timedelta(minutes=2)
    down = await gateway.describe_cloud_assistant(REGION, "i-bp1simguest0agentdn")
    assert not down.running and down.agent_version == ""


async def test_cloud_assistant_of_unknown_instance(gateway: AliyunEcsGateway) -> None:
    with pytest.raises(CloudApiError) as caught:
        await gateway.describe_cloud_assistant(REGION, "i-bp1nosuchinstance00")
    assert (caught.value.kind, caught.value.code) == ("not_found", "InvalidInstance.NotFound")


async def test_run_command_and_result(sim: SimulatorServer, gateway: AliyunEcsGateway) -> None:
    invoke_id = await gateway.run_command(
        REGION,
        LINUX,
        command_type="RunShellScript",
        content=('echo "run {{nonce}}"; head -1 "$DIAG_ROOT/etc/os-release"; printf "\\xff\\xfe!"'),
        parameters={"nonce": "abc"},
        timeout_seconds=30,
        name="ecs-reboot-diagnosis",
    )
    assert invoke_id.startswith("t-")
    assert sim.wait_for_invocations()
    result = await gateway.invocation_result(REGION, LINUX, invoke_id)
    assert result.status in TERMINAL_INVOCATION_STATUSES
    assert (result.status, result.exit_code, result.invoke_id) == ("Success", 0, invoke_id)
    assert result.output.startswith('run abc\nNAME="CentOS Linux"\n')
    assert result.output.endswith("\ufffd\ufffd!")  # invalid UTF-8 is replaced, not fatal
    assert result.start_time is not None and result.finish_time is not None


async def test_run_command_without_parameters_and_failure_codes(gateway: AliyunEcsGateway) -> None:
    invoke_id = await gateway.run_command(
        REGION,
        "i-bp1simguest0agentdn",
        command_type="RunShellScript",
        content="echo {{literal}}",
        parameters={},
        timeout_seconds=10,
        name="probe",
    )
    result = await gateway.invocation_result(REGION, "i-bp1simguest0agentdn", invoke_id)
    assert (result.status, result.error_code) == ("Failed", "ClientNotRunning")
    assert result.exit_code is None and result.output == ""


async def test_windows_recorded_output(gateway: AliyunEcsGateway) -> None:
    invoke_id = await gateway.run_command(
        REGION,
        WINDOWS,
        command_type="RunPowerShellScript",
        content="Write-Output '{{nonce}} {{lang}}'",
        parameters={"nonce": "n-1", "lang": "zh-CN"},
        timeout_seconds=60,
        name="collector",
    )
    result = await gateway.invocation_result(REGION, WINDOWS, invoke_id)
    assert result.status == "Success"
    assert result.output.startswith("=====<n-1> BEGIN instance=i-bp1simguest0windows lang=zh-CN")


async def test_result_of_unknown_invocation_is_pending(gateway: AliyunEcsGateway) -> None:
    result = await gateway.invocation_result(REGION, LINUX, "t-hznosuchinvocation0")
    assert (result.status, result.invoke_id) == ("Pending", "t-hznosuchinvocation0")


async def test_run_command_forbidden_names_the_permission(gateway: AliyunEcsGateway) -> None:
    with pytest.raises(CloudApiError) as caught:
        await gateway.run_command(
            "cn-beijing",
            DENIED,
            command_type="RunShellScript",
            content="id",
            parameters={},
            timeout_seconds=10,
            name="x",
        )
    assert caught.value.kind == "forbidden"
    assert "ecs:RunCommand" in caught.value.hint


async def test_console_output_and_screenshot(gateway: AliyunEcsGateway) -> None:
    console = await gateway.console_output(REGION, LINUX)
    assert "Kernel panic - not syncing" in console.text
    assert console.last_update_time is not None
    shot = await gateway.screenshot(REGION, WINDOWS)
    assert shot.png.startswith(b"\x89PNG\r\n\x1a\n")


async def test_throttling_is_retried(sim: SimulatorServer, gateway: AliyunEcsGateway) -> None:
    action = "GetInstanceConsoleOutput"
    before = (sim.request_count(action, code="Throttling.User"), sim.request_count(action, code=""))
    sim.inject_fault(action, "Throttling.User", times=2)
    console = await gateway.console_output(REGION, LINUX)
    assert console.text
    after = (sim.request_count(action, code="Throttling.User"), sim.request_count(action, code=""))
    assert (after[0] - before[0], after[1] - before[1]) == (2, 1)  # two refused, one served


async def test_throttling_beyond_the_attempts_is_reported(
    sim: SimulatorServer, gateway: AliyunEcsGateway
) -> None:
    action = "GetInstanceConsoleOutput"
    before = sim.request_count(action)
    sim.inject_fault(action, "Throttling.Api", times=None)  # throttled for good
    try:
        with pytest.raises(CloudApiError) as caught:
            await gateway.console_output(REGION, LINUX)
    finally:
        sim.clear_faults()
    error = caught.value
    assert (error.kind, error.code) == ("throttled", "Throttling.Api")
    assert sim.request_count(action) - before == 3  # max_attempts, then it gives up
    assert error.api_message == (
        "Request was denied due to api flow control. (gave up after 3 attempts)"
    )
    assert "rate limit" in error.hint and error.request_id


async def test_wrong_secret_is_a_credentials_error_without_secrets(sim: SimulatorServer) -> None:
    secret = "WrongSecretValue-1234567890"
    gateway = AliyunEcsGateway(settings_for(sim, access_key_secret=secret))
    with pytest.raises(CloudApiError) as caught:
        await gateway.describe_instance(REGION, LINUX)
    error = caught.value
    assert (error.kind, error.code) == ("credentials", "SignatureDoesNotMatch")
    for text in (str(error), error.hint, error.api_message):
        assert secret not in text and sim.access_key_id not in text


async def test_unknown_key_is_a_credentials_error(sim: SimulatorServer) -> None:
    gateway = AliyunEcsGateway(settings_for(sim, access_key_id="LTAI5tUNKNOWN000000000"))
    with pytest.raises(CloudApiError) as caught:
        await gateway.describe_cloud_assistant(REGION, LINUX)
    assert (caught.value.kind, caught.value.code) == ("credentials", "InvalidAccessKeyId.NotFound")
    assert "LTAI5tUNKNOWN000000000" not in str(caught.value)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_endpoint_is_a_network_error(sim: SimulatorServer) -> None:
    gateway = AliyunEcsGateway(
        settings_for(
            sim, endpoint=f"127.0.0.1:{_free_port()}", max_attempts=2, connect_timeout_ms=500
        )
    )
    with pytest.raises(CloudApiError) as caught:
        await gateway.describe_cloud_assistant(REGION, LINUX)
    assert caught.value.kind == "network"


async def test_shape_mismatch_is_unexpected_response(
    sim: SimulatorServer, fake_endpoint: tuple[str, list[bytes]]
) -> None:
    endpoint, bodies = fake_endpoint
    bodies.append(json.dumps({"RequestId": "R-1", "Instances": "not-an-object"}).encode())
    gateway = AliyunEcsGateway(settings_for(sim, endpoint=endpoint))
    with pytest.raises(CloudApiError) as caught:
        await gateway.describe_instance(REGION, LINUX)
    assert (caught.value.kind, caught.value.code) == ("unexpected_response", "UnexpectedResponse")


async def test_non_json_is_unexpected_response(
    sim: SimulatorServer, fake_endpoint: tuple[str, list[bytes]]
) -> None:
    endpoint, bodies = fake_endpoint
    bodies.append(b"<html>gateway</html>")
    gateway = AliyunEcsGateway(settings_for(sim, endpoint=endpoint, max_attempts=1))
    with pytest.raises(CloudApiError) as caught:
        await gateway.console_output(REGION, LINUX)
    assert caught.value.kind == "unexpected_response"


def test_missing_credentials_fail_clearly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    for name in (
        "environment_access_key_id",
        "environment_access_key_secret",
        "environment_security_token",
        "environment_oidc_token_file",
        "environment_role_arn",
        "environment_oidc_provider_arn",
        "environment_credentials_uri",
    ):
        monkeypatch.setattr(auth_util, name, None)
    monkeypatch.setattr(auth_util, "environment_cli_profile_disabled", "true")
    monkeypatch.setattr(auth_util, "environment_ecs_metadata_disabled", "true")
    monkeypatch.setattr(auth_util, "environment_credentials_file", f"{tmp_path}/absent.ini")
    with pytest.raises(CloudApiError) as caught:
        resolve_default_credentials()
    assert caught.value.kind == "credentials"
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in caught.value.hint


def test_client_configuration(sim: SimulatorServer) -> None:
    config = build_config(settings_for(sim), REGION, None)
    assert config.user_agent == USER_AGENT
    assert (config.endpoint, config.protocol) == (sim.endpoint, "http")
    assert (config.connect_timeout, config.read_timeout) == (5000, 10000)
    # The SDK's own retries sleep on the event loop: it makes one attempt, the gateway retries.
    assert config.retry_options.retryable is False
    assert retry_policy(settings_for(sim)) == RetryPolicy(3, 10, 50)
    assert "Secret" not in repr(settings_for(sim))


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("http://127.0.0.1:8765/", ("127.0.0.1:8765", "http")),
        ("127.0.0.1:8765", ("127.0.0.1:8765", "http")),
        ("localhost:1", ("localhost:1", "http")),
        ("ecs.cn-hangzhou.aliyuncs.com", ("ecs.cn-hangzhou.aliyuncs.com", "https")),
        ("https://ecs-vpc.cn-shanghai.aliyuncs.com", ("ecs-vpc.cn-shanghai.aliyuncs.com", "https")),
        (None, (None, "https")),
    ],
)
def test_endpoint_settings(endpoint: str | None, expected: tuple[str | None, str]) -> None:
    assert EcsClientSettings(endpoint=endpoint).endpoint_and_protocol() == expected
