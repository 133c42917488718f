"""The streamable-HTTP app: the SDK's MCP endpoint with its own Host/Origin checks and, when
tokens are configured, its own bearer-token authorization.

* Host and Origin (DNS rebinding): checked on every bind, loopback or not, against
  :func:`allowed_hosts` (``--allowed-host`` / ``ECS_DIAG_ALLOWED_HOSTS``; by default the bind
  address and the loopback names, with the port). A foreign Host gets 421, a foreign Origin 403.
* Tokens (``ECS_DIAG_HTTP_TOKEN``, comma-separated): verified by :class:`StaticTokenVerifier`
  through the SDK's ``AuthSettings``/``TokenVerifier`` support, so a request without a valid
  token gets 401 with ``WWW-Authenticate: Bearer ... resource_metadata="..."`` and the
  protected-resource metadata (RFC 9728) is served at ``/.well-known/oauth-protected-resource/mcp``.
  The tokens are static: no authorization server is run, and the metadata names this server's
  own origin as the issuer, where no OAuth metadata exists, so a client looking for an OAuth
  flow stops at once; clients send the token as a configured header.
* Each token is a separate owner: the verifier's ``client_id`` is a digest of the token, and
  the service refuses a diagnosis to any other owner (see ``DiagnosisService.status``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, Sequence

from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
TOKEN_ENV = "ECS_DIAG_HTTP_TOKEN"


class ConfigurationError(ValueError):
    """The HTTP settings are unsafe or malformed; the server must not start."""


def parse_tokens(value: str) -> list[str]:
    """ECS_DIAG_HTTP_TOKEN holds one token, or several separated by commas."""
    return [t.strip() for t in value.split(",") if t.strip()]


def owner_of(token: str) -> str:
    """The owner identity of a token: a digest, so the token itself is never stored."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


class StaticTokenVerifier:
    """The SDK's ``TokenVerifier`` over a fixed set of tokens, compared in constant time."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self._tokens = [(t.encode(), owner_of(t)) for t in tokens if t]
        if not self._tokens:
            raise ValueError("at least one token is required")

    def __repr__(self) -> str:  # never show the tokens
        return f"StaticTokenVerifier({len(self._tokens)} tokens)"

    async def verify_token(self, token: str) -> AccessToken | None:
        presented = token.strip().encode()
        owner = None
        for known, known_owner in self._tokens:
            # compare against every token so timing does not reveal which one matched
            if hmac.compare_digest(presented, known):
                owner = known_owner
        if owner is None:
            return None
        # ``token`` is required by the model; the owner digest stands in for the secret
        return AccessToken(token=owner, client_id=owner, scopes=[])


def is_loopback(host: str) -> bool:
    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _bracketed(host: str) -> str:
    """An IPv6 address as it appears in a Host header."""
    return f"[{host}]" if host.count(":") >= 2 and not host.startswith("[") else host


def allowed_hosts(bind: str, port: int, configured: Iterable[str] = ()) -> list[str]:
    """Host header values the server accepts: the configured ones (``host`` or ``host:port``;
    a bare host gets the port), else the bind address and the loopback names with the port."""
    values = [h.strip() for h in configured if h.strip()]
    if not values:
        values = [_bracketed(bind), *LOOPBACK_NAMES]
    result: list[str] = []
    for value in values:
        host = _bracketed(value)
        has_port = host.rsplit("]", 1)[-1].count(":") == 1
        entry = host if has_port else f"{host}:{port}"
        if any(c in entry for c in "/ @?#,"):
            raise ConfigurationError(f"not a host name or host:port: {value!r}")
        if entry not in result:
            result.append(entry)
    return result


def transport_security(hosts: Sequence[str]) -> TransportSecuritySettings:
    """The SDK's DNS-rebinding protection, on, for these Host values and their http(s) origins."""
    origins = [f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=list(hosts), allowed_origins=origins
    )


def resource_url(hosts: Sequence[str]) -> str:
    """The URL that identifies this MCP server in its protected-resource metadata: the first
    allowed host that is a concrete address (not 0.0.0.0 or ::)."""
    for host in hosts:
        name = host.rsplit(":", 1)[0].strip("[]")
        if name not in ("0.0.0.0", "::"):
            return f"http://{host}/mcp"
    return f"http://{hosts[0]}/mcp"


def auth_settings(hosts: Sequence[str]) -> AuthSettings:
    url = resource_url(hosts)
    origin = url.removesuffix("/mcp")
    return AuthSettings(
        issuer_url=AnyHttpUrl(origin),
        resource_server_url=AnyHttpUrl(url),
        validate_token_resource=False,  # static tokens are bound to this server by configuration
    )


def check_exposure(bind: str, tokens: Sequence[str]) -> None:
    """A bind beyond loopback without a token would let anyone who reaches the port run the
    collector in guests: refuse it."""
    if not tokens and not is_loopback(bind):
        raise ConfigurationError(
            f"refusing to serve MCP over HTTP on {bind} without a bearer token: anyone who can "
            f"reach this port could run diagnoses. Set {TOKEN_ENV} (one or more tokens, "
            "comma-separated), or bind to 127.0.0.1."
        )
