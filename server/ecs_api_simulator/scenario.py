"""Scenario files: the ``scenario.json`` schema and loading a scenario directory.

A scenario directory holds ``scenario.json`` plus the files it names (guest fixture root, tool
shims, recorded outputs, console log, screenshot). All times in the file may be relative to the
moment the scenario is loaded (``-2h``), so scenarios stay inside the API's 30-day window whenever
they run. references/simulator-scenarios.md documents every field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ecs_api_simulator.access_keys import AccessKey
from ecs_api_simulator.account import api_action_of
from ecs_api_simulator.event_codes import (
    COMPLETED_CYCLE_STATUSES,
    CYCLE_STATUS_CODES,
    HEALTH_STATUS_CODES,
)
from ecs_api_simulator.faults import FaultSpec
from ecs_api_simulator.guest_templates import (
    FileOverride,
    GuestTemplate,
    check_tokens,
    guest_zone,
    scan_guest,
)
from ecs_api_simulator.monitoring import (
    ApiCallRecord,
    ApiCallSpec,
    MetricSeriesData,
    MetricSpec,
    resolve_api_calls,
    resolve_metrics,
)
from ecs_api_simulator.time_formats import resolve_time

SCENARIO_FILE = "scenario.json"
INSTANCE_ID_PATTERN = r"^i-[a-z0-9]{4,40}$"
REGION_ID_PATTERN = r"^[a-z]{2,4}(-[a-z0-9]+){1,3}$"


class ScenarioError(ValueError):
    """A scenario directory or file is invalid; the message names the file and the problem."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccessKeySpec(_Spec):
    access_key_id: str = Field(min_length=1)
    access_key_secret: str = Field(min_length=1)
    security_token: str | None = None
    expires: str | None = None
    principal: str = "simulator-user"
    denied_actions: list[str] = Field(default_factory=list)
    enabled: bool = True


class PermissionsSpec(_Spec):
    denied_actions: list[str] = Field(default_factory=list)
    """Actions a RAM policy does not allow for requests that target this scenario's instances."""


class EventSpec(_Spec):
    event_id: str | None = Field(default=None, pattern=r"^e-[a-z0-9]+$")
    event_type: str
    cycle_status: str = "Executed"
    not_before: str
    publish_time: str | None = None
    finish_time: str | None = None
    reason: str = ""
    reason_code: str = ""
    impact_level: str = ""
    resource_type: str = "instance"
    extended_attribute: dict[str, Any] = Field(default_factory=dict)


class CloudAssistantSpec(_Spec):
    installed: bool = True
    running: bool = True
    version: str = "2.2.3.857"
    last_heartbeat: str | None = None
    """Used when the agent is not running; a running agent's heartbeat is always fresh."""
    supports_session_manager: bool = True
    invocation_count: int = Field(default=0, ge=0)
    last_invoked_time: str | None = None


class InvocationSpec(_Spec):
    pending_seconds: float = Field(default=0.5, ge=0)
    running_seconds: float = Field(default=1.0, ge=0)
    error_code: str | None = None
    """Force a per-instance failure: ClientNotRunning, ClientNotResponse, InstanceNotExists,
    ExecutionTimeout, DeliveryTimeout, ... (see references/simulator-scenarios.md)."""
    invocation_status: str | None = None
    """Override the InvocationStatus the forced error_code ends in."""
    exit_code: int = 0
    """Exit code of a recorded (Windows) run."""
    recorded_output: str | None = None
    """File (relative to the scenario): the output of RunPowerShellScript/RunBatScript runs."""
    max_run_seconds: float = Field(default=120.0, gt=0)
    command_content_limit: int = Field(default=24 * 1024, ge=1024, le=24 * 1024)
    """RunCommand ``CmdContent.ExceedLimit`` above this size (Base64 content plus parameters)."""
    """Hard cap on a real bash run, whatever Timeout the request asks for."""


class GuestFileSpec(_Spec):
    mtime: str | None = None
    """The file's modification time, relative to the run (``-26h``) or absolute."""
    mode: str | None = Field(default=None, pattern=r"^0?[0-7]{3,4}$")
    """Octal permission bits, e.g. ``"0600"``."""
    owner: int | None = Field(default=None, ge=0)
    """Numeric uid, applied when the simulator runs as root (ignored otherwise)."""
    group: int | None = Field(default=None, ge=0)
    """Numeric gid, applied when the simulator runs as root (ignored otherwise)."""


