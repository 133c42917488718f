"""Fleet scans in the SQLite store file: they outlive the process that started them, belong to
their owner, and two runs of one scan never both go on.

Real parts throughout: one simulator (this process) with a generated fleet that outlives every
server and CLI; ``serve --transport http`` and the CLI as subprocesses on one store file; the
SDK's MCP client with two bearer tokens; the simulator's request and invocation records to
check what was sent to which instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from ecs_api_simulator import SimulatorServer
from ecs_api_simulator.fleet import FleetSpec
from ecs_reboot_diagnosis.errors import InvalidInputError, ScanBusyError
from ecs_reboot_diagnosis.fleet_models import FleetScan
from ecs_reboot_diagnosis.fleet_ports import MAX_SCANS_PER_OWNER
from ecs_reboot_diagnosis_mcp.cli_errors import EXIT_BUSY, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from tests.e2e.fleet.conftest import REGIONS, SINCE, fleet_request, scanner_for
from tests.e2e.mcp.test_mcp_http_security import ALPHA, BETA, structured
from tests.e2e.mcp.test_mcp_transports import clean_env
from tests.support.serve_http import free_port, http_server_process

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SIZE = 300
"""Two regions of 150: four batches, enough to stop a scan between two of them."""
SCAN_ARGS = {"region_id": ",".join(REGIONS), "since": "2d"}
CLI = [sys.executable, "-m", "ecs_reboot_diagnosis_mcp", "scan"]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer([], fleet=FleetSpec(size=SIZE, regions=REGIONS, seed=11)) as s:
        yield s


@pytest.fixture(autouse=True)
def no_faults_left(sim: SimulatorServer) -> Iterator[None]:
    yield
    sim.clear_faults()


def env_for(sim: SimulatorServer, store: Path, **extra: str) -> dict[str, str]:
    return {
        **clean_env(),
        "ECS_DIAG_STORE": f"sqlite://{store}",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": sim.access_key_id,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": sim.access_key_secret,
        "ECS_DIAG_SCAN_CONCURRENCY": "1",
        **extra,
    }


@contextlib.contextmanager
def server(sim: SimulatorServer, store: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``serve --transport http`` with the tokens ALPHA and BETA on ``store``, talking to
    ``sim``; yields its MCP URL and its process."""
    port = free_port()
    env = env_for(
        sim,
        store,
        ECS_DIAG_ENDPOINT=sim.url,
        ECS_DIAG_SIMULATED="true",
        ECS_DIAG_HTTP_TOKEN=f"{ALPHA},{BETA}",
    )
    with http_server_process(env, port=port) as served:
        yield served


async def scan_call(url: str, token: str = ALPHA, **args: Any) -> tuple[dict[str, Any], str]:
    """ecs_scan_fleet's structured result, or its tool error's text (a scan is silent for
    longer than the HTTP client's default read timeout: no progress token is sent)."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120) as http,
        Client(streamable_http_client(url, http_client=http), mode="auto") as client,
    ):
        result = await client.call_tool("ecs_scan_fleet", args)
        if result.is_error:
            return {}, result.content[0].text  # type: ignore[union-attr]
        return structured(result), ""


def stored_scans(store: Path) -> dict[str, dict[str, Any]]:
    """Every scan in the store file, as another process reads it."""
    if not store.exists():
        return {}
    with contextlib.closing(sqlite3.connect(store, timeout=10)) as conn:
        try:
            rows = conn.execute("SELECT scan_id, state FROM fleet_scans").fetchall()
        except sqlite3.OperationalError:  # not created yet
            return {}
    return {scan_id: json.loads(state) for scan_id, state in rows}


def wait_for_a_partial_scan(store: Path, timeout: float = 90.0) -> str:
    """The id of the scan in ``store`` once some, not all, of its instances are concluded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for scan_id, state in stored_scans(store).items():
            if state["instances"] and not state["complete"]:
                return scan_id
        time.sleep(0.05)
    raise AssertionError("no scan was ever part-way done")


def runs_per_instance(sim: SimulatorServer, since: int) -> Counter[str]:
    return Counter(r.instance_id for r in sim.invocation_records()[since:])


def guest_instances(sim: SimulatorServer) -> set[str]:
    return {t.instance_id for t in sim.fleet_truth.values() if t.guest}


def assert_right(sim: SimulatorServer, instances: list[dict[str, Any]]) -> None:
    assert len(instances) == SIZE
    for item in instances:
        truth = sim.fleet_truth[item["instance_id"]]
        assert (item["rule_id"], item["happened"]) == (truth.rule_id, truth.happened)


def events_checked_after(sim: SimulatorServer, since: int) -> set[str]:
    records = sim.request_records("DescribeInstanceHistoryEvents")[since:]
    return {i for r in records for i in r.instance_ids}


# --- a server killed mid-scan; the next one on the same file resumes and pages it ---------------


