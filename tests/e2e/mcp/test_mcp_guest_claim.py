"""The guest collector is sent once per diagnosis, however many processes share the store.

Before RunCommand the service claims the run in the store (with the revision check); only the
process whose claim lands sends the command. Real parts throughout: `serve --transport http`
subprocesses or services on one SQLite file, the ECS simulator through the official SDK (its
invocation records are the count of runs), the MCP SDK's client.

- Two servers asked `ecs_run_guest_diagnostics` for the same diagnosis at the same moment, 20
  times: one RunCommand per diagnosis, the loser's answer is the refusal naming the next call,
  and every diagnosis completes to a report from the loser's server.
- A claim whose process died before sending lapses, and the step then runs.
- A process that died after RunCommand, before recording the invocation: the step run again
  after the claim lapsed sends the same ClientToken and gets the same invocation back.
- A claim write that loses the race sends nothing; an answer lost on every attempt leaves a
  claim whose ClientToken the next send repeats.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from ecs_api_simulator import SimulatorServer
from ecs_reboot_diagnosis.clock import SystemClock
from ecs_reboot_diagnosis.diagnosis import Diagnosis, GuestClaim
from ecs_reboot_diagnosis.errors import CloudApiError, GuestRunClaimedError
from ecs_reboot_diagnosis.ports import Clock, CommandType, EcsGateway
from ecs_reboot_diagnosis.service import DiagnosisService
from ecs_reboot_diagnosis.workflow import Phase
from ecs_reboot_diagnosis_mcp.app import build_gateway, build_service
from ecs_reboot_diagnosis_mcp.mcp_server import build_server
from ecs_reboot_diagnosis_mcp.settings import Settings
from ecs_reboot_diagnosis_mcp.sqlite_db import StoreDatabase
from ecs_reboot_diagnosis_mcp.sqlite_store import SqliteDiagnosisStore
from tests.e2e.mcp.conftest import LINUX
from tests.e2e.mcp.test_mcp_http_security import ALPHA, authorized, structured
from tests.e2e.mcp.test_mcp_store import server
from tests.support.clock import ShiftedClock

pytestmark = pytest.mark.anyio

REPETITIONS = 20
CLAIM = timedelta(seconds=300)


@pytest.fixture(scope="module")
def sim() -> Any:
    with SimulatorServer() as s:
        yield s


def created_since(sim: SimulatorServer, known: set[str]) -> list[str]:
    """The invocations RunCommand created since ``known`` was taken."""
    return [r.invoke_id for r in sim.invocation_records() if r.invoke_id not in known]


def known_invocations(sim: SimulatorServer) -> set[str]:
    return {r.invoke_id for r in sim.invocation_records()}


def settings_for(sim: SimulatorServer, store: Path, **overrides: object) -> Settings:
    return Settings().model_copy(
        update={
            "endpoint": sim.url,
            "simulated": True,
            "wait_deadline_s": 60.0,
            "store": f"sqlite://{store}",
            **overrides,
        }
    )


def keys(sim: SimulatorServer) -> dict[str, str]:
    return {"access_key_id": sim.access_key_id, "access_key_secret": sim.access_key_secret}


def service_on(
    sim: SimulatorServer,
    store: Path,
    clock: Clock | None = None,
    gateway: EcsGateway | None = None,
    **overrides: object,
) -> DiagnosisService:
    """A service on the store file, as another process would have it (its own connection)."""
    settings = settings_for(sim, store, **overrides)
    return build_service(settings, gateway or build_gateway(settings, **keys(sim)), clock)


async def checked(service: DiagnosisService) -> str:
    """A diagnosis of the Linux instance up to its guest step."""
    d = await service.start(LINUX["instance_id"], LINUX["region_id"], "")
    await service.check_events(d.id, "")
    await service.check_agent(d.id, "")
    return d.id


def claim_of_dead_process(service: DiagnosisService, store: Path, did: str) -> GuestClaim:
    """Write the claim a process leaves when it died right after its claim landed: through its
    own connection to the file, on the service's clock."""
    now = service.clock.now()
    claim = GuestClaim(
        claim_id=secrets.token_hex(8),
        holder="pid 999999 on gone",
        claimed_at=now,
        expires_at=now + CLAIM,
        client_token=secrets.token_hex(16),
        nonce=secrets.token_hex(16),
        log_days=7,
    )
    other = SqliteDiagnosisStore(StoreDatabase.open(store), SystemClock())
    try:
        other.put(other.get(did).model_copy(update={"guest_claim": claim}))
    finally:
        other.db.close()
    return claim


async def finish(client: Client, did: str) -> dict[str, Any]:
    """Follow next_step from the guest results to the report."""
    step = structured(await client.call_tool("ecs_get_guest_results", {"diagnosis_id": did}))
    while step["next_step"]["tool"] != "ecs_render_report":
        step = structured(await client.call_tool(step["next_step"]["tool"], {"diagnosis_id": did}))
    return structured(await client.call_tool("ecs_render_report", {"diagnosis_id": did}))


