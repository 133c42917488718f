"""Cloud Assistant: DescribeCloudAssistantStatus, RunCommand, DescribeInvocations,
DescribeInvocationResults."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import timedelta
from typing import Any

from ecs_api_simulator.actions.context import RequestContext
from ecs_api_simulator.api_errors import (
    ApiError,
    instance_not_found_cloud_assistant,
    invalid_parameter,
    missing_parameter,
)
from ecs_api_simulator.command_parameters import check_parameters, parse_parameters, substitute
from ecs_api_simulator.guest_templates import guest_now, guest_zone, render_text
from ecs_api_simulator.invocations import (
    InstanceRun,
    Invocation,
    RunView,
    legacy_overall_status,
    legacy_status,
    new_id,
    overall_status,
    schedule,
)
from ecs_api_simulator.paging import PagingRules, paginate
from ecs_api_simulator.scenario import Instance
from ecs_api_simulator.time_formats import format_event_time

COMMAND_TYPES = ("RunShellScript", "RunPowerShellScript", "RunBatScript")
CONTENT_LIMIT = 24 * 1024
"""Base64-encoded command content (plus parameters) may be at most 24 KB."""
STATUS_PAGING = PagingRules(max_results_max=50, page_size_max=100)
INVOCATION_PAGING = PagingRules(max_results_max=50, page_size_max=50)


def _os_label(instance: Instance) -> str:
    return "Windows" if instance.spec.os_type == "windows" else "Linux"


def _agent_status(ctx: RequestContext, instance: Instance) -> dict[str, Any]:
    agent = instance.spec.cloud_assistant
    alive = agent.installed and agent.running
    if alive:
        # The agent beats about once a minute; the status is "true" within 2 minutes of one.
        heartbeat = ctx.now.replace(microsecond=0) - timedelta(seconds=ctx.now.second % 60)
    else:
        heartbeat = instance.agent_last_heartbeat  # type: ignore[assignment]
    runs = [
        invocation.creation_time
        for invocation in ctx.world.invocations.all()
        if instance.instance_id in invocation.runs
    ]
    invocations = len(runs)
    if instance.agent_last_invoked is not None:
        runs.append(instance.agent_last_invoked)
    last_invoked = max(runs, default=None)
    return {
        "InstanceId": instance.instance_id,
        "CloudAssistantStatus": "true" if alive else "false",
        "CloudAssistantVersion": agent.version if agent.installed and agent.running else "",
        "OSType": _os_label(instance),
        "LastHeartbeatTime": format_event_time(heartbeat),
        "LastInvokedTime": format_event_time(last_invoked),
        "InvocationCount": agent.invocation_count + invocations,
        "ActiveTaskCount": ctx.world.invocations.active_count(instance.instance_id),
        "SupportSessionManager": bool(agent.installed and agent.supports_session_manager),
    }


def describe_cloud_assistant_status(ctx: RequestContext) -> dict[str, Any]:
    region_id = ctx.region()
    params = ctx.params
    ids = params.repeat_list("InstanceId")
    if len(ids) > 100:
        raise ApiError(
            403, "InstanceIds.ExceedLimit", "The number of instance IDs exceeds the upper limit."
        )
    os_type = params.get("OSType")
    if os_type is not None and os_type.lower() not in ("windows", "linux", "freebsd"):
        raise invalid_parameter("OSType")
    if ids:
        instances = []
        for instance_id in dict.fromkeys(ids):
            instance = ctx.world.find(instance_id, region_id)
            if instance is None:
                raise instance_not_found_cloud_assistant()
            instances.append(instance)
    else:
        instances = ctx.world.instances_in(region_id)
    if os_type is not None:
        instances = [i for i in instances if _os_label(i).lower() == os_type.lower()]
    ctx.authorize_all(instances)
    if ids:  # paging parameters are ignored when instance IDs are given
        body: dict[str, Any] = {
            "TotalCount": len(instances),
            "PageNumber": 1,
            "PageSize": max(len(instances), 1),
            "NextToken": "",
        }
        items = instances
    else:
        page = paginate(ctx.action, instances, params, STATUS_PAGING)
        body, items = page.envelope(), page.items
    statuses = [_agent_status(ctx, i) for i in items]
    return {**body, "InstanceCloudAssistantStatusSet": {"InstanceCloudAssistantStatus": statuses}}


def _decode_content(ctx: RequestContext) -> str:
    content = ctx.params.required("CommandContent")
    encoding = (ctx.params.get("ContentEncoding") or "PlainText").lower()
    if encoding != "base64":  # an invalid value is treated as PlainText (API docs)
        return content
    try:
        return base64.b64decode(content, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_parameter("CommandContent", "It is not valid Base64 text.") from None


def _check_limits(
    ctx: RequestContext, content: str, parameters: dict[str, str], limit: int = CONTENT_LIMIT
) -> None:
    size = len(base64.b64encode(content.encode("utf-8")))
    size += len(json.dumps(parameters, ensure_ascii=False).encode("utf-8")) if parameters else 0
    if size > limit:
        raise ApiError(
            403,
            "CmdContent.ExceedLimit",
            "The length of the command content exceeds the upper limit.",
        )
    if len(ctx.params.get("Name") or "") > 128:
        raise ApiError(
            403, "CmdName.ExceedLimit", "The length of the command name exceeds the upper limit."
        )
    if len(ctx.params.get("Description") or "") > 512:
        raise ApiError(
            403,
            "CmdDesc.ExceedLimit",
            "The length of the command description exceeds the upper limit.",
        )


def _forced_error(instance: Instance) -> str | None:
    spec = instance.spec
    if spec.invocation.error_code:
        return spec.invocation.error_code
    if spec.status != "Running":
        return "InstanceNotRunning"
    if not (spec.cloud_assistant.installed and spec.cloud_assistant.running):
        return "ClientNotRunning"
    return None


def run_command(ctx: RequestContext) -> dict[str, Any]:
    region_id = ctx.region()
    params = ctx.params
    command_type = params.required("Type")
    if command_type not in COMMAND_TYPES:
        raise ApiError(403, "InvalidCmdType.NotFound", "The specified command type does not exist.")
    content = _decode_content(ctx)
    ids = list(dict.fromkeys(params.repeat_list("InstanceId")))
    if not ids:
        raise missing_parameter("InstanceId")
    if len(ids) > 100:
        raise ApiError(
            403, "InstanceIds.ExceedLimit", "The number of instance IDs exceeds the upper limit."
        )
    repeat_mode = params.get("RepeatMode") or "Once"
    if repeat_mode != "Once" or params.boolean("Timed"):
        raise invalid_parameter(
            "RepeatMode", "The simulator runs commands once (RepeatMode=Once) only."
        )
    timeout = params.integer("Timeout", 60, minimum=1, maximum=86400)
    enable_parameter = params.boolean("EnableParameter")
    parameters = parse_parameters(params.raw("Parameters")) if enable_parameter else {}
    if enable_parameter:
        check_parameters(content, parameters)
    _check_limits(ctx, content, parameters)  # the largest limit a scenario can lower

    instances: list[Instance] = []
    for instance_id in ids:
        instance = ctx.world.find(instance_id, region_id)
        if instance is None:
            raise instance_not_found_cloud_assistant()
        ctx.authorize(instance)
        windows_type = command_type != "RunShellScript"
        if windows_type != (instance.spec.os_type == "windows"):
            raise ApiError(
                403,
                "InvalidInstance.NotMatch",
                "The specified instance type does not match the command.",
            )
        instances.append(instance)
    # The limit of the region the scenario plays (instance.spec.invocation.command_content_limit).
    _check_limits(
        ctx, content, parameters, min(i.spec.invocation.command_content_limit for i in instances)
    )

    # Idempotence: a retry carrying the ClientToken of a RunCommand that already created an
    # invocation gets that invocation back (per AccessKey), and nothing runs twice.
    token = params.get("ClientToken")
    token_key = (ctx.caller.access_key.access_key_id, token) if token else None
    if token_key is not None:
        earlier = ctx.world.invocations.by_client_token(token_key)
        if earlier is not None:
            return {"CommandId": earlier.command_id, "InvokeId": earlier.invoke_id}

    default_user = "root" if command_type == "RunShellScript" else "System"
    invoke_id = new_id("t", region_id)
    command_id = new_id("c", region_id)
    invocation = Invocation(
        invoke_id=invoke_id,
        command_id=command_id,
        region_id=region_id,
        command_type=command_type,
        command_content=content,
        parameters=parameters,
        name=params.get("Name") or "",
        description=params.get("Description") or "",
        timeout=timeout,
        username=params.get("Username") or default_user,
        working_dir=params.get("WorkingDir") or "",
        repeat_mode=repeat_mode,
        creation_time=ctx.now,
    )
    fault = ctx.world.faults.take_invocation()
    for instance in instances:
        builtins = {
            "ACS::RegionId": region_id,
            "ACS::InstanceId": instance.instance_id,
            "ACS::InstanceName": instance.spec.instance_name,
            "ACS::InvokeId": invoke_id,
            "ACS::CommandId": command_id,
        }
        if command_type == "RunShellScript":
            source = content
        else:  # a recorded run: its times are relative to this run
            env = instance.spec.guest.env
            source = render_text(
                instance.recorded_output or "",
                guest_now(env, ctx.now),
                guest_zone(env.get("TZ")),
            )
        script = substitute(source, parameters, builtins) if enable_parameter else source
        behaviour = instance.spec.invocation
        pending, running = behaviour.pending_seconds, behaviour.running_seconds
        forced_error, forced_status = _forced_error(instance), behaviour.invocation_status
        output_quota = None
        if fault is not None:  # a scripted RunCommand fault overrides the instance's behaviour
            pending = pending if fault.pending_seconds is None else fault.pending_seconds
            running = running if fault.running_seconds is None else fault.running_seconds
            if fault.error_code is not None:
                forced_error, forced_status = fault.error_code, fault.invocation_status
            output_quota = fault.output_quota
        pending_until, running_until = schedule(ctx.now, pending=pending, running=running)
        invocation.runs[instance.instance_id] = InstanceRun(
            instance=instance,
            script=script,
            pending_until=pending_until,
            running_until=running_until,
            forced_error=forced_error,
            forced_status=forced_status,
            output_quota=output_quota,
        )
    ctx.world.invocations.submit(invocation, token_key)
    return {"CommandId": command_id, "InvokeId": invoke_id}


def _encode(text: bytes, base64_wanted: bool) -> str:
    if base64_wanted:
        return base64.b64encode(text).decode("ascii")
    return text.decode("utf-8", errors="replace")


def _content_is_base64(ctx: RequestContext) -> bool:
    encoding = (ctx.params.get("ContentEncoding") or "Base64").lower()
    if encoding not in ("base64", "plaintext"):
        raise invalid_parameter("ContentEncoding")
    return encoding == "base64"


def _times(invocation: Invocation, view: RunView) -> tuple[str, str, str]:
    """StartTime, FinishTime and UpdateTime of one instance's run, as API strings."""
    start = format_event_time(view.start_time)
    finish = format_event_time(view.finish_time)
    return start, finish, finish or start or format_event_time(invocation.creation_time)


