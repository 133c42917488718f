"""Official SDK clients pointed at a running simulator."""

from __future__ import annotations

from typing import Any

from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_tea_openapi import models as open_api_models

from ecs_api_simulator import SimulatorServer


def make_client(server: SimulatorServer, **overrides: Any) -> Any:
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
    return EcsClient(open_api_models.Config(**options))
