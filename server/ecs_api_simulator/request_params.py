"""Typed reading of RPC request parameters (query string and form body).

The SDK sends lists as ``Name.1=..&Name.2=..``, nested structs as ``Name.Key=..``, booleans as
``True``/``False`` (Python ``str(bool)``), and some lists as JSON array strings (``InstanceIds``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from ecs_api_simulator.api_errors import ApiError, invalid_parameter, missing_parameter

_INDEXED = re.compile(r"^(?P<name>.+)\.(?P<n>\d+)$")


class Params:
    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        for key, value in pairs:
            self._values[key] = value

    def as_dict(self) -> dict[str, str]:
        return dict(self._values)

    def get(self, name: str) -> str | None:
        """The value, or None when absent or empty."""
        value = self._values.get(name)
        return value if value else None

    def raw(self, name: str) -> str | None:
        """The value as sent, including an empty string."""
        return self._values.get(name)

    def required(self, name: str, *, status: int = 400) -> str:
        value = self.get(name)
        if value is None:
            raise missing_parameter(name, status)
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.get(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        raise invalid_parameter(name, "It must be true or false.")

    def integer(
        self,
        name: str,
        default: int,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
        error_status: int = 400,
    ) -> int:
        value = self.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise invalid_parameter(name, "It must be an integer.", error_status) from None
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise invalid_parameter(name, "It is out of the valid range.", error_status)
        return number

    def repeat_list(self, name: str) -> list[str]:
        """``Name.1``, ``Name.2``, ... in index order (empty values dropped)."""
        found: list[tuple[int, str]] = []
        for key, value in self._values.items():
            match = _INDEXED.match(key)
            if match and match.group("name") == name and value:
                found.append((int(match.group("n")), value))
        return [value for _, value in sorted(found)]

    def struct(self, name: str) -> dict[str, str]:
        """``Name.Key=value`` pairs as ``{Key: value}``."""
        prefix = name + "."
        return {k[len(prefix) :]: v for k, v in self._values.items() if k.startswith(prefix) and v}

    def json_list(self, name: str) -> list[str] | None:
        """A JSON array string such as ``InstanceIds=["i-a","i-b"]``; None when absent."""
        value = self.get(name)
        if value is None:
            return None
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            raise invalid_parameter(name, "It must be a JSON array of strings.") from None
        if not isinstance(parsed, list) or not all(isinstance(x, str) for x in parsed):
            raise invalid_parameter(name, "It must be a JSON array of strings.")
        return parsed

    def key_values(
        self, name: str, key: str = "Key", value: str = "Value"
    ) -> list[tuple[str, str]]:
        """``Name.N.Key`` / ``Name.N.Value`` pairs in index order (a missing part is "")."""
        indexed: dict[int, dict[str, str]] = {}
        pattern = re.compile(rf"^{re.escape(name)}\.(\d+)\.({re.escape(key)}|{re.escape(value)})$")
        for param, text in self._values.items():
            match = pattern.match(param)
            if match:
                indexed.setdefault(int(match.group(1)), {})[match.group(2)] = text
        return [(item.get(key, ""), item.get(value, "")) for _, item in sorted(indexed.items())]

    def tags(self, name: str = "Tag") -> list[tuple[str, str]]:
        """``Tag.N.Key`` / ``Tag.N.Value`` pairs in index order."""
        pairs = self.key_values(name)
        if any(not k for k, _ in pairs):
            raise ApiError(
                400, "InvalidTag.Mismatch", "The specified Tag.n.Key and Tag.n.Value are not match."
            )
        if len(pairs) > 20:
            raise ApiError(
                400, "InvalidTagCount", "The specified tags are beyond the permitted range."
            )
        return pairs
