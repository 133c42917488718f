"""Adapters over the official Alibaba Cloud SDKs: the EcsGateway (ECS and Cloud Assistant), the
MetricsGateway (CloudMonitor) and the AuditGateway (ActionTrail).

The CloudMonitor and ActionTrail gateways are imported on first use, so that code needing only
ECS does not pay for loading their SDKs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ecs_reboot_diagnosis_mcp.aliyun.client_factory import (
    USER_AGENT,
    EcsClientSettings,
    resolve_default_credentials,
)
from ecs_reboot_diagnosis_mcp.aliyun.gateway import AliyunEcsGateway

if TYPE_CHECKING:
    from ecs_reboot_diagnosis_mcp.aliyun.audit_gateway import ActionTrailAuditGateway
    from ecs_reboot_diagnosis_mcp.aliyun.metrics_gateway import CmsMetricsGateway

_LAZY = {
    "CmsMetricsGateway": "ecs_reboot_diagnosis_mcp.aliyun.metrics_gateway",
    "ActionTrailAuditGateway": "ecs_reboot_diagnosis_mcp.aliyun.audit_gateway",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "USER_AGENT",
    "ActionTrailAuditGateway",
    "AliyunEcsGateway",
    "CmsMetricsGateway",
    "EcsClientSettings",
    "resolve_default_credentials",
]
