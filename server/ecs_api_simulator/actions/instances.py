"""DescribeInstances, DescribeInstanceAttribute, DescribeInstancesFullStatus."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ecs_api_simulator.actions.context import RequestContext
from ecs_api_simulator.actions.events import event_filter, render_event
from ecs_api_simulator.api_errors import ApiError, instance_id_not_found, invalid_parameter
from ecs_api_simulator.event_codes import (
    HEALTH_STATUS_CODES,
    INSTANCE_STATUS_CODES,
    SCHEDULED_CYCLE_STATUSES,
)
from ecs_api_simulator.json_text import RawJson
from ecs_api_simulator.paging import PagingRules, paginate
from ecs_api_simulator.scenario import Instance
from ecs_api_simulator.time_formats import format_instance_time

INSTANCE_STATUSES = ("Pending", "Running", "Starting", "Stopping", "Stopped")
DESCRIBE_INSTANCES_PAGING = PagingRules(max_results_floor=10, max_results_max=100)
FULL_STATUS_PAGING = PagingRules(supports_token=False)


def _digest(instance: Instance, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{instance.instance_id}".encode()).hexdigest()


def _host_name(instance: Instance) -> str:
    return instance.spec.host_name or f"iZ{instance.instance_id[2:]}Z"


def _serial_number(instance: Instance) -> str:
    if instance.spec.serial_number:
        return instance.spec.serial_number
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ecs-sim:{instance.instance_id}"))


def _mac_address(instance: Instance) -> str:
    digest = _digest(instance, "mac")
    return "00:16:3e:" + ":".join(digest[i : i + 2] for i in (0, 2, 4))


def _image_id(instance: Instance) -> str:
    if instance.spec.image_id:
        return instance.spec.image_id
    if instance.spec.os_type == "windows":
        return "win2022_21H2_x64_dtc_en-us_40G_alibase_20240816.vhd"
    return "aliyun_3_x64_20G_alibase_20240819.vhd"


def _family(instance_type: str) -> str:
    parts = instance_type.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else instance_type


def _ip_list(addresses: list[str]) -> dict[str, list[str]]:
    return {"IpAddress": list(addresses)}


def instance_json(instance: Instance) -> RawJson:
    """:func:`render_instance`, encoded. It depends on the instance alone, so it is built and
    encoded once (otherwise about half the server's cost of a DescribeInstances answer)."""
    encoded = instance.renderings.get("DescribeInstances")
    if not isinstance(encoded, RawJson):
        encoded = instance.renderings["DescribeInstances"] = RawJson.of(render_instance(instance))
    return encoded


def render_instance(instance: Instance) -> dict[str, Any]:
    """One ``Instances.Instance[]`` entry, shaped as research §3.1."""
    spec = instance.spec
    primary_ip = spec.private_ips[0] if spec.private_ips else ""
    return {
        "InstanceId": instance.instance_id,
        "InstanceName": spec.instance_name,
        "HostName": _host_name(instance),
        "Description": spec.description,
        "RegionId": instance.region_id,
        "ZoneId": instance.zone_id,
        "Status": spec.status,
        "InstanceType": spec.instance_type,
        "InstanceTypeFamily": _family(spec.instance_type),
        "Cpu": spec.cpu,
        "Memory": spec.memory,
        "OSType": spec.os_type,
        "OSName": spec.os_name,
        "OSNameEn": spec.os_name_en or spec.os_name,
        "ImageId": _image_id(instance),
        "CreationTime": format_instance_time(instance.creation_time),
        "StartTime": format_instance_time(instance.start_time),
        "ExpiredTime": format_instance_time(instance.expired_time),
        "AutoReleaseTime": "",
        "InstanceChargeType": spec.instance_charge_type,
        "InternetChargeType": spec.internet_charge_type,
        "InternetMaxBandwidthIn": -1,
        "InternetMaxBandwidthOut": 5 if spec.public_ips else 0,
        "InstanceNetworkType": "vpc",
        "IoOptimized": True,
        "SerialNumber": _serial_number(instance),
        "StoppedMode": "Not-applicable",
        "DeletionProtection": False,
        "DeviceAvailable": True,
        "Recyclable": False,
        "ResourceGroupId": spec.resource_group_id,
        "SpotStrategy": "NoSpot",
        "SpotPriceLimit": 0.0,
        "GPUAmount": 0,
        "GPUSpec": "",
        "VlanId": "",
        "ClusterId": "",
        "DeploymentSetId": "",
        "CreditSpecification": "",
        "SaleCycle": "",
        "KeyPairName": spec.key_pair_name,
        "CpuOptions": {"CoreCount": max(1, spec.cpu // 2), "ThreadsPerCore": 2, "Numa": "ON"},
        "MetadataOptions": {"HttpEndpoint": "enabled", "HttpTokens": "optional"},
        "HibernationOptions": {"Configured": False},
        "InnerIpAddress": _ip_list([]),
        "PublicIpAddress": _ip_list(spec.public_ips),
        "EipAddress": {"AllocationId": "", "IpAddress": "", "InternetChargeType": ""},
        "VpcAttributes": {
            "VpcId": spec.vpc_id,
            "VSwitchId": spec.vswitch_id,
            "NatIpAddress": "",
            "PrivateIpAddress": _ip_list(spec.private_ips),
        },
        "SecurityGroupIds": {"SecurityGroupId": list(spec.security_group_ids)},
        "NetworkInterfaces": {
            "NetworkInterface": [
                {
                    "Type": "Primary",
                    "NetworkInterfaceId": "eni-" + _digest(instance, "eni")[:20],
                    "MacAddress": _mac_address(instance),
                    "PrimaryIpAddress": primary_ip,
                    "PrivateIpSets": {
                        "PrivateIpSet": [
                            {"PrivateIpAddress": ip, "Primary": index == 0}
                            for index, ip in enumerate(spec.private_ips)
                        ]
                    },
                }
            ]
        },
        "OperationLocks": {"LockReason": []},
        "Tags": {"Tag": [{"TagKey": k, "TagValue": v} for k, v in spec.tags.items()]},
        "DedicatedHostAttribute": {
            "DedicatedHostId": "",
            "DedicatedHostName": "",
            "DedicatedHostClusterId": "",
        },
        "DedicatedInstanceAttribute": {"Tenancy": "", "Affinity": ""},
        "EcsCapacityReservationAttr": {
            "CapacityReservationId": "",
            "CapacityReservationPreference": "",
        },
    }


def render_instance_attribute(instance: Instance) -> dict[str, Any]:
    """The flat DescribeInstanceAttribute body (research §3.2); IoOptimized is a string here."""
    spec = instance.spec
    return {
        "InstanceId": instance.instance_id,
        "InstanceName": spec.instance_name,
        "HostName": _host_name(instance),
        "Description": spec.description,
        "RegionId": instance.region_id,
        "ZoneId": instance.zone_id,
        "Status": spec.status,
        "InstanceType": spec.instance_type,
        "Cpu": spec.cpu,
        "Memory": spec.memory,
        "ImageId": _image_id(instance),
        "CreationTime": format_instance_time(instance.creation_time),
        "ExpiredTime": format_instance_time(instance.expired_time),
        "InstanceChargeType": spec.instance_charge_type,
        "InternetChargeType": spec.internet_charge_type,
        "InternetMaxBandwidthIn": -1,
        "InternetMaxBandwidthOut": 5 if spec.public_ips else 0,
        "InstanceNetworkType": "vpc",
        "IoOptimized": "optimized",
        "SerialNumber": _serial_number(instance),
        "StoppedMode": "Not-applicable",
        "CreditSpecification": "",
        "ClusterId": "",
        "VlanId": "",
        "EnableJumboFrame": False,
        "InnerIpAddress": _ip_list([]),
        "PublicIpAddress": _ip_list(spec.public_ips),
        "EipAddress": {
            "AllocationId": "",
            "IpAddress": "",
            "InternetChargeType": "",
            "Bandwidth": 0,
        },
        "VpcAttributes": {
            "VpcId": spec.vpc_id,
            "VSwitchId": spec.vswitch_id,
            "NatIpAddress": "",
            "PrivateIpAddress": _ip_list(spec.private_ips),
        },
        "SecurityGroupIds": {"SecurityGroupId": list(spec.security_group_ids)},
        "OperationLocks": {"LockReason": []},
        "DedicatedHostAttribute": {"DedicatedHostId": "", "DedicatedHostName": ""},
    }


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$")


def _ip_filter(ctx: RequestContext, name: str) -> set[str] | None:
    values = ctx.params.json_list(name)
    if values is not None and len(values) > 100:
        raise invalid_parameter(name, "It accepts at most 100 addresses.")
    return set(values) if values is not None else None


_SIMPLE_FILTERS: dict[str, Callable[[Instance], str]] = {
    "ZoneId": lambda i: i.zone_id,
    "InstanceType": lambda i: i.spec.instance_type,
    "InstanceTypeFamily": lambda i: _family(i.spec.instance_type),
    "ImageId": _image_id,
    "VpcId": lambda i: i.spec.vpc_id,
    "VSwitchId": lambda i: i.spec.vswitch_id,
    "InstanceNetworkType": lambda i: "vpc",
    "InstanceChargeType": lambda i: i.spec.instance_charge_type,
    "InternetChargeType": lambda i: i.spec.internet_charge_type,
    "KeyPairName": lambda i: i.spec.key_pair_name,
    "ResourceGroupId": lambda i: i.spec.resource_group_id,
    "Status": lambda i: i.spec.status,
}
_IP_FILTERS: dict[str, Callable[[Instance], list[str]]] = {
    "PrivateIpAddresses": lambda i: i.spec.private_ips,
    "PublicIpAddresses": lambda i: i.spec.public_ips,
    "EipAddresses": lambda i: [],
    "InnerIpAddresses": lambda i: [],
}


@dataclass(frozen=True)
class _InstanceFilter:
    """DescribeInstances' filters, read from the request once and applied to each instance."""

    simple: tuple[tuple[Callable[[Instance], str], str], ...]
    security_group: str | None
    name: re.Pattern[str] | None
    ips: tuple[tuple[Callable[[Instance], list[str]], set[str]], ...]
    tags: tuple[tuple[str, str], ...]
    created: tuple[tuple[str, str], ...]

    def matches(self, instance: Instance) -> bool:
        spec = instance.spec
        if any(actual(instance) != wanted for actual, wanted in self.simple):
            return False
        if self.security_group is not None and self.security_group not in spec.security_group_ids:
            return False
        if self.name is not None and not self.name.match(spec.instance_name):
            return False
        for addresses, wanted_ips in self.ips:
            if not wanted_ips & set(addresses(instance)):
                return False
        for key, value in self.tags:
            if spec.tags.get(key) != value and not (value == "" and key in spec.tags):
                return False
        if self.created:
            created = format_instance_time(instance.creation_time)
            for key, value in self.created:
                if key == "CreationStartTime" and created < value:
                    return False
                if key == "CreationEndTime" and created > value:
                    return False
        return True


def _instance_filter(ctx: RequestContext) -> _InstanceFilter:
    params = ctx.params
    simple = tuple(
        (actual, wanted)
        for name, actual in _SIMPLE_FILTERS.items()
        if (wanted := params.get(name)) is not None
    )
    name_pattern = params.get("InstanceName")
    ips = tuple(
        (addresses, wanted_ips)
        for name, addresses in _IP_FILTERS.items()
        if (wanted_ips := _ip_filter(ctx, name)) is not None
    )
    created = tuple(params.key_values("Filter"))
    for key, _ in created:
        if key not in ("CreationStartTime", "CreationEndTime"):
            raise ApiError(
                404, "InvalidFilterKey.NotFound", f"The filter key {key!r} is not valid."
            )
    return _InstanceFilter(
        simple=simple,
        security_group=params.get("SecurityGroupId"),
        name=_wildcard(name_pattern) if name_pattern is not None else None,
        ips=ips,
        tags=tuple(params.tags()),
        created=created,
    )


def describe_instances(ctx: RequestContext) -> dict[str, Any]:
    region_id = ctx.region()
    params = ctx.params
    status = params.get("Status")
    if status is not None and status not in INSTANCE_STATUSES:
        raise ApiError(404, "InvalidStatus.NotFound", "The specified Status is not found")
    wanted_ids = params.json_list("InstanceIds")
    if wanted_ids is not None and len(wanted_ids) > 100:
        raise invalid_parameter("InstanceIds", "It accepts at most 100 instance IDs.")
    candidates = ctx.world.instances_in(region_id)
    if wanted_ids is not None:
        candidates = [i for i in candidates if i.instance_id in set(wanted_ids)]
    instance_filter = _instance_filter(ctx)
    matched = [i for i in candidates if instance_filter.matches(i)]
    if params.boolean("DryRun"):
        ctx.authorize_action()
        ctx.authorize_all(matched)
        raise ApiError(
            400, "DryRunOperation", "Request validation has been passed with DryRun flag set."
        )
    # A RAM principal without the permission gets an empty list, not an error (API docs).
    visible = [i for i in matched if not ctx.denied(i)]
    page = paginate(ctx.action, visible, params, DESCRIBE_INSTANCES_PAGING)
    return {
        **page.envelope(),
        "Instances": {"Instance": [instance_json(i) for i in page.items]},
    }


def describe_instance_attribute(ctx: RequestContext) -> dict[str, Any]:
    instance_id = ctx.params.required("InstanceId")
    instance = ctx.world.find(instance_id)
    if instance is None:
        raise instance_id_not_found()
    ctx.authorize(instance)
    return render_instance_attribute(instance)


def describe_instances_full_status(ctx: RequestContext) -> dict[str, Any]:
    region_id = ctx.region()
    params = ctx.params
    ids = params.repeat_list("InstanceId")
    if len(ids) > 100:
        raise ApiError(
            403, "InstanceIdLimitExceeded", "The number of instance IDs exceeds the upper limit."
        )
    status = params.get("Status")
    if status is not None and status not in ("Starting", "Running", "Stopped"):
        raise invalid_parameter("Status")
    health = params.get("HealthStatus")
    if health is not None and health not in HEALTH_STATUS_CODES:
        raise invalid_parameter("HealthStatus")
    instances = ctx.world.instances_in(region_id)
    if ids:
        instances = [i for i in instances if i.instance_id in set(ids)]
    if status is not None:
        instances = [i for i in instances if i.spec.status == status]
    if health is not None:
        instances = [i for i in instances if i.health_status == health]
    ctx.authorize_all(instances)
    keep_event = event_filter(ctx)
    page = paginate(ctx.action, instances, params, FULL_STATUS_PAGING)
    entries = []
    for instance in page.items:
        events = [
            render_event(e, scheduled_only=True)
            for e in instance.events
            if e.cycle_status in SCHEDULED_CYCLE_STATUSES and keep_event(e)
        ]
        entries.append(
            {
                "InstanceId": instance.instance_id,
                "Status": {
                    "Code": INSTANCE_STATUS_CODES[instance.spec.status],
                    "Name": instance.spec.status,
                },
                "HealthStatus": {
                    "Code": HEALTH_STATUS_CODES[instance.health_status],
                    "Name": instance.health_status,
                },
                "ScheduledSystemEventSet": {"ScheduledSystemEventType": events},
            }
        )
    return {**page.envelope(), "InstanceFullStatusSet": {"InstanceFullStatusType": entries}}