class GuestSpec(_Spec):
    root: str = "root"
    """The guest's ``/``, exported to scripts as ``DIAG_ROOT``."""
    bin: str = "bin"
    """Tool shims put first on the script's PATH."""
    fixture: str = "."
    """Exported as ``DIAG_FIXTURE`` (shims read their recorded answers from ``tools/`` there)."""
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment for scripts, e.g. ``{"TZ": "CST-8"}``; never the host's variables."""
    files: dict[str, GuestFileSpec] = Field(default_factory=dict)
    """mtime / mode / owner of guest files, by path in the scenario directory (template names
    allowed: ``root/var/crash/127.0.0.1-@@kdump=-26h@@/vmcore``)."""


class ConsoleSpec(_Spec):
    file: str | None = None
    text: str | None = None
    last_update_time: str = "-2h"


class InstanceSpec(_Spec):
    instance_id: str = Field(pattern=INSTANCE_ID_PATTERN)
    instance_name: str = ""
    region_id: str = Field(pattern=REGION_ID_PATTERN)
    zone_id: str | None = None
    status: Literal["Pending", "Running", "Starting", "Stopping", "Stopped"] = "Running"
    os_type: Literal["linux", "windows"]
    os_name: str
    os_name_en: str | None = None
    instance_type: str = "ecs.g7.large"
    cpu: int = 2
    memory: int = 8192
    image_id: str = ""
    host_name: str | None = None
    description: str = ""
    creation_time: str = "-90d"
    start_time: str = "-2h"
    expired_time: str = "2099-12-31T15:59Z"
    instance_charge_type: str = "PostPaid"
    internet_charge_type: str = "PayByTraffic"
    public_ips: list[str] = Field(default_factory=list)
    private_ips: list[str] = Field(default_factory=lambda: ["172.16.0.10"])
    vpc_id: str = "vpc-sim0000000000000000001"
    vswitch_id: str = "vsw-sim0000000000000000001"
    security_group_ids: list[str] = Field(default_factory=lambda: ["sg-sim000000000000000001"])
    tags: dict[str, str] = Field(default_factory=dict)
    resource_group_id: str = ""
    key_pair_name: str = ""
    health_status: str | None = None
    serial_number: str | None = None
    events: list[EventSpec] = Field(default_factory=list)
    cloud_assistant: CloudAssistantSpec = Field(default_factory=CloudAssistantSpec)
    invocation: InvocationSpec = Field(default_factory=InvocationSpec)
    guest: GuestSpec = Field(default_factory=GuestSpec)
    console_output: ConsoleSpec | None = None
    screenshot: str | None = None
    metrics: dict[str, MetricSpec] = Field(default_factory=dict)
    """CloudMonitor (DescribeMetricList, namespace acs_ecs_dashboard) series by metric name."""
    api_calls: list[ApiCallSpec] = Field(default_factory=list)
    """ActionTrail (LookupEvents) records of API calls on this instance."""


class ScenarioSpec(_Spec):
    schema_version: Literal[1] = 1
    name: str = Field(min_length=1)
    description: str = ""
    regions: list[str] = Field(default_factory=list)
    access_keys: list[AccessKeySpec] = Field(default_factory=list)
    permissions: PermissionsSpec = Field(default_factory=PermissionsSpec)
    faults: list[FaultSpec] = Field(default_factory=list)
    instances: list[InstanceSpec] = Field(default_factory=list)


# --- the loaded (resolved) form --------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    instance_id: str
    event_id: str
    event_type: str
    cycle_status: str
    publish_time: datetime
    not_before: datetime
    finish_time: datetime | None
    reason: str
    reason_code: str
    impact_level: str
    resource_type: str
    extended_attribute: dict[str, Any]


@dataclass(frozen=True)
class ConsoleOutputData:
    text: str
    last_update_time: datetime | None
    templated: bool = False
    """The text holds ``@@FORMAT:OFFSET@@`` tokens, rendered per request (guest_templates)."""


@dataclass(frozen=True)
class Instance:
    spec: InstanceSpec
    scenario: str
    scenario_dir: Path
    creation_time: datetime
    start_time: datetime
    expired_time: datetime
    events: tuple[Event, ...]
    agent_last_heartbeat: datetime | None
    agent_last_invoked: datetime | None
    console: ConsoleOutputData | None
    screenshot: bytes | None
    recorded_output: str | None
    guest_root: Path
    guest_bin: Path
    guest_fixture: Path
    denied_actions: frozenset[str]
    metrics: Mapping[str, MetricSeriesData] = field(default_factory=dict)
    api_calls: tuple[ApiCallRecord, ...] = ()
    guest_template: GuestTemplate | None = None
    """Set when the guest's files carry time tokens or ``guest.files`` overrides: each Linux
    run then gets a freshly rendered copy (see guest_templates)."""
    canned_key: str | None = None
    """Generated fleets: the cause class whose real collector output this Linux guest shares
    (see :mod:`ecs_api_simulator.fleet`); None: every run really runs."""
    renderings: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """API renderings that depend on nothing but this (immutable) instance, memoized by the
    actions that build them. Shared between answers: never mutate one."""

    @property
    def instance_id(self) -> str:
        return self.spec.instance_id

    @property
    def region_id(self) -> str:
        return self.spec.region_id

    @property
    def zone_id(self) -> str:
        return self.spec.zone_id or f"{self.spec.region_id}-k"

    @property
    def health_status(self) -> str:
        if self.spec.health_status:
            return self.spec.health_status
        return "Ok" if self.spec.status == "Running" else "InsufficientData"


