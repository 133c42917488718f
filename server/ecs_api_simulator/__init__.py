"""A local simulator of the Alibaba Cloud ECS OpenAPI (RPC, 2014-05-26), plus CloudMonitor's
DescribeMetricList (2019-01-01) and ActionTrail's LookupEvents (2020-07-06) on the same endpoint.

The official, unmodified ``alibabacloud-ecs20140526``, ``alibabacloud-cms20190101`` and
``alibabacloud-actiontrail20200706`` SDKs talk to it over loopback: signatures are verified,
responses have the exact shapes the SDK models expect, Cloud Assistant invocations are
asynchronous and Linux shell scripts really run against a scenario's fixture root.
See references/simulator-scenarios.md for the scenario format.
"""

from __future__ import annotations

from ecs_api_simulator.access_keys import BUILTIN_ACCESS_KEY_ID, BUILTIN_ACCESS_KEY_SECRET
from ecs_api_simulator.clock import ManualClock, SystemClock
from ecs_api_simulator.faults import FaultSpec
from ecs_api_simulator.invocations import InvocationRecord
from ecs_api_simulator.request_log import RequestRecord
from ecs_api_simulator.scenario import ScenarioError
from ecs_api_simulator.server import SimulatorServer, builtin_scenarios_dir

__all__ = [
    "BUILTIN_ACCESS_KEY_ID",
    "BUILTIN_ACCESS_KEY_SECRET",
    "FaultSpec",
    "InvocationRecord",
    "ManualClock",
    "RequestRecord",
    "ScenarioError",
    "SimulatorServer",
    "SystemClock",
    "builtin_scenarios_dir",
]
