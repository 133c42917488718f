"""Errors come back as the real service sends them: JSON body, code, status, RequestId."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import (
    ClientException,
    ServerException,
    ThrottlingException,
)

from ecs_api_simulator import SimulatorServer
from tests.e2e.simulator.sdk_clients import make_client
from tests.e2e.simulator.signed_requests import call, post

DENIED = "i-2zesimdenied0000001"


def test_unknown_instance_attribute_is_404(client: Any) -> None:
    with pytest.raises(ClientException) as caught:
        client.describe_instance_attribute(
            ecs_models.DescribeInstanceAttributeRequest(instance_id="i-bp1nosuchinstance00")
        )
    error = caught.value
    assert (error.code, error.status_code) == ("InvalidInstanceId.NotFound", 404)
    assert error.data["Message"] == "The specified InstanceId does not exist."
    assert error.data["RequestId"] and error.data["HostId"]
    assert error.data["Recommend"].startswith("https://api.aliyun.com/troubleshoot?q=")


def test_unknown_instance_is_absent_from_describe_instances(client: Any) -> None:
    body = client.describe_instances(
        ecs_models.DescribeInstancesRequest(
            region_id="cn-hangzhou", instance_ids='["i-bp1nosuchinstance00"]'
        )
    ).body
    assert body.total_count == 0 and body.instances.instance == []


def test_unknown_region_is_404(client: Any) -> None:
    with pytest.raises(ClientException) as caught:
        client.describe_instances(ecs_models.DescribeInstancesRequest(region_id="xx-nowhere-1"))
    assert (caught.value.code, caught.value.status_code) == ("InvalidRegionId.NotFound", 404)


def test_public_region_without_instances_is_empty(client: Any) -> None:
    body = client.describe_instances(
        ecs_models.DescribeInstancesRequest(region_id="eu-central-1")
    ).body
    assert body.total_count == 0


def test_missing_region_is_missing_parameter(client: Any) -> None:
    with pytest.raises(ClientException) as caught:
        client.describe_instances(ecs_models.DescribeInstancesRequest())
    assert (caught.value.code, caught.value.status_code) == ("MissingParameter", 400)


def test_unknown_action_is_the_real_error(sim: SimulatorServer) -> None:
    response = call(sim, "RebootInstanceNow", {"RegionId": "cn-hangzhou"})
    body = response.json()
    assert (response.status_code, body["Code"]) == (404, "InvalidAction.NotFound")
    assert body["Message"] == "Specified api is not found, please check your url and method."
    assert body["RequestId"]


def test_wrong_version_is_refused(sim: SimulatorServer) -> None:
    response = post(
        f"{sim.url}?Action=DescribeInstances&Version=2016-03-14&RegionId=cn-hangzhou", {}
    )
    assert (response.status_code, response.json()["Code"]) == (400, "InvalidVersion")


def test_scenario_ram_denial_names_the_action(client: Any) -> None:
    with pytest.raises(ClientException) as caught:
        client.run_command(
            ecs_models.RunCommandRequest(
                region_id="cn-beijing",
                type="RunShellScript",
                command_content="id",
                instance_id=[DENIED],
            )
        )
    error = caught.value
    assert (error.code, error.status_code) == ("Forbidden.RAM", 403)
    assert error.access_denied_detail["AuthAction"] == "ecs:RunCommand"


def test_denied_describe_instances_is_an_empty_list_but_dry_run_tells(client: Any) -> None:
    request = ecs_models.DescribeInstancesRequest(
        region_id="cn-beijing", instance_ids=f'["{DENIED}"]'
    )
    assert client.describe_instances(request).body.total_count == 0
    request.dry_run = True
    with pytest.raises(ClientException) as caught:
        client.describe_instances(request)
    assert caught.value.code == "Forbidden.RAM"


def test_allowed_dry_run_is_dry_run_operation(client: Any) -> None:
    with pytest.raises(ClientException) as caught:
        client.describe_instances(
            ecs_models.DescribeInstancesRequest(region_id="cn-hangzhou", dry_run=True)
        )
    assert (caught.value.code, caught.value.status_code) == ("DryRunOperation", 400)


def test_key_level_denial(sim: SimulatorServer) -> None:
    limited = make_client(
        sim, access_key_id="LTAI5tSIMLIMITED0000000", access_key_secret="SimLimitedSecret0000"
    )
    with pytest.raises(ClientException) as caught:
        limited.describe_cloud_assistant_status(
            ecs_models.DescribeCloudAssistantStatusRequest(region_id="cn-hangzhou")
        )
    assert caught.value.access_denied_detail["AuthPrincipalDisplayName"] == "readonly-user"
    body = limited.describe_instances(
        ecs_models.DescribeInstancesRequest(region_id="cn-hangzhou")
    ).body
    assert body.total_count == 0


def test_injected_faults(sim: SimulatorServer, client: Any) -> None:
    sim.inject_fault("DescribeInstancesFullStatus", "Throttling.User")
    sim.inject_fault("DescribeInstancesFullStatus", "ServiceUnavailable", status=503)
    sim.inject_fault("DescribeInstancesFullStatus", "Throttling.Api", retry_after_ms=1500)
    request = ecs_models.DescribeInstancesFullStatusRequest(region_id="cn-hangzhou")
    with pytest.raises(ClientException) as throttled:
        client.describe_instances_full_status(request)
    assert throttled.value.code == "Throttling.User"
    with pytest.raises(ServerException) as unavailable:
        client.describe_instances_full_status(request)
    assert unavailable.value.status_code == 503
    with pytest.raises(ThrottlingException) as retry_after:
        client.describe_instances_full_status(request)
    assert retry_after.value.retry_after == 1500
    assert client.describe_instances_full_status(request).body is not None


def test_console_output_and_screenshot_rules(client: Any) -> None:
    linux = client.get_instance_console_output(
        ecs_models.GetInstanceConsoleOutputRequest(
            region_id="cn-hangzhou", instance_id="i-bp1simguest0linux01", remove_symbols=True
        )
    ).body
    assert len(linux.last_update_time) == len("2024-04-15 16:00:01")
    import base64

    text = base64.b64decode(linux.console_output).decode()
    assert "Kernel panic - not syncing: Fatal exception" in text
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    with pytest.raises(ClientException) as windows:
        client.get_instance_console_output(
            ecs_models.GetInstanceConsoleOutputRequest(
                region_id="cn-hangzhou", instance_id="i-bp1simguest0windows"
            )
        )
    assert (windows.value.code, windows.value.status_code) == ("NotSupported", 405)
    with pytest.raises(ClientException) as stopped:
        client.get_instance_screenshot(
            ecs_models.GetInstanceScreenshotRequest(
                region_id="cn-hangzhou", instance_id="i-bp1simguest0stopped"
            )
        )
    assert stopped.value.code == "IncorrectInstanceStatus"


def test_screenshot_calls_must_be_ten_seconds_apart(client: Any) -> None:
    import base64

    request = ecs_models.GetInstanceScreenshotRequest(
        region_id="cn-hangzhou", instance_id="i-bp1simguest0agentdn"
    )
    image = base64.b64decode(client.get_instance_screenshot(request).body.screenshot)
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ClientException) as caught:
        client.get_instance_screenshot(request)
    assert (caught.value.code, caught.value.status_code) == ("Throttling", 429)
