"""Cloud Assistant custom parameters: ``{{name}}`` in the command content, values from
``Parameters`` when ``EnableParameter`` is true.

Rules (RunCommand docs): spaces and line breaks inside the braces around the name are ignored;
names are letters, digits, ``_`` and ``-``, case-insensitive, at most 64 characters; at most 20
parameters. Built-in environment parameters (``{{ACS::InstanceId}}`` ...) are filled in by the
agent on each instance.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from ecs_api_simulator.api_errors import ApiError, invalid_parameter

MAX_PARAMETERS = 20
_NAME = r"[A-Za-z0-9_-]{1,64}"
_REFERENCE = re.compile(r"\{\{\s*(?P<name>ACS::[A-Za-z]+|" + _NAME + r")\s*\}\}")
_VALID_NAME = re.compile(rf"^{_NAME}$")


def parse_parameters(raw: str | None) -> dict[str, str]:
    """The ``Parameters`` JSON object; values are turned into strings as the service does."""
    if raw is None or raw == "":
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        raise invalid_parameter("Parameters", "It must be a JSON object.") from None
    if not isinstance(parsed, dict):
        raise invalid_parameter("Parameters", "It must be a JSON object.")
    if len(parsed) > MAX_PARAMETERS:
        raise ApiError(
            403, "ParameterCount.ExceedLimit", "The number of parameters exceeds the upper limit."
        )
    values: dict[str, str] = {}
    for key, value in parsed.items():
        if not _VALID_NAME.match(key):
            raise invalid_parameter("Parameters", f"The parameter name {key!r} is not valid.")
        values[key] = value if isinstance(value, str) else json.dumps(value)
    return values


def referenced_names(content: str) -> list[str]:
    """Custom (non-ACS::) parameter names the content refers to, in order, without repeats."""
    names: list[str] = []
    for match in _REFERENCE.finditer(content):
        name = match.group("name")
        if not name.startswith("ACS::") and name.lower() not in (n.lower() for n in names):
            names.append(name)
    return names


def check_parameters(content: str, values: Mapping[str, str]) -> None:
    supplied = {k.lower() for k in values}
    for name in referenced_names(content):
        if name.lower() not in supplied:
            raise invalid_parameter(
                "Parameters",
                f"The parameter {name!r} used in CommandContent has no value in Parameters.",
                code="InvalidParameter.Parameters",
            )


def substitute(content: str, values: Mapping[str, str], builtins: Mapping[str, str]) -> str:
    """Replace every ``{{name}}``; unknown names are left as written."""
    lowered = {k.lower(): v for k, v in values.items()}
    acs = {k.lower(): v for k, v in builtins.items()}

    def replace(match: re.Match[str]) -> str:
        name = match.group("name").lower()
        table = acs if name.startswith("acs::") else lowered
        return table.get(name, match.group(0))

    return _REFERENCE.sub(replace, content)
