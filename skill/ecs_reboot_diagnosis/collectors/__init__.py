"""The guest collectors: fixed, read-only scripts shipped as package data.

The only content ever sent through Cloud Assistant ``RunCommand`` is one of these scripts,
unchanged (:attr:`Collector.content`, checked by :attr:`Collector.sha256`), or, where the
region's ``CommandContent`` limit is too small for it, a fixed stub that carries it packed and
checks its hash before running it (``delivery.py``).
Per-run values travel as Cloud Assistant custom parameters (``EnableParameter=true``,
``Parameters={...}``), which the agent substitutes textually into the ``{{name}}`` placeholders.
:func:`collector_parameters` builds and validates them; :func:`substitute_parameters` reproduces
the substitution for the simulator and the tests. The output format is described in
``ENVELOPE.md`` beside the scripts.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Final, Literal

from ecs_reboot_diagnosis.errors import InvalidInputError
from ecs_reboot_diagnosis.models import OsType

__all__ = [
    "COLLECTOR_PARAMETERS",
    "DEFAULT_SINCE_DAYS",
    "MAX_SINCE_DAYS",
    "NONCE_PATTERN",
    "Collector",
    "collector_parameters",
    "load_collector",
    "new_nonce",
    "substitute_parameters",
]

COLLECTOR_PARAMETERS: Final[tuple[str, ...]] = ("nonce", "since_days")
"""The Cloud Assistant custom parameters of every collector: ``{{nonce}}``, ``{{since_days}}``."""

DEFAULT_SINCE_DAYS: Final = 7
MAX_SINCE_DAYS: Final = 365
NONCE_PATTERN: Final = re.compile(r"^[0-9a-f]{32}$")

_SCRIPTS: Final[dict[str, tuple[str, Literal["RunShellScript", "RunPowerShellScript"]]]] = {
    "linux": ("linux.sh", "RunShellScript"),
    "windows": ("windows.ps1", "RunPowerShellScript"),
}
_VERSION_LINE: Final = {
    "linux": re.compile(r"^V=(\d+\.\d+\.\d+)$", re.MULTILINE),
    "windows": re.compile(r"^\$CollectorVersion = '(\d+\.\d+\.\d+)'\r?$", re.MULTILINE),
}
# Cloud Assistant: "{{ name }}", blanks around the name ignored, names case-insensitive.
_PLACEHOLDER: Final = re.compile(r"\{\{\s*([A-Za-z0-9_-]+)\s*\}\}")


@dataclass(frozen=True, slots=True)
class Collector:
    """One guest collector script, exactly as it is sent to Cloud Assistant."""

    os_type: OsType
    name: str
    """Command name for RunCommand (``Name``), e.g. ``ecs-reboot-diagnosis-linux-1.0.0``."""
    content: str
    sha256: str
    """Hex SHA-256 of ``content`` encoded as UTF-8 (the scripts are ASCII)."""
    version: str
    command_type: Literal["RunShellScript", "RunPowerShellScript"]
    parameters: tuple[str, ...] = COLLECTOR_PARAMETERS
    recommended_timeout_seconds: int = 180


@cache
def load_collector(os_type: OsType) -> Collector:
    """The collector for ``os_type``, read from the package with importlib.resources."""
    try:
        filename, command_type = _SCRIPTS[os_type]
    except KeyError:
        raise InvalidInputError("os_type", f"No collector for OS type {os_type!r}.") from None
    raw = files(__name__).joinpath(filename).read_bytes()
    content = raw.decode("ascii")
    match = _VERSION_LINE[os_type].search(content)
    if match is None:  # pragma: no cover - guarded by the collector tests
        raise RuntimeError(f"{filename} does not declare its version")
    version = match.group(1)
    return Collector(
        os_type=os_type,
        name=f"ecs-reboot-diagnosis-{os_type}-{version}",
        content=content,
        sha256=hashlib.sha256(raw).hexdigest(),
        version=version,
        command_type=command_type,
    )


def new_nonce() -> str:
    """A fresh per-run nonce: 128 random bits as 32 lowercase hex characters."""
    return secrets.token_hex(16)


def collector_parameters(nonce: str, since_days: int = DEFAULT_SINCE_DAYS) -> dict[str, str]:
    """The RunCommand ``Parameters`` for one run, validated the way the scripts validate them."""
    if not NONCE_PATTERN.match(nonce):
        raise InvalidInputError("nonce", "The collector nonce must be 32 lowercase hex characters.")
    if isinstance(since_days, bool) or not 1 <= since_days <= MAX_SINCE_DAYS:
        raise InvalidInputError(
            "since_days", f"since_days must be an integer from 1 to {MAX_SINCE_DAYS}."
        )
    return {"nonce": nonce, "since_days": str(since_days)}


def substitute_parameters(content: str, parameters: dict[str, str]) -> str:
    """Replace ``{{name}}`` placeholders the way Cloud Assistant does (for the simulator and tests).

    Names are matched case-insensitively; a placeholder without a value is an error, as it is for
    Cloud Assistant.
    """
    values = {k.lower(): v for k, v in parameters.items()}

    def repl(match: re.Match[str]) -> str:
        name = match.group(1).lower()
        if name not in values:
            raise InvalidInputError(name, f"No value for collector parameter {name!r}.")
        return values[name]

    return _PLACEHOLDER.sub(repl, content)
