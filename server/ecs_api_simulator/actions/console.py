"""GetInstanceConsoleOutput and GetInstanceScreenshot."""

from __future__ import annotations

import base64
import re
import struct
import zlib
from functools import lru_cache
from typing import Any

from ecs_api_simulator.actions.context import RequestContext
from ecs_api_simulator.api_errors import ApiError, instance_id_not_found
from ecs_api_simulator.guest_templates import guest_now, guest_zone, render_text
from ecs_api_simulator.scenario import Instance
from ecs_api_simulator.time_formats import format_console_time

SCREENSHOT_INTERVAL_SECONDS = 10.0
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _instance(ctx: RequestContext) -> Instance:
    region_id = ctx.region()
    instance = ctx.world.find(ctx.params.required("InstanceId"), region_id)
    if instance is None:
        raise instance_id_not_found()
    ctx.authorize(instance)
    return instance


def remove_symbols(text: str) -> str:
    """What RemoveSymbols=true strips: terminal escape sequences and control characters."""
    return _CONTROL.sub("", _ANSI.sub("", text.replace("\r\n", "\n")))


def get_instance_console_output(ctx: RequestContext) -> dict[str, Any]:
    instance = _instance(ctx)
    if instance.spec.os_type == "windows":
        raise ApiError(
            405, "NotSupported", "The console output of Windows instances cannot be obtained."
        )
    console = instance.console
    text = console.text if console else ""
    if console is not None and console.templated:
        env = instance.spec.guest.env
        now = guest_now(env, ctx.world.clock.now())
        text = render_text(text, now, guest_zone(env.get("TZ")))
    if ctx.params.boolean("RemoveSymbols"):
        text = remove_symbols(text)
    return {
        "InstanceId": instance.instance_id,
        "LastUpdateTime": format_console_time(console.last_update_time if console else None),
        "ConsoleOutput": base64.b64encode(text.encode("utf-8")).decode("ascii"),
    }


@lru_cache(maxsize=1)
def blank_screen_png(width: int = 64, height: int = 48) -> bytes:
    """A small black PNG, for instances whose scenario has no screenshot file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        payload = kind + data
        return struct.pack(">I", len(data)) + payload + struct.pack(">I", zlib.crc32(payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = b"".join(b"\x00" + b"\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


def get_instance_screenshot(ctx: RequestContext) -> dict[str, Any]:
    instance = _instance(ctx)
    if instance.spec.status != "Running":
        raise ApiError(
            405,
            "IncorrectInstanceStatus",
            "The current status of the resource does not support this operation.",
        )
    if not ctx.world.screenshot_allowed(instance.instance_id, ctx.now, SCREENSHOT_INTERVAL_SECONDS):
        raise ApiError(429, "Throttling", "Request was denied due to request throttling.")
    image = instance.screenshot or blank_screen_png()
    return {
        "InstanceId": instance.instance_id,
        "Screenshot": base64.b64encode(image).decode("ascii"),
    }
