"""Turn whatever the SDK raised into one CloudApiError: code, clear message, hint, RequestId.

Secrets never reach a message: every text is scrubbed of the configured AccessKey ID, secret and
security token, as they are and URL-encoded once or twice (a legacy signature's string to sign,
which a SignatureDoesNotMatch answer echoes, carries the token encoded twice), before it is used.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from darabonba.exceptions import RetryError as DaraRetryError
from Tea.exceptions import RetryError as TeaRetryError
from Tea.exceptions import TeaException, UnretryableException

from ecs_reboot_diagnosis.errors import CloudApiError
from ecs_reboot_diagnosis_mcp.aliyun.error_codes import (
    CREDENTIALS_HINT,
    CREDENTIALS_HINT_ZH,
    hint_for,
    rule_for,
)
from ecs_reboot_diagnosis_mcp.aliyun.retry import is_dropped_connection

REDACTED = "***"


def _spellings(secret: str) -> list[str]:
    once = quote(secret, safe="")
    forms = {secret, once, quote(once, safe=""), quote_plus(secret)}
    return sorted(forms, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            for spelling in _spellings(secret):
                text = text.replace(spelling, REDACTED)
    return text


def _field(data: Any, *names: str) -> str:
    if isinstance(data, dict):
        for name in names:
            value = data.get(name)
            if value:
                return str(value)
    return ""


def _ram_action(exc: AlibabaCloudException) -> str | None:
    detail = getattr(exc, "access_denied_detail", None) or getattr(exc, "accessDeniedDetail", None)
    action = _field(detail, "AuthAction", "authAction")
    return action or None


def _after(attempts: int) -> str:
    return f" (gave up after {attempts} attempts)" if attempts > 1 else ""


def api_error(
    exc: AlibabaCloudException, action: str, secrets: Iterable[str | None], attempts: int = 1
) -> CloudApiError:
    """A server-reported error (ClientException, ServerException, ThrottlingException)."""
    data = exc.data if isinstance(exc.data, dict) else {}
    code = str(exc.code or _field(data, "Code", "code") or "UnknownError")
    status = getattr(exc, "status_code", None) or data.get("statusCode")
    message = _field(data, "Message", "message") or str(exc.message or "")
    request_id = _field(data, "RequestId", "requestId")
    if not request_id and exc.request_id and exc.request_id != "None":
        request_id = str(exc.request_id)
    status_code = int(str(status)) if str(status).isdigit() else None
    rule = rule_for(code, status_code)
    secret_list = list(secrets)
    return CloudApiError(
        action,
        rule.kind,
        code,
        redact(message, secret_list) + _after(attempts),
        request_id=request_id,
        hint=redact(hint_for(rule, action=action, ram_action=_ram_action(exc)), secret_list),
        hint_zh=redact(
            hint_for(rule, action=action, ram_action=_ram_action(exc), lang="zh-CN"), secret_list
        ),
    )


def reported_failure(
    action: str,
    code: str,
    message: str,
    *,
    request_id: str = "",
    secrets: Iterable[str | None] = (),
) -> CloudApiError:
    """A failure the service reported inside an HTTP 200 body (CloudMonitor's ``Success:
    false`` with ``Code``/``Message``); numeric codes are read as HTTP statuses."""
    code = code or "UnknownError"
    rule = rule_for(code, int(code) if code.isdigit() else None)
    secret_list = list(secrets)
    return CloudApiError(
        action,
        rule.kind,
        code,
        redact(message or "the service reported a failure", secret_list),
        request_id=request_id,
        hint=redact(hint_for(rule, action=action), secret_list),
        hint_zh=redact(hint_for(rule, action=action, lang="zh-CN"), secret_list),
    )


def credentials_error(action: str, message: str, secrets: Iterable[str | None]) -> CloudApiError:
    return CloudApiError(
        action,
        "credentials",
        "CredentialsNotFound",
        redact(message, list(secrets)),
        hint=CREDENTIALS_HINT,
        hint_zh=CREDENTIALS_HINT_ZH,
    )


def translate(
    exc: BaseException,
    action: str,
    *,
    endpoint: str,
    secrets: Iterable[str | None],
    product: str = "ECS",
    attempts: int = 1,
) -> CloudApiError:
    """Any exception out of an SDK call, as a CloudApiError (``product`` names the service,
    ``attempts`` says how many times the call was tried)."""
    secret_list = list(secrets)
    if isinstance(exc, AlibabaCloudException):
        return api_error(exc, action, secret_list, attempts)
    inner: BaseException | None = exc
    if isinstance(exc, UnretryableException):
        inner = exc.inner_exception
        if isinstance(inner, AlibabaCloudException):
            return api_error(inner, action, secret_list, attempts)
    if isinstance(inner, CredentialException):
        return credentials_error(action, str(inner), secret_list)
    if inner is not None and is_dropped_connection(inner):
        detail = str(getattr(inner, "message", "") or inner) or type(inner).__name__
        return CloudApiError(
            action,
            "network",
            "NetworkError",
            redact(
                f"{endpoint} closed the connection without answering: {detail}" + _after(attempts),
                secret_list,
            ),
            hint=f"Something between here and the {product} endpoint (a proxy, firewall or load "
            "balancer) or the endpoint itself cut the connection; check the network path and "
            "the endpoint setting. The call was retried before giving up.",
        )
    if isinstance(inner, DaraRetryError | TeaRetryError):
        detail = str(getattr(inner, "message", "") or inner)
        return CloudApiError(
            action,
            "network",
            "NetworkError",
            redact(f"could not reach {endpoint}: {detail}" + _after(attempts), secret_list),
            hint=f"Check the network path to the {product} endpoint, proxy variables and the "
            "endpoint setting; the call was retried before giving up.",
        )
    if isinstance(exc, TeaException) and exc.code == "InvalidCredentials":
        return credentials_error(action, str(exc.message or ""), secret_list)
    text = str(getattr(inner, "message", "") or inner or exc)
    if "parse the value as json" in text.lower():
        return CloudApiError(
            action,
            "unexpected_response",
            "NonJsonResponse",
            f"the endpoint {endpoint} answered with something that is not JSON",
            hint=f"Check that the endpoint is a {product} OpenAPI endpoint (a proxy or gateway may "
            "be answering instead).",
        )
    if isinstance(inner, OSError | TimeoutError):
        return CloudApiError(
            action,
            "network",
            "NetworkError",
            redact(f"could not reach {endpoint}: {inner}" + _after(attempts), secret_list),
            hint=f"Check the network path to the {product} endpoint and the endpoint setting.",
        )
    return CloudApiError(
        action,
        "unexpected_response",
        type(inner or exc).__name__,
        redact(text[:500], secret_list),
        hint="An unexpected SDK error; retry, and report it with the action name if it persists.",
    )
