"""JSON answers, with memoized fragments spliced in as text.

Encoding is the largest share of a DescribeInstances answer's cost; an instance's rendering
never changes, so it is encoded once (:class:`RawJson`) and spliced into every answer.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

_MARK = f"\x00raw-{secrets.token_hex(6)}-"
_PLACEHOLDER = re.compile(re.escape(json.dumps(_MARK)[:-1]) + r"(\d+)\\u0000\"")


class RawJson:
    """A value already encoded as JSON text."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    @classmethod
    def of(cls, value: Any) -> RawJson:
        return cls(json.dumps(value, ensure_ascii=False))


def dumps(body: Any) -> str:
    """``json.dumps(body)``, where every :class:`RawJson` value stands for its text."""
    raws: list[str] = []

    def splice(value: Any) -> str:
        if isinstance(value, RawJson):
            raws.append(value.text)
            return f"{_MARK}{len(raws) - 1}\x00"
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    text = json.dumps(body, ensure_ascii=False, default=splice)
    if not raws:
        return text
    return _PLACEHOLDER.sub(lambda match: raws[int(match.group(1))], text)
