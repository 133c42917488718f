"""An EcsGateway kept in memory, for the service's unit tests.

It implements the port itself (no SDK, nothing patched): instances, events, a Cloud Assistant
heartbeat, and invocations whose output a test supplies as a function of the command and its
parameters. Invocations finish after a given number of polls, so waiting logic is exercised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ecs_reboot_diagnosis.errors import CloudApiError
from ecs_reboot_diagnosis.models import ApiCall, InstanceFacts, PlatformEvent
from ecs_reboot_diagnosis.ports import (
    AgentHeartbeat,
    CommandType,
    ConsoleOutput,
    InvocationResult,
    MetricSeries,
    Screenshot,
)

OutputFn = Callable[[str, Mapping[str, str]], str]


@dataclass
class Invocation:
    invoke_id: str
    content: str
    parameters: dict[str, str]
    command_type: str
    polls_left: int
    output: str
    status: str = "Running"


@dataclass
class MemoryGateway:
    instances: dict[tuple[str, str], InstanceFacts] = field(default_factory=dict)
    events: list[PlatformEvent] = field(default_factory=list)
    heartbeat: AgentHeartbeat = field(default_factory=lambda: AgentHeartbeat(running=True))
    output: OutputFn = lambda content, params: ""
    polls_to_finish: int = 1
    final_status: str = "Success"
    error_code: str = ""
    denied_actions: set[str] = field(default_factory=set)
    invocations: dict[str, Invocation] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    """ClientToken -> the InvokeId it created (RunCommand's idempotence)."""
    calls: list[str] = field(default_factory=list)
    console_text: str = ""
    console_updated: datetime | None = None
    screenshot_png: bytes = b""

    def _call(self, action: str) -> None:
        self.calls.append(action)
        if action in self.denied_actions:
            raise CloudApiError(
                action,
                "forbidden",
                "Forbidden.RAM",
                "User not authorized to operate on the specified resource.",
                request_id="MEM-REQUEST",
                hint=f"Grant ecs:{action} to the caller.",
            )

    def add(self, instance: InstanceFacts) -> None:
        self.instances[(instance.region_id, instance.instance_id)] = instance

    async def describe_instance(self, region_id: str, instance_id: str) -> InstanceFacts | None:
        self._call("DescribeInstances")
        return self.instances.get((region_id, instance_id))

    async def describe_history_events(
        self,
        region_id: str,
        instance_id: str,
        *,
        cycle_statuses: Sequence[str],
        start: datetime,
        end: datetime,
    ) -> list[PlatformEvent]:
        self._call("DescribeInstanceHistoryEvents")
        return [
            e
            for e in self.events
            if e.cycle_status in cycle_statuses
            and e.not_before is not None
            and start <= e.not_before <= end
        ]

    async def describe_cloud_assistant(self, region_id: str, instance_id: str) -> AgentHeartbeat:
        self._call("DescribeCloudAssistantStatus")
        return self.heartbeat

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
        self._call("RunCommand")
        if client_token in self.tokens:
            return self.tokens[client_token]
        invoke_id = f"t-mem{len(self.invocations):06d}"
        if client_token:
            self.tokens[client_token] = invoke_id
        self.invocations[invoke_id] = Invocation(
            invoke_id=invoke_id,
            content=content,
            parameters=dict(parameters),
            command_type=command_type,
            polls_left=self.polls_to_finish,
            output=self.output(content, parameters),
        )
        return invoke_id

    async def invocation_result(
        self, region_id: str, instance_id: str, invoke_id: str
    ) -> InvocationResult:
        self._call("DescribeInvocationResults")
        inv = self.invocations[invoke_id]
        if inv.polls_left > 0:
            inv.polls_left -= 1
            return InvocationResult(invoke_id=invoke_id, status="Running")
        return InvocationResult(
            invoke_id=invoke_id,
            status=self.final_status,
            output=inv.output,
            exit_code=0 if self.final_status == "Success" else 1,
            error_code=self.error_code,
        )

    async def console_output(self, region_id: str, instance_id: str) -> ConsoleOutput:
        self._call("GetInstanceConsoleOutput")
        return ConsoleOutput(text=self.console_text, last_update_time=self.console_updated)

    async def screenshot(self, region_id: str, instance_id: str) -> Screenshot:
        self._call("GetInstanceScreenshot")
        return Screenshot(png=self.screenshot_png)


@dataclass
class MemoryAudit:
    """An AuditGateway (ActionTrail) kept in memory."""

    api_calls: list[ApiCall] = field(default_factory=list)
    denied: bool = False

    async def instance_api_calls(
        self, region_id: str, instance_id: str, *, start: datetime, end: datetime
    ) -> list[ApiCall]:
        if self.denied:
            raise CloudApiError(
                "LookupEvents", "forbidden", "NoPermission", "denied", request_id="MEM-AUDIT"
            )
        return [c for c in self.api_calls if start <= c.event_time <= end]


@dataclass
class MemoryMetrics:
    """A MetricsGateway (CloudMonitor) kept in memory: metric name -> series."""

    series: dict[str, MetricSeries] = field(default_factory=dict)
    errors: dict[str, CloudApiError] = field(default_factory=dict)
    """Metric name -> the error reading it raises."""
    read: list[str] = field(default_factory=list)

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
        self.read.append(metric)
        if metric in self.errors:
            raise self.errors[metric]
        found = self.series.get(metric)
        if found is None:
            return MetricSeries(metric=metric, period_seconds=period_seconds, points=[])
        points = [p for p in found.points if start <= p.timestamp <= end]
        return found.model_copy(update={"points": points})
