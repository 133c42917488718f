"""What ``ecs_scan_fleet`` returns: the groups by cause, then one page of instances, each with
the call of its full diagnosis; bounded whatever the fleet's size (a page of instances, a cap on
groups and on the ids listed per group).

Group labels, frames, instance names and causes may quote guest or API text (function names,
process names, callers): they sit in fields described as untrusted.
"""

from __future__ import annotations

import math
from typing import Final

from pydantic import BaseModel, Field

from ecs_reboot_diagnosis.fleet_models import FleetScan
from ecs_reboot_diagnosis.models import Lang
from ecs_reboot_diagnosis.report.fleet_render import group_line
from ecs_reboot_diagnosis_mcp.tool_results import NextStep, untrusted

PAGE_SIZE: Final = 30
MAX_GROUPS: Final = 60
MAX_IDS_PER_GROUP: Final = 10


class FleetGroupOut(BaseModel):
    label: str = untrusted(
        "The cause shared by the group, e.g. '12 instance(s): A soft lockup in nvme_poll [nvme] "
        "panicked the kernel, same stack'; it may quote guest function or process names."
    )
    happened: str = Field(description="rebooted, stopped, unknown or no_reboot.")
    rule_id: str
    count: int
    frames: list[str] = untrusted("Top of the crash's call trace, when the cause is a crash.")
    instance_ids: list[str] = Field(
        description=f"The group's instances (at most {MAX_IDS_PER_GROUP}; see more_instances)."
    )
    more_instances: int = 0


class FleetInstanceOut(BaseModel):
    instance_id: str
    region_id: str
    instance_name: str = untrusted("The instance's name, as the API reported it.")
    happened: str
    rule_id: str
    cause: str = untrusted("The group's cause for this instance.")
    guest: str = Field(
        description="collected, failed, not_needed (the events explain it), agent_unavailable "
        "or disabled: what the scan read inside the guest."
    )
    full_diagnosis: NextStep


class FleetScanResult(BaseModel):
    scan_id: str
    complete: bool
    summary: str = Field(description="The product's own summary of the scan (counts).")
    counts: dict[str, int]
    window_start: str
    window_end: str
    guest_commands: bool
    groups: list[FleetGroupOut] = Field(description="Causes, most frequent first.")
    more_groups: int = 0
    page: int
    pages: int
    instances: list[FleetInstanceOut] = Field(
        description=f"One page of instances ({PAGE_SIZE} a page), rebooted and stopped first."
    )
    next_page: NextStep | None = Field(
        default=None, description="The call that returns the next page, when there is one."
    )
    notes: list[str] = untrusted("Evidence that could not be read (it may quote API errors).")


def scan_result(scan: FleetScan, page: int, lang: Lang) -> FleetScanResult:
    counts = scan.counts()
    pages = max(1, math.ceil(len(scan.instances) / PAGE_SIZE))
    page = min(max(1, page), pages)
    labels = {g.signature: g for g in scan.groups}
    chunk = scan.instances[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    instances = []
    for instance in chunk:
        group = labels.get(instance.signature)
        cause = group.label.get(lang) if group is not None else instance.root_cause.get(lang)
        instances.append(
            FleetInstanceOut(
                instance_id=instance.instance_id,
                region_id=instance.region_id,
                instance_name=instance.instance_name[:128],
                happened=instance.happened,
                rule_id=instance.rule_id,
                cause=cause[:300],
                guest=instance.guest,
                full_diagnosis=NextStep(
                    tool="ecs_start_diagnosis",
                    arguments={
                        "instance_id": instance.instance_id,
                        "region_id": instance.region_id,
                    },
                    why="Full diagnosis of this instance.",
                ),
            )
        )
    groups = [
        FleetGroupOut(
            label=group_line(g, lang)[:300],
            happened=g.happened,
            rule_id=g.rule_id,
            count=g.count,
            frames=[f[:120] for f in g.frames],
            instance_ids=g.instance_ids[:MAX_IDS_PER_GROUP],
            more_instances=max(0, g.count - MAX_IDS_PER_GROUP),
        )
        for g in scan.groups[:MAX_GROUPS]
    ]
    state = "complete" if scan.complete else "not finished (call again with this scan_id)"
    summary = (
        f"Scan {scan.scan_id} {state}: {counts['instances']} instance(s), "
        f"{counts['rebooted']} rebooted, {counts['stopped']} stopped, {counts['unknown']} "
        f"unknown, {counts['no_reboot']} without a reboot in the window; {len(scan.groups)} "
        f"cause(s). Page {page} of {pages}. Relay the groups first, then the instances; offer "
        "a full diagnosis (full_diagnosis) of an instance the user cares about."
    )
    next_page = None
    if page < pages:
        next_page = NextStep(
            tool="ecs_scan_fleet",
            arguments={"scan_id": scan.scan_id, "page": str(page + 1)},
            why="More instances of this scan (no API call is repeated).",
        )
    return FleetScanResult(
        scan_id=scan.scan_id,
        complete=scan.complete,
        summary=summary,
        counts=counts,
        window_start=scan.window_start.isoformat(),
        window_end=scan.window_end.isoformat(),
        guest_commands=scan.request.guest_commands,
        groups=groups,
        more_groups=max(0, len(scan.groups) - MAX_GROUPS),
        page=page,
        pages=pages,
        instances=instances,
        next_page=next_page,
        notes=[n.get(lang)[:400] for n in scan.notes],
    )
