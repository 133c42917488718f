"""The products one simulator endpoint serves, told apart by API version.

The official SDKs send the action and the version in the ``x-acs-action`` / ``x-acs-version``
headers (V3 signature) or as ``Action`` / ``Version`` parameters (legacy V1). Each product has
its own version, so the version picks the product and the action must be one of its actions:

| product | version | SDK | actions |
| --- | --- | --- | --- |
| Ecs | 2014-05-26 | alibabacloud-ecs20140526 | see ``actions.ACTIONS`` |
| Cms (CloudMonitor) | 2019-01-01 | alibabacloud-cms20190101 | DescribeMetricList |
| Actiontrail | 2020-07-06 | alibabacloud-actiontrail20200706 | LookupEvents |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ecs_api_simulator.actions import ACTIONS, Handler
from ecs_api_simulator.actions.actiontrail import lookup_events
from ecs_api_simulator.actions.cms import describe_metric_list
from ecs_api_simulator.api_errors import ECS_DENIAL, GATEWAY_DENIAL_MESSAGE, RamDenial


@dataclass(frozen=True)
class Product:
    code: str
    """The product code of error ``Recommend`` links (Ecs, Cms, Actiontrail)."""
    version: str
    host_prefix: str
    """Public endpoints are ``<host_prefix>.<region>.aliyuncs.com``."""
    actions: Mapping[str, Handler]
    denial: RamDenial
    error_extra: Mapping[str, Any] = field(default_factory=dict)
    """Fields every error body of this product carries besides Code and Message."""

    def host(self, region_id: str | None) -> str:
        region = f".{region_id}" if region_id else ""
        return f"{self.host_prefix}{region}.aliyuncs.com"


ECS = Product("Ecs", "2014-05-26", "ecs", ACTIONS, ECS_DENIAL)
CMS = Product(
    "Cms",
    "2019-01-01",
    "metrics",
    {"DescribeMetricList": describe_metric_list},
    RamDenial(
        "NoPermission",
        GATEWAY_DENIAL_MESSAGE,
        "cms",
        {"DescribeMetricList": "QueryMetricList"},
    ),
    {"Success": False},
)
ACTIONTRAIL = Product(
    "Actiontrail",
    "2020-07-06",
    "actiontrail",
    {"LookupEvents": lookup_events},
    RamDenial("NoPermission", GATEWAY_DENIAL_MESSAGE, "actiontrail"),
)
PRODUCTS: dict[str, Product] = {p.version: p for p in (ECS, CMS, ACTIONTRAIL)}
"""By API version."""
