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

from ecs_reboot_diagnosis.errors import CloudApiError, quote_api
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
PRODUCT_ZH: dict[str, str] = {"ECS": "ECS", "CloudMonitor": "云监控", "ActionTrail": "操作审计"}
"""The products' names in a Chinese sentence (glossary)."""


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


def _after_zh(attempts: int) -> str:
    return f"，尝试 {attempts} 次后放弃" if attempts > 1 else ""


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
        message_zh=quote_api(redact(message, secret_list)) + _after_zh(attempts),
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
    shown_zh = f"HTTP {status}" if status is not None else "错误"
    quoted = bool(message) and not _SDK_PLACEHOLDER_MESSAGE.match(message)
    said = f": {message}" if quoted else ""
    said_zh = f"，内容为 {quote_api(message)}" if quoted else ""
    text = f"the {product} API returned {shown} without an error code{said}"
    text_zh = f"{PRODUCT_ZH.get(product, product)} API 返回了 {shown_zh}，但没有错误码{said_zh}"
    if not request_id:
        text += " (request id: unknown)"
        text_zh += "，RequestId 未知"
    rule = rule_for("", status)
    if rule.kind == "server":
        hint = "Try again later; if it keeps failing, check the service's status"
        hint += " and quote the RequestId to support." if request_id else "."
        hint_zh = "请稍后重试；如果一直失败，请检查该服务的状态" + (
            "，并向技术支持提供 RequestId。" if request_id else "。"
        )
    else:
        hint = hint_for(rule, action=action)
        hint_zh = hint_for(rule, action=action, lang="zh-CN")
    return CloudApiError(
        action,
        rule.kind,
        shown.replace(" ", "") if status is not None else "UnknownError",
        redact(text, secrets) + _after(attempts),
        message_zh=redact(text_zh, secrets) + _after_zh(attempts),
        request_id=request_id,
        hint=redact(hint, secrets),
        hint_zh=redact(hint_zh, secrets),
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
        message_zh=quote_api(redact(message, secret_list)) if message else "服务报告了失败",
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
            message_zh=redact(f"无法验证 {endpoint} 的 TLS 证书", secret_list),
            hint="If the endpoint is right (a TLS-inspecting proxy, a private endpoint, the "
            "simulator's HTTPS mode), give the CA that signed its certificate with --ca-bundle "
            "FILE or ECS_DIAG_CA_BUNDLE=FILE (a PEM file; `ecs-reboot-diagnosis simulate --tls` "
            "prints its own). Verification is never turned off.",
            hint_zh="如果 endpoint 没有错（会检查 TLS 的代理、私有 endpoint、模拟器的 HTTPS "
            "模式），请用 --ca-bundle FILE 或 ECS_DIAG_CA_BUNDLE=FILE 指定签发其证书的 CA"
            "（PEM 文件；`ecs-reboot-diagnosis simulate --tls` 会打印它自己的 CA）。"
            "证书验证永远不会关闭。",
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
            message_zh=redact(
                f"{endpoint} 未作应答就关闭了连接" + _after_zh(attempts), secret_list
            ),
            hint=f"Something between here and the {product} endpoint (a proxy, firewall or load "
            "balancer) or the endpoint itself cut the connection; check the network path and "
            "the endpoint setting. The call was retried before giving up.",
            hint_zh=f"本机与 {PRODUCT_ZH.get(product, product)} endpoint 之间的某个环节（代理、"
            "防火墙或负载均衡）或 endpoint 本身切断了连接；请检查网络路径和 endpoint 设置。"
            "放弃之前已重试过该调用。",
        )
    if isinstance(inner, DaraRetryError | TeaRetryError):
        detail = str(getattr(inner, "message", "") or inner)
        return CloudApiError(
            action,
            "network",
            "NetworkError",
            redact(f"could not reach {endpoint}: {detail}" + _after(attempts), secret_list),
            message_zh=redact(
                f"无法连接 {endpoint}（{quote_api(detail)}）" + _after_zh(attempts), secret_list
            ),
            hint=f"Check the network path to the {product} endpoint, proxy variables and the "
            "endpoint setting; the call was retried before giving up.",
            hint_zh=f"请检查到 {PRODUCT_ZH.get(product, product)} endpoint 的网络路径、代理变量和 "
            "endpoint 设置；放弃之前已重试过该调用。",
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
            message_zh=f"endpoint {endpoint} 的应答不是 JSON",
            hint=f"Check that the endpoint is a {product} OpenAPI endpoint (a proxy or gateway may "
            "be answering instead).",
            hint_zh=f"请确认该 endpoint 是 {PRODUCT_ZH.get(product, product)} 的 OpenAPI endpoint"
            "（应答的可能是代理或网关）。",
        )
    if isinstance(inner, OSError | TimeoutError):
        return CloudApiError(
            action,
            "network",
            "NetworkError",
            redact(f"could not reach {endpoint}: {inner}" + _after(attempts), secret_list),
            message_zh=redact(
                f"无法连接 {endpoint}（{quote_api(str(inner))}）" + _after_zh(attempts), secret_list
            ),
            hint=f"Check the network path to the {product} endpoint and the endpoint setting.",
            hint_zh=f"请检查到 {PRODUCT_ZH.get(product, product)} endpoint 的网络路径和 endpoint "
            "设置。",
        )
    return CloudApiError(
        action,
        "unexpected_response",
        type(inner or exc).__name__,
        redact(text[:500], secret_list),
        hint="An unexpected SDK error; retry, and report it with the action name if it persists.",
        hint_zh="意外的 SDK 错误；请重试，如果问题持续，请连同操作名称一起报告。",
    )
