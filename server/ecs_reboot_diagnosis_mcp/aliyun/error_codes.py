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
        "该 endpoint 不认识 API 操作 {action}；请检查 ECS endpoint 的设置。",
    ),
    # permissions
    "Forbidden.RAM": _FORBIDDEN,
    "Forbidden.Unauthorized": _FORBIDDEN,
    "Forbidden.SubUser": _FORBIDDEN,
    "Forbidden.NotSupportRAM": ErrorRule(
        "forbidden",
        "{action} cannot be called by a RAM identity; use an account with access.",
        "RAM 身份不能调用 {action}；请使用有访问权限的账号。",
    ),
    "NoPermission": _FORBIDDEN,
    "Forbidden.RiskControl": ErrorRule(
        "forbidden",
        "Alibaba Cloud risk control blocked the call; check the account's status.",
        "阿里云风控拦截了该调用；请检查账号状态。",
    ),
    "Forbidden.AccessKeyDisabled": ErrorRule(
        "credentials",
        "The AccessKey is disabled; enable it or configure another one.",
        "该 AccessKey 已被禁用；请启用它或配置另一个 AccessKey。",
    ),
    # credentials and signing
    "InvalidAccessKeyId.NotFound": ErrorRule(
        "credentials",
        "The AccessKey ID is not known to Alibaba Cloud. " + CREDENTIALS_HINT,
        "阿里云不认识该 AccessKey ID。" + CREDENTIALS_HINT_ZH,
    ),
    "InvalidAccessKeyId.Inactive": ErrorRule(
        "credentials",
        "The AccessKey is disabled; enable it or configure another one.",
        "该 AccessKey 已被禁用；请启用它或配置另一个 AccessKey。",
    ),
    "SignatureDoesNotMatch": ErrorRule(
        "credentials",
        "The AccessKey secret does not match the AccessKey ID; check the configured credentials.",
        "AccessKey Secret 与 AccessKey ID 不匹配；请检查所配置的凭证。",
    ),
    "IncompleteSignature": ErrorRule(
        "credentials",
        "The request signature was malformed; check the configured credentials.",
        "请求签名格式不正确；请检查所配置的凭证。",
    ),
    "InvalidSecurityToken.Expired": ErrorRule(
        "credentials",
        "The STS security token has expired; obtain new temporary credentials.",
        "STS 安全令牌已过期；请获取新的临时凭证。",
    ),
    "InvalidSecurityToken.Malformed": ErrorRule(
        "credentials",
        "The STS security token is malformed; obtain new temporary credentials.",
        "STS 安全令牌格式不正确；请获取新的临时凭证。",
    ),
    "InvalidSecurityToken.MismatchWithAccessKey": ErrorRule(
        "credentials",
        "The STS security token does not belong to the AccessKey ID in use.",
        "STS 安全令牌不属于当前使用的 AccessKey ID。",
    ),
    "MissingSecurityToken": ErrorRule(
        "credentials",
        "Temporary (STS) credentials need their security token as well.",
        "临时（STS）凭证还需要提供其安全令牌。",
    ),
    "InvalidTimeStamp.Expired": ErrorRule(
        "credentials",
        "The local clock differs from Alibaba Cloud's by more than 15 minutes; sync it (NTP).",
        "本机时钟与阿里云的时间相差超过 15 分钟；请同步时钟（NTP）。",
    ),
    "SignatureNonceUsed": ErrorRule(
        "server",
        "A request nonce was reused; retry the step.",
        "请求的 nonce 被重复使用；请重试该步骤。",
    ),
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
        "invalid_parameter",
        "The time window ends before it starts; swap or fix the bounds.",
        "时间窗口的结束早于开始；请交换或修正起止时间。",
    ),
    "EventIdLimitExceeded": _INVALID,
    "InstanceIds.ExceedLimit": _INVALID,
    "InstanceIdLimitExceeded": _INVALID,
    "InvalidCmdType.NotFound": _INVALID,
    "CmdContent.ExceedLimit": ErrorRule(
        "invalid_parameter",
        "The command is larger than Cloud Assistant accepts in this region (16, 18 or 24 KB of "
        "Base64 content plus parameters); lower ECS_DIAG_COMMAND_CONTENT_LIMIT.",
        "命令超过了该地域云助手可接受的大小（Base64 内容加参数共 16、18 或 24 KB）；"
        "请调低 ECS_DIAG_COMMAND_CONTENT_LIMIT。",
    ),
    "InvalidVersion": _INVALID,
    # instance state
    "IncorrectInstanceStatus": _STATE,
    "InvalidInstance.NotMatch": ErrorRule(
        "instance_state",
        "The instance does not meet the conditions for this command (OS type, Running state, "
        "Cloud Assistant installed).",
        "实例不满足该命令的条件（操作系统类型、运行中（Running）状态、已安装云助手）。",
    ),
    "NotSupported": ErrorRule(
        "instance_state",
        "{action} is not supported for this instance (e.g. Windows, retired type).",
        "该实例不支持 {action}（例如 Windows 实例或已停售的实例规格）。",
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
        "云监控中没有这个监控指标或资源；请检查指标名称（命名空间 acs_ecs_dashboard）和实例 ID。",
    ),
    "InvalidNextToken": _INVALID,
    "InvalidTimeRange": ErrorRule(
        "invalid_parameter",
        "The time window is outside what the API accepts (CloudMonitor: at most 31 days; "
        "ActionTrail: the last 90 days); narrow it.",
        "时间窗口超出了 API 接受的范围（云监控：最多 31 天；操作审计：最近 90 天）；请缩小范围。",
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
_RAM_ACTION_NOTES_ZH: dict[str, str] = {
    "cms:QueryMetricList": "（云监控 DescribeMetricList 对应的 RAM 操作；RAM 中没有 "
    "cms:DescribeMetricList 这个操作）",
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
        return rule.hint_zh.format(
            action=action, ram_action=ram + _RAM_ACTION_NOTES_ZH.get(ram, "")
        )
    return rule.hint.format(action=action, ram_action=ram + _RAM_ACTION_NOTES.get(ram, ""))