@dataclass(frozen=True)
class Scenario:
    name: str
    directory: Path
    regions: frozenset[str]
    access_keys: tuple[AccessKey, ...]
    faults: tuple[FaultSpec, ...]
    instances: tuple[Instance, ...]


def _time(value: str, now: datetime, where: str) -> datetime:
    try:
        return resolve_time(value, now)
    except ValueError as exc:
        raise ScenarioError(f"{where}: {exc}") from None


def _inside(directory: Path, relative: str, where: str) -> Path:
    path = (directory / relative).resolve()
    if directory.resolve() not in (path, *path.parents):
        raise ScenarioError(f"{where}: path {relative!r} leaves the scenario directory")
    return path


def _read_text(directory: Path, relative: str, where: str) -> str:
    path = _inside(directory, relative, where)
    if not path.is_file():
        raise ScenarioError(f"{where}: file {relative!r} does not exist in {directory}")
    return path.read_text(encoding="utf-8", errors="replace")


def _event_id(instance_id: str, index: int) -> str:
    return f"e-{instance_id[2:12]}{index:010d}"


def _load_events(spec: InstanceSpec, now: datetime, where: str) -> tuple[Event, ...]:
    events: list[Event] = []
    for index, event in enumerate(spec.events):
        here = f"{where}.events[{index}]"
        if event.cycle_status not in CYCLE_STATUS_CODES:
            raise ScenarioError(
                f"{here}: cycle_status {event.cycle_status!r} is not one of "
                f"{sorted(CYCLE_STATUS_CODES)}"
            )
        not_before = _time(event.not_before, now, f"{here}.not_before")
        publish = _time(event.publish_time, now, here) if event.publish_time else not_before
        if event.finish_time:
            finish: datetime | None = _time(event.finish_time, now, f"{here}.finish_time")
        elif event.cycle_status in COMPLETED_CYCLE_STATUSES:
            finish = not_before + timedelta(minutes=3)
        else:
            finish = None
        events.append(
            Event(
                instance_id=spec.instance_id,
                event_id=event.event_id or _event_id(spec.instance_id, index),
                event_type=event.event_type,
                cycle_status=event.cycle_status,
                publish_time=publish,
                not_before=not_before,
                finish_time=finish,
                reason=event.reason,
                reason_code=event.reason_code,
                impact_level=event.impact_level,
                resource_type=event.resource_type,
                extended_attribute=dict(event.extended_attribute),
            )
        )
    return tuple(events)


def denied_action_names(names: Iterable[str]) -> frozenset[str]:
    """RAM denials as API action names (``cms:QueryMetricList`` -> ``DescribeMetricList``)."""
    return frozenset(api_action_of(name) for name in names)


def _load_monitoring(
    spec: InstanceSpec, now: datetime, where: str
) -> tuple[dict[str, MetricSeriesData], tuple[ApiCallRecord, ...]]:
    try:
        metrics = resolve_metrics(spec.metrics, now, where)
        calls = resolve_api_calls(spec.api_calls, spec.instance_id, spec.region_id, now, where)
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    return metrics, calls


def _scan_guest(
    spec: InstanceSpec, directory: Path, root: Path, fixture: Path, now: datetime, where: str
) -> GuestTemplate | None:
    """Linux guests only: their files are what RunShellScript runs see."""
    here = f"{where}.guest"
    files: dict[str, FileOverride] = {}
    for name, item in spec.guest.files.items():
        if item.mtime is not None:
            _time(item.mtime, now, f"{here}.files[{name!r}].mtime")
        key = Path(name).as_posix().removeprefix("./")
        _inside(directory, key, f"{here}.files")
        files[key] = FileOverride(
            mtime=item.mtime,
            mode=int(item.mode, 8) if item.mode is not None else None,
            owner=item.owner,
            group=item.group,
        )
    if spec.os_type != "linux":
        if files:
            raise ScenarioError(f"{here}.files: only Linux guests have files")
        return None
    try:
        return scan_guest(directory, root, fixture, spec.guest.env, files)
    except ValueError as exc:
        raise ScenarioError(f"{here}: {exc}") from None


