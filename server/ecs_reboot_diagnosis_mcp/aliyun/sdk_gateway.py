"""What every gateway over an official Alibaba Cloud SDK shares: one client per region, the
credentials resolved once, and one way to call the SDK and turn its failures into CloudApiError.

The ECS, CloudMonitor and ActionTrail gateways differ only in the SDK client class, the product
name used in messages and the calls they make.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar

from alibabacloud_credentials.client import Client as CredentialClient
from Tea.exceptions import TeaException
from tenacity import RetryCallState

from ecs_reboot_diagnosis.errors import CloudApiError
from ecs_reboot_diagnosis_mcp.aliyun.client_factory import (
    EcsClientSettings,
    build_sdk_client,
    resolve_default_credentials,
    retry_policy,
)
from ecs_reboot_diagnosis_mcp.aliyun.error_translation import translate
from ecs_reboot_diagnosis_mcp.aliyun.retry import retry_reason
from ecs_reboot_diagnosis_mcp.aliyun.retry import retrying as _retrying

log = logging.getLogger(__name__)


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
    """The official SDK's ``Client`` class, built from a tea-openapi ``Config``."""

    def __init__(
        self,
        settings: EcsClientSettings | None = None,
        *,
        credential: CredentialClient | None = None,
    ) -> None:
        self._settings = settings or EcsClientSettings()
        self._retry = retry_policy(self._settings)
        self._credential = credential
        self._clients: dict[str, Any] = {}

    def _client(self, region_id: str) -> Any:
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

    def _endpoint_label(self, region_id: str) -> str:
        endpoint, _ = self._settings.endpoint_and_protocol()
        return endpoint or f"the {self.product} endpoint of {region_id}"

    async def _call(self, action: str, region_id: str, method: str, request: Any) -> Any:
        """Run one API call (``method`` is the SDK's ``*_async`` method); returns the body.

        Throttling, 5xx, network failures and dropped connections are retried here, up to
        ``max_attempts`` in all, awaiting the backoff so that the event loop keeps running.
        """
        client = self._client(region_id)
        call = getattr(client, method)
        retrying = _retrying(self._retry, before_sleep=_log_retry(action, self._retry.max_attempts))
        failure: BaseException | None = None
        try:
            response: Any = await retrying(call, request)
        except CloudApiError:
            raise
        except (TeaException, OSError, TimeoutError) as exc:
            failure = exc
        if failure is not None:
            attempts = int(retrying.statistics.get("attempt_number", 1))
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
                hint=f"The endpoint may not be a genuine {self.product} endpoint, or the API "
                "changed.",
            )
        return body

    def _too_many_pages(self, action: str, pages: int, what: str) -> CloudApiError:
        return CloudApiError(
            action,
            "unexpected_response",
            "TooManyPages",
            f"more than {pages} pages of {what}",
            hint="Narrow the time window.",
        )
