"""Run inside a network namespace with only loopback (``unshare -n python netns_offline_run.py``).

It brings ``lo`` up with the ``SIOCSIFFLAGS`` ioctl (no iproute2 needed), checks that ``lo`` is
the only interface and that a public address is unreachable, starts the simulator
(``SimulatorServer``, bundled scenarios, a free loopback port) and runs the documented offline
commands as real subprocesses:

- ``ecs-reboot-diagnosis diagnose --endpoint http://127.0.0.1:PORT/`` with the simulator's key
  pair in ``ALIBABA_CLOUD_ACCESS_KEY_ID`` / ``ALIBABA_CLOUD_ACCESS_KEY_SECRET``;
- ``ecs-reboot-diagnosis diagnose --simulator`` (embedded) with ``ECS_DIAG_METRICS_ENDPOINT`` and
  ``ECS_DIAG_ACTIONTRAIL_ENDPOINT`` pointing at the public endpoints, which it must ignore.

It prints one JSON object: the interfaces, the public connect attempt's error, and per run the
exit code, stderr, the report's ``unavailable`` notes and the simulator's request counts. In
this namespace any request to another address fails at once, so a request that went anywhere
but the simulator shows up as an ``unavailable`` note (or a failed exit code).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
IFREQ = "16sh22x"
"""``struct ifreq``: the interface name, then ``ifr_flags`` in a 24-byte union."""

COUNTED = ("DescribeInstances", "DescribeMetricList", "LookupEvents")
INSTANCE = "i-bp1sim0linux0000001"
REGION = "cn-hangzhou"


def loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack(IFREQ, b"lo", 0)
        _, flags = struct.unpack(IFREQ, fcntl.ioctl(sock, SIOCGIFFLAGS, request))
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack(IFREQ, b"lo", flags | IFF_UP))


def public_connect_error() -> str:
    """The error of a connect to a public address (TEST-NET-3, never answered anyway)."""
    try:
        socket.create_connection(("203.0.113.1", 443), timeout=2).close()
    except OSError as exc:
        return type(exc).__name__ + (f" errno {exc.errno}" if exc.errno else "")
    return ""


def cli() -> list[str]:
    script = Path(sys.executable).with_name("ecs-reboot-diagnosis")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "ecs_reboot_diagnosis_mcp.cli"]


def diagnose(extra: list[str], env: dict[str, str], sim: Any) -> dict[str, Any]:
    before = {action: sim.request_count(action) for action in COUNTED}
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "report.json"
        command = [*cli(), "diagnose", "--instance-id", INSTANCE, "--region", REGION]
        command += [*extra, "--format", "json", "--output", str(output)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        report = json.loads(output.read_text("utf-8")) if output.exists() else {}
    return {
        "code": done.returncode,
        "stderr": done.stderr[-4000:],
        "unavailable": report.get("unavailable"),
        "counts": {action: sim.request_count(action) - before[action] for action in COUNTED},
        "failed": {
            action: sim.request_count(action) - sim.request_count(action, code="")
            for action in COUNTED
        },
    }


def main() -> None:
    loopback_up()
    result: dict[str, Any] = {
        "interfaces": sorted(name for _, name in socket.if_nameindex()),
        "public_connect_error": public_connect_error(),
    }
    from ecs_api_simulator import SimulatorServer

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.lower().endswith("_proxy") and not key.startswith("ECS_DIAG_")
    }
    env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
    with SimulatorServer(host="127.0.0.1", port=0) as sim:
        keys = {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": sim.access_key_id,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": sim.access_key_secret,
        }
        result["endpoint"] = diagnose(["--endpoint", sim.url], {**env, **keys}, sim)
        public = {
            "ECS_DIAG_METRICS_ENDPOINT": f"https://metrics.{REGION}.aliyuncs.com",
            "ECS_DIAG_ACTIONTRAIL_ENDPOINT": f"https://actiontrail.{REGION}.aliyuncs.com",
        }
        result["simulator"] = diagnose(["--simulator"], {**env, **public}, sim)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
