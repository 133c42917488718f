"""FleetGateway over the official ECS and ActionTrail SDKs: up to 100 instances a call, paced.

Wire facts (research ecs-api.md §3, the API reference, the SDK models; checked against the
simulator):
- DescribeInstances: ``InstanceIds`` is a JSON array string of at most 100 ids; tags are
  ``Tag.N.Key``/``Tag.N.Value``; ``MaxResults`` up to 100 with ``NextToken``. Without the RAM
  permission the answer is an empty list, so an empty first page is checked with ``DryRun``.
- DescribeInstanceHistoryEvents: ``ResourceId.N`` (1..100) takes precedence over InstanceId;
  ``InstanceEventCycleStatus.N``; ``NotBefore.Start/End``; ``MaxResults`` up to 100 with
  ``NextToken``; each event names its ``InstanceId``.
- DescribeCloudAssistantStatus: ``InstanceId.N`` (at most 100); paging is ignored with ids.
- RunCommand: ``InstanceId.N`` (at most 100), one invocation for all of them.
- DescribeInvocations (``InvokeId``, ``IncludeOutput=false``): the overall and per-instance
  status, without output. DescribeInvocationResults: ``MaxResults`` at most 50, ``NextToken``.
- ActionTrail LookupEvents: one lookup per region (the endpoint's region) for the window, with
  ``LookupAttribute`` ``ResourceType=ACS::ECS::Instance`` and ``EventRW=Write``; ``MaxResults``
  at most 50 with ``NextToken``.

Every attempt of every call waits for the action's rate limit (:mod:`flow_control`); throttling
is retried with backoff honouring ``x-acs-retry-after``, and pauses that action for everyone.
"""

from __future__ import annotations

import base64
import importlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ecs_reboot_diagnosis.errors import CloudApiError
from ecs_reboot_diagnosis.fleet_ports import (
    BATCH_LIMIT,
    RESULTS_PAGE_LIMIT,
    FleetEvent,
    InstancePage,
    InvocationState,
    ResultsPage,
)
from ecs_reboot_diagnosis.models import ApiCall
from ecs_reboot_diagnosis.ports import AgentHeartbeat, CommandType
from ecs_reboot_diagnosis_mcp.aliyun.client_factory import EcsClientSettings
from ecs_reboot_diagnosis_mcp.aliyun.flow_control import RateLimiter
from ecs_reboot_diagnosis_mcp.aliyun.response_mapping import (
    agent_heartbeat,
    api_call,
    as_utc,
    format_time,
    instance_facts,
    invocation_result,
    platform_event,
)
from ecs_reboot_diagnosis_mcp.aliyun.sdk_gateway import SdkGateway

if TYPE_CHECKING:
    from alibabacloud_actiontrail20200706 import models as actiontrail_models
    from alibabacloud_credentials.client import Client as CredentialClient
    from alibabacloud_ecs20140526 import models as ecs_models
else:

    class _SdkModels:
        """An SDK's models module, imported on first use: a server that never scans a fleet
        does not load the SDKs (and `serve` answers `initialize` sooner)."""

        def __init__(self, name: str) -> None:
            self._name = name
            self._module: ModuleType | None = None

        def __getattr__(self, attr: str) -> Any:
            if self._module is None:
                self._module = importlib.import_module(self._name)
            return getattr(self._module, attr)

    ecs_models = _SdkModels("alibabacloud_ecs20140526.models")
    actiontrail_models = _SdkModels("alibabacloud_actiontrail20200706.models")

__all__ = ["AliyunFleetGateway"]

MAX_EVENT_PAGES = 100
"""Safety net: 10,000 events for 100 instances in one window."""
MAX_TRAIL_PAGES = 400
"""Safety net: 20,000 write calls on instances of one region in one window."""
TRAIL_PAGE_SIZE = 50


def _limit(ids: Sequence[str], action: str) -> list[str]:
    if not 0 < len(ids) <= BATCH_LIMIT:
        raise ValueError(f"{action} takes 1..{BATCH_LIMIT} instance ids, not {len(ids)}")
    return list(ids)


class _Ecs(SdkGateway):
    product = "ECS"
    client_class = "alibabacloud_ecs20140526.client:Client"


