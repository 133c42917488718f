"""CloudMonitor DescribeMetricList: the official CMS SDK against the simulator, and the
CmsMetricsGateway end to end (official SDK, pooled, on worker threads -> loopback simulator -> port
records)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_cms20190101 import models as cms_models
from alibabacloud_tea_openapi.exceptions import ClientException

from ecs_api_simulator import ScenarioError, SimulatorServer
from ecs_api_simulator.scenario import load_scenario
from ecs_reboot_diagnosis.errors import CloudApiError
from ecs_reboot_diagnosis.ports import MetricsGateway
from ecs_reboot_diagnosis_mcp.aliyun import CmsMetricsGateway
from ecs_reboot_diagnosis_mcp.aliyun import metrics_gateway as metrics_module
from tests.e2e.simulator.sdk_clients import make_cms_client, settings_for
from tests.e2e.simulator.signed_requests import call

REGION = "cn-shenzhen"
VICTIM = "i-wz9simmonitor00001"
QUIET = "i-wz9simmonitor00002"
DENIED = "i-2zesimdenied0000001"
LIMITED_KEY = ("LTAI5tSIMLIMITED0000000", "SimLimitedSecret0000")
CMS_VERSION = "2019-01-01"
END = START = datetime.now(UTC)
"""One window for every request (NextToken values are bound to the query), set from the time
the shared simulator loaded its scenarios, which the scenario's relative times count from."""


@pytest.fixture(scope="module", autouse=True)
def _window(sim: SimulatorServer) -> None:
    global END, START
    END = sim.loaded_at.replace(microsecond=0) + timedelta(minutes=1)
    START = END - timedelta(hours=3)


def _ms(when: datetime) -> str:
    return str(int(when.timestamp() * 1000))


def _request(instance_id: str | None = VICTIM, **overrides: Any) -> Any:
    options: dict[str, Any] = {
        "namespace": "acs_ecs_dashboard",
        "metric_name": "CPUUtilization",
        "start_time": _ms(START),
        "end_time": _ms(END),
        "period": "60",
    }
    if instance_id is not None:
        options["dimensions"] = json.dumps([{"instanceId": instance_id}])
    options.update(overrides)
    return cms_models.DescribeMetricListRequest(**options)


def _points(body: Any) -> list[dict[str, Any]]:
    assert isinstance(body.datapoints, str)  # a JSON *string*, as the real API sends it
    points = json.loads(body.datapoints)
    assert isinstance(points, list)
    return points


@pytest.fixture(scope="module")
def cms(sim: SimulatorServer) -> Any:
    return make_cms_client(sim, region_id=REGION)


# --- the SDK against the simulator ---------------------------------------------------------


def test_response_round_trips_through_the_sdk_model(sim: SimulatorServer) -> None:
    now = datetime.now(UTC)
    response = call(
        sim,
        "DescribeMetricList",
        {
            "Namespace": "acs_ecs_dashboard",
            "MetricName": "CPUUtilization",
            "Dimensions": json.dumps([{"instanceId": VICTIM}]),
            "StartTime": _ms(now - timedelta(hours=1)),
            "EndTime": _ms(now),
            "Length": "10",
        },
        version=CMS_VERSION,
    )
    assert response.status_code == 200
    raw = response.json()
    assert cms_models.DescribeMetricListResponseBody().from_map(raw).to_map() == raw
    assert (raw["Code"], raw["Success"], raw["Period"]) == ("200", True, "60")
    assert raw["NextToken"] and response.headers["x-acs-request-id"] == raw["RequestId"]
    point = json.loads(raw["Datapoints"])[0]
    assert set(point) == {"timestamp", "userId", "instanceId", "Average", "Maximum", "Minimum"}
    assert point["instanceId"] == VICTIM and isinstance(point["timestamp"], int)


