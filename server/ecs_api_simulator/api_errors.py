"""Errors the simulated API answers with: code, HTTP status and message as the real service sends.

Texts and statuses come from the ECS error-code tables and real error bodies (see
``shared/research/ecs-api.md`` §2.3 and §4). Where the real text is unknown the simulator uses the
closest documented wording; SCENARIOS.md lists those choices.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


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


def forbidden_ram(action: str, principal: str) -> ApiError:
    return ApiError(
        403,
        "Forbidden.RAM",
        "User not authorized to operate on the specified resource, or this API doesn't "
        "support RAM.",
        extra={
            "AccessDeniedDetail": {
                "PolicyType": "AccountLevelIdentityBasedPolicy",
                "AuthPrincipalOwnerId": "1234567890123456",
                "EncodedDiagnosticMessage": "U0lNVUxBVE9SLURJQUdOT1NUSUMtTUVTU0FHRQ==",
                "AuthPrincipalType": "SubUser",
                "AuthPrincipalDisplayName": principal,
                "NoPermissionType": "ImplicitDeny",
                "AuthAction": f"ecs:{action}",
            }
        },
    )


def throttling(message: str = "Request was denied due to request throttling.") -> ApiError:
    return ApiError(400, "Throttling", message)


def internal_error() -> ApiError:
    return ApiError(
        500,
        "InternalError",
        "The request processing has failed due to some unknown error, exception or failure.",
    )
