"""Cloud Assistant's output limit: the API keeps at most 24 KB of a run's output.

The Cloud Assistant agent (open source: aliyun/aliyun_assist_client, ``taskengine``) buffers a
run's combined stdout+stderr as a head of 6000 bytes plus a ring buffer holding the last
``quota - 6000`` bytes; everything in between is dropped and counted in ``Dropped``. With the
24 KB quota the API documents, a long output keeps its first 6000 and last 18576 bytes.
"""

from __future__ import annotations

OUTPUT_QUOTA = 24 * 1024
HEAD_QUOTA = 6000


def head_quota_for(quota: int) -> int:
    """The head kept under a quota: 6000 bytes of the real 24 KB, the same share of a smaller
    quota (a ``RunCommand`` fault may shrink the quota to cut a short output)."""
    if quota >= OUTPUT_QUOTA:
        return HEAD_QUOTA
    return quota * HEAD_QUOTA // OUTPUT_QUOTA


class OutputCollector:
    """Streaming head + tail buffer with the agent's semantics; memory stays bounded."""

    def __init__(self, quota: int = OUTPUT_QUOTA, head_quota: int | None = None) -> None:
        head_quota = head_quota_for(quota) if head_quota is None else head_quota
        self._head_quota = head_quota
        self._tail_quota = quota - head_quota
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def write(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self._head_quota - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self._tail += chunk
            excess = len(self._tail) - self._tail_quota
            if excess > 0:
                del self._tail[:excess]

    def result(self) -> tuple[bytes, int]:
        """The kept output and the number of bytes dropped."""
        kept = bytes(self._head + self._tail)
        return kept, self.total - len(kept)


def limit_output(data: bytes, quota: int = OUTPUT_QUOTA) -> tuple[bytes, int]:
    """``data`` as the agent keeps it under ``quota`` bytes, and the number of bytes dropped.
    Cutting an already cut output again with a smaller quota gives what the smaller quota would
    have kept of the whole output (its head and tail fit inside the larger ones)."""
    collector = OutputCollector(quota)
    collector.write(data)
    return collector.result()
