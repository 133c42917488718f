"""The one table that turns Alibaba Cloud API error codes into CloudApiError kinds and hints.

Lookup is by exact code first, then by the code's family (``Forbidden.*``, ``Throttling.*``,
``*.NotFound``, ``Invalid*``), then by HTTP status. A hint says what the operator should do;
a missing RAM permission names the RAM action to grant: ``ecs:<Action>`` for ECS,
``cms:QueryMetricList`` for CloudMonitor's DescribeMetricList (CloudMonitor authorizes its read
APIs under older ``cms:Query*`` action names) and ``actiontrail:LookupEvents`` for ActionTrail.
The table serves the three products: ECS, CloudMonitor (Cms) and ActionTrail.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecs_reboot_diagnosis.errors import CloudErrorKind
from ecs_reboot_diagnosis.models import Lang

CREDENTIALS_HINT = (
    "Configure Alibaba Cloud credentials: ALIBABA_CLOUD_ACCESS_KEY_ID and "
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET, an aliyun CLI profile (~/.aliyun/config.json), "
    "~/.alibabacloud/credentials.ini, or an ECS RAM role."
)
CREDENTIALS_HINT_ZH = (
    "请配置阿里云凭证：ALIBABA_CLOUD_ACCESS_KEY_ID 和 ALIBABA_CLOUD_ACCESS_KEY_SECRET、"
    "aliyun CLI 配置（~/.aliyun/config.json）、~/.alibabacloud/credentials.ini，"
    "或 ECS 实例 RAM 角色。"
)


@dataclass(frozen=True)
class ErrorRule:
    kind: CloudErrorKind
    hint: str
    """May use ``{action}`` (the API action) and ``{ram_action}`` (e.g. ``ecs:RunCommand``)."""
    hint_zh: str = ""
    """``hint`` in Simplified Chinese, with the same placeholders ("": the English is used)."""


_FORBIDDEN = ErrorRule(
    "forbidden",
    "The identity in use lacks the RAM permission {ram_action}. Grant it (see the skill's RAM "
    "policy reference), then run the step again.",
    "当前身份缺少 RAM 权限 {ram_action}。请授予该权限（参见本技能的 RAM 策略参考文档），"
    "然后重新执行该步骤。",
)
_NOT_FOUND = ErrorRule(
    "not_found",
    "Check the IDs and the region with the user.",
    "请与用户核对 ID 和地域。",
)
_NOT_FOUND_INSTANCE = ErrorRule(
    "not_found",
    "Check the instance ID and the region with the user; do not guess another one.",
    "请与用户核对实例 ID 和地域；不要猜测其他值。",
)
_THROTTLED = ErrorRule(
    "throttled",
    "The API rate limit was reached even after retries; wait a minute and retry.",
    "重试后仍达到 API 限流上限；请等待一分钟后重试。",
)
_SERVER = ErrorRule(
    "server",
    "Alibaba Cloud reported a temporary server-side failure; retry later and quote the "
    "RequestId if it persists.",
    "阿里云报告了临时的服务端故障；请稍后重试，如果问题持续，请提供 RequestId。",
)
_INVALID = ErrorRule(
    "invalid_parameter",
    "The request was rejected as invalid; check the instance ID, region and inputs.",
    "请求因参数无效被拒绝；请检查实例 ID、地域和其他输入。",
)
_STATE = ErrorRule(
    "instance_state",
    "The instance's current state does not allow {action} (most operations need it Running).",
    "实例当前的状态不允许执行 {action}（多数操作要求实例处于运行中（Running）状态）。",
)

ERROR_CODES: dict[str, ErrorRule] = {
    # not found
    "InvalidInstanceId.NotFound": _NOT_FOUND_INSTANCE,
    "InvalidInstance.NotFound": _NOT_FOUND_INSTANCE,
    "InvalidRegionId.NotFound": ErrorRule(
        "not_found",
        "The region ID does not exist; ask the user for the region (e.g. cn-hangzhou).",
        "该地域 ID 不存在；请向用户询问地域（例如 cn-hangzhou）。",
    ),
    "InvalidAction.NotFound": ErrorRule(
        "invalid_parameter",
        "The endpoint does not know the API action {action}; check the ECS endpoint setting.",
    ),
    # permissions
    "Forbidden.RAM": _FORBIDDEN,
    "Forbidden.Unauthorized": _FORBIDDEN,
    "Forbidden.SubUser": _FORBIDDEN,
    "Forbidden.NotSupportRAM": ErrorRule(
        "forbidden", "{action} cannot be called by a RAM identity; use an account with access."
    ),
    "NoPermission": _FORBIDDEN,
    "Forbidden.RiskControl": ErrorRule(
        "forbidden", "Alibaba Cloud risk control blocked the call; check the account's status."
    ),
    "Forbidden.AccessKeyDisabled": ErrorRule(
        "credentials", "The AccessKey is disabled; enable it or configure another one."
    ),
    # credentials and signing
    "InvalidAccessKeyId.NotFound": ErrorRule(
        "credentials", "The AccessKey ID is not known to Alibaba Cloud. " + CREDENTIALS_HINT
    ),
    "InvalidAccessKeyId.Inactive": ErrorRule(
        "credentials", "The AccessKey is disabled; enable it or configure another one."
    ),
    "SignatureDoesNotMatch": ErrorRule(
        "credentials",
        "The AccessKey secret does not match the AccessKey ID; check the configured credentials.",
    ),
    "IncompleteSignature": ErrorRule(
        "credentials", "The request signature was malformed; check the configured credentials."
    ),
    "InvalidSecurityToken.Expired": ErrorRule(
        "credentials", "The STS security token has expired; obtain new temporary credentials."
    ),
    "InvalidSecurityToken.Malformed": ErrorRule(
        "credentials", "The STS security token is malformed; obtain new temporary credentials."
    ),
    "InvalidSecurityToken.MismatchWithAccessKey": ErrorRule(
        "credentials", "The STS security token does not belong to the AccessKey ID in use."
    ),
    "MissingSecurityToken": ErrorRule(
        "credentials", "Temporary (STS) credentials need their security token as well."
    ),
    "InvalidTimeStamp.Expired": ErrorRule(
        "credentials",
        "The local clock differs from Alibaba Cloud's by more than 15 minutes; sync it (NTP).",
    ),
    "SignatureNonceUsed": ErrorRule("server", "A request nonce was reused; retry the step."),
    "InvalidCredentials": ErrorRule("credentials", CREDENTIALS_HINT, CREDENTIALS_HINT_ZH),
    # throttling
    "Throttling": _THROTTLED,
    "Throttling.User": _THROTTLED,
    "Throttling.Api": _THROTTLED,
    "Throttling.Resource": _THROTTLED,
    # parameters
    "MissingParameter": _INVALID,
    "InvalidParameter": _INVALID,
    "InvalidParameter.TimeEndBeforeStart": ErrorRule(
        "invalid_parameter", "The time window ends before it starts; swap or fix the bounds."
    ),
    "EventIdLimitExceeded": _INVALID,
    "InstanceIds.ExceedLimit": _INVALID,
    "InstanceIdLimitExceeded": _INVALID,
    "InvalidCmdType.NotFound": _INVALID,
    "CmdContent.ExceedLimit": ErrorRule(
        "invalid_parameter",
        "The command is larger than Cloud Assistant accepts in this region (16, 18 or 24 KB of "
        "Base64 content plus parameters); lower ECS_DIAG_COMMAND_CONTENT_LIMIT.",
    ),
    "InvalidVersion": _INVALID,
    # instance state
    "IncorrectInstanceStatus": _STATE,
    "InvalidInstance.NotMatch": ErrorRule(
        "instance_state",
        "The instance does not meet the conditions for this command (OS type, Running state, "
        "Cloud Assistant installed).",
    ),
    "NotSupported": ErrorRule(
        "instance_state",
        "{action} is not supported for this instance (e.g. Windows, retired type).",
    ),
    "OperationConflict": _STATE,
    # server side
    "InternalError": _SERVER,
    "InternalError.Dispatch": _SERVER,
    "ServiceUnavailable": _SERVER,
    "ServiceUnavailable.RegionMaintaining": _SERVER,
    "UnknownError": _SERVER,
    # CloudMonitor (DescribeMetricList) and ActionTrail (LookupEvents)
    "ResourceNotFound": ErrorRule(
        "not_found",
        "CloudMonitor knows no such metric or resource; check the metric name (namespace "
        "acs_ecs_dashboard) and the instance ID.",
    ),
    "InvalidNextToken": _INVALID,
    "InvalidTimeRange": ErrorRule(
        "invalid_parameter",
        "The time window is outside what the API accepts (CloudMonitor: at most 31 days; "
        "ActionTrail: the last 90 days); narrow it.",
    ),
}

RAM_ACTIONS: dict[str, str] = {
    "DescribeMetricList": "cms:QueryMetricList",
    "LookupEvents": "actiontrail:LookupEvents",
}
"""API actions whose RAM action is not ``ecs:<Action>``."""
_RAM_ACTION_NOTES: dict[str, str] = {
    "cms:QueryMetricList": (
        " (the RAM action behind CloudMonitor DescribeMetricList; RAM has no "
        "cms:DescribeMetricList action)"
    ),
}

RETRYABLE_CODES: tuple[str, ...] = (
    "Throttling",
    "Throttling.User",
    "Throttling.Api",
    "Throttling.Resource",
    "ServiceUnavailable",
    "InternalError",
    "SignatureNonceUsed",
)
"""Codes the gateway retries (with jittered backoff, like any 5xx) before an error reaches the
table (``retry.py``)."""


def rule_for(code: str, status: int | None) -> ErrorRule:
    rule = ERROR_CODES.get(code)
    if rule is not None:
        return rule
    if code.startswith(("Forbidden", "NoPermission")):
        return _FORBIDDEN
    if code.startswith("Throttling"):
        return _THROTTLED
    if code.startswith("InvalidAccessKeyId") or code.startswith("InvalidSecurityToken"):
        return ErrorRule("credentials", CREDENTIALS_HINT, CREDENTIALS_HINT_ZH)
    if code.endswith(".NotFound"):
        return _NOT_FOUND
    if code.startswith(("Invalid", "Missing")) or code.endswith(".ExceedLimit"):
        return _INVALID
    if code.startswith("IncorrectInstanceStatus"):
        return _STATE
    if status is not None and status >= 500:
        return _SERVER
    if status == 403:
        return _FORBIDDEN
    if status == 404:
        return _NOT_FOUND
    if status == 429:
        return _THROTTLED
    return _INVALID


def ram_action_for(action: str) -> str:
    """The RAM action that authorizes an API action: ``RunCommand`` -> ``ecs:RunCommand``."""
    return RAM_ACTIONS.get(action, f"ecs:{action}")


def hint_for(
    rule: ErrorRule, *, action: str, ram_action: str | None = None, lang: Lang = "en"
) -> str:
    """The rule's hint in ``lang`` (Chinese falls back to English where the table has none)."""
    ram = ram_action or ram_action_for(action)
    if lang == "zh-CN" and rule.hint_zh:
        return rule.hint_zh.format(action=action, ram_action=ram)
    return rule.hint.format(action=action, ram_action=ram + _RAM_ACTION_NOTES.get(ram, ""))
