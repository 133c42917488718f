"""Build the official ECS SDK client: credentials, endpoint, user agent, timeouts, retries.

Facts this relies on (research ecs-api.md §1, §5):
- ``Config()`` without an AccessKey does not use the default credentials chain; the chain is
  passed explicitly as ``credential=`` and resolved once up front, so a missing configuration is a
  clean error before any API call.
- Retries work only through ``Config.retry_options``; RuntimeOptions retry fields are ignored.
  The SDK's retry loop blocks the event loop while it backs off (``time.sleep``) and does not
  retry dropped connections, so it is set to one attempt and the gateway retries instead
  (``retry.py``).
- ``endpoint`` is ``host[:port]`` without a scheme; loopback endpoints need ``protocol="http"``.
- ``Config.ca`` is the CA bundle to trust over HTTPS (verification is never turned off);
  ``Config.max_idle_conns`` sizes the SDK's per-endpoint connection pool (``sdk_transport``).

The SDK modules are imported when a client is first built, not with this module: commands and
servers that never call the cloud, or not yet, do not pay for loading them.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from ecs_reboot_diagnosis_mcp.aliyun.retry import RetryPolicy
from ecs_reboot_diagnosis_mcp.aliyun.sdk_transport import POOL_SIZE

if TYPE_CHECKING:
    from alibabacloud_credentials.client import Client as CredentialClient
    from darabonba.policy.retry import RetryOptions

USER_AGENT = "AlibabaCloud-Agent-Skills/alibabacloud-ecs-reboot-or-crash-diagnosis"
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass(frozen=True)
class EcsClientSettings:
    """How to reach ECS (and, with the same credentials, CloudMonitor and ActionTrail).

    Without an AccessKey the default credentials chain is used. ``endpoint`` overrides the
    product's public regional endpoint; the CloudMonitor and ActionTrail gateways take these
    settings too, each with its own endpoint (``Settings.product_endpoints``: their own override,
    else the ECS one, so an ECS override never leaves them on a public endpoint)."""

    endpoint: str | None = None
    """``host[:port]`` or a URL; None lets the SDK pick the region's public endpoint."""
    protocol: Literal["http", "https"] | None = None
    """Default: the endpoint URL's scheme, ``http`` for loopback hosts, else ``https``."""
    access_key_id: str | None = field(default=None, repr=False)
    access_key_secret: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    connect_timeout_ms: int = 5_000
    read_timeout_ms: int = 10_000
    max_attempts: int = 4
    """Total attempts for throttling, transient server errors (5xx), network failures and
    dropped connections; the gateway retries, awaiting its backoff."""
    backoff_period_ms: int = 400
    """Base of the exponential backoff with full jitter between attempts."""
    max_backoff_ms: int = 10_000
    user_agent: str = USER_AGENT
    ca_bundle: str | None = None
    """A PEM file of CA certificates to trust over HTTPS, besides the public roots (a TLS
    inspecting proxy, the simulator's throwaway CA); checked by ``ca_bundle.check_ca_bundle``."""

    def secrets(self) -> tuple[str | None, ...]:
        return (self.access_key_id, self.access_key_secret, self.security_token)

    def endpoint_and_protocol(self) -> tuple[str | None, Literal["http", "https"]]:
        """The endpoint as the SDK wants it (no scheme) and the protocol to use."""
        if not self.endpoint:
            return None, self.protocol or "https"
        endpoint = self.endpoint.strip().rstrip("/")
        scheme = None
        if "://" in endpoint:
            parts = urlsplit(endpoint)
            scheme, endpoint = parts.scheme.lower(), parts.netloc
        host = endpoint.rsplit(":", 1)[0] if endpoint.count(":") == 1 else endpoint
        protocol: Literal["http", "https"]
        if self.protocol:
            protocol = self.protocol
        elif scheme == "http":
            protocol = "http"
        elif scheme == "https":
            protocol = "https"
        else:
            protocol = "http" if host in _LOOPBACK_HOSTS else "https"
        return endpoint, protocol


