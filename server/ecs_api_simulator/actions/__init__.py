"""The ECS actions the simulator implements, by name."""

from __future__ import annotations

from ecs_api_simulator.actions.cloud_assistant import (
    describe_cloud_assistant_status,
    describe_invocation_results,
    describe_invocations,
    run_command,
)
from ecs_api_simulator.actions.console import (
    get_instance_console_output,
    get_instance_screenshot,
)
from ecs_api_simulator.actions.context import Handler, RequestContext
from ecs_api_simulator.actions.events import describe_instance_history_events
from ecs_api_simulator.actions.instances import (
    describe_instance_attribute,
    describe_instances,
    describe_instances_full_status,
)

ACTIONS: dict[str, Handler] = {
    "DescribeInstances": describe_instances,
    "DescribeInstanceAttribute": describe_instance_attribute,
    "DescribeInstanceHistoryEvents": describe_instance_history_events,
    "DescribeInstancesFullStatus": describe_instances_full_status,
    "DescribeCloudAssistantStatus": describe_cloud_assistant_status,
    "RunCommand": run_command,
    "DescribeInvocations": describe_invocations,
    "DescribeInvocationResults": describe_invocation_results,
    "GetInstanceConsoleOutput": get_instance_console_output,
    "GetInstanceScreenshot": get_instance_screenshot,
}

__all__ = ["ACTIONS", "Handler", "RequestContext"]
