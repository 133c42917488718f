"""Who is calling: verify the request signature (V3 or legacy V1), timestamp, nonce and STS token.

Checks run in the order the real gateway reports them: malformed or missing credentials first,
then the key, the signature, the timestamp window and last the nonce, so a tampered request never
burns a nonce. Error codes and texts follow research §2.3.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from ecs_api_simulator.access_keys import AccessKey, AccessKeyStore
from ecs_api_simulator.api_errors import ApiError
from ecs_api_simulator.nonces import NonceStore
from ecs_api_simulator.signature import (
    V3_ALGORITHM,
    signatures_equal,
    v1_signature,
    v1_string_to_sign,
    v3_canonical_request,
    v3_signature,
    v3_string_to_sign,
)
from ecs_api_simulator.time_formats import parse_api_time

TIMESTAMP_WINDOW = timedelta(minutes=15)
V3_REQUIRED_SIGNED_HEADERS = frozenset(
    {
        "host",
        "x-acs-action",
        "x-acs-content-sha256",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-version",
    }
)
_V3_AUTHORIZATION = re.compile(
    r"^(?P<alg>ACS3-[A-Z0-9-]+)\s+Credential=(?P<ak>[^,]+),"
    r"SignedHeaders=(?P<sh>[^,]*),Signature=(?P<sig>[0-9a-fA-F]+)$"
)


@dataclass(frozen=True)
class Caller:
    access_key: AccessKey
    signature_version: Literal["v3", "v1"]


def _mandatory(name: str) -> ApiError:
    return ApiError(400, f"Missing{name}", f"{name} is mandatory for this action.")


def _signature_mismatch(string_to_sign: str) -> ApiError:
    return ApiError(
        400,
        "SignatureDoesNotMatch",
        "Specified signature is not matched with our calculation. server string to sign is:"
        + string_to_sign,
    )


def _incomplete(detail: str) -> ApiError:
    return ApiError(
        400,
        "IncompleteSignature",
        f"The request signature does not conform to Alibaba Cloud standards. {detail}".strip(),
    )


def _lookup_key(keys: AccessKeyStore, access_key_id: str) -> AccessKey:
    key = keys.get(access_key_id)
    if key is None:
        raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    if not key.enabled:
        raise ApiError(400, "InvalidAccessKeyId.Inactive", "Specified access key is disabled.")
    return key


def _check_security_token(key: AccessKey, token: str | None, now: datetime) -> None:
    if key.security_token is None:
        return
    if not token:
        raise _mandatory("SecurityToken")
    if token != key.security_token:
        raise ApiError(
            400,
            "InvalidSecurityToken.MismatchWithAccessKey",
            "Specified SecurityToken mismatch with the AccessKey.",
        )
    if key.expires is not None and now >= key.expires:
        raise ApiError(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")


def _check_timestamp(text: str, now: datetime) -> None:
    try:
        when = parse_api_time(text)
    except ValueError:
        raise ApiError(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        ) from None
    if abs(now - when) > TIMESTAMP_WINDOW:
        raise ApiError(
            400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
        )


def _check_nonce(nonces: NonceStore, nonce: str, now: datetime) -> None:
    if not nonces.use(nonce, now):
        raise ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")


def authenticate(
    *,
    method: str,
    path: str,
    query_pairs: list[tuple[str, str]],
    form_pairs: list[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    keys: AccessKeyStore,
    nonces: NonceStore,
    now: datetime,
) -> Caller:
    """Verify the request; returns the caller or raises :class:`ApiError`."""
    authorization = headers.get("authorization", "")
    if authorization.startswith("ACS3-"):
        return _authenticate_v3(
            method, path, query_pairs, headers, body, authorization, keys, nonces, now
        )
    return _authenticate_v1(method, query_pairs + form_pairs, keys, nonces, now)


def _authenticate_v3(
    method: str,
    path: str,
    query_pairs: list[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    authorization: str,
    keys: AccessKeyStore,
    nonces: NonceStore,
    now: datetime,
) -> Caller:
    match = _V3_AUTHORIZATION.match(authorization.strip())
    if match is None:
        raise _incomplete("The Authorization header is malformed.")
    if match.group("alg") != V3_ALGORITHM:
        raise _incomplete(f"Signature algorithm {match.group('alg')} is not supported here.")
    signed_headers = match.group("sh")
    names = signed_headers.split(";") if signed_headers else []
    if names != sorted(names) or any(n != n.lower() for n in names):
        raise _incomplete("SignedHeaders must be lower-case and sorted.")
    if "x-acs-signature-nonce" not in headers:
        raise _mandatory("SignatureNonce")
    if "x-acs-date" not in headers:
        raise _mandatory("Timestamp")
    missing = sorted(V3_REQUIRED_SIGNED_HEADERS - set(names))
    if missing:
        raise _incomplete(f"Headers {', '.join(missing)} must be signed.")
    unsigned = sorted(n for n in headers if n.startswith("x-acs-") and n not in names)
    if unsigned:
        raise _incomplete(f"Headers {', '.join(unsigned)} must be signed.")

    key = _lookup_key(keys, match.group("ak"))
    if key.security_token is not None:
        _check_security_token(key, headers.get("x-acs-security-token"), now)

    payload_hash = headers.get("x-acs-content-sha256", "")
    canonical = v3_canonical_request(
        method, path, query_pairs, headers, signed_headers, payload_hash
    )
    string_to_sign = v3_string_to_sign(canonical)
    if payload_hash != hashlib.sha256(body).hexdigest():
        raise _signature_mismatch(string_to_sign)
    expected = v3_signature(key.access_key_secret, string_to_sign)
    if not signatures_equal(expected, match.group("sig").lower()):
        raise _signature_mismatch(string_to_sign)

    _check_timestamp(headers["x-acs-date"], now)
    _check_nonce(nonces, headers["x-acs-signature-nonce"], now)
    return Caller(key, "v3")


def _authenticate_v1(
    method: str,
    pairs: list[tuple[str, str]],
    keys: AccessKeyStore,
    nonces: NonceStore,
    now: datetime,
) -> Caller:
    params = dict(pairs)
    access_key_id = params.get("AccessKeyId")
    if not access_key_id:
        raise _mandatory("AccessKeyId")
    signature = params.get("Signature")
    if not signature:
        raise _mandatory("Signature")
    if params.get("SignatureMethod", "") != "HMAC-SHA1":
        raise ApiError(
            400, "InvalidSignatureMethod", "Specified signature method is not supported."
        )
    if params.get("SignatureVersion", "") != "1.0":
        raise ApiError(
            400, "InvalidSignatureVersion", "Specified signature version is not supported."
        )
    timestamp = params.get("Timestamp")
    if not timestamp:
        raise _mandatory("Timestamp")
    nonce = params.get("SignatureNonce")
    if not nonce:
        raise _mandatory("SignatureNonce")

    key = _lookup_key(keys, access_key_id)
    _check_security_token(key, params.get("SecurityToken"), now)
    string_to_sign = v1_string_to_sign(method, [(k, v) for k, v in pairs if k != "Signature"])
    expected = v1_signature(key.access_key_secret, string_to_sign)
    if not signatures_equal(expected, signature):
        raise _signature_mismatch(string_to_sign)
    _check_timestamp(timestamp, now)
    _check_nonce(nonces, nonce, now)
    return Caller(key, "v1")
