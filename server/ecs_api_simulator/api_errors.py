"""Errors the simulated API answers with: code, HTTP status and message as the real service sends.

Texts and statuses come from the ECS error-code tables and real error bodies (see
``shared/research/ecs-api.md`` §2.3 and §4). Where the real text is unknown the simulator uses the
closest documented wording; references/simulator-scenarios.md lists those choices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ecs_api_simulator.account import ACCOUNT_ID


class ApiError(Exception):
    """An error response: ``{RequestId, HostId, Code, Message, Recommend[, extra...]}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra: dict[str, Any] = dict(extra or {})
        self.headers: dict[str, str] = dict(headers or {})


def missing_parameter(name: str, status: int = 400) -> ApiError:
    return ApiError(
        status,
        "MissingParameter",
        f'The input parameter "{name}" that is mandatory for processing this request '
        "is not supplied.",
    )


def invalid_parameter(name: str, detail: str = "", status: int = 400, code: str = "") -> ApiError:
    text = f'The specified parameter "{name}" is not valid.'
    if detail:
        text += f" {detail}"
    return ApiError(status, code or "InvalidParameter", text)


def invalid_region() -> ApiError:
    return ApiError(404, "InvalidRegionId.NotFound", "The specified RegionId does not exist.")


def instance_id_not_found() -> ApiError:
    return ApiError(404, "InvalidInstanceId.NotFound", "The specified InstanceId does not exist.")


def instance_not_found_cloud_assistant() -> ApiError:
    return ApiError(404, "InvalidInstance.NotFound", "The specified instance does not exist.")


@dataclass(frozen=True)
class RamDenial:
    """How one product answers a RAM denial: code, text and the RAM action it names."""

    code: str
    message: str
    ram_prefix: str
    ram_actions: Mapping[str, str] = field(default_factory=dict)
    """API action -> RAM action name, where they differ (CloudMonitor)."""

    def auth_action(self, action: str) -> str:
        return f"{self.ram_prefix}:{self.ram_actions.get(action, action)}"

    def error(self, action: str, principal: str) -> ApiError:
        return ApiError(
            403,
            self.code,
            self.message,
            extra={
                "AccessDeniedDetail": {
                    "PolicyType": "AccountLevelIdentityBasedPolicy",
                    "AuthPrincipalOwnerId": ACCOUNT_ID,
                    "EncodedDiagnosticMessage": "U0lNVUxBVE9SLURJQUdOT1NUSUMtTUVTU0FHRQ==",
                    "AuthPrincipalType": "SubUser",
                    "AuthPrincipalDisplayName": principal,
                    "NoPermissionType": "ImplicitDeny",
                    "AuthAction": self.auth_action(action),
                }
            },
        )


ECS_DENIAL = RamDenial(
    "Forbidden.RAM",
    "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
    "ecs",
)
GATEWAY_DENIAL_MESSAGE = (
    "You are not authorized to do this action. You should be authorized by RAM."
)
"""The API gateway's denial text, used for CloudMonitor and ActionTrail (a simulator choice)."""


def forbidden_ram(action: str, principal: str) -> ApiError:
    """An ECS RAM denial (``Forbidden.RAM``, ``AuthAction`` ``ecs:<Action>``)."""
    return ECS_DENIAL.error(action, principal)


def throttling(message: str = "Request was denied due to request throttling.") -> ApiError:
    return ApiError(400, "Throttling", message)


def internal_error() -> ApiError:
    return ApiError(
        500,
        "InternalError",
        "The request processing has failed due to some unknown error, exception or failure.",
    )