@pytest.mark.slow
async def test_two_servers_asked_at_once_send_one_command_per_diagnosis(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    store = tmp_path / "shared.sqlite3"
    known = known_invocations(sim)
    sent: dict[str, str] = {}  # diagnosis -> the invocation its winner recorded
    losers: dict[str, str] = {}  # diagnosis -> the loser's server
    with server(sim, store) as (one, _), server(sim, store) as (two, _):
        async with authorized(one, ALPHA, "auto") as a, authorized(two, ALPHA, "auto") as b:
            clients = {one: a, two: b}
            for n in range(REPETITIONS):
                first = (a, b)[n % 2]  # the diagnosis is made on each server in turn
                did = structured(await first.call_tool("ecs_start_diagnosis", LINUX))[
                    "diagnosis_id"
                ]
                await first.call_tool("ecs_check_platform_events", {"diagnosis_id": did})
                structured(
                    await first.call_tool("ecs_check_cloud_assistant", {"diagnosis_id": did})
                )
                go = anyio.Event()
                answers: dict[str, Any] = {}

                async def run(url: str, did: str = did, go: anyio.Event = go,
                              answers: dict[str, Any] = answers) -> None:  # fmt: skip
                    await go.wait()
                    answers[url] = await clients[url].call_tool(
                        "ecs_run_guest_diagnostics", {"diagnosis_id": did}
                    )

                async with anyio.create_task_group() as tg:
                    tg.start_soon(run, one)
                    tg.start_soon(run, two)
                    await anyio.sleep(0.05)
                    go.set()
                won = [u for u, r in answers.items() if not r.is_error]
                lost = [u for u, r in answers.items() if r.is_error]
                assert len(won) == 1 and len(lost) == 1, answers
                sent[did] = structured(answers[won[0]])["invoke_id"]
                refusal = answers[lost[0]].content[0].text
                # the claim was live (the usual case), or the run already recorded
                assert (
                    "is not started a second time" in refusal
                    and f"ecs_get_guest_results(diagnosis_id='{did}')" in refusal
                ) or (
                    "has already run" in refusal
                    and f"ecs_get_guest_results(diagnosis_id='{did}')" in refusal
                ), refusal
                losers[did] = lost[0]

            # exactly one RunCommand per diagnosis, the one each diagnosis recorded
            created = created_since(sim, known)
            assert sorted(created) == sorted(sent.values())
            assert len(set(sent.values())) == REPETITIONS

            # every diagnosis goes on to its report from the server that was refused
            reports: dict[str, dict[str, Any]] = {}

            async def report(did: str) -> None:
                reports[did] = await finish(clients[losers[did]], did)

            async with anyio.create_task_group() as tg:
                for did in sent:
                    tg.start_soon(report, did)
    assert {r["rule_id"] for r in reports.values()} == {"linux.clean_reboot"}
    assert created_since(sim, known) == created  # nothing sent while finishing


async def test_a_claim_left_by_a_dead_process_lapses_and_the_step_then_runs(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    store = tmp_path / "diagnoses.sqlite3"
    clock = ShiftedClock()
    service = service_on(sim, store, clock, long_poll_s=1.0)
    did = await checked(service)
    claim = claim_of_dead_process(service, store, did)
    known = known_invocations(sim)
    async with Client(build_server(service), mode="auto") as client:
        refused = await client.call_tool("ecs_run_guest_diagnostics", {"diagnosis_id": did})
        assert refused.is_error
        text = refused.content[0].text  # type: ignore[union-attr]
        assert "is not started a second time" in text, text
        assert f"ecs_get_guest_results(diagnosis_id='{did}')" in text
        assert f"lapses at {claim.expires_at:%H:%M:%S} UTC" in text
        # the results step waits (its long poll) while the run is being started, then says so
        waiting = await client.call_tool("ecs_get_guest_results", {"diagnosis_id": did})
        assert waiting.is_error and "is not started a second time" in waiting.content[0].text  # type: ignore[union-attr]
        assert created_since(sim, known) == []

        clock.advance(CLAIM + timedelta(seconds=1))  # the claim lapses
        run = structured(await client.call_tool("ecs_run_guest_diagnostics", {"diagnosis_id": did}))
        assert created_since(sim, known) == [run["invoke_id"]]
        # sent with the lapsed claim's ClientToken and nonce (a send it made would be this one)
        taken = sim.world.invocations.by_client_token((sim.access_key_id, claim.client_token))
        assert taken is not None and taken.invoke_id == run["invoke_id"]
        assert taken.parameters["nonce"] == claim.nonce
        report = await finish(client, did)
    assert report["rule_id"] == "linux.clean_reboot"
    d = service.status(did, "")
    assert d.guest_claim is None and d.guest_nonce == claim.nonce


class StuckAfterSend:
    """A gateway whose process sends RunCommand for real and then never returns (it died, as
    far as the store can tell, between the send and the record)."""

    def __init__(self, inner: EcsGateway) -> None:
        self.inner = inner
        self.sent = asyncio.Event()

    async def run_command(
        self,
        region_id: str,
        instance_id: str,
        *,
        command_type: CommandType,
        content: str,
        parameters: Mapping[str, str],
        timeout_seconds: int,
        name: str,
        client_token: str = "",
    ) -> str:
        await self.inner.run_command(
            region_id,
            instance_id,
            command_type=command_type,
            content=content,
            parameters=parameters,
            timeout_seconds=timeout_seconds,
            name=name,
            client_token=client_token,
        )
        self.sent.set()
        await asyncio.Event().wait()  # never
        raise AssertionError("unreachable")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_process_dead_after_run_command_is_taken_over_with_the_same_invocation(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    store = tmp_path / "diagnoses.sqlite3"
    settings = settings_for(sim, store)
    stuck = StuckAfterSend(build_gateway(settings, **keys(sim)))
    dead = service_on(sim, store, gateway=stuck)
    did = await checked(dead)
    known = known_invocations(sim)
    dying = asyncio.ensure_future(dead.run_guest(did, ""))
    await asyncio.wait_for(stuck.sent.wait(), 30)
    (first,) = created_since(sim, known)
    claim = dead.status(did, "").guest_claim
    assert claim is not None

    clock = ShiftedClock()
    alive = service_on(sim, store, clock)
    async with Client(build_server(alive), mode="auto") as client:
        refused = await client.call_tool("ecs_run_guest_diagnostics", {"diagnosis_id": did})
        assert refused.is_error and "is not started a second time" in refused.content[0].text  # type: ignore[union-attr]
        clock.advance(CLAIM + timedelta(seconds=1))
        run = structured(await client.call_tool("ecs_run_guest_diagnostics", {"diagnosis_id": did}))
        assert run["invoke_id"] == first  # Cloud Assistant answered the same ClientToken
        assert created_since(sim, known) == [first]
        report = await finish(client, did)
    assert report["rule_id"] == "linux.clean_reboot"  # the dead process's nonce was kept
    dying.cancel()
    with pytest.raises(asyncio.CancelledError):
        await dying
    d = alive.status(did, "")
    assert d.workflow.phase == Phase.REPORTED and d.guest_claim is None


class LosesTheClaimRace(SqliteDiagnosisStore):
    """A process's store whose first claim write comes just after another process's claim
    landed (written through that process's own connection)."""

    def __init__(self, db: StoreDatabase, clock: Clock, other: SqliteDiagnosisStore) -> None:
        super().__init__(db, clock)
        self.other = other
        self.theirs: GuestClaim | None = None

    def put(self, diagnosis: Diagnosis) -> Diagnosis:
        if diagnosis.guest_claim is not None and self.theirs is None:
            mine = diagnosis.guest_claim
            self.theirs = mine.model_copy(update={"claim_id": "theirs", "client_token": "t" * 32})
            current = self.other.get(diagnosis.id)
            self.other.put(current.model_copy(update={"guest_claim": self.theirs}))
        return super().put(diagnosis)


async def test_a_claim_write_that_loses_the_race_sends_nothing(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    store = tmp_path / "diagnoses.sqlite3"
    settings = settings_for(sim, store)
    clock = SystemClock()
    other = SqliteDiagnosisStore(StoreDatabase.open(store), clock)
    racing = LosesTheClaimRace(StoreDatabase.open(store), clock, other)
    service = DiagnosisService(
        build_gateway(settings, **keys(sim)), racing, clock, settings.service_config()
    )
    did = await checked(service)
    known = known_invocations(sim)
    with pytest.raises(GuestRunClaimedError) as refused:
        await service.run_guest(did, "")
    assert racing.theirs is not None
    assert refused.value.expires_at == racing.theirs.expires_at
    assert created_since(sim, known) == []
    assert service.status(did, "").guest_claim == racing.theirs  # theirs stands, untouched
    other.db.close()
    racing.db.close()


async def test_an_answer_lost_on_every_attempt_is_sent_again_with_the_same_token(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    """RunCommand handled but its answer lost, on all four attempts: the outcome is unknown,
    so the claim is given up keeping its ClientToken, and the step run again gets the
    invocation the lost answers created: one run in the guest."""
    store = tmp_path / "diagnoses.sqlite3"
    service = service_on(sim, store)
    did = await checked(service)
    known = known_invocations(sim)
    sim.inject_fault("RunCommand", kind="drop", processed=True, times=4)
    try:
        with pytest.raises(CloudApiError):
            await service.run_guest(did, "")
    finally:
        sim.world.faults.clear()
    (first,) = created_since(sim, known)
    left = service.status(did, "")
    assert left.workflow.phase == Phase.AGENT_CHECKED
    assert left.guest_claim is not None and left.guest_claim.expires_at <= service.clock.now()
    d, _ = await service.run_guest(did, "")
    assert d.guest_run is not None and d.guest_run.invoke_id == first
    assert created_since(sim, known) == [first]
    d, status = await service.get_guest_results(did, "", wait_seconds=30)
    assert status == "collected" and d.guest_claim is None
