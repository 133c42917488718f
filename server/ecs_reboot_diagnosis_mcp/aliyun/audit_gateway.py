"""AuditGateway over the official ActionTrail SDK (``alibabacloud-actiontrail20200706``, API
2020-07-06, ``lookup_events``).

Wire facts (API reference, SDK models, checked against the simulator):
- the SDK sends no ``RegionId``: the region is the endpoint's
  (``actiontrail.<region>.aliyuncs.com``), so there is one client per region, as for ECS;
- the instance is selected with ``LookupAttribute.1.Key=ResourceName`` / ``.Value=<instance>``;
- ``StartTime``/``EndTime`` are ``yyyy-MM-ddTHH:mm:ssZ`` (UTC), both or neither;
- ``MaxResults`` is at most 50; ``NextToken`` is returned only while more events remain;
- ``Events`` is a list of free-form event objects (``eventId``, ``eventName``, ``eventTime``,
  ``userIdentity``, ``sourceIpAddress``, ``userAgent``, ``requestId``, ``errorCode``, ...).
Only the last 4 characters of a caller's AccessKey ID are kept.
"""

from __future__ import annotations

from datetime import datetime

from ecs_reboot_diagnosis.errors import CloudApiError
from ecs_reboot_diagnosis.ports import ApiCall
from ecs_reboot_diagnosis_mcp.aliyun.response_mapping import api_call, as_utc, format_time
from ecs_reboot_diagnosis_mcp.aliyun.sdk_gateway import SdkGateway, SdkModel

PAGE_SIZE = 50
"""Events per page: the API's maximum ``MaxResults``."""
MAX_PAGES = 40
"""Safety net: 2000 recorded calls on one instance in one window is far beyond a diagnosis."""


class ActionTrailAuditGateway(SdkGateway):
    """The workflow's view of ActionTrail: the API calls recorded on one instance.

    Built like the ECS gateway (same settings type, credentials, user agent, retries). The
    settings' ``endpoint`` overrides ActionTrail's public regional endpoint: leave it None for
    Alibaba Cloud, or point it at the simulator, which serves ActionTrail on its one endpoint.
    """

    product = "ActionTrail"
    client_class = "alibabacloud_actiontrail20200706.client:Client"
    models_module = "alibabacloud_actiontrail20200706.models"

    async def instance_api_calls(
        self, region_id: str, instance_id: str, *, start: datetime, end: datetime
    ) -> list[ApiCall]:
        action = "LookupEvents"
        low, high = as_utc(start), as_utc(end)
        if high < low:
            raise CloudApiError(
                action,
                "invalid_parameter",
                "InvalidTimeRange",
                "the time window ends before it starts",
                message_zh="时间窗口的结束早于开始",
                hint="Swap or fix the bounds of the time window.",
                hint_zh="请交换或修正时间窗口的起止时间。",
            )
        calls: dict[str, ApiCall] = {}
        next_token: str | None = None
        for _ in range(MAX_PAGES):
            request = SdkModel(
                "LookupEventsRequest",
                start_time=format_time(low),
                end_time=format_time(high),
                max_results=str(PAGE_SIZE),
                next_token=next_token,
                lookup_attribute=[
                    SdkModel(
                        "LookupEventsRequestLookupAttribute", key="ResourceName", value=instance_id
                    )
                ],
            )
            body = await self._call(action, region_id, "lookup_events", request)
            for event in body.events or []:
                call = api_call(event)
                if call is None or not (low <= call.event_time <= high):
                    continue
                key = call.event_id or f"{call.event_time.isoformat()}/{call.request_id}"
                calls.setdefault(key, call)
            next_token = body.next_token or None
            if not next_token:
                return sorted(calls.values(), key=lambda c: c.event_time, reverse=True)
        raise self._too_many_pages(action, MAX_PAGES, f"API calls on {instance_id}")
