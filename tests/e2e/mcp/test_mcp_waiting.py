"""The server waits for the guest, not the agent: through a real MCP client, in both eras.

A Cloud Assistant run made slow in the simulator (an ``invocation`` fault) against short server
waits: ``ecs_get_guest_results`` answers ``pending`` only after its own bounded wait, with
progress notifications on the way; ``ecs_diagnose_instance`` reports step k of one known total,
strictly increasing, with a log notification per step; at its deadline it names the call that
waits on, and that call leads to the report.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, LoggingMessageNotificationParams, TextContent

from ecs_api_simulator import SimulatorServer
from ecs_api_simulator.server import builtin_scenarios_dir
from ecs_reboot_diagnosis.service import DIAGNOSE_STEPS
from ecs_reboot_diagnosis_mcp.app import build_gateway, build_service
from ecs_reboot_diagnosis_mcp.mcp_server import build_server
from ecs_reboot_diagnosis_mcp.settings import Settings
from tests.e2e.mcp.conftest import LINUX

pytestmark = pytest.mark.anyio
MODES = ["legacy", "auto"]
Seen = list[tuple[float, float | None, str | None]]


@contextmanager
def slow_run_server(running_seconds: float, **settings: Any) -> Iterator[MCPServer]:
    """The server over a simulator of linux-no-events whose collector runs take at least
    ``running_seconds``."""
    with SimulatorServer([builtin_scenarios_dir() / "linux-no-events"]) as sim:
        sim.inject_fault(
            "RunCommand", kind="invocation", running_seconds=running_seconds, times=None
        )
        values = Settings().model_copy(update={"endpoint": sim.url, **settings})
        gateway = build_gateway(
            values, access_key_id=sim.access_key_id, access_key_secret=sim.access_key_secret
        )
        yield build_server(build_service(values, gateway))


def structured(result: CallToolResult) -> dict[str, Any]:
    first = result.content[0] if result.content else None
    assert not result.is_error, getattr(first, "text", "")
    assert result.structured_content is not None
    return dict(result.structured_content)


def recorder(seen: Seen):  # type: ignore[no-untyped-def]
    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    return on_progress


def strictly_increasing(seen: Seen) -> bool:
    values = [p for p, _, _ in seen]
    return all(a < b for a, b in itertools.pairwise(values))


@pytest.mark.parametrize("mode", MODES)
async def test_the_results_step_waits_before_it_answers_pending(mode: str) -> None:
    with slow_run_server(4.0, long_poll_s=1.5) as server:
        async with Client(server, mode=mode) as client:
            did = structured(await client.call_tool("ecs_start_diagnosis", LINUX))["diagnosis_id"]
            for tool in ("ecs_check_platform_events", "ecs_check_cloud_assistant"):
                structured(await client.call_tool(tool, {"diagnosis_id": did}))
            run_seen: Seen = []
            run = structured(
                await client.call_tool(
                    "ecs_run_guest_diagnostics",
                    {"diagnosis_id": did},
                    progress_callback=recorder(run_seen),
                )
            )
            assert run["invocation_status"] in ("Pending", "Running")
            assert run_seen and strictly_increasing(run_seen)

            answers: list[str] = []
            for _ in range(8):  # no sleep between calls: the agent cannot
                seen: Seen = []
                started = time.monotonic()
                data = structured(
                    await client.call_tool(
                        "ecs_get_guest_results",
                        {"diagnosis_id": did},
                        progress_callback=recorder(seen),
                    )
                )
                answers.append(data["status"])
                if data["status"] != "pending":
                    break
                # pending only after the server's own wait, with progress on the way
                assert time.monotonic() - started >= 1.4
                assert data["waited_seconds"] >= 1.4
                assert seen and strictly_increasing(seen)
                assert {total for _, total, _ in seen} == {1.5}
                assert data["next_step"]["tool"] == "ecs_get_guest_results"
                assert "call ecs_get_guest_results again now" in data["summary"].lower()
            assert answers[-1] == "collected", answers
            assert 1 <= answers.count("pending") <= 2, answers  # ~4 s run, 1.5 s waits
            assert data["next_step"]["tool"] == "ecs_triage_crash_dumps"


@pytest.mark.parametrize("mode", MODES)
async def test_diagnose_instance_progress_is_step_k_of_a_known_total(mode: str) -> None:
    seen: Seen = []
    logs: list[str] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        if params.level == "info":
            logs.append(str(params.data))

    with slow_run_server(1.0) as server:
        async with Client(server, mode=mode, logging_callback=on_log, log_level="info") as c:
            result = await c.call_tool(
                "ecs_diagnose_instance", {**LINUX, "lang": "en"}, progress_callback=recorder(seen)
            )
    data = structured(result)
    assert data["rule_id"] == "linux.clean_reboot"
    assert strictly_increasing(seen), seen
    assert {total for _, total, _ in seen} == {float(DIAGNOSE_STEPS)}
    assert seen[-1][0] == DIAGNOSE_STEPS
    assert any(not float(p).is_integer() for p, _, _ in seen)  # the wait, inside its step
    # one log line per step done, in order, each naming the step
    steps = [line for line in logs if line.startswith("ecs_diagnose_instance: step ")]
    assert len(steps) == len([p for p, _, _ in seen if float(p).is_integer()])
    assert steps[0].startswith("ecs_diagnose_instance: step 1/9: Instance i-bp1sim0linux")
    assert steps[-1] == "ecs_diagnose_instance: step 9/9: Report ready."
    markdown = [c.text for c in result.content if isinstance(c, TextContent)]
    assert data["report_markdown"] in markdown


@pytest.mark.parametrize("mode", MODES)
async def test_diagnose_instance_at_its_deadline_names_the_call_that_waits_on(mode: str) -> None:
    with slow_run_server(3.0, wait_deadline_s=1.0) as server:
        async with Client(server, mode=mode) as client:
            stopped = await client.call_tool("ecs_diagnose_instance", {**LINUX, "lang": "en"})
            assert stopped.is_error
            message = " ".join(c.text for c in stopped.content if isinstance(c, TextContent))
            assert "still running after 1 s" in message, message
            assert "Call ecs_get_guest_results(diagnosis_id='d-" in message, message
            did = message.split("diagnosis_id='")[1].split("'")[0]
            step: dict[str, Any] = {"tool": "ecs_get_guest_results", "arguments": {}}
            called: list[str] = []
            for _ in range(12):
                data = structured(
                    await client.call_tool(step["tool"], {**step["arguments"], "diagnosis_id": did})
                )
                called.append(step["tool"])
                if data["next_step"] is None:
                    break
                step = data["next_step"]
            assert called[-3:] == [
                "ecs_triage_crash_dumps",
                "ecs_recommend_dump_setup",
                "ecs_render_report",
            ]
            assert data["rule_id"] == "linux.clean_reboot"
