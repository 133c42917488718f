"""Property-based fuzzing of every tool's arguments through the SDK's real in-process Client:
random strings, numbers, nulls, lists, missing and extra fields for each of the 11 tools. The
server never answers with a traceback or an internal error, and a bad argument is a tool error
that names what to do: a tool to call, or the field to fix."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from ecs_api_simulator import SimulatorServer
from ecs_reboot_diagnosis.diagnosis import DIAGNOSIS_ID_PATTERN
from ecs_reboot_diagnosis_mcp.mcp_server import build_server
from tests.e2e.mcp.fuzz_harness import (
    TOOLS,
    ErrorLog,
    assert_clean,
    build_fuzz_service,
    fuzz_settings,
    portal,
    refusal,
)

FIELDS: dict[str, tuple[str, ...]] = {
    tool: ("diagnosis_id",) for tool in TOOLS if tool not in ("ecs_start_diagnosis",)
}
FIELDS["ecs_start_diagnosis"] = ("instance_id", "region_id", "reboot_time")
FIELDS["ecs_diagnose_instance"] = ("instance_id", "region_id", "lang", "reboot_time")
FIELDS["ecs_render_report"] = ("diagnosis_id", "lang")

INSTANCES = ["i-bp1sim0linux0000001", "i-bp1seed02panicvmcore", "i-bp1seed11agentdown"]

scalars = st.one_of(
    st.text(max_size=60),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner)
)
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "diagnosis_id": st.one_of(
        st.from_regex(DIAGNOSIS_ID_PATTERN, fullmatch=True), st.just("d-"), json_values
    ),
    "instance_id": st.one_of(
        st.sampled_from(INSTANCES),
        st.from_regex(r"i-[a-z0-9]{4,40}", fullmatch=True),
        st.just(""),
        json_values,
    ),
    "region_id": st.one_of(
        st.sampled_from(["cn-hangzhou", "cn-beijing", "us-west-1", "", "CN-HANGZHOU"]),
        json_values,
    ),
    "reboot_time": st.one_of(
        st.sampled_from(["", "2h ago", "3d ago", "2999-01-01T00:00Z", "1970-01-01", "yesterday"]),
        json_values,
    ),
    "lang": st.one_of(st.sampled_from(["en", "zh-CN", "fr", "", "EN"]), json_values),
}


@st.composite
def arguments(draw: st.DrawFn, tool: str) -> dict[str, Any]:
    """Each known field present or missing, with a good or a hostile value, plus extra fields."""
    args: dict[str, Any] = {}
    for name in FIELDS[tool]:
        if draw(st.booleans()):
            args[name] = draw(VALUES[name])
    extra = draw(st.dictionaries(st.text(min_size=1, max_size=20), json_values, max_size=2))
    for name, value in extra.items():
        args.setdefault(name, value)
    return args


@pytest.fixture(scope="module")
def fuzz_client(sim: SimulatorServer) -> Iterator[tuple[BlockingPortal, Client]]:
    server = build_server(build_fuzz_service(sim, fuzz_settings(sim)))
    with portal() as p, p.wrap_async_context_manager(Client(server, mode="legacy")) as client:
        yield p, client


@pytest.mark.parametrize("tool", TOOLS)
def test_every_tool_refuses_bad_arguments_with_a_way_forward(
    fuzz_client: tuple[BlockingPortal, Client], tool: str
) -> None:
    p, client = fuzz_client
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    try:

        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(args=arguments(tool))
        def check(args: dict[str, Any]) -> None:
            json.dumps(args)  # what the client sends must be JSON
            result = p.call(client.call_tool, tool, args)
            assert_clean(tool, result)
            if result.is_error:
                body = refusal(tool, result)
                named = [n for n in (*TOOLS, *FIELDS[tool]) if n in body]
                assert named, f"{tool}({args!r}) refused without naming a tool or a field: {body}"
            assert not errors.records, errors.problems()

        check()
    finally:
        logging.getLogger().removeHandler(errors)