def _views(ctx: RequestContext, invocation: Invocation) -> dict[str, RunView]:
    return {iid: ctx.world.invocations.view(run) for iid, run in invocation.runs.items()}


def _matching_invocations(ctx: RequestContext, region_id: str) -> list[Invocation]:
    params = ctx.params
    invocations = [i for i in ctx.world.invocations.all() if i.region_id == region_id]
    for name, attribute in (
        ("InvokeId", "invoke_id"),
        ("CommandId", "command_id"),
        ("CommandName", "name"),
        ("CommandType", "command_type"),
        ("RepeatMode", "repeat_mode"),
    ):
        wanted = params.get(name)
        if wanted is not None:
            invocations = [i for i in invocations if getattr(i, attribute) == wanted]
    instance_id = params.get("InstanceId")
    if instance_id is not None:
        invocations = [i for i in invocations if instance_id in i.runs]
    if params.boolean("Timed", default=False):
        invocations = []
    for invocation in invocations:
        ctx.authorize_all(run.instance for run in invocation.runs.values())
    return invocations


def describe_invocations(ctx: RequestContext) -> dict[str, Any]:
    region_id = ctx.region()
    params = ctx.params
    as_base64 = _content_is_base64(ctx)
    include_output = params.boolean("IncludeOutput")
    invocations = _matching_invocations(ctx, region_id)
    status_filter = params.get("InvokeStatus")
    rows: list[tuple[Invocation, dict[str, RunView], str]] = []
    for invocation in invocations:
        views = _views(ctx, invocation)
        overall = overall_status(list(views.values()))
        legacy = legacy_overall_status(overall)
        if status_filter is None or status_filter in (overall, legacy):
            rows.append((invocation, views, overall))
    page = paginate(ctx.action, rows, params, INVOCATION_PAGING)
    entries = []
    for invocation, views, overall in page.items:
        instances = []
        for instance_id, view in views.items():
            start, finish, update = _times(invocation, view)
            item: dict[str, Any] = {
                "InstanceId": instance_id,
                "InvocationStatus": view.status,
                "InstanceInvokeStatus": legacy_status(view.status),
            }
            if view.exit_code is not None:
                item["ExitCode"] = view.exit_code
            item.update(
                {
                    "ErrorCode": view.error_code,
                    "ErrorInfo": view.error_info,
                    "Dropped": view.dropped,
                    "Repeats": view.repeats,
                    "Timed": False,
                    "CreationTime": format_event_time(invocation.creation_time),
                    "StartTime": start,
                    "FinishTime": finish,
                    "UpdateTime": update,
                    "StopTime": "",
                }
            )
            if include_output:
                item["Output"] = _encode(view.output, as_base64)
            instances.append(item)
        content = invocation.command_content.encode("utf-8")
        entries.append(
            {
                "InvokeId": invocation.invoke_id,
                "CommandId": invocation.command_id,
                "CommandName": invocation.name,
                "CommandType": invocation.command_type,
                "CommandContent": _encode(content, as_base64),
                "CommandDescription": invocation.description,
                "Parameters": json.dumps(invocation.parameters, ensure_ascii=False),
                "RepeatMode": invocation.repeat_mode,
                "Frequency": "",
                "Timed": False,
                "Timeout": invocation.timeout,
                "Username": invocation.username,
                "WorkingDir": invocation.working_dir,
                "CreationTime": format_event_time(invocation.creation_time),
                "InvocationStatus": overall,
                "InvokeStatus": legacy_overall_status(overall),
                "InvokeInstances": {"InvokeInstance": instances},
                "Tags": {"Tag": []},
            }
        )
    return {**page.envelope(), "Invocations": {"Invocation": entries}}


