"""The composition root: settings -> gateway, store, clock -> DiagnosisService (-> MCP server).

The only module that knows both the domain core and the concrete adapters.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from ecs_reboot_diagnosis.clock import SystemClock
from ecs_reboot_diagnosis.ports import AuditGateway, Clock, EcsGateway, MetricsGateway
from ecs_reboot_diagnosis.service import DiagnosisService
from ecs_reboot_diagnosis.store import InMemoryDiagnosisStore
from ecs_reboot_diagnosis_mcp.aliyun.client_factory import EcsClientSettings
from ecs_reboot_diagnosis_mcp.aliyun.gateway import AliyunEcsGateway
from ecs_reboot_diagnosis_mcp.settings import Settings


def build_gateway(
    settings: Settings, *, access_key_id: str | None = None, access_key_secret: str | None = None
) -> AliyunEcsGateway:
    """The SDK gateway. Without an AccessKey it uses the default credentials chain."""
    return AliyunEcsGateway(_client_settings(settings, access_key_id, access_key_secret))


def _client_settings(
    settings: Settings, access_key_id: str | None, access_key_secret: str | None
) -> EcsClientSettings:
    return EcsClientSettings(
        endpoint=settings.endpoint or None,
        access_key_id=access_key_id,
        access_key_secret=access_key_secret,
    )


def build_outside_gateways(
    settings: Settings,
    *,
    access_key_id: str | None = None,
    access_key_secret: str | None = None,
) -> tuple[MetricsGateway | None, AuditGateway | None]:
    """CloudMonitor and ActionTrail gateways. An ECS endpoint override is shared with them only
    when it is the simulator's (one local endpoint serves all three products); against the real
    cloud each product keeps its own regional endpoint."""
    from ecs_reboot_diagnosis_mcp.aliyun import ActionTrailAuditGateway, CmsMetricsGateway

    client = _client_settings(settings, access_key_id, access_key_secret)
    if not settings.outside_evidence:
        return None, None
    if not settings.simulated:
        client = replace(client, endpoint=None)
    return CmsMetricsGateway(client), ActionTrailAuditGateway(client)


def build_service(
    settings: Settings,
    gateway: EcsGateway | None = None,
    clock: Clock | None = None,
    *,
    metrics: MetricsGateway | None = None,
    audit: AuditGateway | None = None,
) -> DiagnosisService:
    clock = clock or SystemClock()
    store = InMemoryDiagnosisStore(
        clock, ttl=timedelta(seconds=settings.store_ttl_s), max_diagnoses=settings.max_diagnoses
    )
    return DiagnosisService(
        gateway or build_gateway(settings),
        store,
        clock,
        settings.service_config(),
        metrics=metrics,
        audit=audit,
    )
