"""A fleet scan of 1,000 instances under set per-API rate limits, against the simulator.

The simulator runs in its own process (``python -m ecs_api_simulator --fleet N``) with a
generated fleet across two regions and a ``rate_limit`` on every API the scan calls (answering
``Throttling.User`` above it); this process runs the scan through the official SDKs, its
limiter set to the same limits. Printed:

- wall time of the scan, and the rate-limit floor: for each API, the least time its limit
  allows for the calls the scan needed (``(ceil(calls / limit) - 1) * window``), the largest of
  them; and the ratio of the two (target <= 1.2);
- API calls per instance per API (attempts, retries included), throttled attempts, and the
  describe calls per instance (target <= 0.1);
- peak RSS of this process (``resource.getrusage``; the simulator is another process; target
  <= 250 MB);
- the share of instances whose conclusion (result rule and group) matches the fleet's truth
  (target 100%);
- the size of the scan's checkpoint in the store file (a throwaway SQLite store, as a default
  installation keeps scans), per instance and against the most a scan may keep (target: fits).

Before the timed scan, one instance of each cause class is scanned (the simulator's first real
collector run per class happens then; every later run shares its output by nonce).

A benchmark, not a test: it prints figures and exits 0, or 1 when a target is missed.

    python benchmarks/fleet_scan.py [--instances 1000] [--limit 1] [--window 1]
"""

from __future__ import annotations

import os

os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
for _name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_name, None)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from ecs_reboot_diagnosis.fleet_models import FleetScan  # noqa: E402
from ecs_reboot_diagnosis.fleet_ports import MAX_CHECKPOINT_BYTES  # noqa: E402
from ecs_reboot_diagnosis_mcp.aliyun.fleet_gateway import AliyunFleetGateway  # noqa: E402
from ecs_reboot_diagnosis_mcp.aliyun.flow_control import RateLimit  # noqa: E402
from ecs_reboot_diagnosis_mcp.app import build_fleet_scanner  # noqa: E402
from ecs_reboot_diagnosis_mcp.settings import Settings  # noqa: E402

ACTIONS = (
    "DescribeInstances",
    "DescribeInstanceHistoryEvents",
    "DescribeCloudAssistantStatus",
    "RunCommand",
    "DescribeInvocations",
    "DescribeInvocationResults",
    "LookupEvents",
)
DESCRIBES = tuple(a for a in ACTIONS if a.startswith("Describe"))
REGIONS = ("cn-shanghai", "cn-beijing")
TARGET_RATIO, TARGET_DESCRIBES, TARGET_RSS_MB = 1.2, 0.1, 250.0


def start_simulator(
    instances: int, seed: int, limit: int, window: float, truth: Path
) -> tuple[subprocess.Popen[str], str]:
    argv = [sys.executable, "-m", "ecs_api_simulator", "--port", "0", "--fleet", str(instances),
            "--fleet-seed", str(seed), "--truth", str(truth)]  # fmt: skip
    for action in ACTIONS:
        argv += ["--rate-limit", f"{action}={limit}/{window}"]
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        match = re.search(r"on (http://\S+/)", line)
        if match:
            return process, match.group(1)
    process.kill()
    raise SystemExit("the simulator did not start")


def simulator_keys() -> tuple[str, str]:
    from ecs_api_simulator.access_keys import BUILTIN_ACCESS_KEY_ID, BUILTIN_ACCESS_KEY_SECRET

    return BUILTIN_ACCESS_KEY_ID, BUILTIN_ACCESS_KEY_SECRET


def warm_up(
    settings: Settings, key_id: str, secret: str, truth: dict[str, dict[str, Any]], since: timedelta
) -> None:
    """One instance of each cause class, scanned first: the simulator runs the real collector
    once per class (and script and window) and shares that output by nonce; this leaves those
    first real runs out of the timed scan, as a simulator started ahead of a scan would."""
    one_each = {t["cause"]: t["instance_id"] for t in truth.values()}
    scanner = build_fleet_scanner(settings, access_key_id=key_id, access_key_secret=secret)
    request = scanner.new_request(list(REGIONS), instance_ids=list(one_each.values()), since=since)
    asyncio.run(scanner.scan(request))


def stored_size(store_file: Path, scan_id: str) -> int:
    """Bytes of the scan's state in the store file's ``fleet_scans`` table."""
    with contextlib.closing(sqlite3.connect(store_file)) as conn:
        row = conn.execute(
            "SELECT length(CAST(state AS BLOB)) FROM fleet_scans WHERE scan_id = ?", (scan_id,)
        ).fetchone()
    return int(row[0])


def floor_seconds(calls: dict[str, int], limit: int, window: float) -> dict[str, float]:
    return {a: max(0, math.ceil(n / limit) - 1) * window for a, n in calls.items() if n}


