"""Request signatures of Alibaba Cloud RPC APIs, computed the way the server checks them.

- V3 ``ACS3-HMAC-SHA256``: canonical request over method, path, sorted RFC 3986 query, the signed
  headers and the payload hash; HMAC-SHA256 with the AccessKey secret (research §2.2).
- V1 ``HMAC-SHA1``: ``METHOD&%2F&pct(sorted query)``, HMAC-SHA1 keyed with ``secret + "&"``,
  Base64 (research §2.4).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from collections.abc import Iterable, Mapping

V3_ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def percent_encode(text: str) -> str:
    return urllib.parse.quote(text, safe="~")


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    encoded = sorted((percent_encode(k), percent_encode(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def v3_canonical_request(
    method: str,
    path: str,
    query_pairs: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: str,
    payload_hash: str,
) -> str:
    names = signed_headers.split(";") if signed_headers else []
    canonical_headers = "".join(f"{n}:{headers.get(n, '').strip()}\n" for n in names)
    return "\n".join(
        [
            method.upper(),
            path or "/",
            canonical_query(query_pairs),
            canonical_headers,
            signed_headers,
            payload_hash,
        ]
    )


def v3_string_to_sign(canonical_request: str) -> str:
    return f"{V3_ALGORITHM}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"


def v3_signature(secret: str, string_to_sign: str) -> str:
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def v1_string_to_sign(method: str, pairs: Iterable[tuple[str, str]]) -> str:
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(pairs))}"


def v1_signature(secret: str, string_to_sign: str) -> str:
    digest = hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signatures_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