def retry_policy(settings: EcsClientSettings) -> RetryPolicy:
    """How the gateway retries: attempts and exponential backoff with full jitter."""
    return RetryPolicy(
        max_attempts=max(1, settings.max_attempts),
        backoff_period_ms=settings.backoff_period_ms,
        max_backoff_ms=settings.max_backoff_ms,
    )


def retry_options(settings: EcsClientSettings) -> RetryOptions:
    """The SDK makes one attempt per call: its retry loop sleeps with ``time.sleep`` between
    attempts, so retries are the gateway's (``retry_policy``)."""
    from darabonba.policy.retry import RetryOptions

    return RetryOptions(retryable=False, retry_condition=[], no_retry_condition=[])


def resolve_default_credentials(action: str = "ResolveCredentials") -> CredentialClient:
    """The default credentials chain, resolved now so that a missing setup fails clearly."""
    from alibabacloud_credentials.exceptions import CredentialException

    from ecs_reboot_diagnosis_mcp.aliyun.credential_chain import default_credential_client
    from ecs_reboot_diagnosis_mcp.aliyun.error_translation import credentials_error

    try:
        client = default_credential_client()
        client.get_credential()
    except CredentialException as exc:
        raise credentials_error(action, str(exc), ()) from None
    return client


def build_config(
    settings: EcsClientSettings, region_id: str, credential: CredentialClient | None
) -> Any:
    from alibabacloud_tea_openapi import models as open_api_models

    endpoint, protocol = settings.endpoint_and_protocol()
    options: dict[str, Any] = {
        "region_id": region_id,
        "protocol": protocol,
        "connect_timeout": settings.connect_timeout_ms,
        "read_timeout": settings.read_timeout_ms,
        "user_agent": settings.user_agent,
        "retry_options": retry_options(settings),
        "max_idle_conns": POOL_SIZE,
    }
    if settings.ca_bundle:
        options["ca"] = settings.ca_bundle
    if endpoint:
        options["endpoint"] = endpoint
    if settings.access_key_id and settings.access_key_secret:
        options["access_key_id"] = settings.access_key_id
        options["access_key_secret"] = settings.access_key_secret
        if settings.security_token:
            options["security_token"] = settings.security_token
    else:
        options["credential"] = credential or resolve_default_credentials()
    return open_api_models.Config(**options)


def sdk_attribute(path: str) -> Any:
    """``"package.module:Name"`` -> the object, importing the module now (SDKs load lazily)."""
    module, _, name = path.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, name) if name else loaded


def build_sdk_client(
    client_class: Callable[[Any], Any] | str,
    settings: EcsClientSettings,
    region_id: str,
    credential: CredentialClient | None = None,
) -> Any:
    """A client of any official Alibaba Cloud SDK (ECS, CloudMonitor, ActionTrail) for one
    region: the same credentials, endpoint override, CA bundle, connection pool, user agent,
    timeouts and retries. Without an endpoint override the SDK picks the product's public
    endpoint of ``region_id``. ``client_class`` may be given as ``"module:Client"``."""
    factory = sdk_attribute(client_class) if isinstance(client_class, str) else client_class
    # The SDK's synchronous transport dumps every request's headers (the Authorization header
    # with the AccessKey ID, the security token) to its own stderr handler when DEBUG=sdk is
    # set: credentials never reach any output, so that logger stays off.
    logging.getLogger("darabonba-core").disabled = True
    return factory(build_config(settings, region_id, credential))


ECS_CLIENT = "alibabacloud_ecs20140526.client:Client"


def build_client(
    settings: EcsClientSettings, region_id: str, credential: CredentialClient | None = None
) -> Any:
    """An ECS client for one region (DescribeInstanceAttribute takes its region from it)."""
    return build_sdk_client(ECS_CLIENT, settings, region_id, credential)