class _Trail(SdkGateway):
    product = "ActionTrail"
    client_class = "alibabacloud_actiontrail20200706.client:Client"


class AliyunFleetGateway:
    """The fleet scan's view of ECS, Cloud Assistant and ActionTrail."""

    def __init__(
        self,
        settings: EcsClientSettings | None = None,
        *,
        actiontrail_settings: EcsClientSettings | None = None,
        limiter: RateLimiter | None = None,
        credential: CredentialClient | None = None,
    ) -> None:
        settings = settings or EcsClientSettings()
        self.limiter = limiter or RateLimiter()
        self._ecs = _Ecs(settings, credential=credential, limiter=self.limiter)
        self._trail = _Trail(
            actiontrail_settings or settings, credential=credential, limiter=self.limiter
        )

    async def describe_instances_page(
        self,
        region_id: str,
        *,
        instance_ids: Sequence[str] | None = None,
        tags: Sequence[tuple[str, str]] = (),
        next_token: str | None = None,
    ) -> InstancePage:
        action = "DescribeInstances"
        ids = _limit(instance_ids, action) if instance_ids else None
        tag_list = [ecs_models.DescribeInstancesRequestTag(key=k, value=v) for k, v in tags]

        def request(dry_run: bool | None = None) -> ecs_models.DescribeInstancesRequest:
            return ecs_models.DescribeInstancesRequest(
                region_id=region_id,
                instance_ids=json.dumps(ids) if ids else None,
                tag=tag_list or None,
                max_results=BATCH_LIMIT,
                next_token=next_token,
                dry_run=dry_run,
            )

        body = await self._ecs._call(action, region_id, "describe_instances_async", request())
        items = (body.instances.instance if body.instances is not None else None) or []
        if not items and next_token is None:
            # Without the permission the answer is an empty list: DryRun tells the two apart.
            try:
                await self._ecs._call(
                    action, region_id, "describe_instances_async", request(dry_run=True)
                )
            except CloudApiError as exc:
                if exc.code != "DryRunOperation":
                    raise
        return InstancePage(
            instances=[instance_facts(item, region_id) for item in items],
            next_token=body.next_token or None,
        )

    async def history_events(
        self,
        region_id: str,
        instance_ids: Sequence[str],
        *,
        cycle_statuses: Sequence[str],
        start: datetime,
        end: datetime,
    ) -> list[FleetEvent]:
        action = "DescribeInstanceHistoryEvents"
        ids = _limit(instance_ids, action)
        events: list[FleetEvent] = []
        token: str | None = None
        for _ in range(MAX_EVENT_PAGES):
            request = ecs_models.DescribeInstanceHistoryEventsRequest(
                region_id=region_id,
                resource_id=ids,
                instance_event_cycle_status=list(cycle_statuses) or None,
                not_before=ecs_models.DescribeInstanceHistoryEventsRequestNotBefore(
                    start=format_time(start), end=format_time(end)
                ),
                max_results=BATCH_LIMIT,
                next_token=token,
            )
            body = await self._ecs._call(
                action, region_id, "describe_instance_history_events_async", request
            )
            page = body.instance_system_event_set
            items = (page.instance_system_event_type if page is not None else None) or []
            events.extend(
                FleetEvent(instance_id=item.instance_id, event=platform_event(item))
                for item in items
                if item.instance_id
            )
            token = body.next_token or None
            if not token:
                return events
        raise self._ecs._too_many_pages(action, MAX_EVENT_PAGES, "events for 100 instances")

    async def agent_statuses(
        self, region_id: str, instance_ids: Sequence[str]
    ) -> dict[str, AgentHeartbeat]:
        action = "DescribeCloudAssistantStatus"
        request = ecs_models.DescribeCloudAssistantStatusRequest(
            region_id=region_id, instance_id=_limit(instance_ids, action)
        )
        body = await self._ecs._call(
            action, region_id, "describe_cloud_assistant_status_async", request
        )
        container = body.instance_cloud_assistant_status_set
        statuses = (
            container.instance_cloud_assistant_status if container is not None else None
        ) or []
        return {s.instance_id: agent_heartbeat(s) for s in statuses if s.instance_id}

    async def run_command_batch(
        self,
        region_id: str,
        instance_ids: Sequence[str],
        *,
        command_type: CommandType,
        content: str,
        parameters: Mapping[str, str],
        timeout_seconds: int,
        name: str,
        client_token: str,
    ) -> str:
        action = "RunCommand"
        request = ecs_models.RunCommandRequest(
            region_id=region_id,
            instance_id=_limit(instance_ids, action),
            type=command_type,
            command_content=base64.b64encode(content.encode("utf-8")).decode("ascii"),
            content_encoding="Base64",
            timeout=timeout_seconds,
            name=name,
            enable_parameter=bool(parameters),
            parameters=dict(parameters) if parameters else None,
            # the caller's token, on every attempt and after a resume: a call sent again
            # returns the invocation it created
            client_token=client_token,
        )
        body = await self._ecs._call(action, region_id, "run_command_async", request)
        if not body.invoke_id:
            raise CloudApiError(
                action,
                "unexpected_response",
                "MissingInvokeId",
                "RunCommand answered without an InvokeId",
                request_id=body.request_id or "",
            )
        return str(body.invoke_id)

    async def invocation_state(self, region_id: str, invoke_id: str) -> InvocationState:
        action = "DescribeInvocations"
        request = ecs_models.DescribeInvocationsRequest(
            region_id=region_id, invoke_id=invoke_id, include_output=False
        )
        body = await self._ecs._call(action, region_id, "describe_invocations_async", request)
        container = body.invocations
        for item in (container.invocation if container is not None else None) or []:
            if item.invoke_id != invoke_id:
                continue
            instances = item.invoke_instances
            per_instance = {
                i.instance_id: i.invocation_status or "Pending"
                for i in (instances.invoke_instance if instances is not None else None) or []
                if i.instance_id
            }
            return InvocationState(
                invoke_id=invoke_id,
                status=item.invocation_status or "Pending",
                instance_statuses=per_instance,
            )
        # right after RunCommand the record may not be visible yet; long after, it may be gone
        return InvocationState(invoke_id=invoke_id, status="Pending", found=False)

    async def invocation_results_page(
        self, region_id: str, invoke_id: str, *, next_token: str | None = None
    ) -> ResultsPage:
        action = "DescribeInvocationResults"
        request = ecs_models.DescribeInvocationResultsRequest(
            region_id=region_id,
            invoke_id=invoke_id,
            content_encoding="Base64",
            max_results=RESULTS_PAGE_LIMIT,
            next_token=next_token,
        )
        body = await self._ecs._call(
            action, region_id, "describe_invocation_results_async", request
        )
        invocation = body.invocation
        container = invocation.invocation_results if invocation is not None else None
        results = {
            item.instance_id: invocation_result(item, invoke_id)
            for item in (container.invocation_result if container is not None else None) or []
            if item.instance_id
        }
        token = invocation.next_token if invocation is not None else None
        return ResultsPage(results=results, next_token=token or None)

    async def region_api_calls(
        self, region_id: str, *, start: datetime, end: datetime
    ) -> list[ApiCall]:
        action = "LookupEvents"
        low, high = as_utc(start), as_utc(end)
        calls: dict[str, ApiCall] = {}
        token: str | None = None
        for _ in range(MAX_TRAIL_PAGES):
            request = actiontrail_models.LookupEventsRequest(
                start_time=format_time(low),
                end_time=format_time(high),
                max_results=str(TRAIL_PAGE_SIZE),
                next_token=token,
                lookup_attribute=[
                    actiontrail_models.LookupEventsRequestLookupAttribute(
                        key="ResourceType", value="ACS::ECS::Instance"
                    ),
                    actiontrail_models.LookupEventsRequestLookupAttribute(
                        key="EventRW", value="Write"
                    ),
                ],
            )
            body = await self._trail._call(action, region_id, "lookup_events_async", request)
            for event in body.events or []:
                call = api_call(event)
                if call is None or not (low <= call.event_time <= high):
                    continue
                key = call.event_id or f"{call.event_time.isoformat()}/{call.request_id}"
                calls.setdefault(key, call)
            token = body.next_token or None
            if not token:
                return sorted(calls.values(), key=lambda c: c.event_time)
        raise self._trail._too_many_pages(action, MAX_TRAIL_PAGES, f"API calls in {region_id}")
