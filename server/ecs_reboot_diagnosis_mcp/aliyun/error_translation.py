"""Turn whatever the SDK raised into one CloudApiError: code, clear message, hint, RequestId.

Secrets never reach a message: every text is scrubbed of the configured AccessKey ID, secret and
security token, as they are and URL-encoded once or twice (a legacy signature's string to sign,
which a SignatureDoesNotMatch answer echoes, carries the token encoded twice), before it is used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

from ecs_reboot_diagnosis.errors import CloudApiError
from ecs_reboot_diagnosis_mcp.aliyun.error_codes import (
    CREDENTIALS_HINT,
    CREDENTIALS_HINT_ZH,
    hint_for,
    rule_for,
)
from ecs_reboot_diagnosis_mcp.aliyun.retry import is_dropped_connection, is_untrusted_certificate

if TYPE_CHECKING:
    from alibabacloud_tea_openapi.exceptions import AlibabaCloudException

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


_SDK_PLACEHOLDER_MESSAGE = re.compile(r"^code: \d+, .* request id: .*$", re.S)
"""The message the SDK makes up when the body has none: ``code: 500, None request id: None``."""


def _present(value: object) -> str:
    """``value`` as text; "" for the SDK's stand-ins for a missing value (None, "None")."""
    text = str(value or "").strip()
    return "" if text == "None" else text


def api_error(
    exc: AlibabaCloudException,
    action: str,
    secrets: Iterable[str | None],
    attempts: int = 1,
    product: str = "ECS",
) -> CloudApiError:
    """A server-reported error (ClientException, ServerException, ThrottlingException)."""
    data = exc.data if isinstance(exc.data, dict) else {}
    code = _present(exc.code) or _field(data, "Code", "code")
    status = getattr(exc, "status_code", None) or data.get("statusCode")
    message = _field(data, "Message", "message") or _present(exc.message)
    request_id = _field(data, "RequestId", "requestId") or _present(exc.request_id)
    status_code = int(str(status)) if str(status).isdigit() else None
    secret_list = list(secrets)
    if not code:
        return _without_code(action, status_code, message, request_id, secret_list, attempts,
                             product)  # fmt: skip
    rule = rule_for(code, status_code)
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


def _without_code(
    action: str,
    status: int | None,
    message: str,
    request_id: str,
    secrets: list[str | None],
    attempts: int,
    product: str,
) -> CloudApiError:
    """An answer with an HTTP error status but no API error code (a gateway, a proxy, or the
    service failing before it could say more): the status and what little there is."""
    shown = f"HTTP {status}" if status is not None else "an error"
    said = "" if not message or _SDK_PLACEHOLDER_MESSAGE.match(message) else f": {message}"
    text = f"the {product} API returned {shown} without an error code{said}"
    if not request_id:
        text += " (request id: unknown)"
    rule = rule_for("", status)
    if rule.kind == "server":
        hint = "Try again later; if it keeps failing, check the service's status"
        hint += " and quote the RequestId to support." if request_id else "."
    else:
        hint = hint_for(rule, action=action)
    return CloudApiError(
        action,
        rule.kind,
        shown.replace(" ", "") if status is not None else "UnknownError",
        redact(text, secrets) + _after(attempts),
        request_id=request_id,
        hint=redact(hint, secrets),
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
    # The SDK's exception classes, imported here: by the time a failure is translated the SDK
    # is loaded, and modules that only import this one do not load it.
    from alibabacloud_credentials.exceptions import CredentialException
    from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
    from darabonba.exceptions import RetryError as DaraRetryError
    from Tea.exceptions import RetryError as TeaRetryError
    from Tea.exceptions import TeaException, UnretryableException

    if isinstance(exc, AlibabaCloudException):
        return api_error(exc, action, secret_list, attempts, product)
    inner: BaseException | None = exc
    if isinstance(exc, UnretryableException):
        inner = exc.inner_exception
        if isinstance(inner, AlibabaCloudException):
            return api_error(inner, action, secret_list, attempts, product)
    if isinstance(inner, CredentialException):
        return credentials_error(action, str(inner), secret_list)
    if inner is not None and is_untrusted_certificate(inner):
        return CloudApiError(
            action,
            "network",
            "UntrustedCertificate",
            redact(f"the TLS certificate of {endpoint} could not be verified", secret_list),
            hint="If the endpoint is right (a TLS-inspecting proxy, a private endpoint, the "
            "simulator's HTTPS mode), give the CA that signed its certificate with --ca-bundle "
            "FILE or ECS_DIAG_CA_BUNDLE=FILE (a PEM file; `ecs-reboot-diagnosis simulate --tls` "
            "prints its own). Verification is never turned off.",
        )
    if inner is not None and is_dropped_connection(inner):
        # No library detail: what aiohttp, urllib3 or http.client call it says nothing more.
        return CloudApiError(
            action,
            "network",
            "NetworkError",
            redact(
                f"{endpoint} closed the connection without answering" + _after(attempts),
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
