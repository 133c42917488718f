"""The two paging styles of the ECS API.

- ``PageNumber`` (1-based) / ``PageSize``: the response echoes ``TotalCount``, ``PageNumber``,
  ``PageSize``.
- ``MaxResults`` / ``NextToken``: used as soon as either is sent; the response carries
  ``NextToken`` (``""`` on the last page) and ``TotalCount``; PageNumber/PageSize are ignored.

Tokens are opaque to clients; here they encode the offset plus a check tied to the action, so a
token from another action or a made-up one is rejected as the real service does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ecs_api_simulator.api_errors import invalid_parameter
from ecs_api_simulator.request_params import Params

T = TypeVar("T")


@dataclass(frozen=True)
class PagingRules:
    """Per-action limits (see research §3 table)."""

    page_size_default: int = 10
    page_size_max: int = 100
    supports_token: bool = True
    max_results_default: int = 10
    max_results_floor: int = 0
    """MaxResults values below this are raised to it (DescribeInstances: 10)."""
    max_results_max: int = 100
    clamp_max_results: bool = False
    """True: values above the maximum are lowered to it; False: they are an error."""
    echo_next_token: bool = True


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page_number: int | None
    page_size: int
    next_token: str | None

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {"TotalCount": self.total, "PageSize": self.page_size}
        if self.page_number is not None:
            body["PageNumber"] = self.page_number
        if self.next_token is not None:
            body["NextToken"] = self.next_token
        return body


def _token(action: str, offset: int) -> str:
    check = hashlib.sha256(f"{action}:{offset}".encode()).hexdigest()[:24]
    return f"{check}{offset:08x}"


def _offset_from_token(action: str, token: str) -> int:
    try:
        offset = int(token[-8:], 16)
    except ValueError:
        raise invalid_parameter("NextToken", "The token is malformed or expired.") from None
    if len(token) != 32 or _token(action, offset) != token:
        raise invalid_parameter("NextToken", "The token is malformed or expired.")
    return offset


def paginate(action: str, items: list[T], params: Params, rules: PagingRules) -> Page[T]:
    total = len(items)
    token_mode = rules.supports_token and (
        params.get("NextToken") is not None or params.get("MaxResults") is not None
    )
    if token_mode:
        size = params.integer("MaxResults", rules.max_results_default, minimum=0)
        if size == 0:
            size = rules.max_results_default
        size = max(size, rules.max_results_floor)
        if size > rules.max_results_max:
            if not rules.clamp_max_results:
                raise invalid_parameter("MaxResults", "It is out of the valid range.")
            size = rules.max_results_max
        token = params.get("NextToken")
        offset = _offset_from_token(action, token) if token else 0
        chunk = items[offset : offset + size]
        more = offset + size < total
        return Page(chunk, total, None, size, _token(action, offset + size) if more else "")
    number = params.integer("PageNumber", 1, minimum=1)
    size = params.integer(
        "PageSize", rules.page_size_default, minimum=1, maximum=rules.page_size_max
    )
    offset = (number - 1) * size
    chunk = items[offset : offset + size]
    next_token: str | None = None
    if rules.supports_token and rules.echo_next_token:
        next_token = _token(action, offset + size) if offset + size < total else ""
    return Page(chunk, total, number, size, next_token)


def cursor_token(scope: str, offset: int) -> str:
    """An opaque NextToken for ``offset``, valid only for the same ``scope`` (action and query)."""
    return _token(scope, offset)


def cursor_offset(scope: str, token: str) -> int:
    """The offset of a token from :func:`cursor_token`; InvalidParameter for any other token."""
    return _offset_from_token(scope, token)
