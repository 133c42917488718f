"""AccessKey pairs the simulator accepts, including STS (temporary) credentials.

The built-in pair is clearly fake and exists only so demos work without configuration. It grants
nothing anywhere but in this simulator.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

BUILTIN_ACCESS_KEY_ID = "LTAI5tSIMULATOR00000000"
BUILTIN_ACCESS_KEY_SECRET = "SimulatorSecretNotARealKey000000"


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    access_key_secret: str
    security_token: str | None = None
    """Set for STS credentials: requests must carry exactly this token."""
    expires: datetime | None = None
    """STS expiry; after it the token is rejected as expired."""
    principal: str = "simulator-user"
    denied_actions: frozenset[str] = field(default_factory=frozenset)
    enabled: bool = True


BUILTIN_ACCESS_KEY = AccessKey(BUILTIN_ACCESS_KEY_ID, BUILTIN_ACCESS_KEY_SECRET)


class AccessKeyStore:
    def __init__(self, keys: list[AccessKey] | None = None) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, AccessKey] = {}
        for key in keys or []:
            self.add(key)

    def add(self, key: AccessKey) -> None:
        with self._lock:
            existing = self._keys.get(key.access_key_id)
            if existing is not None and existing != key:
                raise ValueError(f"access key {key.access_key_id} is defined twice, differently")
            self._keys[key.access_key_id] = key

    def get(self, access_key_id: str) -> AccessKey | None:
        with self._lock:
            return self._keys.get(access_key_id)
