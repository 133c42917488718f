"""EcsGateway over the official Alibaba Cloud ECS SDK.

Calls run on the SDK's pooled transport (``sdk_transport``); the SDK and its models are imported
by the first call, on a worker thread, where the requests (``SdkModel``) are made too."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from ecs_reboot_diagnosis.errors import CloudApiError
from ecs_reboot_diagnosis.models import InstanceFacts, PlatformEvent
from ecs_reboot_diagnosis.ports import (
    AgentHeartbeat,
    CommandType,
    ConsoleOutput,
    InvocationResult,
    Screenshot,
)
from ecs_reboot_diagnosis_mcp.aliyun.response_mapping import (
    agent_heartbeat,
    decode_base64_bytes,
    decode_base64_text,
    format_time,
    instance_facts,
    invocation_result,
    parse_time,
    platform_event,
)
from ecs_reboot_diagnosis_mcp.aliyun.sdk_gateway import SdkGateway, SdkModel

log = logging.getLogger(__name__)

HISTORY_PAGE_SIZE = 100
MAX_HISTORY_PAGES = 50
"""Safety net: 5000 events for one instance is far beyond any real history window."""


class AliyunEcsGateway(SdkGateway):
    """The workflow's view of ECS and Cloud Assistant, backed by the official SDK.

    Without an AccessKey in the settings, the default credentials chain (environment, CLI
    profile, credentials file, ECS RAM role, OIDC, ...) is resolved once, on first use.
    """

    product = "ECS"
    client_class = "alibabacloud_ecs20140526.client:Client"
    models_module = "alibabacloud_ecs20140526.models"

    # --- EcsGateway ----------------------------------------------------------------------

    async def describe_instance(self, region_id: str, instance_id: str) -> InstanceFacts | None:
        request = SdkModel(
            "DescribeInstancesRequest",
            region_id=region_id,
            instance_ids=json.dumps([instance_id]),
            max_results=10,
        )
        body = await self._call("DescribeInstances", region_id, "describe_instances", request)
        found = [
            item
            for item in (body.instances.instance if body.instances is not None else None) or []
            if item.instance_id == instance_id
        ]
        if found:
            return instance_facts(found[0], region_id)
        # Without the RAM permission DescribeInstances answers an empty list, not an error;
        # a DryRun call tells "not found" from "not allowed".
        await self._check_describe_permission(region_id, instance_id)
        return None

    async def _check_describe_permission(self, region_id: str, instance_id: str) -> None:
        request = SdkModel(
            "DescribeInstancesRequest",
            region_id=region_id,
            instance_ids=json.dumps([instance_id]),
            dry_run=True,
        )
        try:
            await self._call("DescribeInstances", region_id, "describe_instances", request)
        except CloudApiError as exc:
            if exc.code != "DryRunOperation":
                raise

    async def describe_history_events(
        self,
        region_id: str,
        instance_id: str,
        *,
        cycle_statuses: Sequence[str],
        start: datetime,
        end: datetime,
    ) -> list[PlatformEvent]:
        events: list[PlatformEvent] = []
        next_token: str | None = None
        for _ in range(MAX_HISTORY_PAGES):
            request = SdkModel(
                "DescribeInstanceHistoryEventsRequest",
                region_id=region_id,
                instance_id=instance_id,
                instance_event_cycle_status=list(cycle_statuses) or None,
                not_before=SdkModel(
                    "DescribeInstanceHistoryEventsRequestNotBefore",
                    start=format_time(start),
                    end=format_time(end),
                ),
                max_results=HISTORY_PAGE_SIZE,
                next_token=next_token,
            )
            body = await self._call(
                "DescribeInstanceHistoryEvents",
                region_id,
                "describe_instance_history_events",
                request,
            )
            page = body.instance_system_event_set
            events.extend(
                platform_event(item)
                for item in (page.instance_system_event_type if page is not None else None) or []
            )
            next_token = body.next_token or None
            if not next_token:
                return events
        raise self._too_many_pages(
            "DescribeInstanceHistoryEvents", MAX_HISTORY_PAGES, "events for one instance"
        )

    async def describe_cloud_assistant(self, region_id: str, instance_id: str) -> AgentHeartbeat:
        request = SdkModel(
            "DescribeCloudAssistantStatusRequest", region_id=region_id, instance_id=[instance_id]
        )
        body = await self._call(
            "DescribeCloudAssistantStatus",
            region_id,
            "describe_cloud_assistant_status",
            request,
        )
        container = body.instance_cloud_assistant_status_set
        statuses = container.instance_cloud_assistant_status if container is not None else None
        statuses = statuses or []
        for status in statuses:
            if status.instance_id == instance_id:
                return agent_heartbeat(status)
        raise CloudApiError(
            "DescribeCloudAssistantStatus",
            "not_found",
            "InvalidInstance.NotFound",
            f"no Cloud Assistant status for {instance_id}",
            message_zh=f"没有 {instance_id} 的云助手状态",
            request_id=body.request_id or "",
            hint="Check the instance ID and the region with the user.",
            hint_zh="请与用户核对实例 ID 和地域。",
        )

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
        request = SdkModel(
            "RunCommandRequest",
            region_id=region_id,
            instance_id=[instance_id],
            type=command_type,
            command_content=base64.b64encode(content.encode("utf-8")).decode("ascii"),
            content_encoding="Base64",
            timeout=timeout_seconds,
            name=name,
            enable_parameter=bool(parameters),
            parameters=dict(parameters) if parameters else None,
            # The same token on every attempt: if an answer is lost and the call retried,
            # Cloud Assistant returns the invocation it already created instead of a second run
            # (the service passes its claim's token, so a later send after a crash does too).
            client_token=client_token or uuid.uuid4().hex,
        )
        body = await self._call("RunCommand", region_id, "run_command", request)
        if not body.invoke_id:
            raise CloudApiError(
                "RunCommand",
                "unexpected_response",
                "MissingInvokeId",
                "RunCommand answered without an InvokeId",
                message_zh="RunCommand 的应答中没有 InvokeId",
                request_id=body.request_id or "",
            )
        return str(body.invoke_id)

    async def invocation_result(
        self, region_id: str, instance_id: str, invoke_id: str
    ) -> InvocationResult:
        request = SdkModel(
            "DescribeInvocationResultsRequest",
            region_id=region_id,
            invoke_id=invoke_id,
            instance_id=instance_id,
            content_encoding="Base64",
        )
        body = await self._call(
            "DescribeInvocationResults",
            region_id,
            "describe_invocation_results",
            request,
        )
        invocation = body.invocation
        container = invocation.invocation_results if invocation is not None else None
        for result in (container.invocation_result if container is not None else None) or []:
            if result.instance_id == instance_id:
                return invocation_result(result, invoke_id)
        # Right after RunCommand the record may not be visible yet.
        return InvocationResult(invoke_id=invoke_id, status="Pending")

    async def console_output(self, region_id: str, instance_id: str) -> ConsoleOutput:
        request = SdkModel(
            "GetInstanceConsoleOutputRequest", region_id=region_id, instance_id=instance_id
        )
        body = await self._call(
            "GetInstanceConsoleOutput",
            region_id,
            "get_instance_console_output",
            request,
        )
        return ConsoleOutput(
            text=decode_base64_text(body.console_output),
            last_update_time=parse_time(body.last_update_time),
        )

    async def screenshot(self, region_id: str, instance_id: str) -> Screenshot:
        request = SdkModel(
            "GetInstanceScreenshotRequest", region_id=region_id, instance_id=instance_id
        )
        body = await self._call(
            "GetInstanceScreenshot",
            region_id,
            "get_instance_screenshot",
            request,
        )
        return Screenshot(png=decode_base64_bytes(body.screenshot))
