"""The command line's one error translation point: what the person at the keyboard reads, and
the exit code a script branches on.

The domain errors speak to an agent (their hints say "ask the user ..."; the MCP tool errors keep
that wording). Here they are turned to the person who typed the command: the option to fix is
named (``--instance-id``, ``--region``, ``--reboot-time``) and sentences meant for an agent are
rephrased or dropped.

Exit codes (README, "Exit codes"):
0 success; 1 anything unexpected; 2 bad arguments, options, ``ECS_DIAG_*`` values or input files;
3 credentials or permissions; 4 instance not found; 5 cloud or network failure;
6 the HTTP server cannot listen (port in use, or the address not allowed); 7 the scan is being run
by another process; 130 interrupted.
"""

from __future__ import annotations

import re
from typing import Final

from ecs_reboot_diagnosis.errors import (
    CloudApiError,
    DiagnosisError,
    InstanceNotFoundError,
    InvalidInputError,
    ScanBusyError,
    StoreError,
)
from ecs_reboot_diagnosis.models import Lang

EXIT_OK: Final = 0
EXIT_UNEXPECTED: Final = 1
EXIT_USAGE: Final = 2
EXIT_CREDENTIALS: Final = 3
EXIT_NOT_FOUND: Final = 4
EXIT_CLOUD: Final = 5
EXIT_CANNOT_LISTEN: Final = 6
EXIT_BUSY: Final = 7
EXIT_INTERRUPTED: Final = 130

EXIT_CODES: Final[dict[int, str]] = {
    EXIT_OK: "success (a report was produced, whatever it found)",
    EXIT_UNEXPECTED: "an unexpected error",
    EXIT_USAGE: "bad arguments, options, ECS_DIAG_* values or input files (nothing was called)",
    EXIT_CREDENTIALS: "credentials missing or rejected, or a RAM permission missing",
    EXIT_NOT_FOUND: "the instance (or region) was not found",
    EXIT_CLOUD: "the cloud API or the network failed",
    EXIT_CANNOT_LISTEN: "serve, simulate: the port is in use, or the address cannot be bound",
    EXIT_BUSY: "scan: another process is running the same scan now; run scan --resume later",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}
"""Every exit code, as README's table lists them (tests/contract/test_docs_match_code.py)."""

OPTIONS: Final[dict[str, str]] = {
    "instance_id": "--instance-id",
    "region_id": "--region",
    "reboot_time": "--reboot-time",
}
"""The command-line option behind each parameter a domain error can name."""


class CliError(Exception):
    """A failure the user can act on: one line on stderr and a documented exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# Agent-facing phrases (the hints of the domain errors and of the API error table) and what a
# person reads instead. Applied in order, on whole phrases; the test feeds every hint through.
_FOR_PERSON: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"\s*\(ask the user if unsure\)", re.I), ""),
    (re.compile(r"Check the (instance id|IDs) and the region( with the user)?"
                r"(; do not guess another one)?\.", re.I), "Check --instance-id and --region."),
    (re.compile(r"\s*Ask the user for it \(it looks like ([^)]*)\); never guess it\."),
     r" It looks like \1."),
    (re.compile(r"\s*Ask the user which region the instance is in \(for example ([^)]*)\);"
                r" never guess it\."), r" It looks like \1."),
    (re.compile(r"\s*Ask the user for (it|the exact id)\.", re.I), ""),
    (re.compile(r"ask the user for the region", re.I), "give the right region"),
    (re.compile(r";?\s*do not guess another one", re.I), ""),
    (re.compile(r"\bthe user's\b", re.I), "your"),
    (re.compile(r"\s+with the user\b", re.I), ""),
    (re.compile(r"\bthe skill's RAM policy reference\b"), "references/ram-policy.md"),
    (re.compile(r"\brun the step again\b"), "run the command again"),
)  # fmt: skip


# The same for the Chinese hints (the MCP tool errors keep "请向用户询问").
_FOR_PERSON_ZH: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"（如不确定，请询问用户）"), ""),
    (re.compile(r"请(与用户)?核对 ?(实例 )?ID 和地域(；不要猜测其他值)?。"),
     "请检查 --instance-id 和 --region。"),
    (re.compile(r"请向用户询问（形如 ([^）]*)）；不要猜测。"), r"它形如 \1。"),
    (re.compile(r"请询问用户实例所在的地域（例如 ([^）]*)）；不要猜测。"), r"它形如 \1。"),
    (re.compile(r"请向用户(确认准确的 ID|询问)。"), ""),
    (re.compile(r"请向用户询问地域"), "请给出正确的地域"),
    (re.compile(r"；?不要猜测(其他值)?"), ""),
    (re.compile(r"用户所在时区的"), "您所在时区的"),
    (re.compile(r"带用户 UTC 偏移"), "带您所在时区 UTC 偏移"),
    (re.compile(r"和用户所在的时区"), "和您所在的时区"),
    (re.compile(r"本技能的 RAM 策略参考文档"), "references/ram-policy.md"),
    (re.compile(r"重新执行该步骤"), "重新运行该命令"),
)  # fmt: skip


def for_person(text: str, lang: Lang = "en") -> str:
    """``text`` with the phrases meant for an agent turned to the person at the keyboard."""
    if lang == "zh-CN":
        for pattern, replacement in _FOR_PERSON_ZH:
            text = pattern.sub(replacement, text)
        return text.strip()
    for pattern, replacement in _FOR_PERSON:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def exit_code_for(error: DiagnosisError) -> int:
    if isinstance(error, InvalidInputError | StoreError):
        return EXIT_USAGE
    if isinstance(error, InstanceNotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(error, ScanBusyError) and not error.gone:
        return EXIT_BUSY
    if isinstance(error, CloudApiError):
        if error.kind in ("credentials", "forbidden"):
            return EXIT_CREDENTIALS
        if error.kind == "not_found":
            return EXIT_NOT_FOUND
        if error.kind == "invalid_parameter":
            return EXIT_USAGE
        return EXIT_CLOUD
    return EXIT_UNEXPECTED


def message_for(error: DiagnosisError, lang: Lang = "en") -> str:
    """The one line the person reads (without the program name), in ``lang``."""
    from ecs_reboot_diagnosis_mcp.credentials_help import missing_credentials_line

    no_credentials = missing_credentials_line(error, lang=lang)
    if no_credentials:
        return no_credentials
    if lang == "zh-CN":
        text = for_person(f"{error.message_in(lang)}{error.hint_in(lang)}", lang)
        option = OPTIONS.get(error.parameter) if isinstance(error, InvalidInputError) else None
        return f"{option} 有误：{text}" if option else text
    if isinstance(error, InvalidInputError):
        option = OPTIONS.get(error.parameter)
        text = for_person(f"{error.message} {error.hint}")
        return f"{option}: {text}" if option else text
    return for_person(str(error))


def cli_error_for(error: DiagnosisError, lang: Lang = "en") -> CliError:
    return CliError(message_for(error, lang), exit_code_for(error))