def describe_invocation_results(ctx: RequestContext) -> dict[str, Any]:
    region_id = ctx.region()
    params = ctx.params
    as_base64 = _content_is_base64(ctx)
    record_status = params.get("InvokeRecordStatus")
    instance_filter = params.get("InstanceId")
    rows: list[tuple[Invocation, str, RunView]] = []
    for invocation in _matching_invocations(ctx, region_id):
        for instance_id, view in sorted(_views(ctx, invocation).items()):
            if instance_filter is not None and instance_id != instance_filter:
                continue
            if record_status is not None and legacy_status(view.status) != record_status:
                continue
            rows.append((invocation, instance_id, view))
    page = paginate(ctx.action, rows, params, INVOCATION_PAGING)
    results = []
    for invocation, instance_id, view in page.items:
        start, finish, _ = _times(invocation, view)
        item: dict[str, Any] = {
            "InvokeId": invocation.invoke_id,
            "CommandId": invocation.command_id,
            "InstanceId": instance_id,
            "InvocationStatus": view.status,
            "InvokeRecordStatus": legacy_status(view.status),
        }
        if view.exit_code is not None:
            item["ExitCode"] = view.exit_code
        item.update(
            {
                "ErrorCode": view.error_code,
                "ErrorInfo": view.error_info,
                "Output": _encode(view.output, as_base64),
                "Dropped": view.dropped,
                "Repeats": view.repeats,
                "StartTime": start,
                "FinishedTime": finish,
                "StopTime": "",
                "Username": invocation.username,
                "Tags": {"Tag": []},
            }
        )
        results.append(item)
    return {
        "Invocation": {
            **page.envelope(),
            "InvocationResults": {"InvocationResult": results},
        }
    }
