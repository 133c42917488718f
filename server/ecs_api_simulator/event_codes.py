"""Numeric codes of system event types, cycle statuses and health states.

Only the codes marked "real" were seen in public real responses (research §3.3, §3.4); the rest
are made up by the simulator so that every name has a code. Clients must key on ``Name``.
"""

from __future__ import annotations

EVENT_TYPE_CODES: dict[str, int] = {
    "SystemMaintenance.Reboot": 1,  # real
    "SystemMaintenance.RebootAndIsolateErrorDisk": 3,  # real
    "SystemMaintenance.RebootAndReInitErrorDisk": 4,
    "SystemMaintenance.Redeploy": 9,  # real
    "SystemMaintenance.ReInitErrorDisk": 10,
    "SystemMaintenance.StopAndRepair": 11,
    "SystemMaintenance.CleanInactiveDisks": 12,
    "SystemUpgrade.Migrate": 20,
    "InstanceExpiration.Stop": 34,  # real
    "InstanceExpiration.Delete": 35,
    "AccountUnbalanced.Stop": 36,
    "AccountUnbalanced.Delete": 37,
    "SecurityPunish.Locked": 48,
    "SecurityPunish.WebsiteBanned": 49,
    "SystemFailure.Reboot": 65,  # real
    "SystemFailure.Delete": 66,  # real
    "SystemFailure.Redeploy": 67,
    "InstanceFailure.Reboot": 68,
}

FILTERABLE_INSTANCE_EVENT_TYPES = frozenset(
    {
        "SystemMaintenance.Reboot",
        "SystemMaintenance.Redeploy",
        "SystemFailure.Reboot",
        "SystemFailure.Redeploy",
        "SystemFailure.Delete",
        "InstanceFailure.Reboot",
        "InstanceExpiration.Stop",
        "InstanceExpiration.Delete",
        "AccountUnbalanced.Stop",
        "AccountUnbalanced.Delete",
    }
)

CYCLE_STATUS_CODES: dict[str, int] = {
    "Executed": 0,  # real
    "Avoided": 8,  # real
    "Scheduled": 24,  # real
    "Inquiring": 28,  # real
    "Executing": 16,
    "Canceled": 32,
    "Failed": 40,
}
COMPLETED_CYCLE_STATUSES = frozenset({"Avoided", "Executed", "Canceled", "Failed"})
UNFINISHED_CYCLE_STATUSES = frozenset({"Scheduled", "Executing", "Inquiring"})
SCHEDULED_CYCLE_STATUSES = frozenset({"Scheduled", "Inquiring"})
"""Statuses DescribeInstancesFullStatus lists in ScheduledSystemEventSet."""

HEALTH_STATUS_CODES: dict[str, int] = {
    "Ok": 0,  # real
    "Warning": 64,  # real
    "Impaired": 128,  # real
    "Maintaining": 32,
    "Initializing": 16,
    "InsufficientData": 256,
    "NotApplicable": 512,
}

INSTANCE_STATUS_CODES: dict[str, int] = {
    "Pending": 0,
    "Running": 1,  # real
    "Starting": 2,
    "Stopping": 64,
    "Stopped": 128,
}


def event_type_code(name: str) -> int:
    return EVENT_TYPE_CODES.get(name, 999)
