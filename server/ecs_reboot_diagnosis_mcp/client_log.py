"""MCP logging notifications (``notifications/message``) that mark the steps of a diagnosis.

The client sees, at level ``info``, one line per step the server did ("ecs_check_platform_events:
...") next to the tool results, which is what a person watching an agent wants to follow.

Two protocol eras:

* handshake versions (2024-11-05 .. 2025-11-25): the client may call ``logging/setLevel``; the
  level is kept on the connection and lines below it are not sent. ``MCPServer`` registers no
  handler for it, so :func:`accept_set_level` adds one (through the low-level server: 2.3.0 has
  no public hook), which also declares the ``logging`` capability;
* 2026-07-28: a request opts in through its own ``_meta`` and the SDK filters by it.

Logging to the client is deprecated as of 2026-07-28 (SEP-2577), so the SDK warns at each call;
the warning is silenced around the call alone, which is synchronous (the coroutine it returns is
awaited after the filter is restored).
"""

from __future__ import annotations

import warnings
from typing import Any, Final

from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import EmptyResult, LoggingLevel, SetLevelRequestParams

from ecs_reboot_diagnosis.text_safety import strip_controls

LEVELS: Final[tuple[LoggingLevel, ...]] = (
    "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"
)  # fmt: skip
LOGGER: Final = "ecs-reboot-diagnosis"
_LEVEL_KEY: Final = "ecs_reboot_diagnosis.log_level"


def _connection_state(session: Any) -> dict[str, Any] | None:
    """The connection's scratch state (private in mcp 2.3.0; None if it moved)."""
    state = getattr(getattr(session, "_connection", None), "state", None)
    return state if isinstance(state, dict) else None


def accept_set_level(mcp: MCPServer) -> None:
    """Answer ``logging/setLevel`` by keeping the level for the connection."""

    async def set_level(ctx: Any, params: SetLevelRequestParams) -> EmptyResult:
        state = _connection_state(ctx.session)
        if state is not None:
            state[_LEVEL_KEY] = params.level
        return EmptyResult()

    mcp._lowlevel_server.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)


async def mark_step(ctx: Context, message: str, level: LoggingLevel = "info") -> None:
    """Send ``message`` (control characters removed) as a log notification of this request,
    unless the client asked for a higher level on this connection."""
    session = ctx.request_context.session
    state = _connection_state(session) or {}
    wanted = state.get(_LEVEL_KEY, "debug")
    if LEVELS.index(level) < LEVELS.index(wanted):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        sending = session.send_log_message(
            level=level,
            data=strip_controls(message),
            logger=LOGGER,
            related_request_id=ctx.request_id,
        )
    await sending