def test_window_is_left_open_and_points_are_per_period(cms: Any) -> None:
    start, end = START, END
    body = cms.describe_metric_list(_request(length="1440")).body
    assert body is not None and body.next_token is None and body.period == "60"
    points = _points(body)
    stamps = [p["timestamp"] for p in points]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert all(int(_ms(start)) < s <= int(_ms(end)) for s in stamps)
    assert all(s % 60_000 == 0 for s in stamps)
    assert {b - a for a, b in itertools.pairwise(stamps)} <= {60_000, 120_000}
    # the scenario: 12% for an hour, a ramp to 97% until -12m, a spike, then a fresh boot
    assert points[0]["Average"] == 12 and (points[0]["Maximum"], points[0]["Minimum"]) == (15, 9)
    peak = max(points, key=lambda p: p["Maximum"])
    assert (peak["Average"], peak["Maximum"], peak["Minimum"]) == (99.5, 100, 98)
    assert points[-1]["Average"] == 3.0
    ramp = [p["Average"] for p in points if 15 <= p["Average"] <= 97]
    assert ramp == sorted(ramp) and len(ramp) > 100

    first = stamps[0]
    exact = cms.describe_metric_list(
        _request(start_time=str(first), end_time=str(first + 120_000))
    ).body
    assert [p["timestamp"] for p in _points(exact)] == [first + 60_000, first + 120_000]


def test_paging_with_length_and_next_token(cms: Any) -> None:
    everything = _points(cms.describe_metric_list(_request(length="1440")).body)
    pages: list[list[dict[str, Any]]] = []
    token: str | None = None
    while True:
        body = cms.describe_metric_list(_request(length="40", next_token=token)).body
        pages.append(_points(body))
        token = body.next_token
        if not token:
            break
    assert all(len(page) == 40 for page in pages[:-1]) and 0 < len(pages[-1]) <= 40
    assert [p for page in pages for p in page] == everything


def test_coarser_period_aggregates(cms: Any) -> None:
    fine = _points(cms.describe_metric_list(_request(length="1440")).body)
    body = cms.describe_metric_list(_request(period="900")).body
    assert body.period == "900"
    coarse = _points(body)
    assert all(p["timestamp"] % 900_000 == 0 for p in coarse)
    bucket = coarse[1]
    members = [
        p for p in fine if bucket["timestamp"] <= p["timestamp"] < bucket["timestamp"] + 900_000
    ]
    assert bucket["Maximum"] == max(p["Maximum"] for p in members)
    assert bucket["Minimum"] == min(p["Minimum"] for p in members)
    average = sum(p["Average"] for p in members) / len(members)
    assert bucket["Average"] == pytest.approx(average, abs=0.01)


def test_series_with_a_coarser_native_period(cms: Any) -> None:
    body = cms.describe_metric_list(_request(metric_name="load_1m")).body
    assert body.period == "300"
    assert [p["Average"] for p in _points(body)] == [1.5, 4.25, 9.75, 22.0]


def test_dimension_forms_and_empty_answers(cms: Any) -> None:
    as_object = cms.describe_metric_list(
        _request(None, dimensions=json.dumps({"instanceId": VICTIM}))
    ).body
    assert len(_points(as_object)) > 100
    for request in (
        _request(QUIET),  # no such metric on this instance
        _request("i-wz9simnosuchinst01"),  # CloudMonitor does not validate instance IDs
        _request(namespace="acs_rds_dashboard"),
        _request(metric_name="no_such_metric"),
        _request(None, dimensions=json.dumps([{"userId": "999", "instanceId": VICTIM}])),
    ):
        body = cms.describe_metric_list(request).body
        assert (body.datapoints, body.next_token, body.success) == ("[]", None, True)


def test_whole_account_query(cms: Any) -> None:
    body = cms.describe_metric_list(_request(None, metric_name="memory_usedutilization")).body
    points = _points(body)
    assert points and {p["instanceId"] for p in points} == {VICTIM}
    assert max(p["Average"] for p in points) == 99


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"period": "45"}, "InvalidParameter"),
        ({"length": "1441"}, "InvalidParameter"),
        ({"start_time": "yesterday"}, "InvalidParameter"),
        ({"start_time": "1700000000000", "end_time": "1700000000000"}, "InvalidParameter"),
        ({"start_time": "1600000000000", "end_time": "1700000000000"}, "InvalidParameter"),
        ({"dimensions": "[{instanceId:"}, "InvalidParameter"),
        ({"next_token": "0" * 32}, "InvalidParameter"),
        ({"metric_name": None}, "MissingParameter"),
    ],
)
def test_invalid_requests(cms: Any, overrides: dict[str, Any], code: str) -> None:
    with pytest.raises(ClientException) as caught:
        cms.describe_metric_list(_request(**overrides))
    assert (caught.value.code, caught.value.data["statusCode"]) == (code, 400)
    assert caught.value.data["Success"] is False


