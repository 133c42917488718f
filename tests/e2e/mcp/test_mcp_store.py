"""Diagnoses that survive the server: `serve --transport http` as a subprocess on a SQLite store
file, a real MCP HTTP client, and one ECS simulator (in this process) that outlives the servers.

- A server killed with SIGKILL mid-diagnosis is replaced by a new one on the same file, which
  continues the same diagnosis_id to its report.
- Two servers share one file: diagnoses made on either are found on the other (by their owner
  only), none is lost, and two steps racing on one diagnosis through the two servers never both
  land: the loser gets a clear error that says what to call next.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from ecs_api_simulator import SimulatorServer
from tests.e2e.mcp.conftest import LINUX
from tests.e2e.mcp.test_mcp_http_security import ALPHA, BETA, authorized, structured
from tests.e2e.mcp.test_mcp_transports import clean_env
from tests.support.serve_http import free_port, http_server_process

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@contextlib.contextmanager
def server(sim: SimulatorServer, store: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A server on ``store``, talking to ``sim`` (not its own simulator: the Cloud Assistant
    invocations it started must outlive it). Yields its MCP URL and its process."""
    port = free_port()
    env = {
        **clean_env(),
        "ECS_DIAG_STORE": f"sqlite://{store}",
        "ECS_DIAG_ENDPOINT": sim.url,
        "ECS_DIAG_SIMULATED": "true",
        "ECS_DIAG_HTTP_TOKEN": f"{ALPHA},{BETA}",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": sim.access_key_id,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": sim.access_key_secret,
    }
    with http_server_process(env, port=port) as served:
        yield served


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer() as s:
        yield s


async def call(url: str, tool: str, token: str = ALPHA, **args: Any) -> dict[str, Any]:
    async with authorized(url, token, "auto") as client:
        return structured(await client.call_tool(tool, args))


async def call_error(url: str, tool: str, token: str = ALPHA, **args: Any) -> str | None:
    """The tool error's text, or None when the call succeeded."""
    async with authorized(url, token, "auto") as client:
        result = await client.call_tool(tool, args)
        return result.content[0].text if result.is_error else None  # type: ignore[union-attr]


async def test_a_server_killed_mid_diagnosis_is_continued_by_the_next_one(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    store = tmp_path / "state" / "diagnoses.sqlite3"
    with server(sim, store) as (url, proc):
        did = (await call(url, "ecs_start_diagnosis", **LINUX))["diagnosis_id"]
        await call(url, "ecs_check_platform_events", diagnosis_id=did)
        await call(url, "ecs_check_cloud_assistant", diagnosis_id=did)
        run = await call(url, "ecs_run_guest_diagnostics", diagnosis_id=did)
        assert run["next_step"]["tool"] == "ecs_get_guest_results"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
        assert proc.returncode == -signal.SIGKILL
    with server(sim, store) as (url, _):
        status = await call(url, "ecs_get_diagnosis_status", diagnosis_id=did)
        assert status["next_step"]["tool"] == "ecs_get_guest_results"
        # the steps that ran before the kill are not run again
        again = await call_error(url, "ecs_run_guest_diagnostics", diagnosis_id=did)
        assert again is not None and "has already run" in again
        step = await call(url, "ecs_get_guest_results", diagnosis_id=did)
        while step["next_step"]["tool"] != "ecs_render_report":
            step = await call(url, step["next_step"]["tool"], diagnosis_id=did)
        report = await call(url, "ecs_render_report", diagnosis_id=did, lang="en")
        assert report["diagnosis_id"] == did
        assert report["rule_id"] == "linux.clean_reboot"
        assert "## Recommendations" in report["report_markdown"]
    assert sim.world.requests.count("RunCommand") >= 1


async def test_two_servers_share_one_store_by_owner_and_lose_no_write(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    store = tmp_path / "shared.sqlite3"
    with server(sim, store) as (one, _), server(sim, store) as (two, _):
        made: dict[str, list[str]] = {"one": [], "two": [], "beta": []}

        async def start(url: str, token: str, into: str) -> None:
            made[into].append(
                (await call(url, "ecs_start_diagnosis", token, **LINUX))["diagnosis_id"]
            )

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(start, one, ALPHA, "one")
                tg.start_soon(start, two, ALPHA, "two")
                tg.start_soon(start, two, BETA, "beta")
        assert [len(v) for v in made.values()] == [4, 4, 4]
        alphas = made["one"] + made["two"]

        # each server finds the other's diagnoses, for their owner only
        for did in made["two"]:
            status = await call(one, "ecs_get_diagnosis_status", diagnosis_id=did)
            assert status["diagnosis_id"] == did
            stolen = await call_error(one, "ecs_get_diagnosis_status", BETA, diagnosis_id=did)
            assert stolen is not None and "is unknown" in stolen
        for did in made["beta"]:
            assert "is unknown" in (await call_error(one, "ecs_get_diagnosis_status",
                                                     diagnosis_id=did) or "")  # fmt: skip

        # steps on different diagnoses through both servers at once: every one lands
        async def events(url: str, did: str) -> None:
            await call(url, "ecs_check_platform_events", diagnosis_id=did)

        async with anyio.create_task_group() as tg:
            for n, did in enumerate(alphas):
                tg.start_soon(events, (one, two)[n % 2], did)
        for n, did in enumerate(alphas):
            status = await call((two, one)[n % 2], "ecs_get_diagnosis_status", diagnosis_id=did)
            assert status["next_step"]["tool"] == "ecs_check_cloud_assistant", status

        # one step raced on one diagnosis through both servers: exactly one lands
        for did in alphas[:3]:
            errors: list[str | None] = []

            async def agent(url: str, did: str = did, errors: list[str | None] = errors) -> None:
                errors.append(await call_error(url, "ecs_check_cloud_assistant", diagnosis_id=did))

            async with anyio.create_task_group() as tg:
                tg.start_soon(agent, one)
                tg.start_soon(agent, two)
            assert sorted(errors, key=lambda e: e is not None)[0] is None, errors
            (loser,) = [e for e in errors if e is not None]
            assert ("has already run" in loser) or (
                "changed by another process" in loser
                and f"ecs_get_diagnosis_status(diagnosis_id='{did}')" in loser
            ), loser
            status = await call(one, "ecs_get_diagnosis_status", diagnosis_id=did)
            assert status["next_step"]["tool"] == "ecs_run_guest_diagnostics", status
