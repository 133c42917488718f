"""A stateful random agent: a hypothesis ``RuleBasedStateMachine`` drives the real MCP server
(streamable HTTP on loopback, two bearer tokens = two owners, one client per protocol era) over
the bundled simulator. It starts diagnoses of a few scenario instances, calls random tools in
random order with its own, random and STOLEN diagnosis ids (ids the other token created),
sometimes two calls at once, and checks after every step:

* no guest command before both checks: every new Cloud Assistant invocation in the simulator is
  explained by a call of that step whose diagnosis had passed the events step and found the
  agent up (or by ``ecs_diagnose_instance``, whose own record must show both steps first);
* no report before the events step;
* no access across owners: a stolen id is always refused as unknown, and changes nothing;
* no 5xx (the client would raise), no internal error, no traceback text in any result, nothing
  logged with a traceback or at ERROR by the server;
* every refusal names the tool to call (one of the 11) or the field to fix.

CI runs a bounded number of steps (``FUZZ_STEPS``, >= 2,000, in about a minute). A longer
run is one environment variable::

    ECS_DIAG_FUZZ_STEPS=50000 python -m pytest -q tests/e2e/mcp/test_mcp_random_agent.py

The server waits only 0.05 s for a guest run (``wait_deadline_s``); later steps poll it with
``ecs_get_guest_results``, and the ``settle`` rule lets running collectors finish.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from mcp import Client
from mcp.types import CallToolResult

from ecs_api_simulator import SimulatorServer
from ecs_reboot_diagnosis.diagnosis import DIAGNOSIS_ID_PATTERN
from tests.e2e.mcp.fuzz_harness import (
    ALPHA,
    BETA,
    ID_TOOLS,
    TOOLS,
    ErrorLog,
    assert_clean,
    authorized,
    fuzz_settings,
    portal,
    refusal,
    serving,
)

STEPS_PER_EXAMPLE = 80
AT_HAND = 2
"""follow_next_step picks among this many open diagnoses, the furthest along."""
FUZZ_STEPS = int(os.environ.get("ECS_DIAG_FUZZ_STEPS", "2000"))
"""Steps the agent takes in all (CI: 2,000, as the issue asks)."""

REGION = "cn-hangzhou"
INSTANCES = (
    "i-bp1sim0linux0000001",  # linux-no-events: the full guest path, clean reboot
    "i-bp1seed02panicvmcore",  # s02: kernel panic with a vmcore
    "i-bp1seed11agentdown",  # s11: Cloud Assistant down, no guest command possible
    "i-bp1seed06bsodmemdmp",  # s06: Windows blue screen with MEMORY.DMP
)
OWNERS = ("alpha", "beta")
FIELDS = ("diagnosis_id", "instance_id", "region_id", "reboot_time", "lang")
EVENTS, AGENT = "ecs_check_platform_events", "ecs_check_cloud_assistant"
RUN, REPORT, DIAGNOSE = "ecs_run_guest_diagnostics", "ecs_render_report", "ecs_diagnose_instance"


def unknown(body: str) -> bool:
    """The refusal of an id that is unknown to the caller, in either language (a call with
    lang=zh-CN is refused in Chinese)."""
    return "is unknown" in body or "不存在" in body


@dataclass
class Diagnosis:
    """What the agent knows of one diagnosis, from the results it was given."""

    owner: str
    instance_id: str
    events_ok: bool = False
    agent_up: bool = False
    guest_runs: int = 0
    next_tool: str | None = EVENTS
    """The tool the last result's next_step named (None: finished)."""
    advanced: int = 0
    """Step calls that succeeded on it."""


@dataclass
class Call:
    owner: str
    tool: str
    args: dict[str, Any]
    result: CallToolResult | None = None


@dataclass
class World:
    """The server, its clients and the simulator, shared by every example of the machine."""

    p: BlockingPortal
    clients: dict[str, Client]
    sim: SimulatorServer
    errors: ErrorLog
    steps: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))


WORLD: World | None = None


def world() -> World:
    assert WORLD is not None
    return WORLD


KEPT = re.compile(r"(?:diagnosis (d-[0-9a-f]{32}) is kept|诊断 (d-[0-9a-f]{32}) 已保留)")
"""How the deadline error of ``ecs_diagnose_instance`` names the diagnosis it keeps, in English
or in Chinese (a call with lang=zh-CN)."""


