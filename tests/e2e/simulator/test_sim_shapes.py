"""Every action's JSON is exactly what the SDK models describe: the model round-trips it
without dropping a key, and the SDK call returns a body (never None)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as ecs_models

from ecs_api_simulator import SimulatorServer
from tests.e2e.simulator.signed_requests import call

LINUX = "i-bp1simguest0linux01"
WINDOWS = "i-bp1simguest0windows"


def _round_trip(action: str, payload: dict[str, Any]) -> None:
    model = getattr(ecs_models, f"{action}ResponseBody")
    assert model().from_map(payload).to_map() == payload


def _invoke(sim: SimulatorServer) -> str:
    response = call(
        sim,
        "RunCommand",
        {
            "RegionId": "cn-hangzhou",
            "Type": "RunShellScript",
            "CommandContent": "echo shape",
            "InstanceId.1": LINUX,
        },
    )
    assert response.status_code == 200, response.text
    sim.wait_for_invocations()
    return str(response.json()["InvokeId"])


CASES: list[tuple[str, dict[str, str]]] = [
    ("DescribeInstances", {"RegionId": "cn-hangzhou"}),
    ("DescribeInstances", {"RegionId": "cn-shanghai", "MaxResults": "10"}),
    ("DescribeInstanceAttribute", {"InstanceId": LINUX}),
    (
        "DescribeInstanceHistoryEvents",
        {
            "RegionId": "cn-hangzhou",
            "InstanceId": LINUX,
            "InstanceEventCycleStatus.1": "Executed",
            "InstanceEventCycleStatus.2": "Scheduled",
        },
    ),
    ("DescribeInstancesFullStatus", {"RegionId": "cn-hangzhou"}),
    ("DescribeCloudAssistantStatus", {"RegionId": "cn-hangzhou"}),
    ("GetInstanceConsoleOutput", {"RegionId": "cn-hangzhou", "InstanceId": LINUX}),
    ("GetInstanceScreenshot", {"RegionId": "cn-hangzhou", "InstanceId": "i-bp1simguest0noresp1"}),
]


@pytest.mark.parametrize(
    ("action", "params"), CASES, ids=[f"{a}-{i}" for i, (a, _) in enumerate(CASES)]
)
def test_action_shape_round_trips(
    sim: SimulatorServer, action: str, params: dict[str, str]
) -> None:
    response = call(sim, action, params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    payload = response.json()
    assert payload["RequestId"]
    _round_trip(action, payload)


def test_run_command_and_invocation_shapes_round_trip(sim: SimulatorServer) -> None:
    invoke_id = _invoke(sim)
    for action, params in (
        (
            "DescribeInvocations",
            {"RegionId": "cn-hangzhou", "InvokeId": invoke_id, "IncludeOutput": "true"},
        ),
        ("DescribeInvocationResults", {"RegionId": "cn-hangzhou", "InvokeId": invoke_id}),
    ):
        for _ in range(100):
            payload = call(sim, action, params).json()
            text = str(payload)
            if "Success" in text:
                break
            time.sleep(0.02)
        _round_trip(action, payload)


def test_sdk_bodies_are_never_none(sim: SimulatorServer, client: Any) -> None:
    region = "cn-hangzhou"
    invoke_id = client.run_command(
        ecs_models.RunCommandRequest(
            region_id=region, type="RunShellScript", command_content="true", instance_id=[LINUX]
        )
    ).body.invoke_id
    calls = [
        client.describe_instances(ecs_models.DescribeInstancesRequest(region_id=region)),
        client.describe_instance_attribute(
            ecs_models.DescribeInstanceAttributeRequest(instance_id=LINUX)
        ),
        client.describe_instance_history_events(
            ecs_models.DescribeInstanceHistoryEventsRequest(region_id=region, instance_id=LINUX)
        ),
        client.describe_instances_full_status(
            ecs_models.DescribeInstancesFullStatusRequest(region_id=region, instance_id=[LINUX])
        ),
        client.describe_cloud_assistant_status(
            ecs_models.DescribeCloudAssistantStatusRequest(region_id=region, instance_id=[LINUX])
        ),
        client.describe_invocations(
            ecs_models.DescribeInvocationsRequest(region_id=region, invoke_id=invoke_id)
        ),
        client.describe_invocation_results(
            ecs_models.DescribeInvocationResultsRequest(region_id=region, invoke_id=invoke_id)
        ),
        client.get_instance_console_output(
            ecs_models.GetInstanceConsoleOutputRequest(region_id=region, instance_id=LINUX)
        ),
    ]
    for response in calls:
        assert response.body is not None
        assert response.body.request_id


def test_instance_fields_the_diagnosis_needs(client: Any) -> None:
    body = client.describe_instances(
        ecs_models.DescribeInstancesRequest(
            region_id="cn-hangzhou", instance_ids=f'["{LINUX}", "{WINDOWS}"]'
        )
    ).body
    by_id = {i.instance_id: i for i in body.instances.instance}
    linux, windows = by_id[LINUX], by_id[WINDOWS]
    assert (linux.ostype, windows.ostype) == ("linux", "windows")
    assert linux.osname_en == "CentOS  7.9 64 bit"
    assert linux.status == "Running"
    assert linux.region_id == "cn-hangzhou" and linux.zone_id == "cn-hangzhou-k"
    assert linux.public_ip_address.ip_address == ["47.98.1.2"]
    assert linux.vpc_attributes.private_ip_address.ip_address == ["172.16.0.21"]
    assert len(linux.creation_time) == len("2024-04-14T22:32Z")
    attribute = client.describe_instance_attribute(
        ecs_models.DescribeInstanceAttributeRequest(instance_id=LINUX)
    ).body
    assert attribute.io_optimized == "optimized"
    assert attribute.instance_name == "guest-linux"
