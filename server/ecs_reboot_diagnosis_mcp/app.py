"""The composition root: settings -> gateway, store, clock -> DiagnosisService (-> MCP server).

The only module that knows both the domain core and the concrete adapters.
"""

from __future__ import annotations

from datetime import timedelta

from ecs_reboot_diagnosis.clock import SystemClock
from ecs_reboot_diagnosis.ports import (
    AuditGateway,
    Clock,
    DiagnosisStore,
    EcsGateway,
    MetricsGateway,
)
from ecs_reboot_diagnosis.service import DiagnosisService
from ecs_reboot_diagnosis.store import InMemoryDiagnosisStore
from ecs_reboot_diagnosis_mcp.aliyun.client_factory import EcsClientSettings
from ecs_reboot_diagnosis_mcp.aliyun.gateway import AliyunEcsGateway
from ecs_reboot_diagnosis_mcp.settings import Settings


def build_gateway(
    settings: Settings, *, access_key_id: str | None = None, access_key_secret: str | None = None
) -> AliyunEcsGateway:
    """The SDK gateway. Without an AccessKey it uses the default credentials chain."""
    endpoint, _, _ = settings.product_endpoints()
    return AliyunEcsGateway(_client_settings(settings, endpoint, access_key_id, access_key_secret))


def _client_settings(
    settings: Settings,
    endpoint: str | None,
    access_key_id: str | None,
    access_key_secret: str | None,
) -> EcsClientSettings:
    return EcsClientSettings(
        endpoint=endpoint,
        access_key_id=access_key_id,
        access_key_secret=access_key_secret,
        ca_bundle=settings.ca_bundle or None,
    )


def build_outside_gateways(
    settings: Settings,
    *,
    access_key_id: str | None = None,
    access_key_secret: str | None = None,
) -> tuple[MetricsGateway | None, AuditGateway | None]:
    """CloudMonitor and ActionTrail gateways. Each uses its own endpoint override if it has one,
    else the ECS one (the simulator serves all three products on one endpoint), and the
    product's public regional endpoint only when no override is set at all: an ECS override
    never lets the other two go silently to the public cloud. The scheme of a URL (``http`` for
    the simulator) carries over with the endpoint."""
    from ecs_reboot_diagnosis_mcp.aliyun import ActionTrailAuditGateway, CmsMetricsGateway

    if not settings.outside_evidence:
        return None, None
    _, metrics_endpoint, actiontrail_endpoint = settings.product_endpoints()
    return (
        CmsMetricsGateway(
            _client_settings(settings, metrics_endpoint, access_key_id, access_key_secret)
        ),
        ActionTrailAuditGateway(
            _client_settings(settings, actiontrail_endpoint, access_key_id, access_key_secret)
        ),
    )


def build_service(
    settings: Settings,
    gateway: EcsGateway | None = None,
    clock: Clock | None = None,
    *,
    metrics: MetricsGateway | None = None,
    audit: AuditGateway | None = None,
) -> DiagnosisService:
    clock = clock or SystemClock()
    return DiagnosisService(
        gateway or build_gateway(settings),
        build_store(settings, clock),
        clock,
        settings.service_config(),
        metrics=metrics,
        audit=audit,
    )


def build_store(settings: Settings, clock: Clock) -> DiagnosisStore:
    """The store ECS_DIAG_STORE names: the SQLite file (by default under the user's state
    directory, created 0700/0600), or memory. StoreError when the file cannot be used."""
    ttl = timedelta(seconds=settings.store_ttl_s)
    history_ttl = timedelta(days=settings.history_days)
    path = settings.store_path()
    if path is None:
        return InMemoryDiagnosisStore(
            clock, ttl=ttl, max_diagnoses=settings.max_diagnoses, history_ttl=history_ttl
        )
    from ecs_reboot_diagnosis_mcp.sqlite_db import StoreDatabase
    from ecs_reboot_diagnosis_mcp.sqlite_store import SqliteDiagnosisStore

    return SqliteDiagnosisStore(
        StoreDatabase.open(path),
        clock,
        ttl=ttl,
        max_diagnoses=settings.max_diagnoses,
        history_ttl=history_ttl,
    )
