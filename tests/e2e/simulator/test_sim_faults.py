"""Scripted faults through the official SDK: dropped connections, added latency, rate limits,
faults on every call, Cloud Assistant outcomes of RunCommand, and the scenario-file schema.

Plain errors (throttling, 5xx, ``x-acs-retry-after``) are covered by test_sim_errors.py
``test_injected_faults``; the gateway's retries over all of these by test_sim_resilience.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import ClientException
from darabonba.exceptions import UnretryableException
from pydantic import ValidationError

from ecs_api_simulator import FaultSpec, ManualClock, ScenarioError, SimulatorServer
from tests.e2e.simulator.sdk_clients import make_client
from tests.e2e.simulator.signed_requests import call

REGION = "cn-hangzhou"
LINUX = "i-bp1simguest0linux01"


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="module")
def server(scenarios_dir: Path, clock: ManualClock) -> Iterator[SimulatorServer]:
    """A private simulator on a manual clock, so that faults never leak into other modules."""
    with SimulatorServer([scenarios_dir / "linux-guest"], clock=clock) as private:
        yield private


@pytest.fixture
def faulty(server: SimulatorServer) -> Iterator[SimulatorServer]:
    """The private simulator, with no fault left in force after the test."""
    yield server
    server.clear_faults()


@pytest.fixture(scope="module")
def sdk(server: SimulatorServer) -> Any:
    return make_client(server)  # no retry options: the SDK makes one attempt


def describe(client: Any) -> Any:
    return client.describe_instances(ecs_models.DescribeInstancesRequest(region_id=REGION)).body


# --- dropped connections -------------------------------------------------------------------


def test_a_dropped_connection_gets_no_answer_at_all(faulty: SimulatorServer, sdk: Any) -> None:
    faulty.inject_fault("DescribeInstances", kind="drop", times=2)
    before = faulty.request_count("DescribeInstances", code="ConnectionDropped")
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        call(faulty, "DescribeInstances", {"RegionId": REGION})
    with pytest.raises(UnretryableException) as caught:
        describe(sdk)
    assert "Remote end closed connection without response" in str(caught.value)
    assert faulty.request_count("DescribeInstances", code="ConnectionDropped") == before + 2
    assert describe(sdk).total_count >= 1  # both drops used up
    last = faulty.world.requests.records("DescribeInstances")[-1]
    assert (last.status, last.code, last.ok) == (200, "", True)


def test_the_async_sdk_sees_the_server_disconnect(faulty: SimulatorServer, sdk: Any) -> None:
    import asyncio

    faulty.inject_fault("DescribeInstances", kind="drop")
    request = ecs_models.DescribeInstancesRequest(region_id=REGION)
    with pytest.raises(UnretryableException) as caught:
        asyncio.run(sdk.describe_instances_async(request))
    assert type(caught.value.inner_exception).__name__ == "ServerDisconnectedError"


def test_a_processed_drop_loses_only_the_answer(faulty: SimulatorServer, sdk: Any) -> None:
    """The request is handled, then the connection closed: a retry must not run it twice,
    which RunCommand's ClientToken ensures."""
    known = {r.invoke_id for r in faulty.invocation_records()}
    faulty.inject_fault("RunCommand", kind="drop", processed=True, times=2)
    request = ecs_models.RunCommandRequest(
        region_id=REGION, instance_id=[LINUX], type="RunShellScript", command_content="true"
    )
    with pytest.raises(UnretryableException):
        sdk.run_command(request)  # no token: handled, answer lost
    request.client_token = "retry-safe-0001"
    with pytest.raises(UnretryableException):
        sdk.run_command(request)  # handled, answer lost
    invoke_id = sdk.run_command(request).body.invoke_id  # the retry gets the same invocation
    assert sdk.run_command(request).body.invoke_id == invoke_id
    created = [r.invoke_id for r in faulty.invocation_records() if r.invoke_id not in known]
    assert len(created) == 2 and created[1] == invoke_id  # one per token-less call, one in all


def test_faults_apply_to_authenticated_calls_only(faulty: SimulatorServer) -> None:
    faulty.inject_fault("DescribeInstances", kind="drop")
    refused = call(faulty, "DescribeInstances", {"RegionId": REGION}, access_key_secret="wrong")
    assert refused.json()["Code"] == "SignatureDoesNotMatch"
    assert [f.kind for f in faulty.world.faults.active()] == ["drop"]  # not used up


# --- latency -------------------------------------------------------------------------------


