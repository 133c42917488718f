"""The composition root: settings -> gateway, store, clock -> DiagnosisService (-> MCP server).

The only module that knows both the domain core and the concrete adapters.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from ecs_reboot_diagnosis.fleet_ports import ScanStore
    from ecs_reboot_diagnosis.fleet_scan import FleetScanner, ScanConfig
    from ecs_reboot_diagnosis_mcp.aliyun.flow_control import RateLimit, RateLimiter
    from ecs_reboot_diagnosis_mcp.sqlite_db import StoreDatabase


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
    *,
    max_attempts: int = 4,
) -> EcsClientSettings:
    return EcsClientSettings(
        endpoint=endpoint,
        access_key_id=access_key_id,
        access_key_secret=access_key_secret,
        ca_bundle=settings.ca_bundle or None,
        max_attempts=max_attempts,
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


def build_scan_store(
    settings: Settings, clock: Clock, *, db: StoreDatabase | None = None
) -> ScanStore:
    """Where fleet scans are kept, as ECS_DIAG_STORE says: the ``fleet_scans`` table of the
    store file (``db`` when it is already open on that file), or memory. StoreError when the
    file cannot be used."""
    path = settings.store_path()
    if path is None:
        from ecs_reboot_diagnosis.scan_store import InMemoryScanStore

        return InMemoryScanStore()
    from ecs_reboot_diagnosis_mcp.scan_table import SqliteScanTable
    from ecs_reboot_diagnosis_mcp.sqlite_db import StoreDatabase
    from ecs_reboot_diagnosis_mcp.sqlite_scan_store import SqliteScanStore

    if db is None or db.path != path:
        db = StoreDatabase.open(path)
    return SqliteScanStore(SqliteScanTable(db, clock))


FLEET_MAX_ATTEMPTS = 8
"""Attempts per fleet API call: a scan paces itself at the rate limits and retries throttling."""


def _scan_limiter(settings: Settings, limits: Mapping[str, RateLimit] | None = None) -> RateLimiter:
    """The default rate limits, then those of ``ECS_DIAG_SCAN_RATE_LIMITS``, then ``limits``.
    Raises ValueError for a bad limits text."""
    from ecs_reboot_diagnosis_mcp.aliyun.flow_control import (
        DEFAULT_RATE_LIMITS,
        RateLimiter,
        parse_rate_limits,
    )

    return RateLimiter(
        {**DEFAULT_RATE_LIMITS, **parse_rate_limits(settings.scan_rate_limits), **(limits or {})}
    )


def _scan_config(settings: Settings) -> ScanConfig:
    from ecs_reboot_diagnosis.fleet_scan import ScanConfig

    return ScanConfig(
        batch_concurrency=settings.scan_concurrency,
        command_timeout_seconds=settings.command_timeout_s,
        command_content_limit=settings.command_content_limit,
        wait_deadline_seconds=max(settings.service_config().guest_deadline_seconds, 60.0),
    )


def build_fleet_scanner(
    settings: Settings,
    *,
    access_key_id: str | None = None,
    access_key_secret: str | None = None,
    store: ScanStore | None = None,
    clock: Clock | None = None,
    limits: Mapping[str, RateLimit] | None = None,
) -> FleetScanner:
    """The fleet scanner over the SDKs, paced by :func:`_scan_limiter`, keeping its scans in
    ``store`` or else :func:`build_scan_store`'s. Raises ValueError for a bad limits text,
    StoreError when the store file cannot be used."""
    from ecs_reboot_diagnosis.fleet_scan import FleetScanner
    from ecs_reboot_diagnosis_mcp.aliyun.fleet_gateway import AliyunFleetGateway

    ecs_endpoint, _, trail_endpoint = settings.product_endpoints()
    keys = (access_key_id, access_key_secret)
    gateway = AliyunFleetGateway(
        _client_settings(settings, ecs_endpoint, *keys, max_attempts=FLEET_MAX_ATTEMPTS),
        actiontrail_settings=_client_settings(
            settings, trail_endpoint, *keys, max_attempts=FLEET_MAX_ATTEMPTS
        ),
        limiter=_scan_limiter(settings, limits),
    )
    clock = clock or SystemClock()
    store = store or build_scan_store(settings, clock)
    return FleetScanner(gateway, store, clock, _scan_config(settings))


def fleet_scanner_for(service: DiagnosisService, settings: Settings) -> FleetScanner | None:
    """The fleet scanner that reaches the cloud the way ``service`` does (same endpoints,
    credentials and AccessKey) and keeps its scans where the service keeps its diagnoses (the
    same open store file), or None when the service is not over the SDK gateway."""
    from dataclasses import replace

    from ecs_reboot_diagnosis.fleet_scan import FleetScanner
    from ecs_reboot_diagnosis_mcp.aliyun.fleet_gateway import AliyunFleetGateway
    from ecs_reboot_diagnosis_mcp.aliyun.sdk_gateway import SdkGateway

    gateway = service.gateway
    if not isinstance(gateway, SdkGateway):
        return None
    ecs = replace(gateway.settings, max_attempts=FLEET_MAX_ATTEMPTS)
    audit = service.audit
    trail = (
        replace(audit.settings, max_attempts=FLEET_MAX_ATTEMPTS)
        if isinstance(audit, SdkGateway)
        else ecs
    )
    fleet = AliyunFleetGateway(
        ecs,
        actiontrail_settings=trail,
        limiter=_scan_limiter(settings),
        credential=gateway.credential,
    )
    store = build_scan_store(settings, service.clock, db=_open_database(service))
    return FleetScanner(fleet, store, service.clock, _scan_config(settings))


def _open_database(service: DiagnosisService) -> StoreDatabase | None:
    """The store file the service's diagnosis store has open, if it is on one."""
    from ecs_reboot_diagnosis_mcp.sqlite_db import StoreDatabase

    db = getattr(service.store, "db", None)
    return db if isinstance(db, StoreDatabase) else None
