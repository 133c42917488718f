"""DescribeInstances filters and both paging styles; DescribeInstanceHistoryEvents semantics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import ClientException

from ecs_api_simulator import SimulatorServer
from tests.e2e.simulator.signed_requests import call

LINUX = "i-bp1simguest0linux01"


def _ids(body: Any) -> list[str]:
    return [i.instance_id for i in body.instances.instance]


def test_page_number_paging(client: Any) -> None:
    seen: list[str] = []
    for number in (1, 2, 3):
        body = client.describe_instances(
            ecs_models.DescribeInstancesRequest(
                region_id="cn-shanghai", page_number=number, page_size=5
            )
        ).body
        assert (body.total_count, body.page_number, body.page_size) == (12, number, 5)
        seen += _ids(body)
    assert len(seen) == len(set(seen)) == 12


def test_next_token_paging(client: Any) -> None:
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        body = client.describe_instances(
            ecs_models.DescribeInstancesRequest(
                region_id="cn-shanghai", max_results=5, next_token=token
            )
        ).body
        pages += 1
        seen += _ids(body)
        token = body.next_token
        if not token:
            break
    # MaxResults below 10 is raised to 10 (API docs), so 12 instances take two pages.
    assert pages == 2
    assert len(seen) == len(set(seen)) == 12


def test_made_up_next_token_is_refused(client: Any) -> None:
    with pytest.raises(ClientException) as caught:
        client.describe_instances(
            ecs_models.DescribeInstancesRequest(region_id="cn-shanghai", next_token="f" * 32)
        )
    assert caught.value.code == "InvalidParameter"


@pytest.mark.parametrize(
    ("request_kwargs", "expected"),
    [
        ({"status": "Stopped"}, 2),
        ({"instance_name": "fleet-0*"}, 9),
        ({"instance_name": "db-*"}, 2),
        ({"instance_ids": '["i-uf6simfleet00000001", "i-nosuchinstance000"]'}, 1),
        ({"instance_ids": "[]"}, 0),
        ({"zone_id": "cn-shanghai-b"}, 6),
        ({"instance_type": "ecs.g7.xlarge"}, 6),
        ({"instance_type_family": "ecs.c7"}, 6),
        ({"public_ip_addresses": '["198.51.100.3"]'}, 1),
        ({"tag": [ecs_models.DescribeInstancesRequestTag(key="team", value="db")]}, 2),
        (
            {
                "status": "Running",
                "tag": [ecs_models.DescribeInstancesRequestTag(key="team", value="web")],
            },
            8,
        ),
    ],
)
def test_describe_instances_filters(
    client: Any, request_kwargs: dict[str, Any], expected: int
) -> None:
    body = client.describe_instances(
        ecs_models.DescribeInstancesRequest(
            region_id="cn-shanghai", page_size=100, **request_kwargs
        )
    ).body
    assert body.total_count == expected
    assert len(body.instances.instance) == expected


def test_invalid_status_is_404(client: Any) -> None:
    with pytest.raises(ClientException) as caught:
        client.describe_instances(
            ecs_models.DescribeInstancesRequest(region_id="cn-shanghai", status="Sleeping")
        )
    assert (caught.value.code, caught.value.status_code) == ("InvalidStatus.NotFound", 404)


# --- history events ---------------------------------------------------------------------


def _events(client: Any, **kwargs: Any) -> list[Any]:
    events: list[Any] = []
    token = None
    while True:
        body = client.describe_instance_history_events(
            ecs_models.DescribeInstanceHistoryEventsRequest(
                region_id="cn-hangzhou",
                instance_id=LINUX,
                max_results=10,
                next_token=token,
                **kwargs,
            )
        ).body
        events += body.instance_system_event_set.instance_system_event_type
        token = body.next_token
        if not token:
            return events


def test_default_returns_only_completed_events_of_the_last_30_days(client: Any) -> None:
    events = _events(client)
    statuses = {e.event_cycle_status.name for e in events}
    assert statuses == {"Executed", "Avoided", "Canceled", "Failed"}
    assert len(events) == 18  # 14 host failures + instance failure + avoided + canceled + failed
    assert "e-simguestold0000001" not in {e.event_id for e in events}  # 40 days old


def test_unfinished_events_need_cycle_statuses_and_have_no_time_limit(client: Any) -> None:
    events = _events(client, instance_event_cycle_status=["Scheduled", "Inquiring", "Executing"])
    by_id = {e.event_id: e for e in events}
    assert {e.event_cycle_status.name for e in events} == {"Scheduled", "Inquiring", "Executing"}
    assert "e-simguestoldsched01" in by_id
    scheduled = by_id["e-simguestscheduled1"]
    assert scheduled.event_finish_time is None
    assert scheduled.event_type.name == "InstanceExpiration.Stop"
    assert scheduled.event_type.code == 34


def test_event_cycle_status_is_used_without_the_list(client: Any) -> None:
    events = _events(client, event_cycle_status="Avoided")
    assert [e.event_cycle_status.name for e in events] == ["Avoided"]


def test_event_type_filters(client: Any) -> None:
    events = _events(client, instance_event_type=["InstanceFailure.Reboot"])
    assert [e.event_id for e in events] == ["e-simguestinstfail01"]
    executed = events[0]
    assert executed.event_cycle_status.code == 0
    assert executed.event_finish_time
    assert executed.reason.startswith("The instance was restarted")
    assert len(_events(client, event_type="SystemFailure.Reboot")) == 14


def test_not_before_window(client: Any) -> None:
    now = datetime.now(UTC)
    window = ecs_models.DescribeInstanceHistoryEventsRequestNotBefore(
        start=(now - timedelta(days=4, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        end=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    events = _events(client, not_before=window)
    # host failures 1..4 days ago and the instance failure 3 hours ago
    assert len(events) == 5
    assert all(e.event_cycle_status.name == "Executed" for e in events)


def test_page_number_paging_of_events(client: Any) -> None:
    body = client.describe_instance_history_events(
        ecs_models.DescribeInstanceHistoryEventsRequest(
            region_id="cn-hangzhou", instance_id=LINUX, page_number=2, page_size=10
        )
    ).body
    assert (body.total_count, body.page_number, body.page_size) == (18, 2, 10)
    assert len(body.instance_system_event_set.instance_system_event_type) == 8


def test_end_before_start_is_refused(client: Any) -> None:
    window = ecs_models.DescribeInstanceHistoryEventsRequestNotBefore(
        start="2024-05-02T00:00:00Z", end="2024-05-01T00:00:00Z"
    )
    with pytest.raises(ClientException) as caught:
        client.describe_instance_history_events(
            ecs_models.DescribeInstanceHistoryEventsRequest(
                region_id="cn-hangzhou", instance_id=LINUX, not_before=window
            )
        )
    assert (caught.value.code, caught.value.status_code) == (
        "InvalidParameter.TimeEndBeforeStart",
        403,
    )


def test_too_many_event_ids_is_refused(sim: SimulatorServer) -> None:
    params = {"RegionId": "cn-hangzhou", **{f"EventId.{n}": f"e-{n:06d}" for n in range(1, 102)}}
    response = call(sim, "DescribeInstanceHistoryEvents", params)
    assert (response.status_code, response.json()["Code"]) == (403, "EventIdLimitExceeded")


def test_missing_region_is_missing_parameter(sim: SimulatorServer) -> None:
    response = call(sim, "DescribeInstanceHistoryEvents", {"InstanceId": LINUX})
    assert response.json()["Code"] == "MissingParameter"
    assert '"RegionId"' in response.json()["Message"]


def test_full_status_lists_scheduled_events_only(client: Any) -> None:
    body = client.describe_instances_full_status(
        ecs_models.DescribeInstancesFullStatusRequest(region_id="cn-hangzhou", instance_id=[LINUX])
    ).body
    (entry,) = body.instance_full_status_set.instance_full_status_type
    assert entry.status.name == "Running" and entry.status.code == 1
    assert entry.health_status.name == "Ok"
    names = {
        e.event_cycle_status.name
        for e in entry.scheduled_system_event_set.scheduled_system_event_type
    }
    assert names == {"Scheduled", "Inquiring"}
