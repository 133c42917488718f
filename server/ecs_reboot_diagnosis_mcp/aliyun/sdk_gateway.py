"""What every gateway over an official Alibaba Cloud SDK shares: one client per region, the
credentials resolved once, and one way to call the SDK and turn its failures into CloudApiError.

The ECS, CloudMonitor and ActionTrail gateways differ only in the SDK client class, the product
name used in messages and the calls they make.

Calls go through the SDK's synchronous methods on a worker thread (``sdk_transport``: why that
is the way to keep connections and one TLS context per endpoint). The SDK itself is imported
there too, on the first call: building a gateway costs nothing.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from tenacity import RetryCallState

from ecs_reboot_diagnosis.errors import CloudApiError
from ecs_reboot_diagnosis_mcp.aliyun.client_factory import (
    EcsClientSettings,
    build_sdk_client,
    resolve_default_credentials,
    retry_policy,
    sdk_attribute,
)
from ecs_reboot_diagnosis_mcp.aliyun.error_translation import PRODUCT_ZH, translate
from ecs_reboot_diagnosis_mcp.aliyun.flow_control import RateLimiter
from ecs_reboot_diagnosis_mcp.aliyun.retry import retry_reason
from ecs_reboot_diagnosis_mcp.aliyun.retry import retrying as _retrying
from ecs_reboot_diagnosis_mcp.aliyun.sdk_transport import run_blocking

if TYPE_CHECKING:
    from alibabacloud_credentials.client import Client as CredentialClient

log = logging.getLogger(__name__)


class SdkModel:
    """An SDK model to make later, from the SDK's models module, on the worker thread:
    ``SdkModel("DescribeInstancesRequest", region_id=..., ...)``. A field may itself be an
    SdkModel, or a list of them."""

    def __init__(self, model: str, /, **fields: Any) -> None:
        self.model = model
        self.fields = fields

    def __call__(self, models: Any) -> Any:
        def value(field: Any) -> Any:
            if isinstance(field, SdkModel):
                return field(models)
            if isinstance(field, list):
                return [value(item) for item in field]
            return field

        return getattr(models, self.model)(**{k: value(v) for k, v in self.fields.items()})

    def __repr__(self) -> str:
        return f"SdkModel({self.model!r})"


def _sync_method(name: str) -> str:
    """The SDK's synchronous method of a call (``describe_instances``); the ``*_async``
    spelling names the same call."""
    return name.removesuffix("_async")


def _log_retry(action: str, max_attempts: int) -> Callable[[RetryCallState], None]:
    def log_it(state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome is not None else None
        log.debug(
            "%s attempt %d of %d failed (%s, %s); retrying in %.2f s",
            action,
            state.attempt_number,
            max_attempts,
            retry_reason(failure) if failure is not None else "?",
            type(failure).__name__,
            state.upcoming_sleep,
        )

    return log_it


class SdkGateway:
    """Base of the SDK-backed gateways. Subclasses set ``product`` and ``client_class``.

    Without an AccessKey in the settings, the default credentials chain (environment, CLI
    profile, credentials file, ECS RAM role, OIDC, ...) is resolved once, on first use.
    """

    product: ClassVar[str] = "ECS"
    """The service's name in messages and hints."""
    client_class: ClassVar[Any] = None
    """The official SDK's ``Client`` class (or ``"module:Client"``, imported on first use),
    built from a tea-openapi ``Config``."""
    models_module: ClassVar[str] = ""
    """The SDK's models module, handed to request builders (imported on first use)."""

    def __init__(
        self,
        settings: EcsClientSettings | None = None,
        *,
        credential: CredentialClient | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._settings = settings or EcsClientSettings()
        self._limiter = limiter
        """Paces every attempt per action (fleet scans); None: unpaced."""
        self._retry = retry_policy(self._settings)
        self._credential = credential
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    @property
    def settings(self) -> EcsClientSettings:
        """How this gateway reaches its product (endpoint, AccessKey, timeouts, retries)."""
        return self._settings

    @property
    def credential(self) -> CredentialClient | None:
        """The default credentials chain, once resolved (None with an AccessKey, or before)."""
        return self._credential

    def _client(self, region_id: str) -> Any:
        """The region's SDK client, built on first use (on a worker thread: it may import the
        SDK and resolve the credentials chain)."""
        client = self._clients.get(region_id)
        if client is not None:
            return client
        with self._clients_lock:
            client = self._clients.get(region_id)
            if client is None:
                settings = self._settings
                if not (settings.access_key_id and settings.access_key_secret):
                    if self._credential is None:
                        self._credential = resolve_default_credentials()
                if self.client_class is None:
                    raise TypeError(f"{type(self).__name__} sets no client_class")
                client = build_sdk_client(self.client_class, settings, region_id, self._credential)
                self._clients[region_id] = client
        return client

    def _attempt(
        self, region_id: str, method: str, request: Any
    ) -> tuple[Any, Any, BaseException | None]:
        """One SDK call, on a worker thread: the request model (made here by ``request`` when it
        is a builder, so that every retry sends the same one), and the response or the failure
        to translate (CloudApiError passes)."""
        from Tea.exceptions import TeaException

        try:
            call = getattr(self._client(region_id), _sync_method(method))
            if callable(request):
                request = request(sdk_attribute(self.models_module))
            return request, call(request), None
        except CloudApiError:
            raise
        except (TeaException, OSError, TimeoutError) as exc:
            return request, None, exc

    def _endpoint_label(self, region_id: str) -> str:
        endpoint, _ = self._settings.endpoint_and_protocol()
        return endpoint or f"the {self.product} endpoint of {region_id}"

    async def _call(self, action: str, region_id: str, method: str, request: Any) -> Any:
        """Run one API call; returns the body. ``method`` is the SDK client's method
        (``describe_instances``), ``request`` its request model or a function of the SDK's
        models module that makes it (``lambda m: m.DescribeInstancesRequest(...)``).

        Throttling, 5xx, network failures and dropped connections are retried here, up to
        ``max_attempts`` in all, awaiting the backoff so that the event loop keeps running.
        """
        limiter = self._limiter
        returned: list[BaseException] = []  # the failures _attempt handed back, to translate

        async def attempt() -> Any:
            nonlocal request
            one = functools.partial(self._attempt, region_id, method, request)
            if limiter is None:
                request, response, failure = await run_blocking(one)
            else:
                async with limiter.slot(action):
                    request, response, failure = await run_blocking(one)
            if failure is not None:
                returned.append(failure)
                raise failure
            return response

        log_retry = _log_retry(action, self._retry.max_attempts)

        def before_sleep(state: RetryCallState) -> None:
            log_retry(state)
            failure = state.outcome.exception() if state.outcome is not None else None
            if limiter is not None and failure is not None and retry_reason(failure) == "throttled":
                limiter.pause(action, state.upcoming_sleep)

        retrying = _retrying(self._retry, before_sleep=before_sleep)
        failure: BaseException | None = None
        try:
            response: Any = await retrying(attempt)
        except CloudApiError:
            raise
        except Exception as exc:
            if not any(exc is r for r in returned):
                raise  # not an SDK failure: a bug, as it was
            failure = exc
        attempts = int(retrying.statistics.get("attempt_number", 1))
        if failure is not None:
            log.debug("%s failed after %d attempt(s): %s", action, attempts,
                      type(failure).__name__)  # fmt: skip
            # Raised outside the except block: the SDK's exception (its request, headers and
            # all) is not chained to the error the caller sees.
            raise translate(
                failure,
                action,
                endpoint=self._endpoint_label(region_id),
                secrets=self._settings.secrets(),
                product=self.product,
                attempts=attempts,
            )
        body = getattr(response, "body", None)
        if body is None:
            # The SDK swallows shape mismatches and leaves body None (research §0.7).
            raise CloudApiError(
                action,
                "unexpected_response",
                "UnexpectedResponse",
                "the response did not match the API's documented shape",
                message_zh="应答与 API 文档所述的结构不符",
                hint=f"The endpoint may not be a genuine {self.product} endpoint, or the API "
                "changed.",
                hint_zh=f"该 endpoint 可能不是真正的 {PRODUCT_ZH.get(self.product, self.product)} "
                "endpoint，或者 API 已经变更。",
            )
        return body

    def _too_many_pages(self, action: str, pages: int, what: str) -> CloudApiError:
        return CloudApiError(
            action,
            "unexpected_response",
            "TooManyPages",
            f"more than {pages} pages of {what}",
            message_zh=f"结果超过 {pages} 页",
            hint="Narrow the time window.",
            hint_zh="请缩小时间窗口。",
        )
