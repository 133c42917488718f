"""ActionTrail LookupEvents: the official ActionTrail SDK against the simulator, and the
ActionTrailAuditGateway end to end (official SDK, pooled, on worker threads -> loopback simulator
-> port records)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alibabacloud_actiontrail20200706 import models as at_models
from alibabacloud_tea_openapi.exceptions import ClientException

from ecs_api_simulator import SimulatorServer
from ecs_reboot_diagnosis.errors import CloudApiError
from ecs_reboot_diagnosis.ports import AuditGateway
from ecs_reboot_diagnosis_mcp.aliyun import ActionTrailAuditGateway
from ecs_reboot_diagnosis_mcp.aliyun import audit_gateway as audit_module
from tests.e2e.simulator.sdk_clients import make_actiontrail_client, settings_for
from tests.e2e.simulator.signed_requests import call

REGION = "cn-shenzhen"
VICTIM = "i-wz9simmonitor00001"
QUIET = "i-wz9simmonitor00002"
DENIED = "i-2zesimdenied0000001"
AT_VERSION = "2020-07-06"
END = datetime.now(UTC)
"""One end for every request (NextToken values are bound to the query), set from the time the
shared simulator loaded its scenarios, which the scenario's relative times count from."""
RECENT = [  # the victim's calls in the last 7 days, newest first
    "RebootInstance",
    "StopInstance",
    "DescribeInstances",
    "DescribeInstances",
    "DescribeInstances",
    "DescribeInstances",
    "DescribeInstanceAttribute",
    "ModifyInstanceAttribute",
    "RedeployInstance",
]


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _request(
    *conditions: tuple[str, str], days: float = 7, **overrides: Any
) -> at_models.LookupEventsRequest:
    options: dict[str, Any] = {
        "start_time": _iso(END - timedelta(days=days)),
        "end_time": _iso(END),
        "lookup_attribute": [
            at_models.LookupEventsRequestLookupAttribute(key=key, value=value)
            for key, value in conditions
        ],
    }
    options.update(overrides)
    return at_models.LookupEventsRequest(**options)


def _by_instance(instance_id: str = VICTIM) -> tuple[str, str]:
    return ("ResourceName", instance_id)


def _names(body: Any) -> list[str]:
    return [event["eventName"] for event in body.events]


@pytest.fixture(scope="module", autouse=True)
def _window(sim: SimulatorServer) -> None:
    global END
    END = sim.loaded_at.replace(microsecond=0) + timedelta(minutes=1)


@pytest.fixture(scope="module")
def trail(sim: SimulatorServer) -> Any:
    return make_actiontrail_client(sim, region_id=REGION)


# --- the SDK against the simulator ---------------------------------------------------------


def test_response_round_trips_through_the_sdk_model(sim: SimulatorServer) -> None:
    response = call(
        sim,
        "LookupEvents",
        {
            "StartTime": _iso(END - timedelta(days=1)),
            "EndTime": _iso(END),
            "MaxResults": "2",
            "LookupAttribute.1.Key": "ResourceName",
            "LookupAttribute.1.Value": VICTIM,
        },
        version=AT_VERSION,
    )
    assert response.status_code == 200
    raw = response.json()
    assert at_models.LookupEventsResponseBody().from_map(raw).to_map() == raw
    assert set(raw) == {"RequestId", "StartTime", "EndTime", "Events", "NextToken"}
    assert (raw["EndTime"], len(raw["Events"])) == (_iso(END), 2)