def _load_instance(
    spec: InstanceSpec, directory: Path, scenario: ScenarioSpec, now: datetime, where: str
) -> Instance:
    if spec.health_status and spec.health_status not in HEALTH_STATUS_CODES:
        raise ScenarioError(f"{where}.health_status: unknown value {spec.health_status!r}")
    agent = spec.cloud_assistant
    if agent.running and agent.installed:
        heartbeat: datetime | None = None  # always fresh, computed per request
    elif agent.last_heartbeat:
        heartbeat = _time(agent.last_heartbeat, now, f"{where}.cloud_assistant.last_heartbeat")
    else:
        heartbeat = None
    last_invoked = (
        _time(agent.last_invoked_time, now, f"{where}.cloud_assistant.last_invoked_time")
        if agent.last_invoked_time
        else None
    )
    console: ConsoleOutputData | None = None
    if spec.console_output is not None:
        text = spec.console_output.text or ""
        if spec.console_output.file:
            text = _read_text(directory, spec.console_output.file, f"{where}.console_output")
        try:
            templated = check_tokens(text.encode("utf-8"))
            if templated:
                guest_zone(spec.guest.env.get("TZ"))
        except ValueError as exc:
            raise ScenarioError(f"{where}.console_output: {exc}") from None
        console = ConsoleOutputData(
            text,
            _time(spec.console_output.last_update_time, now, f"{where}.console_output"),
            templated,
        )
    screenshot: bytes | None = None
    if spec.screenshot:
        shot = _inside(directory, spec.screenshot, f"{where}.screenshot")
        if not shot.is_file():
            raise ScenarioError(f"{where}.screenshot: file {spec.screenshot!r} does not exist")
        screenshot = shot.read_bytes()
    recorded = (
        _read_text(directory, spec.invocation.recorded_output, f"{where}.invocation")
        if spec.invocation.recorded_output
        else None
    )
    if recorded is not None:
        try:
            check_tokens(recorded.encode("utf-8"))
        except ValueError as exc:
            raise ScenarioError(f"{where}.invocation.recorded_output: {exc}") from None
    metrics, api_calls = _load_monitoring(spec, now, where)
    guest_root = _inside(directory, spec.guest.root, f"{where}.guest.root")
    guest_fixture = _inside(directory, spec.guest.fixture, f"{where}.guest.fixture")
    template = _scan_guest(spec, directory, guest_root, guest_fixture, now, where)
    return Instance(
        spec=spec,
        scenario=scenario.name,
        scenario_dir=directory,
        creation_time=_time(spec.creation_time, now, f"{where}.creation_time"),
        start_time=_time(spec.start_time, now, f"{where}.start_time"),
        expired_time=_time(spec.expired_time, now, f"{where}.expired_time"),
        events=_load_events(spec, now, where),
        agent_last_heartbeat=heartbeat,
        agent_last_invoked=last_invoked,
        console=console,
        screenshot=screenshot,
        recorded_output=recorded,
        guest_root=guest_root,
        guest_bin=_inside(directory, spec.guest.bin, f"{where}.guest.bin"),
        guest_fixture=guest_fixture,
        denied_actions=denied_action_names(scenario.permissions.denied_actions),
        metrics=metrics,
        api_calls=api_calls,
        guest_template=template,
    )


def load_scenario(directory: Path, now: datetime) -> Scenario:
    """Load and check ``directory/scenario.json``; relative times resolve against ``now``."""
    directory = Path(directory).resolve()
    path = directory / SCENARIO_FILE
    if not path.is_file():
        raise ScenarioError(f"{directory}: no {SCENARIO_FILE} in this directory")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path}: not valid JSON: {exc}") from None
    try:
        spec = ScenarioSpec.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    instances = tuple(
        _load_instance(item, directory, spec, now, f"{path}: instances[{i}]")
        for i, item in enumerate(spec.instances)
    )
    seen: set[str] = set()
    for instance in instances:
        if instance.instance_id in seen:
            raise ScenarioError(f"{path}: instance {instance.instance_id} is listed twice")
        seen.add(instance.instance_id)
    keys = tuple(
        AccessKey(
            access_key_id=k.access_key_id,
            access_key_secret=k.access_key_secret,
            security_token=k.security_token,
            expires=_time(k.expires, now, f"{path}: access_keys") if k.expires else None,
            principal=k.principal,
            denied_actions=denied_action_names(k.denied_actions),
            enabled=k.enabled,
        )
        for k in spec.access_keys
    )
    regions = frozenset(spec.regions) | {i.region_id for i in instances}
    return Scenario(spec.name, directory, regions, keys, tuple(spec.faults), instances)


def discover_scenarios(root: Path) -> list[Path]:
    """``root`` itself when it is a scenario, else its sub-directories that are, sorted."""
    root = Path(root)
    if (root / SCENARIO_FILE).is_file():
        return [root]
    return sorted(p for p in root.iterdir() if (p / SCENARIO_FILE).is_file())
