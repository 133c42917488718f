"""The EcsGateway adapter over the official Alibaba Cloud ECS SDK."""

from __future__ import annotations

from ecs_reboot_diagnosis_mcp.aliyun.client_factory import (
    USER_AGENT,
    EcsClientSettings,
    resolve_default_credentials,
)
from ecs_reboot_diagnosis_mcp.aliyun.gateway import AliyunEcsGateway

__all__ = ["USER_AGENT", "AliyunEcsGateway", "EcsClientSettings", "resolve_default_credentials"]
