"""The fleet scan: which instances of a region rebooted, stopped or crashed in a window, and why,
grouped by cause.

The scan makes the calls of a single diagnosis for many instances at once, through the batched
:class:`~ecs_reboot_diagnosis.fleet_ports.FleetGateway` (up to 100 instances a call):

1. the instances, by pages of 100 (DescribeInstances, by ids or tags);
2. for each page, as it arrives (a batch): the history events of its instances and their Cloud
   Assistant status, both in one call each; ActionTrail once for the whole region;
3. the instances the events do not explain, whose agent is usable and where guest commands are
   allowed: the collector through one RunCommand per OS for the batch, its results read by
   pages of 50 once the invocation has ended;
4. each instance's conclusion from the same analysis as a single diagnosis (platform event
   table, result tables, analyzers, dump triage), then its cause signature
   (:mod:`~ecs_reboot_diagnosis.fleet_signatures`), and groups by signature.

Guardrails, per instance, as in a single diagnosis: no guest command on an instance before its
events and its agent status were read in this scan; none when the events explain it, its agent
is unusable or guest commands are disabled. The collector is the product's fixed, read-only
script.

Flow control is the gateway's (per-API rate limits, backoff on throttling); the scan bounds the
batches in flight. After each batch, a checkpoint goes to the
:class:`~ecs_reboot_diagnosis.fleet_ports.ScanStore`: an interrupted scan resumes with
:meth:`FleetScanner.resume`, skipping the instances already concluded and reading the results of
invocations already started instead of running the collector again.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

from ecs_reboot_diagnosis.agent_status import judge_agent
from ecs_reboot_diagnosis.analysis import conclusions, platform_events
from ecs_reboot_diagnosis.analysis.crash_dump import triage_dumps
from ecs_reboot_diagnosis.analysis.guest import parse_guest_output
from ecs_reboot_diagnosis.collectors import (
    MAX_SINCE_DAYS,
    collector_parameters,
    load_collector,
    new_nonce,
)
from ecs_reboot_diagnosis.collectors.delivery import (
    DEFAULT_CONTENT_LIMIT,
    EXCEED_LIMIT_CODE,
    choose_delivery,
    packed_command,
)
from ecs_reboot_diagnosis.errors import CloudApiError, CollectorIntegrityError, InvalidInputError
from ecs_reboot_diagnosis.fleet_models import (
    HAPPENED_ORDER,
    MAX_SINCE,
    MIN_SINCE,
    CauseGroup,
    FleetInstance,
    FleetScan,
    GuestState,
    Happened,
    ScanRequest,
    ScanTag,
)
from ecs_reboot_diagnosis.fleet_ports import (
    BATCH_LIMIT,
    FleetEvent,
    FleetGateway,
    ScanStore,
)
from ecs_reboot_diagnosis.fleet_signatures import CauseSignature, signature_of
from ecs_reboot_diagnosis.models import (
    ApiCall,
    CloudAssistantStatus,
    EventVerdict,
    GuestEvidence,
    InstanceFacts,
    OsType,
    PlatformEvent,
    Skip,
    Text,
)
from ecs_reboot_diagnosis.ports import TERMINAL_INVOCATION_STATUSES, AgentHeartbeat, Clock
from ecs_reboot_diagnosis.scan_store import check_scan_id
from ecs_reboot_diagnosis.service import (
    ALL_CYCLE_STATUSES,
    validate_instance_id,
    validate_region_id,
)

__all__ = ["FleetScanner", "ScanConfig", "group_instances"]

ProgressCallback = Callable[[float, float | None, str], Awaitable[None]]
CHECKPOINT_VERSION: Final = 1
RUN_LIMIT_CODE: Final = "InstanceIds.ExceedLimit"
MAX_SCAN_INSTANCE_IDS: Final = 10_000


@dataclass(frozen=True)
class ScanConfig:
    """Tunables of a fleet scan."""

    batch_concurrency: int = 4
    """Batches (pages of up to 100 instances) in flight at once."""
    heartbeat_max_age: timedelta = timedelta(minutes=10)
    command_timeout_seconds: int = 300
    wait_deadline_seconds: float = 600.0
    """How long a batch waits for its collector runs before reporting them unfinished."""
    poll_first_seconds: float = 1.0
    poll_max_seconds: float = 8.0
    command_content_limit: int = DEFAULT_CONTENT_LIMIT

    def __post_init__(self) -> None:
        if not 1 <= self.batch_concurrency <= 64:
            raise ValueError("batch_concurrency must be 1..64")


# --- the scan's state -------------------------------------------------------------------------


@dataclass
class _Pending:
    """An invocation asked for and not yet read, kept in the checkpoint before RunCommand is
    sent: its ClientToken makes sending it again (after an interruption that lost the answer)
    return the invocation already created instead of running the collector twice."""

    region_id: str
    client_token: str
    nonce: str
    os_type: OsType
    instance_ids: list[str]
    invoke_id: str = ""
    """Empty until RunCommand has answered."""

    def dump(self) -> dict[str, Any]:
        return {
            "region_id": self.region_id,
            "client_token": self.client_token,
            "nonce": self.nonce,
            "os_type": self.os_type,
            "instance_ids": list(self.instance_ids),
            "invoke_id": self.invoke_id,
        }


@dataclass
class _State:
    scan_id: str
    request: ScanRequest
    window_start: datetime
    window_end: datetime
    started_at: datetime
    owner: str = ""
    instances: dict[str, FleetInstance] = field(default_factory=dict)
    dumps: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each instance as JSON data, made once when it is concluded (every checkpoint has them)."""
    signatures: dict[str, CauseSignature] = field(default_factory=dict)
    pending: dict[str, _Pending] = field(default_factory=dict)
    notes: dict[str, Text] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    complete: bool = False
    finished_at: datetime | None = None
    revision: int = 0
    """The store's revision of the checkpoint this state was read or last saved at (0: not
    saved yet); not part of the checkpoint."""

    def checkpoint(self) -> dict[str, Any]:
        return {
            "version": CHECKPOINT_VERSION,
            "scan_id": self.scan_id,
            "request": self.request.model_dump(mode="json"),
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "started_at": self.started_at.isoformat(),
            "owner": self.owner,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "complete": self.complete,
            "instances": list(self.dumps.values()),
            "signatures": {
                key: {"label": s.label.model_dump(mode="json"), "frames": list(s.frames)}
                for key, s in self.signatures.items()
            },
            "pending": [
                p.dump()
                for p in self.pending.values()
                if any(i not in self.instances for i in p.instance_ids)
            ],
            "notes": {k: v.model_dump(mode="json") for k, v in self.notes.items()},
        }

    @classmethod
    def restore(cls, data: dict[str, Any]) -> _State:
        if data.get("version") != CHECKPOINT_VERSION:
            raise InvalidInputError(
                "scan_id",
                "The checkpoint was written by another version of this tool.",
                hint="Start a new scan.",
            )
        state = cls(
            scan_id=data["scan_id"],
            request=ScanRequest.model_validate(data["request"]),
            window_start=datetime.fromisoformat(data["window_start"]),
            window_end=datetime.fromisoformat(data["window_end"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            owner=str(data.get("owner", "")),
            complete=bool(data.get("complete")),
            finished_at=(
                datetime.fromisoformat(data["finished_at"]) if data.get("finished_at") else None
            ),
        )
        for item in data.get("instances", []):
            instance = FleetInstance.model_validate(item)
            state.instances[instance.instance_id] = instance
            state.dumps[instance.instance_id] = item
            state.seen.add(instance.instance_id)
        for key, item in data.get("signatures", {}).items():
            state.signatures[key] = CauseSignature(
                key=key,
                label=Text.model_validate(item["label"]),
                frames=tuple(item.get("frames", ())),
            )
        for item in data.get("pending", []):
            pending = _Pending(**item)
            state.pending[pending.client_token] = pending
        for key, item in data.get("notes", {}).items():
            state.notes[key] = Text.model_validate(item)
        return state

    def result(self) -> FleetScan:
        groups = group_instances(self.instances.values(), self.signatures)
        rank = {g.signature: n for n, g in enumerate(groups)}
        return FleetScan(
            scan_id=self.scan_id,
            request=self.request,
            window_start=self.window_start,
            window_end=self.window_end,
            started_at=self.started_at,
            finished_at=self.finished_at,
            complete=self.complete,
            groups=groups,
            instances=sorted(
                self.instances.values(),
                key=lambda i: (rank[i.signature], i.region_id, i.instance_id),
            ),
            notes=list(self.notes.values()),
        )


def group_instances(
    instances: Sequence[FleetInstance] | Any, signatures: dict[str, CauseSignature]
) -> list[CauseGroup]:
    """Groups by signature: rebooted and stopped first, then unknown, then no reboot; the
    largest group first within each."""
    members: dict[str, list[FleetInstance]] = {}
    for instance in instances:
        members.setdefault(instance.signature, []).append(instance)
    groups = []
    for key, items in members.items():
        first = items[0]
        signature = signatures.get(key) or CauseSignature(key, first.root_cause)
        groups.append(
            CauseGroup(
                signature=key,
                label=signature.label,
                happened=first.happened,
                verdict=first.verdict,
                rule_id=first.rule_id,
                count=len(items),
                frames=list(signature.frames),
                instance_ids=sorted(i.instance_id for i in items),
            )
        )
    groups.sort(key=lambda g: (HAPPENED_ORDER[g.happened], -g.count, g.signature))
    return groups


def _happened(instance: InstanceFacts, verdict: str, guest: GuestEvidence | None) -> Happened:
    if instance.status == "Stopped":
        return "stopped"
    if verdict in ("platform", "billing", "api_initiated"):
        return "rebooted"
    if verdict == "no_reboot" or (guest is not None and guest.reboot_in_window is False):
        return "no_reboot"
    if verdict == "unknown":
        return "unknown"
    return "rebooted"


@dataclass
class _Context:
    """What the scan knows of one instance of a batch before its guest is read."""

    facts: InstanceFacts
    events: EventVerdict
    agent: CloudAssistantStatus
    skipped: list[Skip] = field(default_factory=list)
    guest_state: GuestState = "not_needed"
    guest: GuestEvidence | None = None
    invoke_id: str = ""


def _skip(step: str, code: Any, en: str, zh: str) -> Skip:
    return Skip(step=step, code=code, detail=Text(en=en, zh_CN=zh))


_AFTER_GUEST_STEPS: Final = ("run_guest", "triage_dumps", "recommend_dump_setup")


T = TypeVar("T")


async def _together(*aws: Awaitable[Any]) -> list[Any]:
    """Await all of ``aws`` concurrently; when one fails, cancel the others (``asyncio.gather``
    would leave them running) and raise its error."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _split_on_denial(
    call: Callable[[list[str]], Awaitable[T]],
    ids: list[str],
    merge: Callable[[T, T], T],
    empty: T,
) -> tuple[T, dict[str, CloudApiError]]:
    """``call`` for all of ``ids`` at once; when it is refused (a RAM policy may deny some of the
    instances), for each half again, down to the instances refused on their own."""
    try:
        return await call(ids), {}
    except CloudApiError as exc:
        if exc.kind not in ("forbidden", "not_found"):
            raise
        if len(ids) == 1:
            return empty, {ids[0]: exc}
    half = len(ids) // 2
    (a, denied_a), (b, denied_b) = await _together(
        _split_on_denial(call, ids[:half], merge, empty),
        _split_on_denial(call, ids[half:], merge, empty),
    )
    return merge(a, b), {**denied_a, **denied_b}


def _join_events(a: list[FleetEvent], b: list[FleetEvent]) -> list[FleetEvent]:
    return a + b


def _join_beats(
    a: dict[str, AgentHeartbeat], b: dict[str, AgentHeartbeat]
) -> dict[str, AgentHeartbeat]:
    return {**a, **b}


def _unreadable(
    facts: InstanceFacts, exc: CloudApiError, *, events_ok: bool, agent_ok: bool
) -> tuple[FleetInstance, CauseSignature]:
    """An instance whose events or agent status could not be read: no guest command ran."""
    what_en = "Cloud Assistant status" if events_ok else "platform events"
    what_zh = "云助手状态" if events_ok else "平台事件"
    rid = f", RequestId {exc.request_id}" if exc.request_id else ""
    label = Text(
        en=f"Unknown: the {what_en} could not be read ({exc.code}); no guest command was run",
        zh_CN=f"未知：无法读取{what_zh}（{exc.code}）；未在实例内执行任何命令",
    )
    signature = CauseSignature(key=f"unreadable|{exc.action}|{exc.code}", label=label)
    instance = FleetInstance(
        instance_id=facts.instance_id,
        region_id=facts.region_id,
        instance_name=facts.instance_name,
        status=facts.status,
        os_type=facts.os_type,
        happened="unknown",
        verdict="unknown",
        rule_id="scan.unreadable",
        confidence="low",
        root_cause=Text(en=f"{label.en}{rid}.", zh_CN=f"{label.zh_CN}{rid}。"),
        signature=signature.key,
        guest="not_needed",
        events_checked=events_ok,
        agent_checked=agent_ok,
    )
    return instance, signature


class FleetScanner:
    """Runs, checkpoints and resumes fleet scans over a :class:`FleetGateway`."""

    def __init__(
        self,
        gateway: FleetGateway,
        store: ScanStore,
        clock: Clock,
        config: ScanConfig | None = None,
    ) -> None:
        self.gateway = gateway
        self.store = store
        self.clock = clock
        self.config = config or ScanConfig()

    # --- public ---------------------------------------------------------------------------

    def new_request(
        self,
        region_ids: Sequence[str],
        *,
        instance_ids: Sequence[str] = (),
        tags: Sequence[tuple[str, str]] = (),
        since: timedelta = timedelta(hours=24),
        guest_commands: bool = True,
    ) -> ScanRequest:
        """A validated scan request (every input checked before any API call)."""
        regions = list(dict.fromkeys(validate_region_id(r) for r in region_ids if r.strip()))
        if not regions:
            validate_region_id("")
        ids = list(dict.fromkeys(validate_instance_id(i) for i in instance_ids if i.strip()))
        if len(ids) > MAX_SCAN_INSTANCE_IDS:
            raise InvalidInputError(
                "instance_ids",
                f"{len(ids)} instance ids is more than a scan takes ({MAX_SCAN_INSTANCE_IDS}).",
                hint="Scan by tag or by region instead, or split the list.",
            )
        if not MIN_SINCE <= since <= MAX_SINCE:
            raise InvalidInputError(
                "since", "The window must be 1h..30d.", hint="Give it as 24h, 90m, 7d."
            )
        try:
            tag_list = [ScanTag(key=k, value=v) for k, v in tags]
        except ValueError as exc:
            raise InvalidInputError(
                "tag", "A tag key is empty or longer than 128 characters.", hint="Use KEY=VALUE."
            ) from exc
        return ScanRequest(
            region_ids=regions,
            instance_ids=ids,
            tags=tag_list,
            since_seconds=int(since.total_seconds()),
            guest_commands=guest_commands,
        )

    def start(self, request: ScanRequest, owner: str = "") -> str:
        """Record a new scan (nothing is called yet); returns its id for :meth:`run`.

        ``owner`` is the caller's opaque identity (as for diagnoses: a digest of the bearer
        token over HTTP, "" on stdio and the CLI); only that owner can read or resume it."""
        now = self.clock.now()
        state = _State(
            scan_id=f"s-{secrets.token_hex(16)}",
            request=request,
            window_start=now - timedelta(seconds=request.since_seconds),
            window_end=now,
            started_at=now,
            owner=owner,
        )
        state.revision = self.store.save(state.scan_id, owner, state.checkpoint(), revision=0)
        return state.scan_id

    async def scan(
        self, request: ScanRequest, progress: ProgressCallback | None = None, owner: str = ""
    ) -> FleetScan:
        """A whole new scan."""
        return await self.run(self.start(request, owner), progress, owner)

    async def run(
        self, scan_id: str, progress: ProgressCallback | None = None, owner: str = ""
    ) -> FleetScan:
        """Run (or resume) the scan ``scan_id`` of ``owner`` to its end.

        Two runs of one scan (two processes sharing the store, or two calls) exclude each other
        through the store's revisions: this run first claims the scan (a save before any API
        call), and every later save, one of them before each RunCommand, fails with
        ScanBusyError once another run has saved since, so the run that falls behind stops
        before it sends anything more."""
        state = self._load(scan_id, owner)
        if state.complete:
            return state.result()
        state.revision = await asyncio.to_thread(
            self.store.save, state.scan_id, owner, state.checkpoint(), revision=state.revision
        )
        runner = _Run(self, state, progress)
        await runner.run()
        state.complete = True
        state.finished_at = self.clock.now()
        await runner.save()
        return state.result()

    resume = run

    def result(self, scan_id: str, owner: str = "") -> FleetScan:
        """The scan as its checkpoint holds it (complete or not)."""
        return self._load(scan_id, owner).result()

    def _load(self, scan_id: str, owner: str) -> _State:
        stored = self.store.load(check_scan_id(scan_id), owner)
        if stored is None or stored.checkpoint.get("owner", "") != owner:  # another's: unknown
            raise InvalidInputError(
                "scan_id",
                f"No scan {scan_id} is known here (a scan is kept 24 h after its last progress, "
                "for the caller who started it, in the store it was started with).",
                hint="Start a new scan.",
                message_zh=f"此处没有扫描 {scan_id}（扫描在最后一次进展后保留 24 小时，"
                "仅对启动它的调用方、在启动时所用的存储中可见）。",
                hint_zh="请开始一次新的扫描。",
            )
        state = _State.restore(stored.checkpoint)
        state.revision = stored.revision
        return state


class _Run:
    """One run of a scan: the regions in parallel, the batches of each bounded."""

    def __init__(
        self, scanner: FleetScanner, state: _State, progress: ProgressCallback | None
    ) -> None:
        self.s = scanner
        self.gw = scanner.gateway
        self.config = scanner.config
        self.state = state
        self.progress = progress
        self.batches = asyncio.Semaphore(self.config.batch_concurrency)
        self.regions_listed = 0
        self._save_lock = asyncio.Lock()
        self._send_lock = asyncio.Lock()
        self.log_days = min(MAX_SINCE_DAYS, max(1, math.ceil(state.request.since_seconds / 86400)))

    async def run(self) -> None:
        await _together(*(self._region(r) for r in self.state.request.region_ids))
        missing = [i for i in self.state.request.instance_ids if i not in self.state.seen]
        if missing:
            shown = ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else "")
            regions = ", ".join(self.state.request.region_ids)
            self.state.notes["missing"] = Text(
                en=f"{len(missing)} instance id(s) asked for were not found in {regions}: "
                f"{shown}. Check the ids and their region.",
                zh_CN=f"所指定的 {len(missing)} 个实例 ID 在 {regions} 中不存在：{shown}。"
                "请检查实例 ID 及其地域。",
            )

    async def _say(self, message: str) -> None:
        if self.progress is not None:
            done = len(self.state.instances)
            listed = self.regions_listed == len(self.state.request.region_ids)
            total = len(self.state.seen) if listed else None
            await self.progress(done, total, message)

    async def save(self) -> None:
        """The checkpoint to the store (JSON and SQLite off the event loop), at the revision
        last read or saved: ScanBusyError when another run has saved the scan since."""
        async with self._save_lock:
            state = self.state
            state.revision = await asyncio.to_thread(
                self.s.store.save,
                state.scan_id,
                state.owner,
                state.checkpoint(),
                revision=state.revision,
            )

    # --- a region ---------------------------------------------------------------------------

    async def _region(self, region_id: str) -> None:
        trail = asyncio.create_task(self._api_calls(region_id))
        tasks: list[asyncio.Task[None]] = []
        try:
            async for page in self._pages(region_id):
                self.state.seen.update(i.instance_id for i in page)
                todo = [i for i in page if i.instance_id not in self.state.instances]
                if todo:
                    tasks.append(asyncio.create_task(self._batch(region_id, todo, trail)))
            self.regions_listed += 1
            await self._say(f"{region_id}: {len(self.state.seen)} instance(s) listed.")
            await asyncio.gather(*tasks)
        except BaseException:
            for task in (*tasks, trail):
                task.cancel()
            await asyncio.gather(*tasks, trail, return_exceptions=True)
            raise
        if not trail.done():
            trail.cancel()

    async def _pages(self, region_id: str) -> Any:
        request = self.state.request
        tags = [(t.key, t.value) for t in request.tags]
        if request.instance_ids:
            ids = request.instance_ids
            for start in range(0, len(ids), BATCH_LIMIT):
                chunk = ids[start : start + BATCH_LIMIT]
                page = await self.gw.describe_instances_page(
                    region_id, instance_ids=chunk, tags=tags
                )
                yield page.instances
            return
        token: str | None = None
        while True:
            page = await self.gw.describe_instances_page(region_id, tags=tags, next_token=token)
            yield page.instances
            token = page.next_token
            if not token:
                return

    async def _api_calls(self, region_id: str) -> list[ApiCall] | None:
        try:
            return await self.gw.region_api_calls(
                region_id, start=self.state.window_start, end=self.state.window_end
            )
        except CloudApiError as exc:
            why = "permission denied" if exc.kind == "forbidden" else exc.code
            rid = f", RequestId {exc.request_id}" if exc.request_id else ""
            self.state.notes[f"actiontrail:{region_id}"] = Text(
                en=f"ActionTrail (LookupEvents) could not be read in {region_id} ({why}{rid}): "
                "API calls that restarted or stopped instances are not known.",
                zh_CN=f"无法读取 {region_id} 的操作审计（LookupEvents）（{why}{rid}）："
                "无法得知重启或停止实例的 API 调用。",
            )
            return None

    # --- a batch ------------------------------------------------------------------------------

    async def _batch(
        self,
        region_id: str,
        instances: list[InstanceFacts],
        trail: asyncio.Task[list[ApiCall] | None],
    ) -> None:
        async with self.batches:
            state = self.state
            ids = [i.instance_id for i in instances]
            no_events: list[FleetEvent] = []
            no_beats: dict[str, AgentHeartbeat] = {}
            (events, events_denied), (beats, agent_denied) = await _together(
                _split_on_denial(
                    lambda chunk: self.gw.history_events(
                        region_id,
                        chunk,
                        cycle_statuses=ALL_CYCLE_STATUSES,
                        start=state.window_start,
                        end=state.window_end,
                    ),
                    ids,
                    _join_events,
                    no_events,
                ),
                _split_on_denial(
                    lambda chunk: self.gw.agent_statuses(region_id, chunk),
                    ids,
                    _join_beats,
                    no_beats,
                ),
            )
            unreadable = {**agent_denied, **events_denied}
            readable = [i for i in instances if i.instance_id not in unreadable]
            contexts = self._contexts(readable, events, beats)
            await self._guest(region_id, contexts)
            api_calls = await trail
            concluded = await asyncio.to_thread(self._conclude_all, contexts, api_calls)
            concluded += [
                _unreadable(
                    i,
                    unreadable[i.instance_id],
                    events_ok=i.instance_id not in events_denied,
                    agent_ok=i.instance_id not in agent_denied,
                )
                for i in instances
                if i.instance_id in unreadable
            ]
            for instance, signature in concluded:
                state.instances[instance.instance_id] = instance
                state.dumps[instance.instance_id] = instance.model_dump(mode="json")
                state.signatures.setdefault(signature.key, signature)
            await self.save()
            await self._say(f"{region_id}: {len(concluded)} more instance(s) concluded.")

    def _contexts(
        self,
        instances: list[InstanceFacts],
        events: list[FleetEvent],
        beats: dict[str, AgentHeartbeat],
    ) -> list[_Context]:
        state = self.state
        by_instance: dict[str, list[PlatformEvent]] = {i.instance_id: [] for i in instances}
        for item in events:
            if item.instance_id in by_instance:
                by_instance[item.instance_id].append(item.event)
        now = self.s.clock.now()
        contexts = []
        for facts in instances:
            verdict = platform_events.judge(
                by_instance[facts.instance_id],
                state.window_start,
                state.window_end,
                stopped=facts.status == "Stopped",
            )
            beat = beats.get(facts.instance_id) or AgentHeartbeat(running=False)
            agent = judge_agent(facts, beat, now, self.config.heartbeat_max_age)
            contexts.append(_Context(facts=facts, events=verdict, agent=agent))
        return contexts

    async def _guest(self, region_id: str, contexts: list[_Context]) -> None:
        """Run the collector on the instances that need it and may have it; read the results."""
        eligible: dict[OsType, list[_Context]] = {"linux": [], "windows": []}
        for ctx in contexts:
            if ctx.events.decisive is not None:
                ctx.skipped = [
                    Skip(step=s, code="platform_cause_found", detail=ctx.events.summary)
                    for s in ("check_agent", *_AFTER_GUEST_STEPS)
                ]
                continue
            if not self.state.request.guest_commands:
                ctx.guest_state = "disabled"
                ctx.skipped = [
                    _skip(
                        s,
                        "guest_commands_disabled",
                        "Guest commands are disabled for this scan (--no-guest-commands).",
                        "本次扫描已禁用实例内命令（--no-guest-commands）。",
                    )
                    for s in _AFTER_GUEST_STEPS
                ]
                continue
            if not ctx.agent.usable:
                ctx.guest_state = "agent_unavailable"
                ctx.skipped = [
                    Skip(step=s, code="cloud_assistant_unavailable", detail=ctx.agent.reason)
                    for s in _AFTER_GUEST_STEPS
                ]
                continue
            eligible[ctx.facts.os_type].append(ctx)
        runs = []
        for os_type, group in eligible.items():
            if group:
                runs.append(self._run_and_read(region_id, os_type, group))
        await _together(*runs)

    async def _run_and_read(self, region_id: str, os_type: OsType, group: list[_Context]) -> None:
        state = self.state
        # Invocations a resumed scan had already started: read them, do not run again.
        started = {iid: p for p in state.pending.values() for iid in p.instance_ids}
        reuse: dict[str, list[_Context]] = {}
        fresh: list[_Context] = []
        for ctx in group:
            earlier = started.get(ctx.facts.instance_id)
            if earlier is not None and earlier.os_type == os_type:
                reuse.setdefault(earlier.client_token, []).append(ctx)
            else:
                fresh.append(ctx)
        jobs = [self._resume_read(state.pending[token], items) for token, items in reuse.items()]
        if fresh:
            for ctx in fresh:  # the guardrail, checked where the command is sent
                if ctx.events.decisive is not None or not ctx.agent.usable:
                    raise AssertionError("guest command on an instance not cleared for it")
            ids = [c.facts.instance_id for c in fresh]
            for pending in await self._start(region_id, os_type, ids):
                mine = set(pending.instance_ids)
                jobs.append(self._read(pending, [c for c in fresh if c.facts.instance_id in mine]))
        await _together(*jobs)

    async def _start(self, region_id: str, os_type: OsType, ids: list[str]) -> list[_Pending]:
        """One invocation for ``ids``; two (and so on) where the region takes fewer instances
        per RunCommand (older regions: 50, ``InstanceIds.ExceedLimit``)."""
        pending = _Pending(region_id, secrets.token_hex(16), new_nonce(), os_type, list(ids))
        self.state.pending[pending.client_token] = pending
        await self.save()  # before sending: an interruption cannot lose the ClientToken
        try:
            await self._send(pending)
        except CloudApiError as exc:
            if exc.code != RUN_LIMIT_CODE or len(ids) < 2:
                raise
            del self.state.pending[pending.client_token]  # nothing was created
            half = len(ids) // 2
            first, second = await _together(
                self._start(region_id, os_type, ids[:half]),
                self._start(region_id, os_type, ids[half:]),
            )
            return [*first, *second]
        await self._say(
            f"{region_id}: collector started on {len(ids)} instance(s) ({pending.invoke_id})."
        )
        return [pending]

    async def _send(self, pending: _Pending) -> None:
        """RunCommand for the pending invocation (again, after an interruption: the ClientToken
        returns the invocation already created)."""
        collector = load_collector(pending.os_type)
        parameters = collector_parameters(pending.nonce, self.log_days)
        form = choose_delivery(collector, parameters, self.config.command_content_limit)

        async def run(content: str) -> str:
            return await self.gw.run_command_batch(
                pending.region_id,
                pending.instance_ids,
                command_type=collector.command_type,
                content=content,
                parameters=parameters,
                timeout_seconds=self.config.command_timeout_seconds,
                name=f"ecs-reboot-diagnosis-{collector.version}",
                client_token=pending.client_token,
            )

        try:
            invoke_id = await run(form.content)
        except CloudApiError as exc:
            if exc.code != EXCEED_LIMIT_CODE or form.delivery == "packed":
                raise
            invoke_id = await run(packed_command(collector).content)
        pending.invoke_id = invoke_id
        await self.save()

    async def _resume_read(self, pending: _Pending, contexts: list[_Context]) -> None:
        """An invocation an interrupted run had started: read it, or start a new one for these
        instances when the API no longer knows it (expired)."""
        async with self._send_lock:
            if not pending.invoke_id:
                await self._send(pending)
        status = await self.gw.invocation_state(pending.region_id, pending.invoke_id)
        if status.found:
            await self._read(pending, contexts)
            return
        ids = [c.facts.instance_id for c in contexts]
        jobs = []
        for fresh in await self._start(pending.region_id, pending.os_type, ids):
            mine = set(fresh.instance_ids)
            jobs.append(self._read(fresh, [c for c in contexts if c.facts.instance_id in mine]))
        await _together(*jobs)

    async def _read(self, pending: _Pending, contexts: list[_Context]) -> None:
        """Wait (bounded) for the invocation to end, then read its results by pages."""
        clock, config = self.s.clock, self.config
        deadline = config.wait_deadline_seconds
        waited = delay = min(config.poll_first_seconds, deadline)
        await clock.sleep(delay)
        while True:
            status = await self.gw.invocation_state(pending.region_id, pending.invoke_id)
            wanted = [status.instance_statuses.get(c.facts.instance_id) for c in contexts]
            ended = status.found and (
                status.status in TERMINAL_INVOCATION_STATUSES
                or all(s in TERMINAL_INVOCATION_STATUSES for s in wanted)
            )
            if ended or waited >= deadline:
                break
            delay = min(delay * 2, config.poll_max_seconds, deadline - waited)
            await clock.sleep(delay)
            waited += delay
        results = {}
        token: str | None = None
        while True:
            page = await self.gw.invocation_results_page(
                pending.region_id, pending.invoke_id, next_token=token
            )
            results.update(page.results)
            token = page.next_token
            if not token:
                break
        for ctx in contexts:
            ctx.invoke_id = pending.invoke_id
            result = results.get(ctx.facts.instance_id)
            status_text = result.status if result is not None else "Missing"
            if result is None or result.status not in TERMINAL_INVOCATION_STATUSES:
                self._failed(ctx, status_text, "it had not ended when the scan stopped waiting")
                continue
            try:
                ctx.guest = parse_guest_output(
                    ctx.facts.os_type,
                    result.output,
                    pending.nonce,
                    dropped_bytes=result.dropped_bytes,
                )
                ctx.guest_state = "collected"
            except CollectorIntegrityError as exc:
                code = result.error_code or result.status
                self._failed(ctx, status_text, f"{code}: {exc}")

    def _failed(self, ctx: _Context, status: str, why: str) -> None:
        ctx.guest_state = "failed"
        ctx.skipped = [
            _skip(
                s,
                "guest_collection_failed",
                f"The collector did not finish: invocation {ctx.invoke_id} ended {status}; "
                f"{why[:300]}",
                f"采集脚本未完成：调用 {ctx.invoke_id} 状态为 {status}；{why[:300]}",
            )
            for s in ("get_guest_results", "triage_dumps", "recommend_dump_setup")
        ]

    # --- conclusions ------------------------------------------------------------------------------

    def _conclude_all(
        self, contexts: list[_Context], api_calls: list[ApiCall] | None
    ) -> list[tuple[FleetInstance, CauseSignature]]:
        by_instance: dict[str, list[ApiCall]] = {}
        for call in api_calls or []:
            for name in call.resources:
                by_instance.setdefault(name, []).append(call)
        return [
            self._conclude(
                ctx, None if api_calls is None else by_instance.get(ctx.facts.instance_id, [])
            )
            for ctx in contexts
        ]

    def _conclude(
        self, ctx: _Context, api_calls: list[ApiCall] | None
    ) -> tuple[FleetInstance, CauseSignature]:
        """The instance's conclusion, exactly as a single diagnosis draws it from the same
        evidence (without the serial console, which the scan does not read)."""
        facts = ctx.facts
        calls = sorted(api_calls, key=lambda c: c.event_time) if api_calls is not None else None
        triage = None
        if ctx.events.decisive is not None:
            conclusion, _ = conclusions.conclude_platform(ctx.events.decisive)
        else:
            triage = triage_dumps(ctx.guest) if ctx.guest is not None else None
            conclusion, _ = conclusions.conclude_guest(
                facts.os_type,
                ctx.guest,
                triage,
                ctx.events,
                ctx.skipped,
                api_calls=calls,
                status=facts.status,
            )
        signature = signature_of(
            conclusion,
            events=ctx.events,
            guest=ctx.guest,
            triage=triage,
            api_calls=calls,
            skipped=ctx.skipped,
        )
        instance = FleetInstance(
            instance_id=facts.instance_id,
            region_id=facts.region_id,
            instance_name=facts.instance_name,
            status=facts.status,
            os_type=facts.os_type,
            happened=_happened(facts, conclusion.verdict, ctx.guest),
            verdict=conclusion.verdict,
            rule_id=conclusion.rule_id,
            confidence=conclusion.confidence,
            root_cause=conclusion.root_cause,
            signature=signature.key,
            guest=ctx.guest_state,
            events_checked=True,
            agent_checked=True,
            invoke_id=ctx.invoke_id,
        )
        return instance, signature
