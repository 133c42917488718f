"""MetricsGateway over the official CloudMonitor SDK (``alibabacloud-cms20190101``, API
2019-01-01, ``describe_metric_list``).

Wire facts (API reference, SDK models, checked against the simulator):
- the SDK sends no ``RegionId``: the region is the endpoint's (``metrics.<region>.aliyuncs.com``),
  so there is one client per region, as for ECS;
- ``Dimensions`` is a JSON string, ``[{"instanceId":"i-..."}]``;
- times are sent as Unix milliseconds, the one format without a time-zone question; the API
  selects ``(StartTime, EndTime]``, so the start is sent 1 ms early to include a point at it;
- ``Datapoints`` is a JSON *string* of ``{timestamp (ms), instanceId, Average, Maximum,
  Minimum}``; ``NextToken`` is returned while more points remain; ``Length`` is at most 1440;
- a failure may also come back as HTTP 200 with ``Success: false`` and ``Code``/``Message``;
- the RAM action is ``cms:QueryMetricList``, not ``cms:DescribeMetricList``.
DescribeMetricList carries no unit: the unit comes from the table of ECS metrics below.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ecs_reboot_diagnosis.errors import CloudApiError
from ecs_reboot_diagnosis.ports import MetricPoint, MetricSeries
from ecs_reboot_diagnosis_mcp.aliyun.error_translation import reported_failure
from ecs_reboot_diagnosis_mcp.aliyun.response_mapping import (
    as_utc,
    decode_datapoints,
    epoch_ms,
    metric_point,
)
from ecs_reboot_diagnosis_mcp.aliyun.sdk_gateway import SdkGateway, SdkModel

ECS_NAMESPACE = "acs_ecs_dashboard"
PAGE_LENGTH = 1440
"""Points per page: the API's maximum ``Length``."""
MAX_PAGES = 50

ECS_METRIC_UNITS: dict[str, str] = {
    "CPUUtilization": "%",
    "cpu_total": "%",
    "cpu_idle": "%",
    "cpu_system": "%",
    "cpu_user": "%",
    "cpu_wait": "%",
    "cpu_other": "%",
    "memory_usedutilization": "%",
    "memory_freeutilization": "%",
    "memory_actualusedspace": "bytes",
    "memory_freespace": "bytes",
    "memory_totalspace": "bytes",
    "memory_usedspace": "bytes",
    "load_1m": "",
    "load_5m": "",
    "load_15m": "",
    "diskusage_utilization": "%",
    "diskusage_used": "bytes",
    "diskusage_free": "bytes",
    "fs_inodeutilization": "%",
    "disk_readbytes": "bytes/s",
    "disk_writebytes": "bytes/s",
    "disk_readiops": "count/s",
    "disk_writeiops": "count/s",
    "DiskReadBPS": "bytes/s",
    "DiskWriteBPS": "bytes/s",
    "DiskReadIOPS": "count/s",
    "DiskWriteIOPS": "count/s",
    "InternetInRate": "bit/s",
    "InternetOutRate": "bit/s",
    "IntranetInRate": "bit/s",
    "IntranetOutRate": "bit/s",
    "networkin_rate": "bit/s",
    "networkout_rate": "bit/s",
    "net_tcpconnection": "count",
    "concurrentConnections": "count",
}
"""Units of common ``acs_ecs_dashboard`` metrics (CloudMonitor metric reference)."""


def _dimensions(instance_id: str) -> str:
    return json.dumps([{"instanceId": instance_id}], separators=(",", ":"))


class CmsMetricsGateway(SdkGateway):
    """The workflow's view of CloudMonitor: one ECS metric of one instance, every page.

    Built like the ECS gateway (same settings type, credentials, user agent, retries). The
    settings' ``endpoint`` overrides CloudMonitor's public regional endpoint: leave it None for
    Alibaba Cloud, or point it at the simulator, which serves CloudMonitor on its one endpoint.
    """

    product = "CloudMonitor"
    client_class = "alibabacloud_cms20190101.client:Client"
    models_module = "alibabacloud_cms20190101.models"

    async def metric_series(
        self,
        region_id: str,
        instance_id: str,
        metric: str,
        *,
        start: datetime,
        end: datetime,
        period_seconds: int,
    ) -> MetricSeries:
        action = "DescribeMetricList"
        if as_utc(end) < as_utc(start):
            raise CloudApiError(
                action,
                "invalid_parameter",
                "InvalidTimeRange",
                "the time window ends before it starts",
                message_zh="时间窗口的结束早于开始",
                hint="Swap or fix the bounds of the time window.",
                hint_zh="请交换或修正时间窗口的起止时间。",
            )
        points: dict[datetime, MetricPoint] = {}
        answered_period = period_seconds
        next_token: str | None = None
        for _ in range(MAX_PAGES):
            request = SdkModel(
                "DescribeMetricListRequest",
                namespace=ECS_NAMESPACE,
                metric_name=metric,
                dimensions=_dimensions(instance_id),
                start_time=str(epoch_ms(start) - 1),
                end_time=str(epoch_ms(end)),
                period=str(period_seconds),
                length=str(PAGE_LENGTH),
                next_token=next_token,
            )
            body = await self._call(action, region_id, "describe_metric_list", request)
            self._check_success(action, body)
            for item in self._datapoints(action, body):
                point = metric_point(item, instance_id)
                if point is not None and as_utc(start) <= point.timestamp <= as_utc(end):
                    points[point.timestamp] = point
            if str(body.period or "").isdigit():
                answered_period = int(body.period)
            next_token = body.next_token or None
            if not next_token:
                return MetricSeries(
                    metric=metric,
                    unit=ECS_METRIC_UNITS.get(metric, ""),
                    period_seconds=answered_period,
                    points=[points[when] for when in sorted(points)],
                )
        raise self._too_many_pages(action, MAX_PAGES, f"{metric} points")

    def _check_success(self, action: str, body: Any) -> None:
        code = str(body.code or "")
        if body.success is False or (code and code != "200"):
            raise reported_failure(
                action,
                code,
                str(body.message or ""),
                request_id=str(body.request_id or ""),
                secrets=self._settings.secrets(),
            )

    def _datapoints(self, action: str, body: Any) -> list[Any]:
        try:
            return decode_datapoints(body.datapoints)
        except ValueError:
            raise CloudApiError(
                action,
                "unexpected_response",
                "UnexpectedResponse",
                "Datapoints is not a JSON list of points",
                message_zh="Datapoints 不是由数据点组成的 JSON 列表",
                request_id=str(body.request_id or ""),
                hint="The endpoint may not be a genuine CloudMonitor endpoint, or the API changed.",
                hint_zh="该 endpoint 可能不是真正的云监控 endpoint，或者 API 已经变更。",
            ) from None
