"""The ports of the fleet scan: batched cloud calls (up to 100 instances a call) and where a
scan's progress is kept so that it can be resumed.

- :class:`FleetGateway`: DescribeInstances by pages, history events, agent status and RunCommand
  for up to 100 instances a call, invocation results by pages, ActionTrail once per region.
  Implementations own the flow control (per-API rate limits, backoff on throttling) and raise
  :class:`~ecs_reboot_diagnosis.errors.CloudApiError` for API failures.
- :class:`ScanStore`: the checkpoint of a scan (its parameters, the instances already
  concluded, the invocations in flight), keyed by scan id, owned, and saved under optimistic
  concurrency (two runs of one scan cannot both go on).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ecs_reboot_diagnosis.models import ApiCall, InstanceFacts, PlatformEvent
from ecs_reboot_diagnosis.ports import AgentHeartbeat, CommandType, InvocationResult

__all__ = [
    "BATCH_LIMIT",
    "MAX_CHECKPOINT_BYTES",
    "MAX_SCANS_PER_OWNER",
    "RESULTS_PAGE_LIMIT",
    "FleetEvent",
    "FleetGateway",
    "InstancePage",
    "InvocationState",
    "ResultsPage",
    "ScanStore",
    "StoredScan",
]

BATCH_LIMIT = 100
"""Instance ids one DescribeInstances / history events / agent status / RunCommand call takes."""
RESULTS_PAGE_LIMIT = 50
"""Results one DescribeInvocationResults page holds at most."""
MAX_SCANS_PER_OWNER = 32
"""Scans a store keeps per owner (bearer token; stdio and the CLI: the one user)."""
MAX_CHECKPOINT_BYTES = 8 * 1024 * 1024
"""The largest checkpoint (JSON, bytes) a store keeps."""


class _Dto(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InstancePage(_Dto):
    instances: list[InstanceFacts]
    next_token: str | None = None
    """None on the last page."""


class FleetEvent(_Dto):
    """One history event and the instance it belongs to (events of many instances come back
    in one answer)."""

    instance_id: str
    event: PlatformEvent


class InvocationState(_Dto):
    """One invocation as DescribeInvocations reports it, without output: its overall status
    and each instance's."""

    invoke_id: str
    status: str
    instance_statuses: dict[str, str] = Field(default_factory=dict)
    found: bool = True
    """False when the API has no record of it (not visible yet, or expired)."""


class ResultsPage(_Dto):
    results: dict[str, InvocationResult]
    """By instance id; ``output`` decoded."""
    next_token: str | None = None


class FleetGateway(Protocol):
    """Alibaba Cloud ECS, Cloud Assistant and ActionTrail, batched for fleets."""

    async def describe_instances_page(
        self,
        region_id: str,
        *,
        instance_ids: Sequence[str] | None = None,
        tags: Sequence[tuple[str, str]] = (),
        next_token: str | None = None,
    ) -> InstancePage:
        """One page (up to 100) of the region's instances: those of ``instance_ids`` (at most
        100) or, without ids, all of them, filtered by every tag of ``tags``."""
        ...

    async def history_events(
        self,
        region_id: str,
        instance_ids: Sequence[str],
        *,
        cycle_statuses: Sequence[str],
        start: datetime,
        end: datetime,
    ) -> list[FleetEvent]:
        """Events of up to 100 instances whose NotBefore lies in [start, end], every page."""
        ...

    async def agent_statuses(
        self, region_id: str, instance_ids: Sequence[str]
    ) -> dict[str, AgentHeartbeat]:
        """Cloud Assistant status of up to 100 instances, by instance id."""
        ...

    async def run_command_batch(
        self,
        region_id: str,
        instance_ids: Sequence[str],
        *,
        command_type: CommandType,
        content: str,
        parameters: Mapping[str, str],
        timeout_seconds: int,
        name: str,
        client_token: str,
    ) -> str:
        """One invocation of ``content`` on up to 100 instances; returns the InvokeId at once.
        The same ``client_token`` again returns the invocation it created (idempotence)."""
        ...

    async def invocation_state(self, region_id: str, invoke_id: str) -> InvocationState:
        """The invocation's overall and per-instance status (no output)."""
        ...

    async def invocation_results_page(
        self, region_id: str, invoke_id: str, *, next_token: str | None = None
    ) -> ResultsPage:
        """One page (up to 50 instances) of the invocation's results, output decoded."""
        ...

    async def region_api_calls(
        self, region_id: str, *, start: datetime, end: datetime
    ) -> list[ApiCall]:
        """Every write API call on ECS instances recorded in [start, end] (ActionTrail, every
        page, one lookup for the region)."""
        ...


@dataclass(frozen=True, slots=True)
class StoredScan:
    """A scan's checkpoint as the store holds it, and the revision it was read at."""

    checkpoint: dict[str, Any]
    revision: int
    """1 after the first save, one more after each later one."""


class ScanStore(Protocol):
    """Checkpoints of fleet scans, as JSON-compatible mappings, keyed by scan id and owned.

    ``save`` replaces the whole checkpoint atomically, under optimistic concurrency: only when
    the stored revision is still ``revision`` (0: the scan is new), else it writes nothing and
    raises :class:`~ecs_reboot_diagnosis.errors.ScanBusyError` (another run saved the scan since
    this one read it, or the scan was dropped). ``load`` returns None for an unknown id, an
    expired scan or another owner's (all three look the same to the caller). A store keeps at
    most :data:`MAX_SCANS_PER_OWNER` scans per owner, dropping the least recently saved.

    A checkpoint is written after every batch and before every RunCommand, so an interrupted
    scan loses at most the batches in flight (their invocations are recorded and read again on
    resume), and of two runs of one scan only one can send a command for a batch.
    """

    def save(
        self, scan_id: str, owner: str, checkpoint: Mapping[str, Any], *, revision: int
    ) -> int:
        """Write the checkpoint; returns its new revision."""
        ...

    def load(self, scan_id: str, owner: str) -> StoredScan | None: ...
