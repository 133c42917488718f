"""The ports the domain core talks through. Adapters implement them; the core never imports them.

- :class:`EcsGateway`: every Alibaba Cloud call the workflow needs. Implementations raise
  :class:`~ecs_reboot_diagnosis.errors.CloudApiError` for API failures and return ``None`` only
  where this interface says so.
- :class:`DiagnosisStore`: where diagnoses live between steps, keyed by diagnosis id.
- :class:`Clock`: time, so that waiting and expiry are testable without real sleeping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from ecs_reboot_diagnosis.models import ApiCall, InstanceFacts, PastDiagnosis, PlatformEvent

if TYPE_CHECKING:
    from ecs_reboot_diagnosis.diagnosis import Diagnosis

__all__ = [
    "AgentHeartbeat",
    "ApiCall",
    "AuditGateway",
    "Clock",
    "ConsoleOutput",
    "DiagnosisStore",
    "EcsGateway",
    "InvocationResult",
    "MetricPoint",
    "MetricSeries",
    "MetricsGateway",
    "Screenshot",
]

MAX_HISTORY = 100
"""The most earlier reports a store returns for one instance."""

CommandType = Literal["RunShellScript", "RunPowerShellScript"]
InvocationStatus = Literal[
    "Pending",
    "Scheduled",
    "Running",
    "Stopping",
    "Finished",
    "Success",
    "Failed",
    "Stopped",
    "PartialFailed",
    "Timeout",
    "Cancelled",
    "Terminated",
    "Invalid",
    "Aborted",
    "Error",
]
TERMINAL_INVOCATION_STATUSES: frozenset[str] = frozenset(
    {
        "Finished",
        "Success",
        "Failed",
        "Stopped",
        "PartialFailed",
        "Timeout",
        "Cancelled",
        "Terminated",
        "Invalid",
        "Aborted",
        "Error",
    }
)


class _Dto(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AgentHeartbeat(_Dto):
    """DescribeCloudAssistantStatus for one instance."""

    running: bool
    last_heartbeat: datetime | None = None
    agent_version: str = ""
    supports_session_manager: bool | None = None


class InvocationResult(_Dto):
    """DescribeInvocationResults for one instance of one invocation; ``output`` is decoded."""

    invoke_id: str
    status: str
    output: str = ""
    exit_code: int | None = None
    error_code: str = ""
    error_info: str = ""
    dropped_bytes: int = 0
    start_time: datetime | None = None
    finish_time: datetime | None = None


class ConsoleOutput(_Dto):
    text: str
    last_update_time: datetime | None = None


class Screenshot(_Dto):
    png: bytes


class EcsGateway(Protocol):
    """Alibaba Cloud ECS and Cloud Assistant, as the workflow needs them."""

    async def describe_instance(self, region_id: str, instance_id: str) -> InstanceFacts | None:
        """The instance, or None when the region has no such instance."""
        ...

    async def describe_history_events(
        self,
        region_id: str,
        instance_id: str,
        *,
        cycle_statuses: Sequence[str],
        start: datetime,
        end: datetime,
    ) -> list[PlatformEvent]:
        """System events of the instance whose NotBefore lies in [start, end], all pages."""
        ...

    async def describe_cloud_assistant(
        self, region_id: str, instance_id: str
    ) -> AgentHeartbeat: ...

    async def run_command(
        self,
        region_id: str,
        instance_id: str,
        *,
        command_type: CommandType,
        content: str,
        parameters: Mapping[str, str],
        timeout_seconds: int,
        name: str,
        client_token: str = "",
    ) -> str:
        """Start a Cloud Assistant invocation of ``content``; returns the InvokeId at once.

        ``client_token`` (at most 64 ASCII characters; empty: one made for this call) is sent
        as RunCommand's ClientToken on every attempt: a send with a token that already created
        an invocation, and the same parameters, gets that invocation back instead of a new
        run."""
        ...

    async def invocation_result(
        self, region_id: str, instance_id: str, invoke_id: str
    ) -> InvocationResult: ...

    async def console_output(self, region_id: str, instance_id: str) -> ConsoleOutput: ...

    async def screenshot(self, region_id: str, instance_id: str) -> Screenshot: ...


class MetricPoint(_Dto):
    timestamp: datetime
    average: float | None = None
    maximum: float | None = None
    minimum: float | None = None


class MetricSeries(_Dto):
    """One CloudMonitor metric of one instance (namespace acs_ecs_dashboard)."""

    metric: str
    unit: str = ""
    period_seconds: int
    points: list[MetricPoint]


class MetricsGateway(Protocol):
    """CloudMonitor (DescribeMetricList), for the metrics before a reboot. Optional evidence:
    implementations raise CloudApiError(kind="forbidden") when the caller may not read them."""

    async def metric_series(
        self,
        region_id: str,
        instance_id: str,
        metric: str,
        *,
        start: datetime,
        end: datetime,
        period_seconds: int,
    ) -> MetricSeries:
        """All points of ``metric`` for the instance in [start, end], every page."""
        ...


class AuditGateway(Protocol):
    """ActionTrail (LookupEvents), for who called what on the instance. Optional evidence."""

    async def instance_api_calls(
        self, region_id: str, instance_id: str, *, start: datetime, end: datetime
    ) -> list[ApiCall]:
        """Every recorded API call on the instance in [start, end], every page, any order."""
        ...


class DiagnosisStore(Protocol):
    """Diagnoses by id, and what earlier reports of an instance concluded.

    ``get`` raises UnknownDiagnosisError for an unknown or expired id. ``put`` replaces a stored
    diagnosis and returns it as stored (its ``revision`` one higher); it raises
    ConcurrentUpdateError when the copy's revision is not the stored one (another process
    sharing the store wrote first), and keeps the summary of a diagnosis's report once it has one.
    The service's claim on a guest run (``Diagnosis.guest_claim``, written before RunCommand)
    rests on that check: of two processes claiming at once, one ``put`` fails.
    """

    def add(self, diagnosis: Diagnosis) -> None: ...

    def get(self, diagnosis_id: str) -> Diagnosis: ...

    def put(self, diagnosis: Diagnosis) -> Diagnosis: ...

    def history(
        self,
        owner: str,
        region_id: str,
        instance_id: str,
        *,
        since: datetime,
        exclude_id: str = "",
    ) -> list[PastDiagnosis]:
        """What ``owner``'s reports of the instance generated at or after ``since`` concluded,
        newest first (at most :data:`MAX_HISTORY`), leaving out diagnosis ``exclude_id``."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None: ...