def test_latency_delays_the_answer_past_the_read_timeout(faulty: SimulatorServer) -> None:
    faulty.inject_fault("DescribeInstances", kind="latency", delay_ms=1500)
    impatient = make_client(faulty, read_timeout=300)
    with pytest.raises(UnretryableException) as caught:
        describe(impatient)
    assert "timed out" in str(caught.value).lower()
    assert describe(impatient).total_count >= 1  # the single delayed call is over


def test_latency_adds_up_with_an_error(faulty: SimulatorServer, sdk: Any) -> None:
    faulty.inject_fault("*", kind="latency", delay_ms=50, times=None)
    faulty.inject_fault("DescribeInstances", "ServiceUnavailable", status=503, delay_ms=50)
    with pytest.raises(Exception) as caught:
        describe(sdk)
    assert getattr(caught.value, "code", None) == "ServiceUnavailable"
    assert [f.kind for f in faulty.world.faults.active()] == ["latency"]  # every call, still on


# --- rate limits and faults on every call --------------------------------------------------


def test_rate_limit_per_action_follows_the_clock(
    faulty: SimulatorServer, sdk: Any, clock: ManualClock
) -> None:
    faulty.inject_fault("DescribeInstances", kind="rate_limit", limit=2, window_seconds=1)
    assert describe(sdk) and describe(sdk)
    with pytest.raises(ClientException) as caught:
        describe(sdk)
    error = caught.value
    assert (error.code, error.status_code) == ("Throttling.User", 400)
    assert error.data["Message"] == "Request was denied due to user flow control."
    status = sdk.describe_cloud_assistant_status(  # other actions have their own budget
        ecs_models.DescribeCloudAssistantStatusRequest(region_id=REGION, instance_id=[LINUX])
    )
    assert status.body is not None
    clock.advance(1.01)
    assert describe(sdk) and describe(sdk)
    with pytest.raises(ClientException):
        describe(sdk)
    assert [f.kind for f in faulty.world.faults.active()] == ["rate_limit"]


def test_a_fault_on_every_call_stays_until_cleared(faulty: SimulatorServer, sdk: Any) -> None:
    faulty.inject_fault("DescribeInstances", "Throttling.Api", times=None)
    before = faulty.request_count("DescribeInstances", code="Throttling.Api")
    for _ in range(5):
        with pytest.raises(ClientException):
            describe(sdk)
    assert faulty.request_count("DescribeInstances", code="Throttling.Api") == before + 5
    faulty.clear_faults()
    assert describe(sdk).total_count >= 1


# --- Cloud Assistant outcomes of RunCommand ------------------------------------------------


def run(client: Any, script: str) -> str:
    return str(
        client.run_command(
            ecs_models.RunCommandRequest(
                region_id=REGION, instance_id=[LINUX], type="RunShellScript", command_content=script
            )
        ).body.invoke_id
    )


def result(server: SimulatorServer, client: Any, invoke_id: str) -> Any:
    assert server.wait_for_invocations(timeout=30)
    body = client.describe_invocation_results(
        ecs_models.DescribeInvocationResultsRequest(region_id=REGION, invoke_id=invoke_id)
    ).body
    (item,) = body.invocation.invocation_results.invocation_result
    return item


def test_client_not_response_for_the_next_run_only(faulty: SimulatorServer, sdk: Any) -> None:
    faulty.inject_fault("RunCommand", kind="invocation", error_code="ClientNotResponse")
    first = result(faulty, sdk, run(sdk, "echo hi"))
    assert (first.invocation_status, first.error_code) == ("Failed", "ClientNotResponse")
    assert first.error_info == "the aliyun service in the instance does not response"
    assert first.exit_code is None and base64.b64decode(first.output or "") == b""
    second = result(faulty, sdk, run(sdk, "echo hi"))
    assert (second.invocation_status, base64.b64decode(second.output)) == ("Success", b"hi\n")


def test_invocation_timeout_after_its_running_time(
    faulty: SimulatorServer, sdk: Any, clock: ManualClock
) -> None:
    faulty.inject_fault(
        "RunCommand", kind="invocation", error_code="ExecutionTimeout", running_seconds=30
    )
    invoke_id = run(sdk, "echo never")
    assert result(faulty, sdk, invoke_id).invocation_status == "Running"
    clock.advance(31)
    item = result(faulty, sdk, invoke_id)
    assert (item.invocation_status, item.error_code) == ("Timeout", "ExecutionTimeout")
    assert item.error_info == "the command execution has been timeout"