def test_next_token_is_bound_to_its_query(cms: Any) -> None:
    token = cms.describe_metric_list(_request(length="5")).body.next_token
    assert token
    with pytest.raises(ClientException) as caught:
        cms.describe_metric_list(_request(length="5", period="300", next_token=token))
    assert caught.value.code == "InvalidParameter"


def test_time_formats(cms: Any) -> None:
    start = END - timedelta(minutes=30)
    as_ms = _points(cms.describe_metric_list(_request(start_time=_ms(start))).body)
    by_format = [
        _request(start_time=start.strftime("%Y-%m-%dT%H:%M:%SZ")),
        _request(start_time=start.strftime("%Y-%m-%d %H:%M:%S")),
        _request(start_time=str(int(start.timestamp()))),
    ]
    for request in by_format:
        assert _points(cms.describe_metric_list(request).body) == as_ms


def test_ram_denial_names_the_real_ram_action(cms: Any) -> None:
    with pytest.raises(ClientException) as caught:
        cms.describe_metric_list(_request(DENIED))
    data = caught.value.data
    assert (caught.value.code, data["statusCode"], data["Success"]) == ("NoPermission", 403, False)
    assert data["AccessDeniedDetail"]["AuthAction"] == "cms:QueryMetricList"
    assert data["HostId"] == "metrics.aliyuncs.com"
    with pytest.raises(ClientException) as account_wide:  # the account includes the instance
        cms.describe_metric_list(_request(None))
    assert account_wide.value.code == "NoPermission"


def test_key_denied_by_policy(sim: SimulatorServer) -> None:
    key_id, secret = LIMITED_KEY
    limited = make_cms_client(sim, access_key_id=key_id, access_key_secret=secret)
    with pytest.raises(ClientException) as caught:
        limited.describe_metric_list(_request())
    assert caught.value.code == "NoPermission"
    assert caught.value.data["AccessDeniedDetail"]["AuthPrincipalDisplayName"] == "readonly-user"


def test_signatures(sim: SimulatorServer) -> None:
    wrong = make_cms_client(sim, access_key_secret="NotTheSecret000000000000")
    with pytest.raises(ClientException) as caught:
        wrong.describe_metric_list(_request())
    assert caught.value.code == "SignatureDoesNotMatch"
    legacy = make_cms_client(sim, signature_algorithm="v2")  # V1 HMAC-SHA1, Action in the query
    assert _points(legacy.describe_metric_list(_request()).body)


def test_version_routes_to_the_product(sim: SimulatorServer) -> None:
    ecs_action = call(sim, "DescribeInstances", {"RegionId": REGION}, version=CMS_VERSION)
    assert (ecs_action.status_code, ecs_action.json()["Code"]) == (404, "InvalidAction.NotFound")
    cms_action = call(sim, "DescribeMetricList", {"MetricName": "x", "Namespace": "y"})
    assert (cms_action.status_code, cms_action.json()["Code"]) == (404, "InvalidAction.NotFound")


def test_faults_apply(sim: SimulatorServer, cms: Any) -> None:
    sim.inject_fault("DescribeMetricList", "InternalError", status=500)
    with pytest.raises(Exception) as caught:
        cms.describe_metric_list(_request())
    assert getattr(caught.value, "code", None) == "InternalError"
    assert _points(cms.describe_metric_list(_request()).body)


# --- scenario schema -----------------------------------------------------------------------


def _scenario(tmp_path: Path, instance: dict[str, Any], **top: Any) -> Path:
    spec = {
        "name": "t",
        "instances": [
            {"instance_id": "i-t0001", "region_id": REGION, "os_type": "linux", "os_name": "L"}
            | instance
        ],
    } | top
    (tmp_path / "scenario.json").write_text(json.dumps(spec))
    return tmp_path


