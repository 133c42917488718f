"""Official SDK clients (ECS, CloudMonitor, ActionTrail) pointed at a running simulator."""

from __future__ import annotations

from typing import Any

from alibabacloud_actiontrail20200706.client import Client as ActionTrailClient
from alibabacloud_cms20190101.client import Client as CmsClient
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_tea_openapi import models as open_api_models

from ecs_api_simulator import SimulatorServer
from ecs_reboot_diagnosis_mcp.aliyun.client_factory import EcsClientSettings


def make_config(server: SimulatorServer, **overrides: Any) -> Any:
    options: dict[str, Any] = {
        "access_key_id": server.access_key_id,
        "access_key_secret": server.access_key_secret,
        "endpoint": server.endpoint,
        "protocol": "http",
        "region_id": "cn-hangzhou",
        "read_timeout": 10000,
        "connect_timeout": 5000,
    }
    options.update(overrides)
    return open_api_models.Config(**options)


def make_client(server: SimulatorServer, **overrides: Any) -> Any:
    return EcsClient(make_config(server, **overrides))


def make_cms_client(server: SimulatorServer, **overrides: Any) -> Any:
    return CmsClient(make_config(server, **overrides))


def make_actiontrail_client(server: SimulatorServer, **overrides: Any) -> Any:
    return ActionTrailClient(make_config(server, **overrides))


def settings_for(sim: SimulatorServer, **overrides: object) -> EcsClientSettings:
    options: dict[str, object] = {
        "endpoint": sim.endpoint,
        "access_key_id": sim.access_key_id,
        "access_key_secret": sim.access_key_secret,
        "max_attempts": 3,
        "backoff_period_ms": 10,
        "max_backoff_ms": 50,
    }
    options.update(overrides)
    return EcsClientSettings(**options)  # type: ignore[arg-type]
