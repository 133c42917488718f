"""DiagnosisService: one method per workflow step, over the ports only.

Every step method takes a diagnosis id, checks the workflow allows the step, does the step's
I/O through the gateway, stores the new state and returns it. The MCP tools and the CLI are thin
adapters over these methods; the order of steps is enforced here, not in the adapters.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import socket
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from ecs_reboot_diagnosis import __version__
from ecs_reboot_diagnosis.agent_status import judge_agent
from ecs_reboot_diagnosis.analysis import (
    advice,
    conclusions,
    dump_setup,
    platform_events,
    recurrence,
)
from ecs_reboot_diagnosis.analysis.console import read_console
from ecs_reboot_diagnosis.analysis.crash_dump import triage_dumps
from ecs_reboot_diagnosis.analysis.guest import parse_guest_output
from ecs_reboot_diagnosis.analysis.metrics import METRICS, summarize
from ecs_reboot_diagnosis.analysis.timeline import build_timeline
from ecs_reboot_diagnosis.collectors import (
    MAX_SINCE_DAYS,
    Collector,
    collector_parameters,
    load_collector,
    new_nonce,
)
from ecs_reboot_diagnosis.collectors.delivery import (
    DEFAULT_CONTENT_LIMIT,
    EXCEED_LIMIT_CODE,
    DeliveryForm,
    choose_delivery,
    packed_command,
)
from ecs_reboot_diagnosis.diagnosis import Diagnosis, GuestClaim, new_diagnosis_id
from ecs_reboot_diagnosis.errors import (
    CloudApiError,
    CollectorIntegrityError,
    ConcurrentUpdateError,
    DiagnosisError,
    GuestRunClaimedError,
    GuestStillRunningError,
    InstanceNotFoundError,
    InvalidInputError,
    UnknownDiagnosisError,
    WorkflowOrderError,
)
from ecs_reboot_diagnosis.glosses import gloss
from ecs_reboot_diagnosis.models import (
    INSTANCE_ID_PATTERN,
    REGION_ID_PATTERN,
    ApiCall,
    CloudAssistantStatus,
    DumpTriage,
    GuestRun,
    Lang,
    MetricSummary,
    Report,
    ScreenshotInfo,
    Skip,
    SourceNote,
    Text,
)
from ecs_reboot_diagnosis.ports import (
    TERMINAL_INVOCATION_STATUSES,
    AgentHeartbeat,
    AuditGateway,
    Clock,
    DiagnosisStore,
    EcsGateway,
    InvocationResult,
    MetricsGateway,
)
from ecs_reboot_diagnosis.progress import ProgressCallback, StepProgress
from ecs_reboot_diagnosis.reboot_time import days_back, parse_reboot_time
from ecs_reboot_diagnosis.workflow import (
    STEP_ORDER,
    Outcome,
    Phase,
    Step,
    WorkflowState,
    advance,
    require,
)

__all__ = ["DiagnosisService", "ProgressCallback", "ServiceConfig"]
GuestStatus = Literal["pending", "collected", "failed"]
ALL_CYCLE_STATUSES = ("Scheduled", "Avoided", "Executing", "Executed", "Canceled", "Failed",
                      "Inquiring")  # fmt: skip
MAX_EVENT_WINDOW_DAYS = 30
MAX_KEPT_RESULTS = 64
"""Finished collector results kept in memory for get_guest_results (one forgotten is re-read)."""
T = TypeVar("T")
DIAGNOSE_STEPS = len(STEP_ORDER)
"""The total of the one-call workflow's progress: one unit per step, skipped steps jumped over."""
STORE_ATTEMPTS = 5
"""Writes of a claim (or of its run) made again when another process wrote first."""
NOT_SENT_KINDS = frozenset({"forbidden", "credentials", "invalid_parameter", "instance_state",
                            "not_found"})  # fmt: skip
"""CloudApiError kinds meaning the API refused the call (nothing was created)."""
OS_NAMES: dict[str, str] = {"linux": "Linux", "windows": "Windows"}
STEP_DONE: dict[Step, Text] = {
    Step.CHECK_EVENTS: Text(en="Platform events checked.", zh_CN="已检查系统事件。"),
    Step.CHECK_AGENT: Text(en="Cloud Assistant checked.", zh_CN="已检查云助手。"),
    Step.COLLECT_AGENTLESS: Text(
        en="Serial console and screenshot read.", zh_CN="已读取串口控制台输出和屏幕截图。"
    ),
    Step.GET_GUEST_RESULTS: Text(en="Guest results analysed.", zh_CN="已分析实例内部证据。"),
    Step.TRIAGE_DUMPS: Text(en="Crash dumps triaged.", zh_CN="已分析崩溃转储。"),
    Step.RECOMMEND_DUMP_SETUP: Text(en="Dump setup checked.", zh_CN="已检查转储配置。"),
    Step.RENDER_REPORT: Text(en="Report ready.", zh_CN="报告已生成。"),
}
"""What the one-call workflow's progress says when a step is done (step 1 names the instance)."""
WAIT_MARGIN_SECONDS = 30.0
"""Waited beyond the collector's own timeout, for Cloud Assistant to report the run it ended."""


