"""Settings of the adapters: environment variables with the prefix ECS_DIAG_, CLI flags on top."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ecs_reboot_diagnosis.models import LANGS, Lang
from ecs_reboot_diagnosis.service import ServiceConfig


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
    lang: Lang = Field(
        "en",
        description="Default language of reports, tool errors and elicitation: en or zh-CN "
        "(a diagnosis started with its own lang keeps it).",
    )
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
    simulated: bool = Field(
        False,
        description="The endpoint is the bundled simulator: all three products use it, whatever "
        "the per-product overrides say.",
    )

    @field_validator("lang", mode="before")
    @classmethod
    def _known_lang(cls, value: object) -> object:
        if value not in LANGS:
            raise ValueError(f"ECS_DIAG_LANG must be one of {', '.join(LANGS)}, not {value!r}")
        return value

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
            lang=self.lang,
        )