def score(scan: FleetScan, truth: dict[str, dict[str, Any]]) -> float:
    """Share of instances whose rule matches and whose group is exactly its cause class."""
    by_cause: dict[str, set[str]] = defaultdict(set)
    for item in truth.values():
        by_cause[item["cause"]].add(item["instance_id"])
    group_of = {iid: frozenset(g.instance_ids) for g in scan.groups for iid in g.instance_ids}
    right = 0
    for instance in scan.instances:
        expected = truth.get(instance.instance_id)
        if expected is None:
            continue
        same_group = group_of.get(instance.instance_id) == frozenset(by_cause[expected["cause"]])
        if instance.rule_id == expected["rule_id"] and same_group:
            right += 1
    return right / max(1, len(truth))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=1, help="calls per window, every API")
    parser.add_argument("--window", type=float, default=1.0, help="seconds")
    parser.add_argument("--since", default="2d")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        truth_file = Path(tmp) / "truth.json"
        process, url = start_simulator(
            args.instances, args.seed, args.limit, args.window, truth_file
        )
        try:
            truth: dict[str, dict[str, Any]] = json.loads(truth_file.read_text())
            key_id, secret = simulator_keys()
            store_file = Path(tmp) / "diagnoses.sqlite3"
            settings = Settings().model_copy(
                update={"endpoint": url, "simulated": True, "store": f"sqlite://{store_file}"}
            )
            limits = {a: RateLimit(args.limit, args.window) for a in ACTIONS}
            scanner = build_fleet_scanner(
                settings, access_key_id=key_id, access_key_secret=secret, limits=limits
            )
            days = int(args.since.rstrip("d"))
            warm_up(settings, key_id, secret, truth, timedelta(days=days))
            time.sleep(2 * args.window)  # the warm-up's calls leave the rate-limit windows
            request = scanner.new_request(list(REGIONS), since=timedelta(days=days))
            started = time.perf_counter()
            scan = asyncio.run(scanner.scan(request))
            wall = time.perf_counter() - started
            checkpoint_bytes = stored_size(store_file, scan.scan_id)
        finally:
            process.terminate()
            process.wait(timeout=10)

    gateway = scanner.gateway
    assert isinstance(gateway, AliyunFleetGateway)
    attempts = {a: gateway.limiter.calls[a] for a in ACTIONS}
    throttled = {a: gateway.limiter.throttled[a] for a in ACTIONS}
    needed = {a: attempts[a] - throttled[a] for a in ACTIONS}
    floors = floor_seconds(needed, args.limit, args.window)
    floor = max(floors.values())
    ratio = wall / floor if floor else float("inf")
    n = len(scan.instances)
    describes = sum(attempts[a] for a in DESCRIBES) / max(1, n)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    right = score(scan, truth)

    print(f"fleet scan: {n} instances in {len(REGIONS)} regions, every API limited to "
          f"{args.limit} call(s) per {args.window:g} s (simulator and scanner)")  # fmt: skip
    print(f"{'API':32} {'calls':>6} {'/instance':>10} {'throttled':>10} {'floor s':>8}")
    for action in ACTIONS:
        print(f"{action:32} {attempts[action]:6d} {attempts[action] / max(1, n):10.4f} "
              f"{throttled[action]:10d} {floors.get(action, 0.0):8.1f}")  # fmt: skip
    print(f"wall time        {wall:8.2f} s")
    print(f"rate-limit floor {floor:8.2f} s  (the slowest API's calls at its limit)")
    print(f"ratio            {ratio:8.3f}    target <= {TARGET_RATIO}")
    print(f"describe calls   {describes:8.4f} per instance  target <= {TARGET_DESCRIBES}")
    print(f"peak RSS         {rss_mb:8.1f} MB  target <= {TARGET_RSS_MB:g}")
    print(f"causes right     {right:8.1%}    target 100%")
    per_instance = checkpoint_bytes / max(1, n)
    print(f"checkpoint       {checkpoint_bytes / 2**20:8.2f} MiB ({per_instance:.0f} B per "
          f"instance; a scan keeps at most {MAX_CHECKPOINT_BYTES / 2**20:g} MiB, about "
          f"{MAX_CHECKPOINT_BYTES // max(1, round(per_instance)):,} instances)")  # fmt: skip
    ok = (
        ratio <= TARGET_RATIO
        and describes <= TARGET_DESCRIBES
        and rss_mb <= TARGET_RSS_MB
        and right == 1.0
        and n == args.instances
        and checkpoint_bytes <= MAX_CHECKPOINT_BYTES
    )
    print("all targets met" if ok else "a target was missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