def test_event_shape(trail: Any) -> None:
    events = {e["eventName"]: e for e in trail.lookup_events(_request(_by_instance())).body.events}
    reboot = events["RebootInstance"]
    assert reboot["userIdentity"] == {
        "type": "ram-user",
        "userName": "ops-alice",
        "principalId": reboot["userIdentity"]["principalId"],
        "accountId": "1234567890123456",
        "accessKeyId": "LTAI5tALICE000000000AKID",
    }
    assert (reboot["eventRW"], reboot["eventType"], reboot["serviceName"]) == (
        "Write",
        "ApiCall",
        "Ecs",
    )
    assert (reboot["sourceIpAddress"], reboot["userAgent"]) == (
        "198.51.100.23",
        "aliyun-cli/3.0.200",
    )
    assert (reboot["resourceName"], reboot["resourceType"]) == (VICTIM, "ACS::ECS::Instance")
    assert reboot["referencedResources"] == {"ACS::ECS::Instance": [VICTIM]}
    assert reboot["requestParameters"] == {
        "InstanceId": VICTIM,
        "RegionId": REGION,
        "ForceStop": False,
    }
    assert reboot["acsRegion"] == REGION and reboot["requestId"] and reboot["eventId"]
    assert "errorCode" not in reboot
    stop = events["StopInstance"]
    assert (stop["errorCode"], stop["eventType"]) == ("IncorrectInstanceStatus", "ConsoleOperation")
    assert stop["userIdentity"]["type"] == "assumed-role"
    assert stop["userIdentity"]["accessKeyId"].startswith("STS.")
    system = events["RedeployInstance"]["userIdentity"]
    assert system == {"type": "system", "userName": "ecs.aliyuncs.com"}
    assert events["DescribeInstances"]["eventRW"] == "Read"
    delta = END - datetime.strptime(reboot["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(minutes=10) <= delta <= timedelta(minutes=15)


def test_filter_by_instance_and_window(trail: Any) -> None:
    body = trail.lookup_events(_request(_by_instance())).body
    assert _names(body) == RECENT and body.next_token is None
    times = [e["eventTime"] for e in body.events]
    assert times == sorted(times, reverse=True)
    sixty_days = _names(trail.lookup_events(_request(_by_instance(), days=60)).body)
    assert sixty_days == [*RECENT, "StartInstance"]  # the -100d record is past retention
    hundred = _names(trail.lookup_events(_request(_by_instance(), days=120)).body)
    assert hundred == sixty_days
    recent = _request(_by_instance(), start_time=_iso(END - timedelta(minutes=36)))
    assert _names(trail.lookup_events(recent).body) == RECENT[:3]
    assert _names(trail.lookup_events(_request(_by_instance(QUIET))).body) == [
        "RebootInstance",
        "DescribeInstances",
    ]
    assert trail.lookup_events(_request(_by_instance("i-wz9simnosuchinst01"))).body.events == []


def test_default_window_and_direction(trail: Any) -> None:
    default = trail.lookup_events(_request(_by_instance(), start_time=None, end_time=None)).body
    assert _names(default) == RECENT
    forward = trail.lookup_events(_request(_by_instance(), direction="FORWARD")).body
    assert _names(forward) == RECENT[::-1]


def test_paging(trail: Any) -> None:
    names: list[str] = []
    pages = 0
    token: str | None = None
    while True:
        body = trail.lookup_events(_request(_by_instance(), max_results="4", next_token=token)).body
        pages += 1
        assert len(body.events) <= 4
        names.extend(_names(body))
        token = body.next_token
        if not token:
            break
    assert (pages, names) == (3, RECENT)
    first = trail.lookup_events(_request(_by_instance(), max_results="4")).body.next_token
    with pytest.raises(ClientException) as caught:  # a token belongs to its query
        trail.lookup_events(_request(_by_instance(QUIET), max_results="4", next_token=first))
    assert caught.value.code == "InvalidParameter"


def test_conditions(trail: Any) -> None:
    def names(*conditions: tuple[str, str]) -> list[str]:
        return _names(trail.lookup_events(_request(*conditions)).body)

    assert names(_by_instance(), ("EventName", "RebootInstance")) == ["RebootInstance"]
    assert names(("EventName", "RebootInstance")) == ["RebootInstance", "RebootInstance"]
    assert names(_by_instance(), ("EventRW", "Write")) == [
        "RebootInstance",
        "StopInstance",
        "ModifyInstanceAttribute",
        "RedeployInstance",
    ]
    assert names(_by_instance(), ("User", "root")) == ["ModifyInstanceAttribute"]
    assert names(("EventAccessKeyId", "LTAI5tALICE000000000AKID")) == ["RebootInstance"]
    assert names(_by_instance(), ("ServiceName", "Ecs")) == RECENT
    assert names(_by_instance(), ("ResourceType", "ACS::ECS::Disk")) == []


@pytest.mark.parametrize(
    ("request_options", "code"),
    [
        ({"start_time": None}, "InvalidParameter"),
        ({"start_time": "2024-01-01 00:00:00"}, "InvalidParameter"),
        (
            {"start_time": "2024-01-02T00:00:00Z", "end_time": "2024-01-01T00:00:00Z"},
            "InvalidParameter",
        ),
        ({"max_results": "51"}, "InvalidParameter"),
        ({"direction": "SIDEWAYS"}, "InvalidParameter"),
        ({"next_token": "bm90LWEtdG9rZW4="}, "InvalidParameter"),
    ],
)
def test_invalid_requests(trail: Any, request_options: dict[str, Any], code: str) -> None:
    with pytest.raises(ClientException) as caught:
        trail.lookup_events(_request(_by_instance(), **request_options))
    assert (caught.value.code, caught.value.data["statusCode"]) == (code, 400)


@pytest.mark.parametrize(
    "conditions",
    [
        [("ResourceName", VICTIM), ("EventName", "A"), ("User", "b")],
        [("Colour", "red")],
        [("ResourceName", "")],
    ],
)
def test_invalid_conditions(trail: Any, conditions: list[tuple[str, str]]) -> None:
    with pytest.raises(ClientException) as caught:
        trail.lookup_events(_request(*conditions))
    assert caught.value.code == "InvalidParameter"


def test_ram_denial(trail: Any) -> None:
    with pytest.raises(ClientException) as caught:
        trail.lookup_events(_request(_by_instance(DENIED)))
    data = caught.value.data
    assert (caught.value.code, data["statusCode"]) == ("NoPermission", 403)
    assert data["AccessDeniedDetail"]["AuthAction"] == "actiontrail:LookupEvents"
    assert data["HostId"] == "actiontrail.aliyuncs.com"
    with pytest.raises(ClientException):  # an account-wide lookup that would show its calls
        trail.lookup_events(_request(("EventName", "DescribeInstances")))
    assert len(trail.lookup_events(_request(("EventName", "RebootInstance"))).body.events) == 2


def test_signatures(sim: SimulatorServer) -> None:
    wrong = make_actiontrail_client(sim, access_key_secret="NotTheSecret000000000000")
    with pytest.raises(ClientException) as caught:
        wrong.lookup_events(_request(_by_instance()))
    assert caught.value.code == "SignatureDoesNotMatch"
    unknown = make_actiontrail_client(sim, access_key_id="LTAI5tUNKNOWN000000000")
    with pytest.raises(ClientException) as not_found:
        unknown.lookup_events(_request(_by_instance()))
    assert not_found.value.code == "InvalidAccessKeyId.NotFound"
    legacy = make_actiontrail_client(sim, signature_algorithm="v2")
    assert _names(legacy.lookup_events(_request(_by_instance())).body) == RECENT


def test_faults_apply(sim: SimulatorServer, trail: Any) -> None:
    sim.inject_fault("LookupEvents", "Throttling.User")
    with pytest.raises(ClientException) as caught:
        trail.lookup_events(_request(_by_instance()))
    assert caught.value.code == "Throttling.User"
    assert _names(trail.lookup_events(_request(_by_instance())).body) == RECENT


# --- the gateway ---------------------------------------------------------------------------


@pytest.fixture
def gateway(sim: SimulatorServer) -> ActionTrailAuditGateway:
    return ActionTrailAuditGateway(settings_for(sim))


def test_it_is_an_audit_gateway(gateway: ActionTrailAuditGateway) -> None:
    port: AuditGateway = gateway
    assert port is gateway


@pytest.mark.anyio
async def test_gateway_calls(
    gateway: ActionTrailAuditGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = END - timedelta(days=7)
    calls = await gateway.instance_api_calls(REGION, VICTIM, start=start, end=END)
    assert [c.event_name for c in calls] == RECENT
    reboot = calls[0]
    assert (reboot.caller, reboot.caller_type, reboot.access_key_id_suffix) == (
        "ops-alice",
        "ram-user",
        "AKID",
    )
    assert (reboot.source_ip, reboot.user_agent, reboot.service) == (
        "198.51.100.23",
        "aliyun-cli/3.0.200",
        "Ecs",
    )
    assert reboot.resources == [VICTIM] and reboot.request_id and reboot.event_id
    assert reboot.event_time.tzinfo is not None and reboot.error_code == ""
    stop = calls[1]
    assert (stop.error_code, stop.caller_type) == ("IncorrectInstanceStatus", "assumed-role")
    assert len(stop.access_key_id_suffix) == 4
    system = next(c for c in calls if c.caller_type == "system")
    assert (system.caller, system.access_key_id_suffix) == ("ecs.aliyuncs.com", "")
    for call_ in calls:  # never a whole AccessKey ID
        assert "LTAI5t" not in call_.model_dump_json()

    monkeypatch.setattr(audit_module, "PAGE_SIZE", 2)  # five pages, same answer
    assert await gateway.instance_api_calls(REGION, VICTIM, start=start, end=END) == calls

    exact = calls[1].event_time  # the window is inclusive at both ends
    edge = await gateway.instance_api_calls(REGION, VICTIM, start=exact, end=exact)
    assert [c.event_name for c in edge] == ["StopInstance"]


@pytest.mark.anyio
async def test_gateway_forbidden_names_the_permission(gateway: ActionTrailAuditGateway) -> None:
    with pytest.raises(CloudApiError) as caught:
        await gateway.instance_api_calls(
            "cn-beijing", DENIED, start=END - timedelta(days=1), end=END
        )
    error = caught.value
    assert (error.kind, error.code, error.action) == ("forbidden", "NoPermission", "LookupEvents")
    assert "actiontrail:LookupEvents" in error.hint
    assert error.request_id and error.request_id in str(error)


@pytest.mark.anyio
async def test_gateway_retries_throttling(
    sim: SimulatorServer, gateway: ActionTrailAuditGateway
) -> None:
    sim.inject_fault("LookupEvents", "Throttling.User", times=2)
    calls = await gateway.instance_api_calls(REGION, QUIET, start=END - timedelta(days=1), end=END)
    assert [c.event_name for c in calls] == ["RebootInstance", "DescribeInstances"]
    sim.inject_fault("LookupEvents", "ServiceUnavailable", status=503, times=3)
    with pytest.raises(CloudApiError) as caught:
        await gateway.instance_api_calls(REGION, QUIET, start=END - timedelta(days=1), end=END)
    assert (caught.value.kind, caught.value.code) == ("server", "ServiceUnavailable")


@pytest.mark.anyio
async def test_gateway_credentials_error_without_secrets(sim: SimulatorServer) -> None:
    secret = "WrongSecretValue-1234567890"
    gateway = ActionTrailAuditGateway(settings_for(sim, access_key_secret=secret))
    with pytest.raises(CloudApiError) as caught:
        await gateway.instance_api_calls(REGION, VICTIM, start=END - timedelta(days=1), end=END)
    error = caught.value
    assert (error.kind, error.code) == ("credentials", "SignatureDoesNotMatch")
    for text in (str(error), error.hint, error.api_message):
        assert secret not in text and sim.access_key_id not in text


@pytest.mark.anyio
async def test_gateway_rejects_a_reversed_window(gateway: ActionTrailAuditGateway) -> None:
    with pytest.raises(CloudApiError) as caught:
        await gateway.instance_api_calls(REGION, VICTIM, start=END, end=END - timedelta(days=1))
    assert caught.value.kind == "invalid_parameter"


@pytest.mark.anyio
async def test_gateway_tolerates_odd_events(
    sim: SimulatorServer, fake_endpoint: tuple[str, list[bytes]]
) -> None:
    endpoint, bodies = fake_endpoint
    when = _iso(END - timedelta(hours=1))
    events = [
        {"eventId": "E-1", "eventName": "RebootInstance", "eventTime": when, "userIdentity": "x"},
        {"eventId": "E-2", "eventName": "StopInstance"},  # no time: dropped
        {"eventId": "E-3", "eventName": "Old", "eventTime": "2001-01-01T00:00:00Z"},  # outside
        "not-an-event",
        {"eventId": "E-1", "eventName": "RebootInstance", "eventTime": when},  # duplicate
        {
            "eventId": "E-4",
            "eventName": "StartInstance",
            "eventTime": when,
            "resourceName": f"{VICTIM};d-disk1",
            "userIdentity": {"principalId": "2034", "accessKeyId": "short"},
        },
    ]
    bodies.append(json.dumps({"RequestId": "R-1", "Events": events}).encode())
    gateway = ActionTrailAuditGateway(settings_for(sim, endpoint=endpoint, max_attempts=1))
    calls = await gateway.instance_api_calls(REGION, VICTIM, start=END - timedelta(days=1), end=END)
    assert sorted(c.event_id for c in calls) == ["E-1", "E-4"]
    start = next(c for c in calls if c.event_id == "E-4")
    assert (start.resources, start.caller, start.access_key_id_suffix) == (
        [VICTIM, "d-disk1"],
        "2034",
        "",
    )