def test_truncated_output_keeps_head_and_tail(faulty: SimulatorServer, sdk: Any) -> None:
    faulty.inject_fault("RunCommand", kind="invocation", output_quota=1000)
    script = "printf HEAD; head -c 5000 /dev/zero | tr '\\0' x; echo TAIL"
    item = result(faulty, sdk, run(sdk, script))
    output = base64.b64decode(item.output)
    assert item.invocation_status == "Success"
    assert len(output) == 1000 and item.dropped == 5009 - 1000
    head = 1000 * 6000 // 24576  # the agent's 6000/24576 share, kept at the start
    assert output[:head] == b"HEAD" + b"x" * (head - 4)
    assert output.endswith(b"xxxTAIL\n")


def test_a_refused_run_command_does_not_use_up_the_fault(faulty: SimulatorServer, sdk: Any) -> None:
    faulty.inject_fault("RunCommand", kind="invocation", error_code="ClientNotResponse")
    with pytest.raises(ClientException):
        sdk.run_command(
            ecs_models.RunCommandRequest(
                region_id=REGION, instance_id=[LINUX], type="RunPythonScript", command_content="x"
            )
        )
    assert [f.error_code for f in faulty.world.faults.active()] == ["ClientNotResponse"]


# --- the scenario file ---------------------------------------------------------------------

EVERY_KIND: list[dict[str, Any]] = [
    {"action": "DescribeInstances", "code": "Throttling.User", "times": 2},
    {"action": "DescribeInstances", "code": "InternalError", "status": 500, "times": None},
    {"action": "*", "kind": "latency", "delay_ms": 250, "times": None},
    {"action": "DescribeInstances", "kind": "rate_limit", "limit": 20, "window_seconds": 1},
    {"action": "GetInstanceConsoleOutput", "kind": "drop", "times": 3, "delay_ms": 100},
    {"action": "RunCommand", "kind": "drop", "processed": True},
    {"action": "RunCommand", "kind": "invocation", "error_code": "ClientNotResponse"},
    {"action": "RunCommand", "kind": "invocation", "error_code": "ExecutionTimeout",
     "running_seconds": 600},
    {"action": "RunCommand", "kind": "invocation", "output_quota": 2048},
]  # fmt: skip


def _scenario(tmp_path: Path, faults: list[dict[str, Any]]) -> Path:
    (tmp_path / "scenario.json").write_text(json.dumps({"name": "faults", "faults": faults}))
    return tmp_path


def test_scenario_faults_of_every_kind_load(tmp_path: Path) -> None:
    server = SimulatorServer([_scenario(tmp_path, EVERY_KIND)])
    loaded = server.world.faults.active()
    assert loaded == [FaultSpec.model_validate(f) for f in EVERY_KIND]
    assert [f.kind for f in loaded] == [
        "error", "error", "latency", "rate_limit", "drop", "drop", "invocation", "invocation",
        "invocation",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"action": "DescribeInstances"}, "needs a code"),
        ({"action": "DescribeInstances", "kind": "explode"}, "kind"),
        ({"action": "DescribeInstances", "kind": "latency"}, "delay_ms > 0"),
        ({"action": "DescribeInstances", "kind": "rate_limit"}, "needs limit"),
        ({"action": "DescribeInstances", "kind": "rate_limit", "limit": 1, "times": 3}, "times"),
        ({"action": "DescribeInstances", "kind": "drop", "code": "Throttling"}, "code"),
        ({"action": "DescribeInstances", "kind": "latency", "delay_ms": 5, "status": 503},
         "status"),
        ({"action": "DescribeInstances", "kind": "invocation", "error_code": "ClientNotResponse"},
         "applies to action .RunCommand. only"),
        ({"action": "RunCommand", "kind": "invocation"}, "needs one of"),
        ({"action": "RunCommand", "kind": "invocation", "error_code": "Nope"}, "not one of"),
        ({"action": "RunCommand", "kind": "invocation", "invocation_status": "Failed"},
         "needs an error_code"),
        ({"action": "DescribeInstances", "code": "X", "times": 0}, "times"),
        ({"action": "DescribeInstances", "code": "X", "processed": True}, "processed"),
    ],
)  # fmt: skip
def test_bad_faults_are_refused(tmp_path: Path, fault: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        SimulatorServer([_scenario(tmp_path, [fault])])
    server = SimulatorServer([_scenario(tmp_path, [])])
    options = {k: v for k, v in fault.items() if k != "action"}
    with pytest.raises(ValidationError, match=message):
        server.inject_fault(fault["action"], **options)