@dataclass(frozen=True)
class ServiceConfig:
    """Tunables of the workflow. Defaults suit an interactive diagnosis."""

    event_window_days: int = 7
    guest_commands: bool = True
    heartbeat_max_age: timedelta = timedelta(minutes=10)
    command_timeout_seconds: int = 300
    log_window_days: int = 7
    wait_deadline_seconds: float | None = None
    """How long the whole workflow (the one-call tool, the CLI) waits for the guest collector;
    None: the collector's own timeout plus :data:`WAIT_MARGIN_SECONDS`, so a run is never given
    up before Cloud Assistant itself ends it (the run goes on after any wait)."""
    long_poll_seconds: float = 25.0
    """How long one step call waits for the collector before it answers ``pending`` (MCP
    clients commonly give a request 60 s)."""
    poll_first_seconds: float = 1.0
    """No poll before this long after RunCommand returned: Cloud Assistant's delivery plus the
    collector's shortest run on a small guest (a poll before it can only read Pending)."""
    poll_interval_seconds: float = 0.25
    """The gap between polls while the run is young: the result is seen this soon after it
    ends."""
    poll_growth: float = 0.1
    """The gap widens slowly for long runs: at most this fraction of the time the run has taken
    (10 %: a 10 s run is polled every 1 s at its end), so the wait costs about as much over the
    run as the run's own spread, for a number of reads that grows with the log of its length."""
    poll_max_seconds: float = 5.0
    guest_claim_seconds: float = 300.0
    """How long a process's claim to send the guest collector holds (see
    :class:`~ecs_reboot_diagnosis.diagnosis.GuestClaim`) before another process may take it
    over: beyond the longest a RunCommand call can take (the SDK gateway's: 4 attempts of at
    most 5 s connect and 10 s read, 3 backoffs of at most 10 s: 90 s; twice with the packed
    form's fallback), so that only a claim whose process died lapses."""
    agent_status_reuse_seconds: float = 30.0
    """The Cloud Assistant status read beside the platform events serves the agent check when
    it is at most this old; an older one is read again."""
    metrics_window: timedelta = timedelta(hours=24)
    metrics_period_seconds: int = 300
    command_content_limit: int = DEFAULT_CONTENT_LIMIT
    """RunCommand ``CommandContent`` limit assumed (Base64 content plus parameters, bytes)."""
    history_days: int = 30
    """How far back earlier reports of the instance feed the report's recurrence line."""
    lang: Lang = "en"
    """The language of a diagnosis whose caller names none (reports, tool errors)."""

    def __post_init__(self) -> None:
        if not 1 <= self.event_window_days <= MAX_EVENT_WINDOW_DAYS:
            raise ValueError(f"event_window_days must be 1..{MAX_EVENT_WINDOW_DAYS}")
        if not 1 <= self.log_window_days <= 90:
            raise ValueError("log_window_days must be 1..90")
        if not 10 <= self.command_timeout_seconds <= 86400:
            raise ValueError("command_timeout_seconds must be 10..86400")
        if not 0 < self.poll_interval_seconds <= self.poll_max_seconds:
            raise ValueError("poll_interval_seconds must be > 0 and <= poll_max_seconds")
        if not 0 <= self.poll_growth <= 1 or self.poll_first_seconds < 0:
            raise ValueError("poll_growth must be 0..1 and poll_first_seconds >= 0")
        if self.wait_deadline_seconds is not None and self.wait_deadline_seconds < 0:
            raise ValueError("wait_deadline_seconds must be 0 (no wait) or more")
        if self.guest_claim_seconds <= 0:
            raise ValueError("guest_claim_seconds must be positive")
        if self.long_poll_seconds <= 0:
            raise ValueError("long_poll_seconds must be positive")

    def poll_gap(self, elapsed: float) -> float:
        """Seconds from one poll to the next, for a poll made ``elapsed`` s into the run."""
        return min(max(self.poll_interval_seconds, self.poll_growth * elapsed),
                   self.poll_max_seconds)  # fmt: skip

    @property
    def guest_deadline_seconds(self) -> float:
        """How long the whole workflow waits for the guest collector."""
        if self.wait_deadline_seconds is not None:
            return self.wait_deadline_seconds
        return self.command_timeout_seconds + WAIT_MARGIN_SECONDS

    @property
    def call_wait_seconds(self) -> float:
        """How long one step call waits for the guest collector (never beyond the deadline)."""
        return min(self.long_poll_seconds, self.guest_deadline_seconds)


