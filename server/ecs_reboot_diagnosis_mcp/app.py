"""The composition root: settings -> gateway, store, clock -> DiagnosisService (-> MCP server).

The only module that knows both the domain core and the concrete adapters.
"""

from __future__ import annotations

from datetime import timedelta

from ecs_reboot_diagnosis.clock import SystemClock
from ecs_reboot_diagnosis.ports import Clock, EcsGateway
from ecs_reboot_diagnosis.service import DiagnosisService
from ecs_reboot_diagnosis.store import InMemoryDiagnosisStore
from ecs_reboot_diagnosis_mcp.aliyun.client_factory import EcsClientSettings
from ecs_reboot_diagnosis_mcp.aliyun.gateway import AliyunEcsGateway
from ecs_reboot_diagnosis_mcp.settings import Settings


def build_gateway(
    settings: Settings, *, access_key_id: str | None = None, access_key_secret: str | None = None
) -> AliyunEcsGateway:
    """The SDK gateway. Without an AccessKey it uses the default credentials chain."""
    return AliyunEcsGateway(
        EcsClientSettings(
            endpoint=settings.endpoint or None,
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
        )
    )


def build_service(
    settings: Settings, gateway: EcsGateway | None = None, clock: Clock | None = None
) -> DiagnosisService:
    clock = clock or SystemClock()
    store = InMemoryDiagnosisStore(
        clock, ttl=timedelta(seconds=settings.store_ttl_s), max_diagnoses=settings.max_diagnoses
    )
    return DiagnosisService(
        gateway or build_gateway(settings), store, clock, settings.service_config()
    )
