"""Settings of the adapters: environment variables with the prefix ECS_DIAG_, CLI flags on top.

A bad value is refused with a message that names where it came from, the variable
(``ECS_DIAG_PORT=99999: must be 1-65535``) or the command-line option (``--port 99999: ...``):
:func:`load_settings` and :func:`describe_invalid`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from ecs_reboot_diagnosis.models import Lang
from ecs_reboot_diagnosis.service import ServiceConfig
from ecs_reboot_diagnosis_mcp.aliyun.ca_bundle import check_ca_bundle

STORE_ENV = "ECS_DIAG_STORE"
STORE_FILE = "diagnoses.sqlite3"
APP_DIR = "ecs-reboot-diagnosis"


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's state directory for this program: ``$XDG_STATE_HOME/ecs-reboot-diagnosis``, by
    default under ``~/.local/state`` (an unset or relative XDG_STATE_HOME is ignored, as the XDG
    spec says). It holds the store file (diagnoses, reports and fleet scans)."""
    env = os.environ if environ is None else environ
    state = env.get("XDG_STATE_HOME", "")
    if state and Path(state).is_absolute():
        return Path(state) / APP_DIR
    try:
        home = Path.home()
    except RuntimeError:
        raise ValueError(
            "the home directory is not known, so the state directory cannot be placed: set "
            f"XDG_STATE_HOME (or {STORE_ENV}=sqlite:///ABSOLUTE/PATH or {STORE_ENV}=memory)"
        ) from None
    return home / ".local/state" / APP_DIR


def default_store_path(environ: Mapping[str, str] | None = None) -> Path:
    """``diagnoses.sqlite3`` in :func:`state_dir`."""
    return state_dir(environ) / STORE_FILE


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

    region_id: str = Field(
        "",
        description="The command line's region when --region is not given (diagnose only; the "
        "MCP tools never assume a region).",
    )
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
    wait_deadline_s: float | None = Field(
        None,
        gt=0,
        le=3600,
        description="How long the one-call diagnosis waits for the guest collector; default: "
        "the collector's timeout plus 30 s.",
    )
    long_poll_s: float = Field(
        25.0,
        gt=0,
        le=55,
        description="How long one step tool waits for the guest collector before it answers "
        "pending (below the 60 s request timeout of common MCP clients).",
    )
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
    transport: Literal["stdio", "http", "streamable-http"] = Field(
        "stdio",
        description="MCP transport: stdio, or http (streamable HTTP; also spelled "
        "streamable-http).",
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
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

    @field_validator("endpoint", "metrics_endpoint", "actiontrail_endpoint")
    @classmethod
    def _endpoint_form(cls, value: str) -> str:
        value = value.strip()
        if value:
            check_endpoint(value)
        return value

    @property
    def http_transport(self) -> bool:
        """Streamable HTTP, whichever of its two spellings was given."""
        return self.transport in ("http", "streamable-http")

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
            lang=self.lang,
            long_poll_seconds=self.long_poll_s,
        )


ENDPOINT_FORM = (
    "must be host[:port] or an http:// or https:// URL (e.g. ecs.cn-hangzhou.aliyuncs.com)"
)


def check_endpoint(value: str) -> None:
    """Refuse an endpoint the SDK would only fail on later (ValueError naming the form)."""
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https"):
            raise ValueError(ENDPOINT_FORM)
        netloc = parts.netloc
    else:
        netloc = value.split("/", 1)[0]
    try:
        parsed = urlsplit(f"//{netloc}")
        port = parsed.port
    except ValueError:
        raise ValueError(ENDPOINT_FORM + "; the port must be 1-65535") from None
    if not parsed.hostname or any(c.isspace() for c in value) or port == 0:
        raise ValueError(ENDPOINT_FORM)


ENV_PREFIX = "ECS_DIAG_"
INTERNAL_FIELDS = frozenset({"simulated"})
"""Fields the program sets for itself, not meant to be set from the environment."""
SECRET_FIELDS = frozenset({"http_token"})
"""Fields whose value is never repeated in a message."""


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def documented_variables() -> list[str]:
    """Every ECS_DIAG_* variable a user may set, in the model's order."""
    return [env_name(name) for name in Settings.model_fields if name not in INTERNAL_FIELDS]


