"""The public Alibaba Cloud regions where ECS runs: offered to complete a region id, never used
to refuse one.

A static list, not ``DescribeRegions``: completion answers while the user types, so it must be
instant and work before any credentials are set or any region is known (``DescribeRegions``
itself needs both, and a call per keystroke); the list changes a few times a year. A region
missing here is still accepted (ids are checked by their format only) and the API says whether
it exists. Finance and government clouds are left out: their accounts are separate.
"""

from __future__ import annotations

from typing import Final

ECS_REGIONS: Final[tuple[str, ...]] = (
    "cn-hangzhou",
    "cn-shanghai",
    "cn-beijing",
    "cn-shenzhen",
    "cn-qingdao",
    "cn-zhangjiakou",
    "cn-huhehaote",
    "cn-wulanchabu",
    "cn-nanjing",
    "cn-fuzhou",
    "cn-wuhan-lr",
    "cn-heyuan",
    "cn-guangzhou",
    "cn-chengdu",
    "cn-hongkong",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-3",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "us-east-1",
    "us-west-1",
    "na-south-1",
    "eu-west-1",
    "eu-central-1",
    "me-east-1",
    "me-central-1",
)
"""Mainland China first (the busiest first), then the rest of the world."""


def regions_starting_with(prefix: str) -> list[str]:
    """The known regions whose id starts with ``prefix`` (case-insensitive), in list order."""
    prefix = prefix.strip().lower()
    return [r for r in ECS_REGIONS if r.startswith(prefix)]
