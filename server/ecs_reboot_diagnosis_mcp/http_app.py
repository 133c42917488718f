"""The streamable-HTTP app: the SDK's MCP endpoint behind an optional bearer-token check.

The SDK already refuses foreign Host/Origin headers on loopback binds (DNS rebinding). When
tokens are configured, every request must carry ``Authorization: Bearer <token>`` with one of
them; each token is a separate caller, and diagnoses are visible only to the caller that started
them (see ``mcp_server.caller``).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence

from mcp.server.mcpserver import MCPServer
from starlette.types import ASGIApp, Receive, Scope, Send


class BearerTokenGate:
    """Pure ASGI middleware: 401 unless the request presents one of ``tokens``."""

    def __init__(self, app: ASGIApp, tokens: Sequence[str]) -> None:
        self.app = app
        self.tokens = [t.encode() for t in tokens if t]

    def allowed(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, token = value.partition(b" ")
                if scheme.lower() != b"bearer":
                    return False
                presented = token.strip()
                # compare against every token so timing does not reveal which one matched
                matches = [hmac.compare_digest(presented, t) for t in self.tokens]
                return any(matches)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.tokens or self.allowed(scope):
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {"error": "unauthorized", "message": "Send Authorization: Bearer <token>."}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="ecs-reboot-diagnosis"'),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def parse_tokens(value: str) -> list[str]:
    """ECS_DIAG_HTTP_TOKEN holds one token, or several separated by commas."""
    return [t.strip() for t in value.split(",") if t.strip()]


def build_http_app(server: MCPServer, *, host: str, tokens: Sequence[str]) -> ASGIApp:
    app = server.streamable_http_app(host=host)
    return BearerTokenGate(app, tokens) if tokens else app