def kept_running(call: Call) -> str | None:
    """The diagnosis an ``ecs_diagnose_instance`` call left collecting at its deadline (its
    error names it and the call that waits on), else None."""
    result = call.result
    if call.tool != DIAGNOSE or result is None or not result.is_error:
        return None
    found = KEPT.search(text_of(result))
    return (found.group(1) or found.group(2)) if found else None


class RandomAgent(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.w = world()
        self.diagnoses: dict[str, Diagnosis] = {}

    # --- calling ---------------------------------------------------------------------------

    def _invocations(self) -> Counter[str]:
        return Counter(r.instance_id for r in self.w.sim.invocation_records())

    def _perform(self, *calls: Call) -> None:
        """Run the calls (two at once when two are given), then check every invariant that
        concerns them."""
        before = self._invocations()
        started = time.monotonic()
        self.w.p.call(self._run_all, calls)
        self.w.seconds["+".join(c.tool[4:] for c in calls)] += time.monotonic() - started
        for call in calls:
            self._check(call)
        # A concurrent partner's success may be what allowed a guest run: judge guest commands
        # on the model as it stands after the step.
        self._check_guest_commands(calls, before)
        self.w.steps["calls"] += len(calls)
        self.w.steps["steps"] += 1

    async def _run_all(self, calls: tuple[Call, ...]) -> None:
        async def one(call: Call) -> None:
            call.result = await self.w.clients[call.owner].call_tool(call.tool, call.args)

        if len(calls) == 1:
            await one(calls[0])
            return
        async with anyio.create_task_group() as tg:
            for call in calls:
                tg.start_soon(one, call)

    def _check(self, call: Call) -> None:
        result = call.result
        assert result is not None
        assert_clean(call.tool, result)
        did = call.args.get("diagnosis_id")
        known = self.diagnoses.get(did) if isinstance(did, str) else None
        if result.is_error:
            body = refusal(call.tool, result)
            assert any(name in body for name in (*TOOLS, *FIELDS)), (
                f"{call.tool}({call.args}) refused without naming a tool or a field: {body}"
            )
        if call.tool in ID_TOOLS and (known is None or known.owner != call.owner):
            # a stolen or made-up id: refused as unknown, whatever the tool
            assert result.is_error, f"{call.owner} used a diagnosis it does not own: {call}"
            assert unknown(refusal(call.tool, result)), text_of(result)
            self.w.steps["refused_foreign"] += 1
            return
        kept = kept_running(call)
        if kept is not None:  # ecs_diagnose_instance reached its deadline; the run goes on
            self.diagnoses[kept] = Diagnosis(call.owner, call.args["instance_id"])
            self._check_diagnose_record(call, kept, finished=False)
            self.diagnoses[kept].next_tool = "ecs_get_guest_results"
            return
        if result.is_error:
            assert not unknown(refusal(call.tool, result)), (call, text_of(result))
            self.w.steps["refused"] += 1
            return
        data = dict(result.structured_content or {})
        if call.tool in ("ecs_start_diagnosis", DIAGNOSE):
            new = data["diagnosis_id"]
            assert new not in self.diagnoses
            self.diagnoses[new] = Diagnosis(call.owner, call.args["instance_id"])
            self.diagnoses[new].next_tool = (data["next_step"] or {}).get("tool")
            if call.tool == DIAGNOSE:
                self._check_diagnose_record(call, new)
            return
        assert known is not None
        if call.tool != "ecs_get_diagnosis_status" and "next_step" in data:
            known.next_tool = (data["next_step"] or {}).get("tool")
            known.advanced += 1
        if call.tool == EVENTS:
            known.events_ok = True
        elif call.tool == AGENT:
            assert known.events_ok, f"Cloud Assistant checked before the events: {call}"
            known.agent_up = data["phase"] == "agent_checked"
        elif call.tool == RUN:
            assert known.events_ok and known.agent_up, f"guest run before both checks: {call}"
            known.guest_runs += 1
        elif call.tool == REPORT:
            assert known.events_ok, f"a report before the events step: {call}"
        self.w.steps[f"ok {call.tool}"] += 1

    def _check_diagnose_record(self, call: Call, did: str, *, finished: bool = True) -> None:
        """ecs_diagnose_instance ran its own steps: the server's record of them must show the
        events step, and the agent check before any guest run. Unfinished (its deadline came
        while the guest ran): the run is in the record, the report is not."""
        status = self.w.p.call(
            self.w.clients[call.owner].call_tool, "ecs_get_diagnosis_status", {"diagnosis_id": did}
        )
        assert not status.is_error, text_of(status)
        done = list((status.structured_content or {})["completed_steps"])
        assert EVENTS in done and (REPORT in done) == finished, done
        assert finished or RUN in done, done
        if RUN in done:
            assert done.index(EVENTS) < done.index(AGENT) < done.index(RUN), done
            self.diagnoses[did].guest_runs += 1
            self.diagnoses[did].agent_up = True
        self.diagnoses[did].events_ok = True

    def _check_guest_commands(self, calls: tuple[Call, ...], before: Counter[str]) -> None:
        """Every new invocation in the simulator is one of this step's allowed guest runs."""
        created = self._invocations() - before
        allowed: Counter[str] = Counter()
        for call in calls:
            assert call.result is not None
            kept = kept_running(call)
            if (call.result.is_error and kept is None) or call.tool not in (RUN, DIAGNOSE):
                continue
            did = (
                call.args.get("diagnosis_id")
                or kept
                or dict(call.result.structured_content or {}).get("diagnosis_id")
            )
            d = self.diagnoses[str(did)]
            if call.tool == DIAGNOSE or (d.events_ok and d.agent_up):
                allowed[d.instance_id] += 1
        assert created <= allowed, f"guest commands nobody was allowed to run: {created} {calls}"
        self.w.steps["guest_runs"] += sum(created.values())

    # --- choosing arguments ----------------------------------------------------------------

    @staticmethod
    def _index(data: st.DataObject, label: str) -> int:
        """An index drawn the same way whatever the world holds: the lists it picks from grow
        with the diagnoses the server made, and hypothesis needs draws that do not depend on
        that (a draw from a list of today's length is "inconsistent data generation")."""
        return data.draw(st.integers(0, 1 << 16), label=label)

    def _pick_id(self, data: st.DataObject, owner: str) -> str:
        mine = sorted(k for k, v in self.diagnoses.items() if v.owner == owner)
        theirs = sorted(k for k, v in self.diagnoses.items() if v.owner != owner)
        kind = data.draw(
            st.sampled_from(["mine"] * 6 + ["stolen"] * 2 + ["random"]), label="id kind"
        )
        index = self._index(data, "id index")
        made_up = data.draw(st.from_regex(DIAGNOSIS_ID_PATTERN, fullmatch=True), label="random id")
        if kind == "mine" and mine:
            return mine[index % len(mine)]
        if kind == "stolen" and theirs:
            return theirs[index % len(theirs)]
        return made_up

    def _pick_call(self, data: st.DataObject, *, diagnose: bool = True) -> Call:
        owner = data.draw(st.sampled_from(OWNERS), label="owner")
        # the agentless read is rare: the simulator, like the API, rate-limits screenshots and
        # the gateway's backoff then takes seconds
        steps = [t for t in ID_TOOLS if t != "ecs_collect_agentless_evidence"]
        tools = [*steps, *steps, *steps, "ecs_collect_agentless_evidence", "ecs_start_diagnosis"]
        tools += [DIAGNOSE] if diagnose else []
        tool = data.draw(st.sampled_from(tools), label="tool")
        if tool in ("ecs_start_diagnosis", DIAGNOSE):
            instance = data.draw(st.sampled_from(INSTANCES), label="instance")
            return Call(owner, tool, {"instance_id": instance, "region_id": REGION})
        args: dict[str, Any] = {"diagnosis_id": self._pick_id(data, owner)}
        if tool == REPORT:
            args["lang"] = data.draw(st.sampled_from(["en", "zh-CN"]), label="lang")
        return Call(owner, tool, args)

    # --- rules -----------------------------------------------------------------------------

    @rule(owner=st.sampled_from(OWNERS), instance=st.sampled_from(INSTANCES))
    def start(self, owner: str, instance: str) -> None:
        self._perform(
            Call(owner, "ecs_start_diagnosis", {"instance_id": instance, "region_id": REGION})
        )

    @rule(data=st.data())
    def call_a_tool(self, data: st.DataObject) -> None:
        self._perform(self._pick_call(data, diagnose=False))

    @rule(data=st.data())
    def follow_next_step(self, data: st.DataObject) -> None:
        """An own diagnosis, advanced along the next_step its last result named (as a
        well-behaved agent does), or poked with any step tool. One of the few furthest along,
        as an agent keeps to the diagnosis at hand: so diagnoses reach their report (the
        agent-down path has 4 steps after the start, the guest path 7) however the rules
        are drawn."""
        open_ = [k for k, v in self.diagnoses.items() if v.next_tool is not None]
        open_ = sorted(open_, key=lambda k: -self.diagnoses[k].advanced)[:AT_HAND]
        index = self._index(data, "diagnosis")
        poke = data.draw(st.integers(0, 4), label="poke") == 0
        any_step = data.draw(st.sampled_from(ID_TOOLS[:7]), label="any step")
        owner = data.draw(st.sampled_from(OWNERS), label="owner")
        instance = data.draw(st.sampled_from(INSTANCES), label="instance")
        if not open_:  # nothing at hand: the agent starts one, as a user would ask it to
            self.w.steps["nothing to follow"] += 1
            self._perform(
                Call(owner, "ecs_start_diagnosis", {"instance_id": instance, "region_id": REGION})
            )
            return
        did = open_[index % len(open_)]
        d = self.diagnoses[did]
        tool = any_step if poke else d.next_tool
        assert tool is not None
        self._perform(Call(d.owner, tool, {"diagnosis_id": did}))

    @rule(data=st.data())
    def keep_at_it(self, data: st.DataObject) -> None:
        """The same as ``follow_next_step``: a second rule for it, so an agent mostly keeps to
        its diagnoses (hypothesis draws rules evenly) and reaches reports within an example,
        while the other rules still interleave noise."""
        self.follow_next_step(data)

    @rule(data=st.data())
    def two_at_once(self, data: st.DataObject) -> None:
        """Two calls concurrently, often on the same diagnosis (and owner or not)."""
        first = self._pick_call(data)
        if data.draw(st.booleans(), label="same diagnosis") and "diagnosis_id" in first.args:
            owner = data.draw(st.sampled_from(OWNERS), label="second owner")
            tool = data.draw(st.sampled_from(ID_TOOLS), label="second tool")
            second = Call(owner, tool, {"diagnosis_id": first.args["diagnosis_id"]})
        else:
            second = self._pick_call(data, diagnose=False)
        self._perform(first, second)

    @rule()
    def settle(self) -> None:
        """Let the collectors already started finish (no-op when none runs)."""
        started = time.monotonic()
        self.w.sim.wait_for_invocations(timeout=5)
        self.w.seconds["settle"] += time.monotonic() - started
        self.w.steps["settle"] += 1
        self.w.steps["steps"] += 1

    @invariant()
    def nothing_failed_inside(self) -> None:
        assert not self.w.errors.records, self.w.errors.problems()


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


@pytest.fixture(scope="module")
def agent_world(sim: SimulatorServer) -> Iterator[World]:
    global WORLD
    errors = ErrorLog()
    root = logging.getLogger()
    root.addHandler(errors)
    try:
        with (
            serving(sim, fuzz_settings(sim)) as url,
            portal() as p,
            p.wrap_async_context_manager(authorized(url, ALPHA, "legacy")) as alpha,
            p.wrap_async_context_manager(authorized(url, BETA, "auto")) as beta,
        ):
            WORLD = World(p, {"alpha": alpha, "beta": beta}, sim, errors)
            yield WORLD
    finally:
        WORLD = None
        root.removeHandler(errors)


def test_a_random_agent_never_breaks_an_invariant(agent_world: World) -> None:
    started = time.monotonic()
    steps = agent_world.steps
    while steps["steps"] < FUZZ_STEPS:  # hypothesis ends some examples early: top up
        left = FUZZ_STEPS - steps["steps"]
        run_state_machine_as_test(
            RandomAgent,
            settings=settings(
                max_examples=max(1, -(-left // STEPS_PER_EXAMPLE)),
                stateful_step_count=STEPS_PER_EXAMPLE,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                # the world (server, simulator, diagnoses) lives across examples, so a replay
                # cannot draw the same data: generate only, and report a broken invariant as it
                # happened (the steps leading to it are printed) instead of shrinking it
                phases=[Phase.generate],
            ),
        )
    print(f"{steps['steps']} steps in {time.monotonic() - started:.1f} s")
    print(dict(steps), {k: round(v, 2) for k, v in agent_world.seconds.items()})
    assert steps["steps"] >= FUZZ_STEPS, dict(steps)
    # the agent got everywhere: guest runs, reports, stolen ids refused
    for reached in ("guest_runs", "refused_foreign", f"ok {REPORT}", f"ok {RUN}"):
        assert steps[reached] > 0, dict(steps)
