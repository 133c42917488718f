"""The files of s18..s24 follow the conventions of the bundled scenarios.

Relative times everywhere, short Cloud Assistant delays, distinct instance ids, live shims for
the Linux guests that run the collector, a real PNG for the screenshot. s21, s22 and s24 date
their guest files relative to now with the simulator's time tokens: the shims, run on a copy
rendered at a fixed time, must leave no placeholder and print the expected times.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from ecs_api_simulator import SimulatorServer
from ecs_api_simulator.guest_templates import render_guest
from ecs_api_simulator.scenario import load_scenario
from tests.e2e.outside.outside_cases import REGION, SCENARIOS, SCENARIOS_DIR, Scenario

TIME_KEYS = ("not_before", "publish_time", "finish_time", "time", "start", "end",
             "last_heartbeat", "last_update_time", "creation_time", "start_time")  # fmt: skip
RELATIVE = re.compile(r"^(now|[+-](\d+d)?(\d+h)?(\d+m)?(\d+s)?)$")
RENDERED = ("s21", "s22", "s24")


def spec(scenario: Scenario) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((scenario.path / "scenario.json").read_text("utf-8"))
    return data


def instance(scenario: Scenario) -> dict[str, Any]:
    instances = spec(scenario)["instances"]
    assert len(instances) == 1, scenario.directory
    only: dict[str, Any] = instances[0]
    return only


def times(value: object) -> list[str]:
    """Every time string of a scenario, wherever it sits."""
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k in TIME_KEYS and isinstance(v, str)]
        return found + [t for v in value.values() for t in times(v)]
    if isinstance(value, list):
        return [t for v in value for t in times(v)]
    return []


def test_the_scenarios_exist_with_distinct_ids() -> None:
    bundled = {p.name for p in SCENARIOS_DIR.iterdir() if (p / "scenario.json").is_file()}
    assert {s.directory for s in SCENARIOS} <= bundled
    ids = [s.instance_id for s in SCENARIOS]
    assert len(set(ids)) == len(ids)
    others = [
        i["instance_id"]
        for name in bundled
        if not name.startswith(tuple(f"{s.key}-" for s in SCENARIOS))
        for i in json.loads((SCENARIOS_DIR / name / "scenario.json").read_text("utf-8"))[
            "instances"
        ]
    ]
    assert not set(ids) & set(others)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.directory)
def test_scenario_conventions(scenario: Scenario) -> None:
    data = spec(scenario)
    assert data["name"] == scenario.directory and data["description"]
    only = instance(scenario)
    assert re.fullmatch(r"i-bp1out[a-z0-9]{4,33}", only["instance_id"])
    assert only["instance_id"] == scenario.instance_id
    assert only["region_id"] == REGION and only["os_type"] == scenario.os
    assert times(only), scenario.directory
    for value in times(only):
        assert RELATIVE.match(value), (scenario.directory, value)
    invocation = only["invocation"]
    assert invocation["pending_seconds"] <= 0.2 and invocation["running_seconds"] <= 0.5
    guest = only.get("guest")
    if guest is not None and scenario.os == "linux":  # a Linux guest that runs the collector
        assert guest["env"]["DIAG_LIVE"] == "1"
        root = scenario.path / guest["root"]
        for path in ("etc/os-release", "proc/sys/vm/panic_on_oom", "var/log/wtmp"):
            assert (root / path).is_file(), path
        assert (root / "var/log/journal").is_dir()
        for shim in ("journalctl", "last", "systemctl", "dmesg"):
            assert (scenario.path / guest["bin"] / shim).is_file(), shim


def test_the_scenarios_load_with_every_bundled_one() -> None:
    sim = SimulatorServer([SCENARIOS_DIR])  # loading validates; no need to serve
    assert sim.loaded_at is not None


def test_the_screenshot_is_a_real_png() -> None:
    scenario = next(s for s in SCENARIOS if s.key == "s20")
    assert instance(scenario)["screenshot"] == "screenshot.png"
    data = (scenario.path / "screenshot.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: dict[bytes, bytes] = {}
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        tag, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(tag + body) & 0xFFFFFFFF == crc, tag
        chunks[tag] = chunks.get(tag, b"") + body
        at += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (width, height, depth, colour) == (160, 120, 8, 2)
    pixels = zlib.decompress(chunks[b"IDAT"])
    assert len(pixels) == height * (1 + 3 * width)
    assert pixels[1:4] == bytes((0x00, 0x78, 0xD7))  # a blue screen


@pytest.mark.skipif(shutil.which("bash") is None, reason="the shims run with bash")
@pytest.mark.parametrize("key", RENDERED)
def test_rendered_guest_times_follow_the_clock(key: str) -> None:
    scenario = next(s for s in SCENARIOS if s.key == key)
    assert not (scenario.path / "tools" / "render.sh").exists()
    loaded = load_scenario(scenario.path, datetime.now(UTC))
    template = loaded.instances[0].guest_template
    assert template is not None
    now = datetime.fromtimestamp(1_900_000_000, UTC)  # 2030-03-17T17:46:40Z
    guest = render_guest(template, now)
    try:
        env = {"DIAG_FIXTURE": str(guest.fixture), "PATH": "/usr/bin:/bin"}
        calls = [("last", ["-x", "-F"]), ("journalctl", ["-b", "-1", "-n", "15"]),
                 ("journalctl", ["--list-boots"]), ("journalctl", ["-k", "-b", "-1"])]  # fmt: skip
        outputs: dict[str, str] = {}
        for shim, args in calls:
            out = subprocess.run(
                ["bash", str(scenario.path / "bin" / shim), *args],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=10,
            ).stdout
            assert out.strip() and "@@" not in out, (shim, args, out)
            assert "2030" in out, (shim, args, out)
            outputs[shim] = outputs.get(shim, "") + out
        # the running boot of `last` starts at now - uptime, in the guest's zone (CST-8)
        uptime = float((guest.root / "proc" / "uptime").read_text().split()[0])
        boot = (now - timedelta(seconds=int(uptime))).astimezone(timezone(timedelta(hours=8)))
        first = outputs["last"].splitlines()[0]
        shown = re.search(r"\w{3} (\w{3} [ \d]\d \d\d:\d\d:\d\d \d{4})", first)
        assert shown is not None, first
        started = datetime.strptime(shown.group(1), "%b %d %H:%M:%S %Y")
        assert abs((started - boot.replace(tzinfo=None)).total_seconds()) <= 5, first
        btime = (guest.root / "proc" / "stat").read_text()
        assert f"btime {int(boot.timestamp())}\n" in btime
    finally:
        guest.remove()
    assert not guest.directory.exists()
