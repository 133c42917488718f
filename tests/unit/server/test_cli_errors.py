"""The command line's wording of errors: every hint the product can print reads as addressed to
the person at the keyboard, and bad settings are named by their variable or option."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from ecs_reboot_diagnosis.errors import (
    CloudApiError,
    DiagnosisError,
    GuestRunClaimedError,
    InstanceNotFoundError,
    InvalidInputError,
)
from ecs_reboot_diagnosis.reboot_time import parse_reboot_time
from ecs_reboot_diagnosis.service import validate_instance_id, validate_region_id
from ecs_reboot_diagnosis_mcp.aliyun.error_codes import ERROR_CODES, hint_for
from ecs_reboot_diagnosis_mcp.cli_errors import (
    EXIT_CANNOT_LISTEN,
    EXIT_CODES,
    EXIT_CREDENTIALS,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    exit_code_for,
    for_person,
    message_for,
)
from ecs_reboot_diagnosis_mcp.credentials_help import NO_CREDENTIALS, missing_credentials_line
from ecs_reboot_diagnosis_mcp.settings import Settings, describe_invalid, documented_variables
from tests.support.chinese_text import doubled_colons, is_chinese, untranslated

ROOT = Path(__file__).resolve().parents[3]
AGENT_WORDS = ("the user", "user's", "guess", "ask ")


def domain_errors() -> list[DiagnosisError]:
    errors: list[DiagnosisError] = [InstanceNotFoundError("i-bp1abc", "cn-hangzhou")]
    for bad in ("", "bp1", "I-BP1"):
        with pytest.raises(InvalidInputError) as caught:
            validate_instance_id(bad)
        errors.append(caught.value)
    for bad in ("", "Hangzhou"):
        with pytest.raises(InvalidInputError) as caught:
            validate_region_id(bad)
        errors.append(caught.value)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    for bad in ("yesterday", "2026-11-30", "soon", "2099-01-01T00:00", "2020-01-01T00:00", ""):
        with pytest.raises(InvalidInputError) as caught:
            parse_reboot_time(bad, now)
        errors.append(caught.value)
    errors.append(GuestRunClaimedError("d-" + "0" * 32, now, now + timedelta(minutes=5)))
    for code, rule in ERROR_CODES.items():
        hint = hint_for(rule, action="DescribeInstances")
        errors.append(CloudApiError("DescribeInstances", rule.kind, code, "msg", hint=hint))
    return errors


@pytest.mark.parametrize("error", domain_errors(), ids=lambda e: type(e).__name__)
def test_no_error_speaks_to_an_agent(error: DiagnosisError) -> None:
    """The hints ask an agent to ask the user; the person at the keyboard reads otherwise."""
    text = message_for(error).lower()
    assert not any(word in text for word in AGENT_WORDS), text
    assert "  " not in text and ".." not in text and " ." not in text, text


def test_the_agent_wording_is_there_to_be_turned() -> None:
    """The control of the test above: the domain texts do address an agent."""
    texts = [str(e).lower() for e in domain_errors()]
    assert sum("user" in t for t in texts) >= 5


def test_a_bad_parameter_names_its_option() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_region_id("")
    assert message_for(caught.value) == (
        "--region: The region id is missing. It looks like cn-hangzhou."
    )
    with pytest.raises(InvalidInputError) as caught:
        validate_instance_id("")
    assert message_for(caught.value) == (
        "--instance-id: The ECS instance id is missing. It looks like i-bp1a2b3c4d5e6f7g8h9j."
    )


def test_exit_codes() -> None:
    assert exit_code_for(InstanceNotFoundError("i-bp1abc", "cn-hangzhou")) == EXIT_NOT_FOUND
    forbidden = CloudApiError("RunCommand", "forbidden", "Forbidden.RAM", "denied")
    assert exit_code_for(forbidden) == EXIT_CREDENTIALS
    assert len(set(EXIT_CODES)) == len(EXIT_CODES)
    assert EXIT_CANNOT_LISTEN not in (EXIT_CREDENTIALS, EXIT_USAGE)


def invalid(**values: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Settings(**values)  # type: ignore[arg-type]
    return caught.value


@pytest.mark.parametrize(
    ("values", "flags", "says"),
    [
        ({"port": 99999}, {}, "ECS_DIAG_PORT=99999: must be 1-65535"),
        ({"port": 0}, {"port": "--port"}, "--port 0: must be 1-65535"),
        ({"port": "x"}, {}, "ECS_DIAG_PORT=x: must be 1-65535"),
        ({"lang": "fr"}, {}, "ECS_DIAG_LANG=fr: must be en or zh-CN"),
        ({"log_level": "LOUD"}, {},
         "ECS_DIAG_LOG_LEVEL=LOUD: must be DEBUG, INFO, WARNING or ERROR"),
        ({"store_ttl_s": 5}, {}, "ECS_DIAG_STORE_TTL_S=5: must be a whole number of at least 60"),
        ({"wait_deadline_s": 0}, {},
         "ECS_DIAG_WAIT_DEADLINE_S=0: must be a number above 0 and at most 3600"),
        ({"outside_evidence": "perhaps"}, {},
         "ECS_DIAG_OUTSIDE_EVIDENCE=perhaps: must be true or false"),
    ],
)  # fmt: skip
def test_a_bad_setting_is_named(
    values: dict[str, object], flags: dict[str, str], says: str
) -> None:
    message = describe_invalid(invalid(**values), flags)
    assert message.startswith(says), message
    assert "pydantic" not in message and "Input should" not in message


@pytest.mark.parametrize("bad", ["not a url", "ftp://x", "http://", "127.0.0.1:99999", ":8080"])
def test_a_bad_endpoint_is_refused_by_its_name(bad: str) -> None:
    message = describe_invalid(invalid(metrics_endpoint=bad))
    assert message.startswith(f"ECS_DIAG_METRICS_ENDPOINT={bad}: must be host[:port] or an http")
    assert "Value error" not in message


@pytest.mark.parametrize(
    "good", ["http://127.0.0.1:8765/", "127.0.0.1:8765", "ecs.cn-hangzhou.aliyuncs.com",
             "[::1]:8765", "https://ecs.example.internal", ""],
)  # fmt: skip
def test_the_documented_endpoint_forms_are_accepted(good: str) -> None:
    assert Settings(endpoint=good).endpoint == good


def test_two_bad_settings_are_both_named() -> None:
    message = describe_invalid(invalid(port=-1, lang="de"))
    assert "ECS_DIAG_PORT=-1" in message and "ECS_DIAG_LANG=de" in message


def test_the_internal_setting_is_not_a_documented_variable() -> None:
    names = documented_variables()
    assert "ECS_DIAG_SIMULATED" not in names
    assert {"ECS_DIAG_PORT", "ECS_DIAG_REGION_ID", "ECS_DIAG_TRANSPORT"} <= set(names)


def all_strings() -> list[tuple[str, str]]:
    """Every string the core and the cloud adapter write (docstrings aside), f-strings with X
    for what they fill in: the hints a CLI error can carry, whoever adds them."""
    roots = [ROOT / "skill" / "ecs_reboot_diagnosis", ROOT / "server" / "ecs_reboot_diagnosis_mcp"
             / "aliyun"]  # fmt: skip
    found: list[tuple[str, str]] = []
    for path in sorted(p for root in roots for p in root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bare = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(
                    str(v.value) if isinstance(v, ast.Constant) else "X" for v in node.values
                )
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            else:
                continue
            if id(node) not in bare:
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", str(text)))
    return found


def sentences_for_an_agent() -> list[tuple[str, str]]:
    """Every string of the core and the cloud adapter that speaks of "the user"."""
    return [(where, text) for where, text in all_strings() if "the user" in text.lower()]


def test_every_sentence_for_an_agent_is_turned_for_the_person() -> None:
    found = sentences_for_an_agent()
    assert len(found) >= 8
    for where, text in found:
        assert "the user" not in for_person(text).lower(), where


# --- the same in Chinese (ECS_DIAG_LANG=zh-CN, --lang zh-CN) ------------------------------------

AGENT_WORDS_ZH = ("用户", "询问", "本技能")


def chinese_domain_errors() -> list[DiagnosisError]:
    """The domain errors, with the Chinese hint of each API error code."""
    errors = [e for e in domain_errors() if not isinstance(e, CloudApiError)]
    for code, rule in ERROR_CODES.items():
        errors.append(
            CloudApiError(
                "DescribeInstances",
                rule.kind,
                code,
                "msg",
                hint=hint_for(rule, action="DescribeInstances"),
                hint_zh=hint_for(rule, action="DescribeInstances", lang="zh-CN"),
            )
        )
    return errors


@pytest.mark.parametrize("error", chinese_domain_errors(), ids=lambda e: type(e).__name__)
def test_no_chinese_error_speaks_to_an_agent_or_in_english(error: DiagnosisError) -> None:
    """Every hint has its Chinese (an API code without one would show English here), turned to
    the person at the keyboard."""
    said = message_for(error, "zh-CN")
    assert is_chinese(said), f"{untranslated(said)} {doubled_colons(said)}: {said}"
    assert not any(word in said for word in AGENT_WORDS_ZH), said


def test_a_bad_parameter_names_its_option_in_chinese() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_region_id("")
    assert message_for(caught.value, "zh-CN") == "--region 有误：缺少地域 ID。它形如 cn-hangzhou。"
    with pytest.raises(InvalidInputError) as caught:
        validate_instance_id("")
    assert message_for(caught.value, "zh-CN") == (
        "--instance-id 有误：缺少 ECS 实例 ID。它形如 i-bp1a2b3c4d5e6f7g8h9j。"
    )


def test_the_missing_credentials_line_in_chinese(tmp_path: Path) -> None:
    error = CloudApiError("DescribeInstances", "credentials", "CredentialsNotFound", "none")
    line = missing_credentials_line(error, env={}, home=tmp_path, lang="zh-CN")
    assert line is not None and is_chinese(line) and "--simulator" in line, line
    assert missing_credentials_line(error, env={}, home=tmp_path) == NO_CREDENTIALS


TO_THE_USER = re.compile(r"(向|询问|与)用户|用户(所在|提供| UTC)")
"""An agent told to ask or check with the user (not "any user can write this file")."""


def chinese_sentences_for_an_agent() -> list[tuple[str, str]]:
    """Every Chinese string of the core and the cloud adapter that sends the agent to the
    user."""
    return [(where, text) for where, text in all_strings() if TO_THE_USER.search(text)]


def test_every_chinese_sentence_for_an_agent_is_turned_for_the_person() -> None:
    found = chinese_sentences_for_an_agent()
    assert len(found) >= 6
    for where, text in found:
        turned = for_person(text, "zh-CN")
        assert not TO_THE_USER.search(turned) and "询问" not in turned, (where, turned)


@pytest.mark.parametrize(
    ("values", "flags", "says"),
    [
        ({"port": 99999}, {}, "ECS_DIAG_PORT=99999：必须在 1-65535 之间"),
        ({"port": 0}, {"port": "--port"}, "--port 0：必须在 1-65535 之间"),
        ({"log_level": "LOUD"}, {},
         "ECS_DIAG_LOG_LEVEL=LOUD：必须是 DEBUG、INFO、WARNING、ERROR 之一"),
        ({"store_ttl_s": 5}, {}, "ECS_DIAG_STORE_TTL_S=5：必须是不小于 60 的整数"),
        ({"wait_deadline_s": 0}, {}, "ECS_DIAG_WAIT_DEADLINE_S=0：必须是大于 0 且不大于 3600 的数"),
        ({"outside_evidence": "perhaps"}, {},
         "ECS_DIAG_OUTSIDE_EVIDENCE=perhaps：必须是 true 或 false"),
        ({"endpoint": "ftp://x"}, {}, "ECS_DIAG_ENDPOINT=ftp://x：必须是 host[:port]"),
    ],
)  # fmt: skip
def test_a_bad_setting_is_named_in_chinese(
    values: dict[str, object], flags: dict[str, str], says: str
) -> None:
    message = describe_invalid(invalid(**values), flags, "zh-CN")
    assert message.startswith(says), message
    assert is_chinese(message), message
