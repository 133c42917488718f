"""Hand-made signed requests, for the cases the SDK cannot be made to send (tampering, replay).

Signing uses the simulator's own algorithm, which the SDK-produced test vector pins down
(test_sim_signatures.py); the positive path is always exercised with the real SDK.
"""

from __future__ import annotations

import hashlib
import secrets
import urllib.parse
from datetime import UTC, datetime
from typing import Any

import httpx

from ecs_api_simulator.signature import (
    EMPTY_SHA256,
    v3_canonical_request,
    v3_signature,
    v3_string_to_sign,
)


def signed_v3(
    endpoint: str,
    action: str,
    params: dict[str, str],
    *,
    access_key_id: str,
    access_key_secret: str,
    nonce: str | None = None,
    date: str | None = None,
    version: str = "2014-05-26",
) -> tuple[str, dict[str, str]]:
    """The URL and headers of a V3-signed RPC request, as the SDK would build them."""
    query = urllib.parse.urlencode(params)
    headers = {
        "host": endpoint,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": date or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce or secrets.token_hex(16),
        "x-acs-content-sha256": EMPTY_SHA256,
        "accept": "application/json",
    }
    signed = ";".join(sorted(headers))
    canonical = v3_canonical_request(
        "POST",
        "/",
        urllib.parse.parse_qsl(query, keep_blank_values=True),
        headers,
        signed,
        EMPTY_SHA256,
    )
    signature = v3_signature(access_key_secret, v3_string_to_sign(canonical))
    headers["authorization"] = (
        f"ACS3-HMAC-SHA256 Credential={access_key_id},SignedHeaders={signed},Signature={signature}"
    )
    return f"http://{endpoint}/?{query}", headers


def post(url: str, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(trust_env=False, timeout=10) as http:
        return http.post(url, headers=headers)


def call(server: Any, action: str, params: dict[str, str], **kwargs: Any) -> httpx.Response:
    """One signed call with the server's built-in key (override with access_key_id=...)."""
    kwargs.setdefault("access_key_id", server.access_key_id)
    kwargs.setdefault("access_key_secret", server.access_key_secret)
    url, headers = signed_v3(server.endpoint, action, params, **kwargs)
    return post(url, headers)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
