"""The claim on the guest run over the in-memory store: it behaves as over SQLite (one process;
the per-diagnosis lock already serialises), the claim is cleared once the run is recorded, a
refused command lets go of it, a live one refuses and a lapsed one is taken over with its
ClientToken and nonce. Processes sharing a SQLite file: tests/e2e/mcp/test_mcp_guest_claim.py."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from datetime import timedelta

import pytest

from ecs_reboot_diagnosis.clock import SystemClock
from ecs_reboot_diagnosis.diagnosis import GuestClaim
from ecs_reboot_diagnosis.errors import CloudApiError, GuestRunClaimedError, WorkflowOrderError
from ecs_reboot_diagnosis.ports import Clock, CommandType
from ecs_reboot_diagnosis.service import DiagnosisService, ServiceConfig
from ecs_reboot_diagnosis.store import InMemoryDiagnosisStore
from ecs_reboot_diagnosis.workflow import Phase
from tests.support.clock import ManualClock
from tests.support.memory_gateway import MemoryGateway
from tests.unit.core.test_service import IID, REGION, gateway_with

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make(gateway: MemoryGateway, clock: Clock) -> DiagnosisService:
    return DiagnosisService(gateway, InMemoryDiagnosisStore(clock), clock, ServiceConfig())


async def checked(service: DiagnosisService) -> str:
    d = await service.start(IID, REGION, owner="")
    await service.check_events(d.id, owner="")
    await service.check_agent(d.id, owner="")
    return d.id


def claim_at(service: DiagnosisService, did: str) -> GuestClaim:
    """The claim another process left (here written into the same store)."""
    now = service.clock.now()
    claim = GuestClaim(
        claim_id="elsewhere",
        holder="pid 1 on elsewhere",
        claimed_at=now,
        expires_at=now + timedelta(seconds=service.config.guest_claim_seconds),
        client_token=secrets.token_hex(16),
        nonce=secrets.token_hex(16),
        log_days=3,
    )
    service.store.put(service.status(did, "").model_copy(update={"guest_claim": claim}))
    return claim


async def test_steps_raced_in_one_process_send_one_command_and_leave_no_claim() -> None:
    gw = gateway_with()
    service = make(gw, ManualClock())
    did = await checked(service)
    outcomes = await asyncio.gather(
        service.run_guest(did, ""), service.run_guest(did, ""), return_exceptions=True
    )
    assert gw.calls.count("RunCommand") == 1
    (refused,) = [o for o in outcomes if isinstance(o, BaseException)]
    assert isinstance(refused, WorkflowOrderError) and refused.reason == "already_done"
    d = service.status(did, "")
    assert d.workflow.phase == Phase.GUEST_COLLECTING and d.guest_claim is None
    invocation = gw.invocations[d.guest_run.invoke_id]  # type: ignore[union-attr]
    assert invocation.parameters["nonce"] == d.guest_nonce


async def test_a_command_the_api_refused_lets_go_of_the_claim() -> None:
    gw = gateway_with()
    service = make(gw, ManualClock())
    did = await checked(service)
    gw.denied_actions.add("RunCommand")
    with pytest.raises(CloudApiError):
        await service.run_guest(did, "")
    left = service.status(did, "")
    assert left.workflow.phase == Phase.AGENT_CHECKED and left.guest_claim is None
    gw.denied_actions.clear()
    d, _ = await service.run_guest(did, "")  # at once: nothing waits for a lapse
    assert d.workflow.phase == Phase.GUEST_COLLECTING


async def test_a_live_claim_refuses_and_a_lapsed_one_is_taken_over_with_its_token() -> None:
    clock = ManualClock()
    gw = gateway_with()
    service = make(gw, clock)
    did = await checked(service)
    claim = claim_at(service, did)
    with pytest.raises(GuestRunClaimedError) as refused:
        await service.run_guest(did, "")
    assert refused.value.expires_at == claim.expires_at
    # the results step waits for the run being started, then refuses the same way
    before = clock.now()
    with pytest.raises(GuestRunClaimedError):
        await service.get_guest_results(did, "", wait_seconds=5)
    assert clock.now() - before == timedelta(seconds=5)
    assert "RunCommand" not in gw.calls

    clock.advance(timedelta(seconds=service.config.guest_claim_seconds))
    d, _ = await service.run_guest(did, "")
    assert gw.tokens == {claim.client_token: d.guest_run.invoke_id}  # type: ignore[union-attr]
    assert d.guest_nonce == claim.nonce and d.guest_claim is None
    assert gw.invocations[d.guest_run.invoke_id].parameters["since_days"] == "3"  # type: ignore[union-attr]
    d, state = await service.get_guest_results(did, "")
    assert state != "pending" and d.guest_run is not None  # the run was read (its output here
    assert d.guest_run.invoke_id in gw.invocations  # is no envelope: "failed")


class GatedGateway(MemoryGateway):
    """RunCommand answers when the test opens the gate."""

    gate: asyncio.Event

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
        await self.gate.wait()
        return await super().run_command(
            region_id,
            instance_id,
            command_type=command_type,
            content=content,
            parameters=parameters,
            timeout_seconds=timeout_seconds,
            name=name,
            client_token=client_token,
        )


async def test_the_results_step_waits_while_the_run_is_being_started() -> None:
    gw = GatedGateway()
    gw.gate = asyncio.Event()
    gw.add(gateway_with().instances[(REGION, IID)])
    service = make(gw, SystemClock())
    did = await checked(service)
    running = asyncio.ensure_future(service.run_guest(did, ""))
    while service.status(did, "").guest_claim is None:
        await asyncio.sleep(0.01)
    seen: list[tuple[float, float | None, str]] = []

    async def progress(done: float, total: float | None, message: str) -> None:
        seen.append((done, total, message))

    results = asyncio.ensure_future(service.get_guest_results(did, "", progress, wait_seconds=10))
    await asyncio.sleep(0.3)
    assert not results.done()  # waiting on the claim, not refused
    gw.gate.set()
    d, state = await results
    assert state != "pending" and gw.calls.count("RunCommand") == 1
    assert d.guest_run is not None and d.guest_run.invoke_id in gw.invocations
    await running
    # progress while the run was being started, then while it ran: forward, one total
    assert seen[0][2] == "Another process is starting the guest collector."
    assert any(m.startswith("Cloud Assistant invocation") for _, _, m in seen)
    assert [t for _, t, _ in seen] == [10] * len(seen)
    done = [v for v, _, _ in seen]
    assert done == sorted(done) and done[-1] < 10
