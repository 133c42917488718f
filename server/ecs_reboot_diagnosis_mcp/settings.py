"""Settings of the adapters: environment variables with the prefix ECS_DIAG_, CLI flags on top."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ecs_reboot_diagnosis.models import Lang
from ecs_reboot_diagnosis.service import ServiceConfig
from ecs_reboot_diagnosis_mcp.aliyun.ca_bundle import check_ca_bundle

STORE_ENV = "ECS_DIAG_STORE"
STORE_FILE = "diagnoses.sqlite3"
APP_DIR = "ecs-reboot-diagnosis"


def default_store_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/ecs-reboot-diagnosis/diagnoses.sqlite3``, by default under
    ``~/.local/state`` (an unset or relative XDG_STATE_HOME is ignored, as the XDG spec says)."""
    env = os.environ if environ is None else environ
    state = env.get("XDG_STATE_HOME", "")
    if state and Path(state).is_absolute():
        return Path(state) / APP_DIR / STORE_FILE
    try:
        home = Path.home()
    except RuntimeError:
        raise ValueError(
            "the home directory is not known, so the default store file cannot be placed: set "
            f"{STORE_ENV}=sqlite:///ABSOLUTE/PATH, {STORE_ENV}=memory or XDG_STATE_HOME"
        ) from None
    return home / ".local/state" / APP_DIR / STORE_FILE


def parse_store(value: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """The store file ECS_DIAG_STORE names, or None for ``memory``.

    Accepted: ``memory``; ``sqlite`` or nothing (the default file, :func:`default_store_path`);
    ``sqlite:///ABSOLUTE/PATH``. Anything else is a ValueError naming ECS_DIAG_STORE and the
    accepted forms.
    """
    text = value.strip()
    if text == "memory":
        return None
    if text in ("", "sqlite"):
        return default_store_path(environ)
    if text.startswith("sqlite:///"):
        path = "/" + text.removeprefix("sqlite://").lstrip("/")
        if path != "/" and not path.endswith("/"):
            return Path(path)
    raise ValueError(
        f"{STORE_ENV}={value[:200]!r} is not a store location. Use 'memory' (nothing kept "
        "after the process ends), 'sqlite' (the default file, "
        f"$XDG_STATE_HOME/{APP_DIR}/{STORE_FILE}, by default under ~/.local/state) or "
        f"'sqlite:///ABSOLUTE/PATH/TO/FILE' (for example sqlite:///var/lib/{APP_DIR}/"
        f"{STORE_FILE})."
    )


class Settings(BaseSettings):
    """Every field can be set as ECS_DIAG_<NAME> (for example ECS_DIAG_REGION_ID)."""

    model_config = SettingsConfigDict(env_prefix="ECS_DIAG_", extra="ignore")

    region_id: str = Field("", description="Default region when the user names none.")
    endpoint: str = Field(
        "",
        description="ECS API endpoint override (e.g. the simulator); CloudMonitor and ActionTrail "
        "use it too unless they have their own.",
    )
    metrics_endpoint: str = Field(
        "", description="CloudMonitor endpoint override (default: the ECS endpoint override)."
    )
    actiontrail_endpoint: str = Field(
        "", description="ActionTrail endpoint override (default: the ECS endpoint override)."
    )
    ca_bundle: str = Field(
        "",
        description="PEM file of CA certificates to trust over HTTPS besides the public roots "
        "(a TLS-inspecting proxy, the simulator's `simulate --tls` CA); verification stays on.",
    )
    lang: Lang = "en"
    event_window_days: int = Field(7, ge=1, le=30)
    log_window_days: int = Field(7, ge=1, le=90)
    guest_commands: bool = True
    command_timeout_s: int = Field(300, ge=10, le=86400)
    command_content_limit: int = Field(
        16 * 1024,
        ge=4096,
        le=64 * 1024,
        description="RunCommand CommandContent limit (Base64 + parameters, bytes) to assume.",
    )
    wait_deadline_s: float = Field(120.0, gt=0, le=3600)
    store_ttl_s: int = Field(24 * 3600, ge=60)
    max_diagnoses: int = Field(
        256, ge=1, description="Diagnoses each owner (bearer token; stdio: the one user) may hold."
    )
    store: str = Field(
        "",
        description="Where diagnoses, report summaries and fleet scans are kept: 'sqlite' (the "
        "default: a file under the user's state directory), 'sqlite:///ABSOLUTE/PATH' or "
        "'memory'.",
    )
    history_days: int = Field(
        30,
        ge=1,
        le=365,
        description="Days earlier reports of an instance are kept and feed the recurrence line.",
    )
    transport: Literal["stdio", "streamable-http"] = "stdio"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    allowed_hosts: str = Field(
        "",
        description="Host header values accepted over HTTP, comma-separated (host or host:port); "
        "default: the bind address and the loopback names, with the port.",
    )
    http_token: str = Field(
        "", repr=False, description="Bearer token(s) required over HTTP, comma-separated."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    outside_evidence: bool = Field(
        True, description="Read CloudMonitor metrics and ActionTrail API calls (optional sources)."
    )
    scan_rate_limits: str = Field(
        "",
        description="Fleet scans: per-API rate limits over the defaults, e.g. "
        "'RunCommand=2,DescribeInvocationResults=5/2s' (calls per second, or per N seconds).",
    )
    scan_concurrency: int = Field(
        4, ge=1, le=64, description="Fleet scans: batches of up to 100 instances in flight."
    )
    simulated: bool = Field(
        False,
        description="The endpoint is the bundled simulator: all three products use it, whatever "
        "the per-product overrides say.",
    )

    @field_validator("ca_bundle")
    @classmethod
    def _usable_ca_bundle(cls, value: str) -> str:
        return check_ca_bundle(value, "ECS_DIAG_CA_BUNDLE")

    @field_validator("store")
    @classmethod
    def _store_location(cls, value: str) -> str:
        parse_store(value)
        return value.strip()

    def store_path(self) -> Path | None:
        """The store file, or None for the in-memory store."""
        return parse_store(self.store)

    def product_endpoints(self) -> tuple[str | None, str | None, str | None]:
        """The ECS, CloudMonitor and ActionTrail endpoint overrides (None: the region's public
        endpoint). An ECS override is never followed by a silent switch to a public endpoint for
        the other two: they use it unless they have their own."""
        ecs = self.endpoint.strip() or None
        if self.simulated:
            return ecs, ecs, ecs
        return (
            ecs,
            self.metrics_endpoint.strip() or ecs,
            self.actiontrail_endpoint.strip() or ecs,
        )

    def service_config(self) -> ServiceConfig:
        return ServiceConfig(
            event_window_days=self.event_window_days,
            guest_commands=self.guest_commands,
            command_timeout_seconds=self.command_timeout_s,
            command_content_limit=self.command_content_limit,
            log_window_days=self.log_window_days,
            wait_deadline_seconds=self.wait_deadline_s,
            history_days=self.history_days,
        )
