"""Signature nonces seen recently: a nonce may be used once within the timestamp window."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

NONCE_TTL = timedelta(minutes=15)


class NonceStore:
    def __init__(self, ttl: timedelta = NONCE_TTL) -> None:
        self._ttl = ttl
        self._seen: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def use(self, nonce: str, now: datetime) -> bool:
        """Record the nonce; False when it was already used within the TTL."""
        with self._lock:
            if len(self._seen) > 10_000:
                cutoff = now - self._ttl
                self._seen = {k: t for k, t in self._seen.items() if t > cutoff}
            seen_at = self._seen.get(nonce)
            if seen_at is not None and now - seen_at < self._ttl:
                return False
            self._seen[nonce] = now
            return True