def validate_instance_id(value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInputError(
            "instance_id",
            "The ECS instance id is missing.",
            hint="Ask the user for it (it looks like i-bp1a2b3c4d5e6f7g8h9j); never guess it.",
            message_zh="缺少 ECS 实例 ID。",
            hint_zh="请向用户询问（形如 i-bp1a2b3c4d5e6f7g8h9j）；不要猜测。",
        )
    if not re.fullmatch(INSTANCE_ID_PATTERN, value):
        raise InvalidInputError(
            "instance_id",
            f"{value[:64]!r} is not an ECS instance id.",
            hint="An instance id starts with 'i-' followed by lowercase letters and digits. "
            "Ask the user for the exact id.",
            message_zh=f"{value[:64]!r} 不是 ECS 实例 ID。",
            hint_zh="实例 ID 以 'i-' 开头，后接小写字母和数字。请向用户确认准确的 ID。",
        )
    return value


def validate_region_id(value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInputError(
            "region_id",
            "The region id is missing.",
            hint="Ask the user which region the instance is in (for example cn-hangzhou); "
            "never guess it.",
            message_zh="缺少地域 ID。",
            hint_zh="请询问用户实例所在的地域（例如 cn-hangzhou）；不要猜测。",
        )
    if not re.fullmatch(REGION_ID_PATTERN, value):
        raise InvalidInputError(
            "region_id",
            f"{value[:64]!r} is not a region id.",
            hint="A region id looks like cn-hangzhou or ap-southeast-1. Ask the user for it.",
            message_zh=f"{value[:64]!r} 不是地域 ID。",
            hint_zh="地域 ID 形如 cn-hangzhou 或 ap-southeast-1。请向用户询问。",
        )
    return value


class DiagnosisService:
    def __init__(
        self,
        gateway: EcsGateway,
        store: DiagnosisStore,
        clock: Clock,
        config: ServiceConfig | None = None,
        *,
        metrics: MetricsGateway | None = None,
        audit: AuditGateway | None = None,
    ) -> None:
        self.gateway = gateway
        self.store = store
        self.clock = clock
        self.config = config or ServiceConfig()
        self.metrics = metrics
        self.audit = audit
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # Reads started ahead of the step that uses them, by diagnosis id; this process only
        # (a diagnosis resumed elsewhere reads again). None of them moves the workflow.
        self._agent_reads: dict[str, _AgentRead] = {}
        self._outside_reads: dict[str, asyncio.Task[None]] = {}
        self._results: OrderedDict[str, InvocationResult] = OrderedDict()

    # --- plumbing --------------------------------------------------------------------------

    def _lock(self, diagnosis_id: str) -> asyncio.Lock:
        """The lock that serialises the changes to one diagnosis."""
        lock = self._locks.get(diagnosis_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[diagnosis_id] = lock
        return lock

    @asynccontextmanager
    async def _step(self, diagnosis_id: str, owner: str, step: Step) -> AsyncIterator[Diagnosis]:
        """Serialise the steps of one diagnosis, check it belongs to ``owner`` and that the
        workflow allows ``step``."""
        async with self._lock(diagnosis_id):
            diagnosis = self.status(diagnosis_id, owner)
            require(diagnosis.workflow, step)
            yield diagnosis

    def _save(
        self, diagnosis: Diagnosis, step: Step, outcome: Outcome, **changes: object
    ) -> Diagnosis:
        workflow = advance(diagnosis.workflow, step, outcome)
        updated = diagnosis.model_copy(
            update={**changes, "workflow": workflow, "updated_at": self.clock.now()}
        )
        return self.store.put(updated)

    def status(self, diagnosis_id: str, owner: str) -> Diagnosis:
        """The diagnosis as stored, if it belongs to ``owner``.

        Every public step takes the caller's ``owner`` (an opaque identity from the adapter: a
        digest of the bearer token over HTTP, "" on stdio and the CLI) and checks it here, so no
        adapter has to remember to: another owner's diagnosis is unknown, exactly like an id
        that was never issued.
        """
        d = self.store.get(diagnosis_id)
        if d.owner != owner:
            raise UnknownDiagnosisError(diagnosis_id)
        return d

    # --- step 1 ----------------------------------------------------------------------------

    async def start(
        self,
        instance_id: str,
        region_id: str,
        owner: str,
        reboot_time: str | None = None,
        lang: Lang | None = None,
    ) -> Diagnosis:
        """Confirm the instance exists and record its facts; returns the new diagnosis.

        ``reboot_time`` (optional) is the time of the reboot the user asks about, in a form
        :func:`~ecs_reboot_diagnosis.reboot_time.parse_reboot_time` reads; it is read against
        this service's clock now and validated before any API call. ``lang`` is the language of
        the diagnosis (None: the service's default, :attr:`ServiceConfig.lang`).
        """
        instance_id = validate_instance_id(instance_id)
        region_id = validate_region_id(region_id)
        asked = None if reboot_time is None else parse_reboot_time(reboot_time, self.clock.now())
        require(WorkflowState(), Step.CONFIRM_INSTANCE)
        instance = await self.gateway.describe_instance(region_id, instance_id)
        if instance is None:
            raise InstanceNotFoundError(instance_id, region_id)
        now = self.clock.now()
        diagnosis = Diagnosis(
            id=new_diagnosis_id(),
            owner=owner,
            created_at=now,
            updated_at=now,
            workflow=advance(WorkflowState(), Step.CONFIRM_INSTANCE, "done"),
            instance=instance,
            reboot_time=asked,
            lang=lang or self.config.lang,
        )
        self.store.add(diagnosis)
        return diagnosis

    # --- step 2 ----------------------------------------------------------------------------

    async def check_events(self, diagnosis_id: str, owner: str) -> Diagnosis:
        """Read and judge the platform events.

        Two reads start beside it and need not be waited for: the Cloud Assistant status (kept
        for :meth:`check_agent`, which still judges it and records the check; nothing runs in
        the guest before that) and the optional outside evidence, ActionTrail and CloudMonitor,
        merged into the diagnosis when it arrives (at the latest when the report is built). A
        platform cause ends the diagnosis: the status read is dropped.
        """
        async with self._step(diagnosis_id, owner, Step.CHECK_EVENTS) as d:
            end = self.clock.now()
            days, widened = self._event_window_days(d, end)
            start = end - timedelta(days=days)
            region, iid = d.instance.region_id, d.instance.instance_id
            self._forget_agent_read(d.id)
            agent = _AgentRead(end, asyncio.ensure_future(
                self.gateway.describe_cloud_assistant(region, iid)))  # fmt: skip
            outside = asyncio.ensure_future(self._cloud_side_evidence(d, start, end))
            try:
                events = await self.gateway.describe_history_events(
                    region, iid, cycle_statuses=ALL_CYCLE_STATUSES, start=start, end=end
                )
                found = outside.result() if outside.done() else None
            except BaseException:
                await _cancel(agent.task, outside)
                raise
            verdict = platform_events.judge(
                events, start, end, stopped=d.instance.status == "Stopped"
            )
            if widened is not None:
                verdict = verdict.model_copy(
                    update={
                        "summary": Text(
                            en=f"{verdict.summary.en} {widened.en}",
                            zh_CN=f"{verdict.summary.zh_CN}{widened.zh_CN}",
                        )
                    }
                )
            if found is not None:  # already here: in the same save
                d = d.model_copy(update=_outside_changes(d, found))
            else:
                self._outside_reads[d.id] = asyncio.ensure_future(
                    self._merge_outside(d.id, outside)
                )
            if verdict.outcome == "platform_cause":
                await _cancel(agent.task)
                skipped = tuple(
                    Skip(step=s.value, code="platform_cause_found", detail=verdict.summary)
                    for s in (Step.CHECK_AGENT, Step.RUN_GUEST, Step.TRIAGE_DUMPS,
                              Step.RECOMMEND_DUMP_SETUP)
                )  # fmt: skip
                return self._save(
                    d, Step.CHECK_EVENTS, "platform_cause", events=verdict, skipped=skipped
                )
            self._keep_agent_read(d.id, agent)
            return self._save(d, Step.CHECK_EVENTS, "continue", events=verdict)

    def _keep_agent_read(self, diagnosis_id: str, read: _AgentRead) -> None:
        """Keep the status read for the agent check; reads too old to be used are dropped."""
        now = self.clock.now()
        for key, old in list(self._agent_reads.items()):
            if not self._fresh(old, now):
                del self._agent_reads[key]
                _drop(old.task)
        self._agent_reads[diagnosis_id] = read

    def _forget_agent_read(self, diagnosis_id: str) -> None:
        old = self._agent_reads.pop(diagnosis_id, None)
        if old is not None:
            _drop(old.task)

    def _fresh(self, read: _AgentRead, now: datetime) -> bool:
        age = (now - read.started).total_seconds()
        return age <= self.config.agent_status_reuse_seconds

    async def _merge_outside(self, diagnosis_id: str, outside: asyncio.Future[_Outside]) -> None:
        """Wait for the outside evidence, then store it into the diagnosis (under its lock, so
        after the check that started it has saved; a failed check cancels this first)."""
        try:
            found = await outside
            async with self._lock(diagnosis_id):
                try:
                    d = self.store.get(diagnosis_id)
                except UnknownDiagnosisError:
                    d = None  # expired meanwhile: nothing to merge into
                if (
                    d is not None
                    and d.events is not None  # the check that started this was saved
                    and d.workflow.phase != Phase.REPORTED
                    and not _has_outside(d)
                ):
                    changes = _outside_changes(d, found)
                    self.store.put(d.model_copy(update={**changes, "updated_at": self.clock.now()}))
        except BaseException:
            if not outside.done():
                outside.cancel()
            raise  # kept for _join_outside to raise
        if self._outside_reads.get(diagnosis_id) is asyncio.current_task():
            del self._outside_reads[diagnosis_id]

    async def _join_outside(self, diagnosis_id: str) -> None:
        """Wait until the outside evidence started by :meth:`check_events` is merged; an error
        other than a CloudApiError (which is noted, never fatal) is raised here."""
        task = self._outside_reads.get(diagnosis_id)
        if task is None:
            return
        try:
            await asyncio.shield(task)
        finally:
            if task.done() and self._outside_reads.get(diagnosis_id) is task:
                del self._outside_reads[diagnosis_id]

    def _event_window_days(self, d: Diagnosis, end: datetime) -> tuple[int, Text | None]:
        """Days of platform events to read: the configured window, widened to cover the asked
        reboot time plus a day (at most the API's 30 days), and a note when it was widened."""
        days = self.config.event_window_days
        if d.reboot_time is None:
            return days, None
        needed = days_back(d.reboot_time, end)
        if needed <= days:
            return days, None
        asked = f"{d.reboot_time:%Y-%m-%d %H:%M} UTC"
        if needed <= MAX_EVENT_WINDOW_DAYS:
            return needed, Text(
                en=f"The event window was widened from {days} to {needed} days to cover the "
                f"reboot time asked about ({asked}).",
                zh_CN=f"为覆盖所询问的重启时间（{asked}），事件查询范围已从 {days} 天扩大到 "
                f"{needed} 天。",
            )
        return MAX_EVENT_WINDOW_DAYS, Text(
            en=f"The reboot time asked about ({asked}) is older than the {MAX_EVENT_WINDOW_DAYS} "
            f"days of platform events the API keeps; the window was widened to "
            f"{MAX_EVENT_WINDOW_DAYS} days, and events at that time cannot be read.",
            zh_CN=f"所询问的重启时间（{asked}）早于 API 保留系统事件的 {MAX_EVENT_WINDOW_DAYS} 天；"
            f"事件查询范围已扩大到 {MAX_EVENT_WINDOW_DAYS} 天，该时间的事件无法读取。",
        )

    def _log_window_days(self, d: Diagnosis) -> int:
        """Days of guest logs the collector reads: the configured window, widened to cover the
        asked reboot time plus a day (at most the collector's limit)."""
        days = self.config.log_window_days
        if d.reboot_time is not None:
            days = max(days, days_back(d.reboot_time, self.clock.now()))
        return min(days, MAX_SINCE_DAYS)

    async def _cloud_side_evidence(self, d: Diagnosis, start: datetime, end: datetime) -> _Outside:
        """API calls on the instance (ActionTrail) and its metrics (CloudMonitor), read at the
        same time, both optional: a source that cannot be read is noted, never fatal."""
        calls = asyncio.ensure_future(self._api_calls(d, start, end))
        series = asyncio.ensure_future(self._metric_summaries(d, end))
        await _gather(calls, series)
        api_calls, (metrics, notes) = calls.result(), series.result()
        if isinstance(api_calls, SourceNote):
            return None, metrics, [api_calls, *notes]
        return api_calls, metrics, notes

    async def _api_calls(
        self, d: Diagnosis, start: datetime, end: datetime
    ) -> tuple[ApiCall, ...] | SourceNote:
        if self.audit is None:
            return _not_configured(ACTIONTRAIL_SOURCE)
        try:
            calls = await self.audit.instance_api_calls(
                d.instance.region_id, d.instance.instance_id, start=start, end=end
            )
        except CloudApiError as exc:
            return _unavailable(ACTIONTRAIL_SOURCE, exc)
        return tuple(sorted(calls, key=lambda c: c.event_time))

    async def _metric_summaries(
        self, d: Diagnosis, end: datetime
    ) -> tuple[tuple[MetricSummary, ...] | None, list[SourceNote]]:
        """Every metric series at once. The notes are those of a read one by one: one per
        failed series in order, and after a permission denial none for the later ones."""
        if self.metrics is None:
            return None, [_not_configured(METRICS_SOURCE)]
        metrics = self.metrics
        m_start = end - self.config.metrics_window

        async def one(name: str) -> tuple[MetricSummary | None, CloudApiError | None]:
            try:
                series = await metrics.metric_series(
                    d.instance.region_id,
                    d.instance.instance_id,
                    name,
                    start=m_start,
                    end=end,
                    period_seconds=self.config.metrics_period_seconds,
                )
            except CloudApiError as exc:
                return None, exc
            return summarize(series, m_start, end), None

        summaries: list[MetricSummary] = []
        notes: list[SourceNote] = []
        read = await _gather(*(one(n) for n in METRICS))
        for name, (summary, error) in zip(METRICS, read, strict=True):
            if error is not None:
                notes.append(_unavailable(f"{METRICS_SOURCE} {name}", error))
                if error.kind == "forbidden":
                    break
            elif summary is not None:
                summaries.append(summary)
        return (tuple(summaries) if summaries else None), notes

    async def _agentless(self, d: Diagnosis) -> dict[str, object]:
        """Serial console and screenshot: what can be seen of a guest that cannot be asked."""
        region, iid = d.instance.region_id, d.instance.instance_id
        now = self.clock.now()
        changes: dict[str, object] = {}
        # one note per source; a source read earlier keeps its evidence when a re-read fails
        unavailable = {n.source: n for n in d.unavailable}
        console_source, screen_source = "ecs:GetInstanceConsoleOutput", "ecs:GetInstanceScreenshot"
        try:
            out = await self.gateway.console_output(region, iid)
            changes["console"] = read_console(out.text, out.last_update_time, now)
            unavailable.pop(console_source, None)
        except CloudApiError as exc:
            if d.console is None:
                unavailable[console_source] = _unavailable(console_source, exc)
        try:
            shot = await self.gateway.screenshot(region, iid)
            if shot.png:
                changes["screenshot_png"] = shot.png
                changes["screenshot"] = ScreenshotInfo(
                    captured_at=now,
                    size_bytes=len(shot.png),
                    note=Text(
                        en="A screenshot of the instance's screen was captured (a blue screen or "
                        "a panic on the console is readable in it).",
                        zh_CN="已截取实例屏幕截图（蓝屏或控制台上的 panic 信息可从中读取）。",
                    ),
                )
                unavailable.pop(screen_source, None)
        except CloudApiError as exc:
            if d.screenshot is None:
                unavailable[screen_source] = _unavailable(screen_source, exc)
        changes["unavailable"] = tuple(unavailable.values())
        return changes

    async def collect_agentless(self, diagnosis_id: str, owner: str) -> Diagnosis:
        """Read the serial console and a screenshot (any time after step 1, before the report
        is final). When the guest cannot be asked (Cloud Assistant down, guest commands
        disabled) it is the workflow's step before the report; otherwise it changes no phase."""
        self.status(diagnosis_id, owner)
        await self._join_outside(diagnosis_id)  # its result lists the API calls and metrics
        async with self._lock(diagnosis_id):
            d = self.status(diagnosis_id, owner)
            if d.workflow.phase == Phase.REPORTED:
                raise WorkflowOrderError(
                    Step.RENDER_REPORT, d.workflow.phase, Step.RENDER_REPORT, "already_done"
                )
            changes = await self._agentless(d)
            if d.workflow.phase == Phase.GUEST_UNREACHABLE:
                return self._save(d, Step.COLLECT_AGENTLESS, "done", **changes)
            updated = d.model_copy(update={**changes, "updated_at": self.clock.now()})
            return self.store.put(updated)

    # --- step 3 ----------------------------------------------------------------------------

    def _agent_status(self, d: Diagnosis, beat: AgentHeartbeat) -> CloudAssistantStatus:
        return judge_agent(d.instance, beat, self.clock.now(), self.config.heartbeat_max_age)

    async def check_agent(self, diagnosis_id: str, owner: str) -> Diagnosis:
        """Judge Cloud Assistant's status and record the check (required before a guest
        command). The status read beside the platform events is used when it is fresh."""
        async with self._step(diagnosis_id, owner, Step.CHECK_AGENT) as d:
            read = self._agent_reads.pop(d.id, None)
            if read is not None and self._fresh(read, self.clock.now()):
                beat = await read.task  # its error, if any, is this step's error, as if read now
            else:
                if read is not None:
                    _drop(read.task)
                beat = await self.gateway.describe_cloud_assistant(
                    d.instance.region_id, d.instance.instance_id
                )
            status = self._agent_status(d, beat)
            if status.usable and self.config.guest_commands:
                return self._save(d, Step.CHECK_AGENT, "agent_up", cloud_assistant=status)
            if not self.config.guest_commands:
                outcome: Outcome = "guest_commands_disabled"
                skip = Skip(
                    step=Step.RUN_GUEST.value,
                    code="guest_commands_disabled",
                    detail=Text(
                        en="Guest commands are disabled on this server (--no-guest-commands).",
                        zh_CN="本服务已禁用实例内命令（--no-guest-commands）。",
                    ),
                )
            else:
                outcome = "agent_down"
                skip = Skip(
                    step=Step.RUN_GUEST.value,
                    code="cloud_assistant_unavailable",
                    detail=status.reason,
                )
            skipped = (
                *d.skipped,
                skip,
                *(skip.model_copy(update={"step": s.value})
                  for s in (Step.TRIAGE_DUMPS, Step.RECOMMEND_DUMP_SETUP)),
            )  # fmt: skip
            return self._save(
                d,
                Step.CHECK_AGENT,
                outcome,
                cloud_assistant=status,
                skipped=skipped,
                manual_steps=tuple(dump_setup.manual_checks(d.instance)),
            )

    # --- step 4 ----------------------------------------------------------------------------

    async def run_guest(
        self,
        diagnosis_id: str,
        owner: str,
        progress: ProgressCallback | None = None,
        *,
        wait_seconds: float | None = None,
    ) -> tuple[Diagnosis, str]:
        """Start the OS's collector in the guest, then wait for it to finish, at most
        ``wait_seconds`` (default: the whole workflow's deadline).

        Before RunCommand the run is claimed in the store (:class:`GuestClaim`, written with the
        revision check): of the processes sharing the store that run this step at once, only
        the one whose claim lands sends the command; the others get
        :class:`GuestRunClaimedError` (or, once the run is recorded, the workflow's "already
        done"). The claim is cleared when the invocation is recorded; if its process dies
        before that, it lapses after :attr:`ServiceConfig.guest_claim_seconds`, and the step
        may run again: it sends the claim's ClientToken and parameters again, so an invocation
        the dead process did create is answered back instead of a second run (as long as Cloud
        Assistant keeps the token; after that a second, read-only, collector run is possible).

        Returns the diagnosis and the invocation status last seen (the output is read by
        :meth:`get_guest_results`).
        """
        async with self._step(diagnosis_id, owner, Step.RUN_GUEST) as d:
            d, claim = self._claim_guest_run(d, owner)
            try:
                run = await self._send_collector(d, claim)
            except BaseException as exc:
                self._let_go(d.id, claim, keep_token=not _not_sent(exc))
                raise
            d = self._record_run(d.id, owner, claim, run)
        result = await self.wait_for_guest(
            diagnosis_id, owner, progress, deadline_seconds=wait_seconds
        )
        assert d.guest_run is not None
        return self.status(diagnosis_id, owner), result.status if result else d.guest_run.status

    def _live_claim(self, d: Diagnosis) -> GuestClaim | None:
        """The claim of a process sending the guest collector now, if any."""
        claim = d.guest_claim
        if claim is None or d.workflow.phase != Phase.AGENT_CHECKED:
            return None
        return claim if claim.expires_at > self.clock.now() else None

    def _claim_guest_run(self, d: Diagnosis, owner: str) -> tuple[Diagnosis, GuestClaim]:
        """Write this process's claim to send the guest collector (the revision check makes one
        claim land when several processes try at once). A lapsed claim is taken over with its
        ClientToken and parameters."""
        for _ in range(STORE_ATTEMPTS):
            now = self.clock.now()
            held = d.guest_claim
            if held is not None and held.expires_at > now:
                raise GuestRunClaimedError(d.id, held.claimed_at, held.expires_at)
            claim = GuestClaim(
                claim_id=secrets.token_hex(8),
                holder=f"pid {os.getpid()} on {socket.gethostname()}"[:200],
                claimed_at=now,
                expires_at=now + timedelta(seconds=self.config.guest_claim_seconds),
                client_token=held.client_token if held else secrets.token_hex(16),
                nonce=held.nonce if held else new_nonce(),
                log_days=held.log_days if held else self._log_window_days(d),
            )
            try:
                stored = self.store.put(d.model_copy(update={"guest_claim": claim,
                                                             "updated_at": now}))  # fmt: skip
                return stored, claim
            except ConcurrentUpdateError:
                d = self.status(d.id, owner)  # another process wrote: judge its write
                require(d.workflow, Step.RUN_GUEST)
        raise ConcurrentUpdateError("diagnosis", d.id)

    async def _send_collector(self, d: Diagnosis, claim: GuestClaim) -> GuestRun:
        collector = load_collector(d.instance.os_type)
        parameters = collector_parameters(claim.nonce, claim.log_days)
        form = choose_delivery(collector, parameters, self.config.command_content_limit)
        token = claim.client_token
        try:
            invoke_id = await self._run_collector(d, collector, form, parameters, token)
        except CloudApiError as exc:
            # The region enforces a smaller limit than configured: the packed form, once (its
            # own token: a token is bound to the parameters it was first sent with).
            if exc.code != EXCEED_LIMIT_CODE or form.delivery == "packed":
                raise
            form = packed_command(collector)
            invoke_id = await self._run_collector(d, collector, form, parameters, token + "-p")
        return GuestRun(
            invoke_id=invoke_id,
            command_sha256=form.content_sha256,
            collector_version=collector.version,
            started_at=self.clock.now(),
            delivery=form.delivery,
            script_sha256=form.script_sha256,
        )

    def _record_run(
        self, diagnosis_id: str, owner: str, claim: GuestClaim, run: GuestRun
    ) -> Diagnosis:
        """Record the invocation and clear the claim, into the diagnosis as stored now (another
        process may have written meanwhile, e.g. the outside evidence)."""
        for _ in range(STORE_ATTEMPTS):
            d = self.status(diagnosis_id, owner)
            if d.workflow.phase != Phase.AGENT_CHECKED:
                # This run outlasted its claim, and the process that took it over recorded its
                # send of the same ClientToken (the same invocation): that record stands.
                return d
            try:
                return self._save(d, Step.RUN_GUEST, "done", guest_run=run,
                                  guest_nonce=claim.nonce, guest_claim=None)  # fmt: skip
            except ConcurrentUpdateError:
                continue
        raise ConcurrentUpdateError("diagnosis", diagnosis_id)

    def _let_go(self, diagnosis_id: str, claim: GuestClaim, *, keep_token: bool) -> None:
        """Give up a claim whose send failed or was interrupted, so that the step may run again
        at once. Unless the API refused the command outright, the claim stays (lapsed) with its
        ClientToken, for the next send to repeat: the command may have been created. Best
        effort: a claim not given up lapses by itself."""
        for _ in range(STORE_ATTEMPTS):
            try:
                d = self.store.get(diagnosis_id)
                held = d.guest_claim
                if held is None or held.claim_id != claim.claim_id:
                    return
                lapsed = held.model_copy(update={"expires_at": self.clock.now()})
                self.store.put(d.model_copy(update={"guest_claim": lapsed if keep_token else None}))
                return
            except ConcurrentUpdateError:
                continue
            except DiagnosisError:
                return

    async def _run_collector(
        self,
        d: Diagnosis,
        collector: Collector,
        form: DeliveryForm,
        parameters: dict[str, str],
        client_token: str,
    ) -> str:
        return await self.gateway.run_command(
            d.instance.region_id,
            d.instance.instance_id,
            command_type=collector.command_type,
            content=form.content,
            parameters=parameters,
            timeout_seconds=self.config.command_timeout_seconds,
            name=f"ecs-reboot-diagnosis-{collector.version}",
            client_token=client_token,
        )

    async def wait_for_guest(
        self,
        diagnosis_id: str,
        owner: str,
        progress: ProgressCallback | None = None,
        *,
        deadline_seconds: float | None = None,
    ) -> InvocationResult | None:
        """Poll the collector's invocation until it ends or the deadline passes; returns the
        last result read (None when no collector runs for this diagnosis).

        The polls follow the run (:meth:`ServiceConfig.poll_gap`): none before it can have
        finished (``poll_first_seconds`` after RunCommand returned, however late the wait
        starts), then every ``poll_interval_seconds``, widening only slowly for long runs,
        on a schedule the reads' own latency does not stretch; the last poll is at the
        deadline (``deadline_seconds``, default the whole workflow's
        :attr:`ServiceConfig.guest_deadline_seconds`, from now). A finished result is kept for
        :meth:`get_guest_results`, which then reads nothing again. ``progress`` gets (seconds
        waited, deadline, message) after every poll.
        """
        d = self.status(diagnosis_id, owner)
        run = d.guest_run
        if run is None or d.workflow.phase != Phase.GUEST_COLLECTING:
            return None
        kept = self._results.get(d.id)
        if kept is not None and kept.invoke_id == run.invoke_id:
            return kept
        config = self.config
        deadline = config.guest_deadline_seconds if deadline_seconds is None else deadline_seconds
        began = self.clock.now()
        deadline_at = began + timedelta(seconds=max(0.0, deadline))
        due = max(began, run.started_at + timedelta(seconds=config.poll_first_seconds))
        while True:
            due = min(due, deadline_at)
            wait = (due - self.clock.now()).total_seconds()
            if wait > 0:
                await self.clock.sleep(wait)
            polled = self.clock.now()
            result = await self.gateway.invocation_result(
                d.instance.region_id, d.instance.instance_id, run.invoke_id
            )
            if progress is not None:
                waited = min((polled - began).total_seconds(), deadline)
                said = Text(
                    en=f"Cloud Assistant invocation {run.invoke_id}: {result.status}",
                    zh_CN=f"云助手调用 {run.invoke_id}："
                    f"{gloss('invocation', result.status, 'zh-CN')}",
                )
                await progress(waited, deadline, said.get(d.lang))
            if result.status in TERMINAL_INVOCATION_STATUSES:
                self._keep_result(d.id, result)
                return result
            if polled >= deadline_at:
                return result
            elapsed = (polled - run.started_at).total_seconds()
            due = polled + timedelta(seconds=config.poll_gap(elapsed))

    async def _await_claimed_run(
        self,
        d: Diagnosis,
        owner: str,
        wait_seconds: float,
        progress: ProgressCallback | None = None,
    ) -> Diagnosis:
        """Wait, at most ``wait_seconds``, while another process sends the guest collector
        (its claim is live), reading the store every ``poll_interval_seconds``; returns the
        diagnosis once the run is recorded or the claim is gone. GuestRunClaimedError when the
        claim still holds after the wait."""
        began = self.clock.now()
        deadline = began + timedelta(seconds=max(0.0, wait_seconds))
        while (claim := self._live_claim(d)) is not None:
            now = self.clock.now()
            if now >= deadline:
                raise GuestRunClaimedError(d.id, claim.claimed_at, claim.expires_at)
            until = min(deadline, claim.expires_at)
            await self.clock.sleep(min(self.config.poll_interval_seconds,
                                       (until - now).total_seconds()))  # fmt: skip
            d = self.status(d.id, owner)
            if progress is not None:
                waited = min((self.clock.now() - began).total_seconds(), wait_seconds)
                said = Text(
                    en="Another process is starting the guest collector.",
                    zh_CN="另一个进程正在启动实例内的采集脚本。",
                )
                await progress(waited, wait_seconds, said.get(d.lang))
        return d

    def _keep_result(self, diagnosis_id: str, result: InvocationResult) -> None:
        """Keep a finished result for get_guest_results (a few at most: one forgotten is only
        read again)."""
        self._results[diagnosis_id] = result
        self._results.move_to_end(diagnosis_id)
        while len(self._results) > MAX_KEPT_RESULTS:
            self._results.popitem(last=False)

    async def get_guest_results(
        self,
        diagnosis_id: str,
        owner: str,
        progress: ProgressCallback | None = None,
        *,
        wait_seconds: float = 0.0,
    ) -> tuple[Diagnosis, GuestStatus]:
        """Decode and analyse the collector's output: the finished result the wait read, or
        else one read of the invocation now. First waits up to ``wait_seconds`` for a run still
        going (a long poll: ``pending`` only after that)."""
        d = self.status(diagnosis_id, owner)
        if self._live_claim(d) is not None:  # another process is sending the collector
            began, total = self.clock.now(), wait_seconds
            d = await self._await_claimed_run(d, owner, wait_seconds, progress)
            spent = (self.clock.now() - began).total_seconds()
            wait_seconds = max(0.0, wait_seconds - spent)
            progress = _after(progress, spent, total)
        require(d.workflow, Step.GET_GUEST_RESULTS)
        if wait_seconds > 0:
            await self.wait_for_guest(diagnosis_id, owner, progress, deadline_seconds=wait_seconds)
        async with self._step(diagnosis_id, owner, Step.GET_GUEST_RESULTS) as d:
            run = d.guest_run
            assert run is not None  # the workflow guarantees RUN_GUEST ran
            kept = self._results.pop(d.id, None)
            if kept is not None and kept.invoke_id == run.invoke_id:
                result = kept
            else:
                result = await self.gateway.invocation_result(
                    d.instance.region_id, d.instance.instance_id, run.invoke_id
                )
            run = run.model_copy(
                update={
                    "status": result.status,
                    "error_code": result.error_code,
                    "error_info": result.error_info[:500],
                    "exit_code": result.exit_code,
                    "output_dropped_bytes": result.dropped_bytes,
                }
            )
            if result.status not in TERMINAL_INVOCATION_STATUSES:
                d = self._save(d, Step.GET_GUEST_RESULTS, "pending", guest_run=run)
                return d, "pending"
            try:
                guest = parse_guest_output(
                    d.instance.os_type,
                    result.output,
                    d.guest_nonce,
                    target_time=d.reboot_time,
                    dropped_bytes=result.dropped_bytes,
                )
            except CollectorIntegrityError as exc:
                why = Text(
                    en=str(exc), zh_CN=f"{exc.message_in('zh-CN')}{exc.hint_in('zh-CN')}".strip()
                )
                return self._fail_guest(d, run, result, why), "failed"
            d = self._save(d, Step.GET_GUEST_RESULTS, "collected", guest_run=run, guest=guest)
            return d, "collected"

    def _fail_guest(
        self, d: Diagnosis, run: GuestRun, result: InvocationResult, why: Text
    ) -> Diagnosis:
        code = result.error_code or result.status
        info = f" ({result.error_info[:200]})" if result.error_info else ""
        # the error code and Cloud Assistant's own error text are quoted as they are
        said = f"`{code}`" + (f"（`{result.error_info[:200]}`）" if result.error_info else "")
        if not result.error_code:
            said = ""  # the code is the status, already named
        status_zh = gloss("invocation", result.status, "zh-CN")
        detail = Text(
            en=f"The collector did not finish: invocation {run.invoke_id} ended {result.status}, "
            f"{code}{info}. {why.en}".strip(),
            zh_CN=f"采集脚本未能完成，调用 {run.invoke_id} 的状态为{status_zh}"
            f"{'，' + said if said else ''}。{why.zh_CN}".strip(),
        )
        skipped = (
            *d.skipped,
            *(Skip(step=s.value, code="guest_collection_failed", detail=detail)
              for s in (Step.GET_GUEST_RESULTS, Step.TRIAGE_DUMPS, Step.RECOMMEND_DUMP_SETUP)),
        )  # fmt: skip
        return self._save(
            d,
            Step.GET_GUEST_RESULTS,
            "failed",
            guest_run=run,
            skipped=skipped,
            manual_steps=tuple(dump_setup.manual_checks(d.instance)),
        )

    # --- steps 5 and 6 ---------------------------------------------------------------------

    async def triage_dumps(self, diagnosis_id: str, owner: str) -> Diagnosis:
        async with self._step(diagnosis_id, owner, Step.TRIAGE_DUMPS) as d:
            assert d.guest is not None
            triage: DumpTriage = triage_dumps(d.guest)
            return self._save(d, Step.TRIAGE_DUMPS, "done", dump_triage=triage)

    async def recommend_dump_setup(self, diagnosis_id: str, owner: str) -> Diagnosis:
        async with self._step(diagnosis_id, owner, Step.RECOMMEND_DUMP_SETUP) as d:
            advice = dump_setup.advise(d.instance, d.guest, d.dump_triage)
            return self._save(d, Step.RECOMMEND_DUMP_SETUP, "done", dump_advice=advice)

    # --- the report --------------------------------------------------------------------------

    def build_report(self, d: Diagnosis) -> Report:
        """The report model, from what the store holds and nothing else."""
        if d.events is not None and d.events.decisive is not None:
            conclusion, recommendations = conclusions.conclude_platform(d.events.decisive)
        else:
            conclusion, recommendations = conclusions.conclude_guest(
                d.instance.os_type,
                d.guest,
                d.dump_triage,
                d.events,
                d.skipped,
                api_calls=d.api_calls,
                console=d.console,
                status=d.instance.status,
            )
        recommendations = advice.recommend(
            d,
            recommendations,
            platform_cause=d.events is not None and d.events.decisive is not None,
            dump=d.dump_advice,
            agent_unavailable=d.workflow.branch == "agent_unavailable",
        )
        return Report(
            tool_version=__version__,
            diagnosis_id=d.id,
            generated_at=self.clock.now(),
            instance=d.instance,
            events=d.events,
            cloud_assistant=d.cloud_assistant,
            guest_run=d.guest_run,
            guest=d.guest,
            dump_triage=d.dump_triage,
            dump_advice=d.dump_advice,
            api_calls=list(d.api_calls) if d.api_calls is not None else None,
            metrics=list(d.metrics) if d.metrics is not None else None,
            console=d.console,
            screenshot=d.screenshot,
            unavailable=list(d.unavailable),
            skipped=list(d.skipped),
            manual_steps=list(d.manual_steps),
            timeline=build_timeline(d),
            conclusion=conclusion,
            recommendations=recommendations,
        )

    async def report(self, diagnosis_id: str, owner: str) -> Report:
        """Finish the diagnosis (once) and return its report model; later calls reuse it.

        The outside evidence started with the platform events is waited for first; where no
        read of it is under way (a diagnosis resumed by another process), it is read now.
        """
        self.status(diagnosis_id, owner)
        await self._join_outside(diagnosis_id)
        async with self._step(diagnosis_id, owner, Step.RENDER_REPORT) as d:
            if d.report is not None:
                return d.report
            if d.events is not None and not _has_outside(d):
                found = await self._cloud_side_evidence(
                    d, d.events.window_start, d.events.window_end
                )
                d = d.model_copy(update=_outside_changes(d, found))
            report = self.build_report(d)
            since = report.generated_at - timedelta(days=self.config.history_days)
            earlier = self.store.history(
                d.owner, d.instance.region_id, d.instance.instance_id, since=since, exclude_id=d.id
            )
            report = report.model_copy(
                update={"history": recurrence.history(report, earlier, self.config.history_days)}
            )
            self._save(d, Step.RENDER_REPORT, "done", report=report)
            return report

    # --- the whole workflow -------------------------------------------------------------------

    async def diagnose(
        self,
        instance_id: str,
        region_id: str,
        progress: ProgressCallback | None = None,
        *,
        owner: str,
        reboot_time: str | None = None,
        lang: Lang | None = None,
        give_up_at_deadline: bool = True,
    ) -> Report:
        """Run every step in order, with the same guardrails as step-by-step use.

        Progress is step k of :data:`DIAGNOSE_STEPS` (the wait for the guest inside its step).
        The guest collector is waited for up to the whole workflow's deadline; a run still going
        then is given up (the report says so and how to read its output later), or, with
        ``give_up_at_deadline=False``, :class:`GuestStillRunningError` leaves the diagnosis
        collecting so that its results step can wait on.
        """
        steps = StepProgress(progress, DIAGNOSE_STEPS)
        d = await self.start(instance_id, region_id, owner, reboot_time, lang)

        async def done(step: Step, message: Text) -> None:
            await steps.reached(STEP_ORDER.index(step) + 1, message.get(d.lang))

        iid, os_name = d.instance.instance_id, OS_NAMES[d.instance.os_type]
        await done(
            Step.CONFIRM_INSTANCE,
            Text(
                en=f"Instance {iid} confirmed ({os_name}).",
                zh_CN=f"已确认实例 {iid}（{os_name}）。",
            ),
        )
        d = await self.check_events(d.id, owner)
        await done(Step.CHECK_EVENTS, STEP_DONE[Step.CHECK_EVENTS])
        if d.workflow.phase == Phase.EVENTS_CHECKED:
            d = await self.check_agent(d.id, owner)
            await done(Step.CHECK_AGENT, STEP_DONE[Step.CHECK_AGENT])
        if d.workflow.phase == Phase.GUEST_UNREACHABLE:
            d = await self.collect_agentless(d.id, owner)
            await done(Step.COLLECT_AGENTLESS, STEP_DONE[Step.COLLECT_AGENTLESS])
        if d.workflow.phase == Phase.AGENT_CHECKED:
            run_step = STEP_ORDER.index(Step.RUN_GUEST) + 1
            d, status = await self.run_guest(d.id, owner, steps.within(run_step))
            await done(
                Step.RUN_GUEST,
                Text(
                    en=f"Guest collector started; its run is {status}.",
                    zh_CN=f"已在实例内启动采集脚本，其运行状态为"
                    f"{gloss('invocation', status, 'zh-CN')}。",
                ),
            )
            d, state = await self.get_guest_results(d.id, owner)
            if state == "pending":
                if not give_up_at_deadline:
                    run = d.guest_run
                    assert run is not None
                    raise GuestStillRunningError(
                        d.id, run.invoke_id, self.config.guest_deadline_seconds
                    )
                d = await self.abandon_guest(d.id, owner)
            await done(Step.GET_GUEST_RESULTS, STEP_DONE[Step.GET_GUEST_RESULTS])
        if d.workflow.phase == Phase.GUEST_COLLECTED:
            d = await self.triage_dumps(d.id, owner)
            await done(Step.TRIAGE_DUMPS, STEP_DONE[Step.TRIAGE_DUMPS])
            d = await self.recommend_dump_setup(d.id, owner)
            await done(Step.RECOMMEND_DUMP_SETUP, STEP_DONE[Step.RECOMMEND_DUMP_SETUP])
        report = await self.report(d.id, owner)
        await done(Step.RENDER_REPORT, STEP_DONE[Step.RENDER_REPORT])
        return report

    async def abandon_guest(self, diagnosis_id: str, owner: str) -> Diagnosis:
        """Stop waiting for a collector that is still running: report without guest evidence."""
        async with self._step(diagnosis_id, owner, Step.GET_GUEST_RESULTS) as d:
            run = d.guest_run
            assert run is not None
            self._results.pop(d.id, None)
            region = d.instance.region_id
            waited = self.config.guest_deadline_seconds
            command = (
                f"aliyun ecs DescribeInvocationResults --RegionId {region} "
                f"--InvokeId {run.invoke_id}"
            )
            why = Text(
                en=f"It was still {run.status} when the diagnosis stopped waiting after "
                f"{waited:.0f} s. Read its output later with `{command}`, or run the diagnosis "
                "again with a longer wait.",
                zh_CN=f"诊断等待 {waited:.0f} 秒后不再等待。稍后可用 `{command}` 读取其输出，"
                "或延长等待时间后重新诊断。",
            )
            result = InvocationResult(invoke_id=run.invoke_id, status=run.status)
            return self._fail_guest(d, run, result, why)


@dataclass(frozen=True)
class _AgentRead:
    """A Cloud Assistant status read started beside the platform events."""

    started: datetime
    task: asyncio.Future[AgentHeartbeat]


_Outside = tuple[tuple[ApiCall, ...] | None, tuple[MetricSummary, ...] | None, list[SourceNote]]
"""The outside evidence: ActionTrail calls, metric summaries, notes on what could not be read."""

ACTIONTRAIL_SOURCE = "actiontrail:LookupEvents"
METRICS_SOURCE = "cms:QueryMetricList"


def _has_outside(d: Diagnosis) -> bool:
    """Whether the outside evidence (or a note on why it is missing) is in the diagnosis."""
    sources = {n.source.split(" ", 1)[0] for n in d.unavailable}
    return (d.api_calls is not None or ACTIONTRAIL_SOURCE in sources) and (
        d.metrics is not None or METRICS_SOURCE in sources
    )


def _outside_changes(d: Diagnosis, found: _Outside) -> dict[str, object]:
    api_calls, metrics, unavailable = found
    return {
        "api_calls": api_calls,
        "metrics": metrics,
        "unavailable": (*d.unavailable, *unavailable),
    }


async def _gather(*calls: Awaitable[T]) -> list[T]:
    """Run ``calls`` at the same time and return their results in order; once every call has
    ended, the first failure in argument order is raised as it is (not wrapped in a group)."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        failure = task.exception()  # raises CancelledError for a cancelled call
        if failure is not None:
            raise failure
    return [task.result() for task in tasks]


def _after(
    progress: ProgressCallback | None, spent: float, total: float
) -> ProgressCallback | None:
    """``progress`` for a wait that follows ``spent`` seconds of another, within ``total``."""
    if progress is None or spent <= 0:
        return progress
    report = progress

    async def shifted(done: float, _total: float | None, message: str) -> None:
        await report(min(spent + done, total), total, message)

    return shifted


def _not_sent(exc: BaseException) -> bool:
    """Whether a failed RunCommand surely created nothing (the API refused it), as opposed to
    an outcome unknown (network, server error, throttled to the end, cancelled)."""
    return isinstance(exc, CloudApiError) and exc.kind in NOT_SENT_KINDS


def _drop(task: asyncio.Future[Any]) -> None:
    """Give up a read: cancel it if it is still under way, and retrieve its outcome."""
    task.cancel()
    task.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def _cancel(*tasks: asyncio.Future[Any]) -> None:
    """Cancel reads that are no longer needed and wait until they have ended."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _unavailable(source: str, exc: CloudApiError) -> SourceNote:
    forbidden = exc.kind == "forbidden"
    why = "permission denied" if forbidden else f"{exc.code}"
    why_zh = "权限不足" if forbidden else f"错误码 {exc.code}"
    rid = f", RequestId {exc.request_id}" if exc.request_id else ""
    rid_zh = f"，RequestId {exc.request_id}" if exc.request_id else ""
    return SourceNote(
        source=source,
        detail=Text(
            en=f"{source} could not be read ({why}{rid}); this evidence is missing.",
            zh_CN=f"无法读取 {source}（{why_zh}{rid_zh}）；缺少此项证据。",
        ),
    )


def _not_configured(source: str) -> SourceNote:
    return SourceNote(
        source=source,
        detail=Text(
            en=f"{source} is not configured for this server; this evidence was not collected.",
            zh_CN=f"本服务未配置 {source}；未采集此项证据。",
        ),
    )
