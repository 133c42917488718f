"""Official SDK clients (ECS, CloudMonitor, ActionTrail) pointed at a running simulator."""

from __future__ import annotations

from typing import Any

from alibabacloud_actiontrail20200706.client import Client as ActionTrailClient
from alibabacloud_cms20190101.client import Client as CmsClient
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_tea_openapi import models as open_api_models

from ecs_api_simulator import SimulatorServer


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