def test_scenario_generators_resolve(tmp_path: Path) -> None:
    now = datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)
    scenario = load_scenario(
        _scenario(
            tmp_path,
            {
                "metrics": {
                    "m": {
                        "period": 60,
                        "ramp": {"from": 0, "to": 10, "start": "-10m", "end": "now"},
                        "points": [["-5m", 50, 60, 40]],
                    }
                }
            },
            permissions={"denied_actions": ["cms:QueryMetricList", "actiontrail:LookupEvents"]},
        ),
        now,
    )
    instance = scenario.instances[0]
    series = instance.metrics["m"]
    assert [p.average for p in series.points] == [0, 1, 2, 3, 4, 50, 6, 7, 8, 9, 10]
    assert series.points[0].timestamp == datetime(2026, 1, 1, 11, 50, tzinfo=UTC)
    assert series.points[5].maximum == 60
    assert instance.denied_actions == {"DescribeMetricList", "LookupEvents"}


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        ({"period": 60}, "needs 'points', 'ramp' or 'constant'"),
        ({"period": 45, "points": [["now", 1]]}, "period"),
        ({"ramp": {"from": 1, "to": 2, "start": "now", "end": "-1h"}}, "end is before start"),
        ({"points": [["yesterday", 1]]}, "points[0]"),
        ({"constant": {"value": 1, "start": "-400d", "end": "now"}, "period": 15}, "points;"),
    ],
)
def test_bad_metrics_fail_at_load(tmp_path: Path, metric: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(_scenario(tmp_path, {"metrics": {"m": metric}}), datetime.now(UTC))
    assert message in str(caught.value)


def test_retention_depends_on_the_period(tmp_path: Path) -> None:
    old = {"points": [["-40d", 5.0]]}
    metrics = {"fine": {"period": 60, **old}, "coarse": {"period": 300, **old}}
    directory = _scenario(tmp_path, {"metrics": metrics, "instance_id": "i-t0002"})
    with SimulatorServer([directory]) as server:
        client = make_cms_client(server)
        now = datetime.now(UTC)
        window = {"start_time": _ms(now - timedelta(days=41)), "end_time": _ms(now)}
        window["end_time"] = _ms(now - timedelta(days=20))
        fine = client.describe_metric_list(_request("i-t0002", metric_name="fine", **window))
        coarse = client.describe_metric_list(_request("i-t0002", metric_name="coarse", **window))
        assert _points(fine.body) == []  # 60 s data is kept 31 days
        assert [p["Average"] for p in _points(coarse.body)] == [5.0]  # 300 s data 91 days


# --- the gateway ---------------------------------------------------------------------------


@pytest.fixture
def gateway(sim: SimulatorServer) -> CmsMetricsGateway:
    return CmsMetricsGateway(settings_for(sim))


def test_it_is_a_metrics_gateway(gateway: CmsMetricsGateway) -> None:
    port: MetricsGateway = gateway
    assert port is gateway


@pytest.mark.anyio
async def test_gateway_series(gateway: CmsMetricsGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    end = datetime.now(UTC)
    start = end - timedelta(hours=3)
    series = await gateway.metric_series(
        REGION, VICTIM, "memory_usedutilization", start=start, end=end, period_seconds=60
    )
    assert (series.metric, series.unit, series.period_seconds) == (
        "memory_usedutilization",
        "%",
        60,
    )
    stamps = [p.timestamp for p in series.points]
    assert stamps == sorted(stamps) and all(s.tzinfo is not None for s in stamps)
    assert all(start <= s <= end for s in stamps)
    assert max(p.average or 0 for p in series.points) == 99
    assert series.points[-1].average == 9

    monkeypatch.setattr(metrics_module, "PAGE_LENGTH", 7)  # many pages, same answer
    paged = await gateway.metric_series(
        REGION, VICTIM, "memory_usedutilization", start=start, end=end, period_seconds=60
    )
    assert paged == series

    first = series.points[0].timestamp  # [start, end] includes a point exactly at start
    edge = await gateway.metric_series(
        REGION,
        VICTIM,
        "memory_usedutilization",
        start=first,
        end=first + timedelta(seconds=60),
        period_seconds=60,
    )
    assert [p.timestamp for p in edge.points] == [first, first + timedelta(seconds=60)]


@pytest.mark.anyio
async def test_gateway_empty_and_coarse(gateway: CmsMetricsGateway) -> None:
    end = datetime.now(UTC)
    empty = await gateway.metric_series(
        REGION, QUIET, "CPUUtilization", start=end - timedelta(hours=1), end=end, period_seconds=60
    )
    assert (empty.points, empty.unit) == ([], "%")
    load = await gateway.metric_series(
        REGION, VICTIM, "load_1m", start=end - timedelta(hours=1), end=end, period_seconds=60
    )
    assert (load.period_seconds, load.unit, len(load.points)) == (300, "", 4)


@pytest.mark.anyio
async def test_gateway_forbidden_names_the_permission(gateway: CmsMetricsGateway) -> None:
    end = datetime.now(UTC)
    with pytest.raises(CloudApiError) as caught:
        await gateway.metric_series(
            "cn-beijing",
            DENIED,
            "CPUUtilization",
            start=end - timedelta(hours=1),
            end=end,
            period_seconds=60,
        )
    error = caught.value
    assert (error.kind, error.code, error.action) == (
        "forbidden",
        "NoPermission",
        "DescribeMetricList",
    )
    assert "cms:QueryMetricList" in error.hint and "DescribeMetricList" in error.hint
    assert error.request_id and error.request_id in str(error)


@pytest.mark.anyio
async def test_gateway_retries_throttling(sim: SimulatorServer, gateway: CmsMetricsGateway) -> None:
    end = datetime.now(UTC)
    window: dict[str, Any] = {
        "start": end - timedelta(minutes=30),
        "end": end,
        "period_seconds": 60,
    }
    sim.inject_fault("DescribeMetricList", "Throttling.User", times=2)
    series = await gateway.metric_series(REGION, VICTIM, "CPUUtilization", **window)
    assert series.points
    sim.inject_fault("DescribeMetricList", "Throttling.User", times=3)
    with pytest.raises(CloudApiError) as caught:
        await gateway.metric_series(REGION, VICTIM, "CPUUtilization", **window)
    assert (caught.value.kind, caught.value.code) == ("throttled", "Throttling.User")


@pytest.mark.anyio
async def test_gateway_credentials_error_without_secrets(sim: SimulatorServer) -> None:
    secret = "WrongSecretValue-1234567890"
    gateway = CmsMetricsGateway(settings_for(sim, access_key_secret=secret))
    end = datetime.now(UTC)
    with pytest.raises(CloudApiError) as caught:
        await gateway.metric_series(
            REGION,
            VICTIM,
            "CPUUtilization",
            start=end - timedelta(hours=1),
            end=end,
            period_seconds=60,
        )
    error = caught.value
    assert (error.kind, error.code) == ("credentials", "SignatureDoesNotMatch")
    for text in (str(error), error.hint, error.api_message):
        assert secret not in text and sim.access_key_id not in text


@pytest.mark.anyio
async def test_gateway_rejects_a_reversed_window(gateway: CmsMetricsGateway) -> None:
    end = datetime.now(UTC)
    with pytest.raises(CloudApiError) as caught:
        await gateway.metric_series(
            REGION,
            VICTIM,
            "CPUUtilization",
            start=end,
            end=end - timedelta(hours=1),
            period_seconds=60,
        )
    assert caught.value.kind == "invalid_parameter"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "kind", "code"),
    [
        (
            {"RequestId": "R-1", "Code": "403", "Success": False, "Message": "denied"},
            "forbidden",
            "403",
        ),
        (
            {"RequestId": "R-2", "Code": "200", "Success": True, "Datapoints": "{"},
            "unexpected_response",
            "UnexpectedResponse",
        ),
        ({"RequestId": "R-3", "Datapoints": 5}, "unexpected_response", "UnexpectedResponse"),
    ],
)
async def test_gateway_odd_bodies(
    sim: SimulatorServer,
    fake_endpoint: tuple[str, list[bytes]],
    body: dict[str, Any],
    kind: str,
    code: str,
) -> None:
    endpoint, bodies = fake_endpoint
    bodies.append(json.dumps(body).encode())
    gateway = CmsMetricsGateway(settings_for(sim, endpoint=endpoint, max_attempts=1))
    end = datetime.now(UTC)
    with pytest.raises(CloudApiError) as caught:
        await gateway.metric_series(
            REGION,
            VICTIM,
            "CPUUtilization",
            start=end - timedelta(hours=1),
            end=end,
            period_seconds=60,
        )
    assert (caught.value.kind, caught.value.code) == (kind, code)
