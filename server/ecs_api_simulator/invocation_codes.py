"""Cloud Assistant invocation codes: the ``ErrorCode`` values a run can end with, their documented
``ErrorInfo`` texts, and the status a forced failure ends in."""

from __future__ import annotations

ERROR_INFO: dict[str, str] = {
    "InstanceNotExists": "the specified instance does not exists",
    "InstanceReleased": "the instance has released when create task",
    "InstanceNotRunning": "the instance is not running when create task",
    "CommandNotApplicable": "the command is not applicable",
    "AccountNotExists": "the specified account does not exists",
    "DirectoryNotExists": "the specified directory does not exists",
    "BadCronExpression": "the cron job expression is invalid",
    "ClientNotRunning": "the aliyun service is not running on the instance",
    "ClientNotResponse": "the aliyun service in the instance does not response",
    "ClientIsUpgrading": "the aliyun service in the instance is upgrading now",
    "ClientNeedUpgrade": "the aliyun service in the instance need upgrade",
    "DeliveryTimeout": "the command delivery has been timeout",
    "ExecutionTimeout": "the command execution has been timeout",
    "ExecutionException": "the command execution got an exception",
    "ExecutionInterrupted": "the command execution has been interrupted",
    "ExitCodeNonzero": "the command execution exit code is not zero.",
    "SecurityGroupRuleDenied": "The security group rules denied access to the aliyun service.",
}
DELIVERY_ERRORS = frozenset(
    {
        "InstanceNotExists",
        "InstanceReleased",
        "InstanceNotRunning",
        "CommandNotApplicable",
        "AccountNotExists",
        "DirectoryNotExists",
        "BadCronExpression",
        "ClientNotRunning",
        "ClientNotResponse",
        "ClientIsUpgrading",
        "ClientNeedUpgrade",
        "DeliveryTimeout",
        "SecurityGroupRuleDenied",
    }
)
FORCED_STATUS = {
    "InstanceNotRunning": "Aborted",
    "ExecutionTimeout": "Timeout",
    "ExecutionException": "Error",
    "ExecutionInterrupted": "Terminated",
    "ExitCodeNonzero": "Failed",
}

INVOCATION_STATUSES = frozenset(
    {
        "Pending",
        "Scheduled",
        "Running",
        "Stopping",
        "Stopped",
        "Success",
        "Failed",
        "PartialFailed",
        "Error",
        "Timeout",
        "Cancelled",
        "Terminated",
        "Aborted",
        "Invalid",
    }
)
"""Per-instance InvocationStatus values (DescribeInvocationResults)."""