def _bounds(info: FieldInfo) -> tuple[Any, Any, bool]:
    """The field's lower and upper bounds, and whether the lower one is exclusive."""
    low: Any = None
    high: Any = None
    exclusive = False
    for item in info.metadata:
        for name in ("ge", "gt"):
            value = getattr(item, name, None)
            if value is not None:
                low, exclusive = value, name == "gt"
        for name in ("le", "lt"):
            value = getattr(item, name, None)
            if value is not None:
                high = value
    return low, high, exclusive


ENDPOINT_FORM_ZH = (
    "必须是 host[:port]，或 http:// 或 https:// 开头的 URL（例如 ecs.cn-hangzhou.aliyuncs.com）"
)


def _expected_zh(field: str, error_type: str, ctx: Mapping[str, Any]) -> str:
    """:func:`_expected` in Chinese (a validator's own message is kept where it has none)."""
    info = Settings.model_fields.get(field)
    if error_type == "literal_error":
        choices = str(ctx.get("expected", "")).replace("'", "").replace(" or ", "、")
        return "必须是 " + choices.replace(", ", "、") + " 之一"
    if error_type == "value_error" and ctx.get("error") is not None:
        said = str(ctx["error"])
        if said.startswith(ENDPOINT_FORM):
            extra = "；端口必须在 1-65535 之间" if "port must be" in said else ""
            return ENDPOINT_FORM_ZH + extra
        return said
    if error_type == "bool_parsing":
        return "必须是 true 或 false（或 1/0、yes/no、on/off）"
    low, high, exclusive = _bounds(info) if info is not None else (None, None, False)
    whole = info is not None and info.annotation is int
    if whole and low is not None and high is not None:
        return f"必须在 {low}-{high} 之间"
    number = "整数" if whole else "数"
    above = f"大于 {low}" if exclusive else f"不小于 {low}"
    if low is not None and high is not None:
        return f"必须是{above} 且不大于 {high} 的{number}"
    if low is not None:
        return f"必须是{above} 的{number}"
    if high is not None:
        return f"必须是不大于 {high} 的{number}"
    return f"必须是{number}"


def _expected(field: str, error_type: str, ctx: Mapping[str, Any]) -> str:
    """What the value must be, in words a person reads at a prompt."""
    info = Settings.model_fields.get(field)
    if error_type == "literal_error":
        return "must be " + str(ctx.get("expected", "")).replace("'", "")
    if error_type == "value_error" and ctx.get("error") is not None:
        return str(ctx["error"])
    if error_type == "bool_parsing":
        return "must be true or false (or 1/0, yes/no, on/off)"
    low, high, exclusive = _bounds(info) if info is not None else (None, None, False)
    whole = info is not None and info.annotation is int
    if whole and low is not None and high is not None:
        return f"must be {low}-{high}"
    number = "a whole number" if whole else "a number"
    above = f"above {low}" if exclusive else f"of at least {low}"
    if low is not None and high is not None:
        return f"must be {number} {above} and at most {high}"
    if low is not None:
        return f"must be {number} {above}"
    if high is not None:
        return f"must be {number} of at most {high}"
    return f"must be {number}"


def describe_invalid(
    exc: ValidationError, flags: Mapping[str, str] | None = None, lang: Lang = "en"
) -> str:
    """One line per bad value, naming the option (``flags``: field -> option given on the
    command line) or else the ECS_DIAG_* variable; no pydantic wording, no documentation link;
    in ``lang``."""
    flags = flags or {}
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        raw = error.get("input")
        shown = "***" if field in SECRET_FIELDS else str(raw)[:60]
        if field in flags:
            where = f"{flags[field]} {shown}"
        else:
            where = f"{env_name(field)}={shown}"
        ctx = error.get("ctx") or {}
        if lang == "zh-CN":
            lines.append(f"{where}：{_expected_zh(field, error['type'], ctx)}")
        else:
            lines.append(f"{where}: {_expected(field, error['type'], ctx)}")
    return ("；" if lang == "zh-CN" else "; ").join(lines)


class SettingsInvalid(ValueError):
    """A setting has a bad value; the message names the variable or the option."""


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    flags: Mapping[str, str] | None = None,
    lang: Lang = "en",
) -> Settings:
    """The environment's settings with ``overrides`` (from command-line options, named in
    ``flags``: field -> option) on top; every value validated, the overrides included; a bad
    one is described in ``lang``."""
    try:
        return Settings(**dict(overrides or {}))
    except ValidationError as exc:
        raise SettingsInvalid(describe_invalid(exc, flags, lang)) from None