async def test_a_scan_of_a_killed_server_is_resumed_and_paged_by_the_next_for_its_owner_only(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    store = tmp_path / "diagnoses.sqlite3"
    runs_before = len(sim.invocation_records())
    with server(sim, store) as (url, proc):

        async def first_call() -> None:
            with contextlib.suppress(Exception):  # the server dies under it
                await scan_call(url, **SCAN_ARGS)

        async with anyio.create_task_group() as tg:
            tg.start_soon(first_call)
            scan_id = await anyio.to_thread.run_sync(wait_for_a_partial_scan, store)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
    partial = stored_scans(store)[scan_id]
    concluded = {i["instance_id"] for i in partial["instances"]}
    assert 0 < len(concluded) < SIZE and not partial["complete"]
    checks_before = len(sim.request_records("DescribeInstanceHistoryEvents"))

    with server(sim, store) as (url, _):
        # another bearer token: the scan is unknown to it, and nothing is called
        served = sim.request_count()
        _, stranger = await scan_call(url, BETA, scan_id=scan_id)
        assert f"No scan {scan_id} is known here" in stranger
        assert "ecs_scan_fleet(region_id=...) with scan_id left empty" in stranger
        assert sim.request_count() == served

        # its owner resumes it: only the instances not concluded before are checked
        first, error = await scan_call(url, scan_id=scan_id)
        assert not error, error
        assert first["complete"] and first["scan_id"] == scan_id
        assert first["counts"]["instances"] == SIZE
        assert not events_checked_after(sim, checks_before) & concluded
        # one collector run per instance that needs one, across both servers
        runs = runs_per_instance(sim, runs_before)
        assert set(runs) == guest_instances(sim) and max(runs.values()) == 1

        # its pages, without an API call; the stranger still cannot page it
        served = sim.request_count()
        listed = [*first["instances"]]
        for page in range(2, first["pages"] + 1):
            more, error = await scan_call(url, scan_id=scan_id, page=page)
            assert not error, error
            listed += more["instances"]
        assert_right(sim, listed)
        assert "is known here" in (await scan_call(url, BETA, scan_id=scan_id, page=2))[1]
        assert sim.request_count() == served


# --- two runs of one scan at once: one goes on, the other stops with a clear error ------------


def test_two_scanners_on_one_file_resuming_one_scan_at_once_exclude_each_other(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    store_file = tmp_path / "diagnoses.sqlite3"
    runs_before = len(sim.invocation_records())
    # each scanner opens the file on its own, like two processes
    one, two = (scanner_for(sim, store_file=store_file, scan_concurrency=1) for _ in range(2))
    scan_id = one.start(fleet_request(one))
    outcomes: list[FleetScan | BaseException] = []
    barrier = threading.Barrier(2)

    def resume(scanner: Any) -> None:
        barrier.wait()
        try:
            outcomes.append(asyncio.run(scanner.run(scan_id)))
        except BaseException as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=resume, args=(s,)) for s in (one, two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    done = [o for o in outcomes if isinstance(o, FleetScan)]
    refused = [o for o in outcomes if isinstance(o, ScanBusyError)]
    assert (len(done), len(refused)) == (1, 1), outcomes
    assert done[0].complete and len(done[0].instances) == SIZE
    assert not refused[0].gone and scan_id in refused[0].message
    assert "being run by another process" in refused[0].message
    # no instance got a second collector run from the run that lost
    runs = runs_per_instance(sim, runs_before)
    assert set(runs) == guest_instances(sim) and max(runs.values()) == 1
    # and the scan is there for a third reader, complete
    assert scanner_for(sim, store_file=store_file).result(scan_id) == done[0]


async def test_a_server_that_loses_its_scan_to_another_says_which_call_to_make(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    store = tmp_path / "diagnoses.sqlite3"
    runs_before = len(sim.invocation_records())
    sim.inject_fault("*", kind="latency", delay_ms=50, times=None)  # a scan of a few seconds
    with server(sim, store) as (url_one, _), server(sim, store) as (url_two, _):
        answers: dict[str, tuple[dict[str, Any], str]] = {}

        async def first() -> None:
            answers["one"] = await scan_call(url_one, **SCAN_ARGS)

        async with anyio.create_task_group() as tg:
            tg.start_soon(first)
            scan_id = await anyio.to_thread.run_sync(wait_for_a_partial_scan, store)
            # the same owner resumes it through the other server while the first still runs
            answers["two"] = await scan_call(url_two, scan_id=scan_id)
    results = {k: v[0] for k, v in answers.items() if not v[1]}
    errors = {k: v[1] for k, v in answers.items() if v[1]}
    assert len(results) == 1 and len(errors) == 1, answers
    (result,) = results.values()
    (error,) = errors.values()
    assert result["complete"] and result["counts"]["instances"] == SIZE
    assert f"Fleet scan {scan_id} is being run by another process" in error
    assert f"Call ecs_scan_fleet(scan_id='{scan_id}') again in a minute" in error
    runs = runs_per_instance(sim, runs_before)
    assert set(runs) == guest_instances(sim) and max(runs.values()) == 1


# --- the CLI: scan --resume across runs, and two at once ---------------------------------------


def cli(sim: SimulatorServer, store: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "--endpoint", sim.url, *args],
        env=env_for(sim, store),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def test_cli_scan_interrupted_then_resumed_by_another_run_on_the_store_file(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    store = tmp_path / "state" / "diagnoses.sqlite3"
    runs_before = len(sim.invocation_records())
    first = cli(sim, store, "--region", ",".join(REGIONS), "--since", "2d")
    scan_id = wait_for_a_partial_scan(store)
    first.send_signal(signal.SIGINT)  # Ctrl-C
    _, err = first.communicate(timeout=60)
    assert first.returncode == EXIT_INTERRUPTED, err
    assert f"continue it with: ecs-reboot-diagnosis scan --resume {scan_id}" in err
    concluded = {i["instance_id"] for i in stored_scans(store)[scan_id]["instances"]}
    assert 0 < len(concluded) < SIZE
    checks_before = len(sim.request_records("DescribeInstanceHistoryEvents"))

    second = cli(sim, store, "--resume", scan_id, "--format", "json")
    out, err = second.communicate(timeout=180)
    assert second.returncode == EXIT_OK, err
    data = json.loads(out)
    assert data["scan_id"] == scan_id and data["complete"]
    assert_right(sim, data["instances"])
    assert not events_checked_after(sim, checks_before) & concluded
    runs = runs_per_instance(sim, runs_before)
    assert set(runs) == guest_instances(sim) and max(runs.values()) == 1


def test_cli_scan_that_fails_midway_names_the_command_that_resumes_it(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    store = tmp_path / "diagnoses.sqlite3"
    sim.inject_fault("DescribeInstanceHistoryEvents", "InvalidParameter", times=None)
    first = cli(sim, store, "--region", REGIONS[0], "--since", "2d")
    _, err = first.communicate(timeout=120)
    assert first.returncode == EXIT_USAGE, err
    (line,) = [x for x in err.splitlines() if x.startswith("ecs-reboot-diagnosis: error:")]
    (scan_id,) = stored_scans(store)
    assert "InvalidParameter" in line
    assert line.endswith(f"What was concluded is kept: once it is fixed, continue with: "
                         f"ecs-reboot-diagnosis scan --resume {scan_id}")  # fmt: skip
    sim.clear_faults()
    second = cli(sim, store, "--resume", scan_id, "--format", "json")
    out, err = second.communicate(timeout=120)
    assert second.returncode == EXIT_OK, err
    assert json.loads(out)["counts"]["instances"] == SIZE // 2


def test_two_cli_runs_resuming_one_scan_at_once_one_goes_on_one_exits_7(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    store = tmp_path / "diagnoses.sqlite3"
    runs_before = len(sim.invocation_records())
    scanner = scanner_for(sim, store_file=store)
    scan_id = scanner.start(fleet_request(scanner))  # started, not run: as a first run would
    # both overlap for sure: the listing alone takes 4 s (two pages a region, 2 s each)
    sim.inject_fault("DescribeInstances", kind="latency", delay_ms=2000, times=None)
    sim.inject_fault("*", kind="latency", delay_ms=50, times=None)
    procs = [cli(sim, store, "--resume", scan_id, "--format", "json") for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:  # both read at once: a full pipe would block either
        outputs = list(pool.map(lambda p: p.communicate(timeout=180), procs))
    outcomes = [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs, strict=True)]
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [EXIT_OK, EXIT_BUSY], outcomes
    ((_, out, _),) = [o for o in outcomes if o[0] == EXIT_OK]
    ((_, _, err),) = [o for o in outcomes if o[0] == EXIT_BUSY]
    assert json.loads(out)["complete"]
    (line,) = [x for x in err.splitlines() if x.startswith("ecs-reboot-diagnosis: error:")]
    assert f"Fleet scan {scan_id} is being run by another process" in line
    assert f"(ecs-reboot-diagnosis scan --resume {scan_id})" in line
    runs = runs_per_instance(sim, runs_before)
    assert set(runs) == guest_instances(sim) and max(runs.values()) == 1


# --- the per-owner bound ------------------------------------------------------------------------


def test_each_owner_keeps_its_latest_scans_in_the_file(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    store_file = tmp_path / "diagnoses.sqlite3"
    scanner = scanner_for(sim, store_file=store_file)
    request = scanner.new_request(list(REGIONS), since=SINCE)
    served = sim.request_count()
    theirs = scanner.start(request, owner="beta")
    mine = []
    for _ in range(MAX_SCANS_PER_OWNER + 1):
        mine.append(scanner.start(request, owner="alpha"))
        time.sleep(0.002)  # distinct save times
    assert sim.request_count() == served  # starting a scan calls nothing
    again = scanner_for(sim, store_file=store_file)  # another process on the file
    with pytest.raises(InvalidInputError, match="No scan"):
        again.result(mine[0], owner="alpha")
    assert all(not again.result(s, owner="alpha").complete for s in mine[1:])
    assert again.result(theirs, owner="beta").scan_id == theirs
    assert len(stored_scans(store_file)) == MAX_SCANS_PER_OWNER + 1
