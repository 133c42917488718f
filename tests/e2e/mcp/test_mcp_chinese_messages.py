"""A zh-CN diagnosis speaks Chinese beside its report too, through a real MCP client: progress
notifications, log notifications of every step, the one-call tool's deadline error, a refused
reboot_time, an elicitation the user declined, an unknown diagnosis resource (issue 15,
"Chinese all the way").

Each text is held to :func:`tests.support.chinese_text.is_chinese`: Chinese in it, no run of
English product words, no bare status (``执行中（Running）``, never ``Running``), one colon a
sentence. (A tool error starts with the SDK's own ``Error executing tool NAME:``, which the
server cannot word; the check reads what follows it.) A Cloud Assistant run made slow in the
simulator against a 1 s deadline gives the wait and the deadline in a few seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import ElicitRequestParams, ElicitResult, LoggingMessageNotificationParams

from tests.e2e.mcp.conftest import LINUX
from tests.e2e.mcp.fuzz_harness import refusal
from tests.e2e.mcp.test_mcp_random_agent import KEPT
from tests.e2e.mcp.test_mcp_waiting import slow_run_server
from tests.e2e.mcp.test_mcp_workflow import MODES, call, structured
from tests.support.chinese_text import doubled_colons, is_chinese, untranslated

pytestmark = pytest.mark.anyio
ZH = {**LINUX, "lang": "zh-CN"}


class Heard:
    """What the client was sent besides results: progress messages and log lines."""

    def __init__(self) -> None:
        self.progress: list[str] = []
        self.logs: list[str] = []

    async def on_log(self, params: LoggingMessageNotificationParams) -> None:
        self.logs.append(str(params.data))

    async def on_progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.progress.append(message or "")

    def english(self) -> list[str]:
        return [m for m in self.progress + self.logs if not is_chinese(m)]


def check_chinese(said: str) -> None:
    assert is_chinese(said), f"{untranslated(said)} {doubled_colons(said)}: {said}"


async def follow(client: Client, heard: Heard, tool: str, diagnosis_id: str) -> dict[str, Any]:
    """Call ``tool`` and then each next_step up to the report, hearing the notifications."""
    arguments: dict[str, Any] = {"diagnosis_id": diagnosis_id}
    while True:
        result = await client.call_tool(tool, arguments, progress_callback=heard.on_progress)
        data = structured(result)
        step = data.get("next_step")
        if not step:
            return data
        tool, arguments = step["tool"], dict(step["arguments"])


@pytest.mark.parametrize("mode", MODES)
async def test_a_chinese_diagnosis_notifies_and_stops_at_its_deadline_in_chinese(
    mode: str,
) -> None:
    heard = Heard()
    with slow_run_server(2.0, wait_deadline_s=1.0) as server:
        async with Client(
            server, mode=mode, logging_callback=heard.on_log, log_level="info"
        ) as client:
            # the one-call tool: its progress, its step logs, then its deadline error
            stopped = await client.call_tool(
                "ecs_diagnose_instance", ZH, progress_callback=heard.on_progress
            )
            assert stopped.is_error
            said = refusal("ecs_diagnose_instance", stopped)
            check_chinese(said)
            assert "仍在运行" in said and "已保留" in said, said
            found = KEPT.search(said)  # the random agent's reading of it
            assert found is not None and found.group(2), said
            did = found.group(2)
            assert f"ecs_get_guest_results(diagnosis_id='{did}')" in said
            # the progress went as far as the wait for the guest, in Chinese
            assert any("云助手调用" in m for m in heard.progress), heard.progress
            assert any(m.startswith("ecs_diagnose_instance 第 1/") for m in heard.logs)
            # the call it names leads to the report; the steps' logs are Chinese
            report = await follow(client, heard, "ecs_get_guest_results", did)
            assert report["lang"] == "zh-CN" and "## 诊断结论" in report["report_markdown"]

            # the step tools, one by one: each one's log line
            start = structured(await call(client, "ecs_start_diagnosis", **ZH))
            structured(
                await call(
                    client, "ecs_collect_agentless_evidence", diagnosis_id=start["diagnosis_id"]
                )
            )
            await follow(client, heard, "ecs_check_platform_events", start["diagnosis_id"])
    tools = {line.split("：")[0].split(" ")[0] for line in heard.logs}
    assert tools >= {
        "ecs_diagnose_instance", "ecs_start_diagnosis", "ecs_collect_agentless_evidence",
        "ecs_check_platform_events", "ecs_check_cloud_assistant", "ecs_run_guest_diagnostics",
        "ecs_get_guest_results", "ecs_triage_crash_dumps", "ecs_recommend_dump_setup",
        "ecs_render_report",
    }, heard.logs  # fmt: skip
    assert not heard.english(), heard.english()


@pytest.mark.parametrize(
    "bad",
    ["yesterday", "2026-11-30", "soon", "2099-01-01T00:00", "3 fortnights ago", "1h 2h ago"],
)
async def test_a_refused_reboot_time_is_chinese_when_the_call_asks_it(
    make_server: Callable[..., MCPServer], bad: str
) -> None:
    async with Client(make_server()) as client:
        for tool in ("ecs_start_diagnosis", "ecs_diagnose_instance"):
            refused = await call(client, tool, **ZH, reboot_time=bad)
            assert refused.is_error
            said = refusal(tool, refused)
            check_chinese(said)
            assert "reboot_time" in said and "可接受的格式" in said
        english = await call(client, "ecs_start_diagnosis", **LINUX, reboot_time=bad)
        assert english.is_error and "Accepted formats" in refusal("ecs_start_diagnosis", english)


async def test_a_declined_question_and_a_malformed_id_are_answered_in_chinese(
    make_server: Callable[..., MCPServer],
) -> None:
    async def decline(context: object, params: ElicitRequestParams) -> ElicitResult:
        return ElicitResult(action="decline")

    async with Client(make_server(lang="zh-CN"), elicitation_callback=decline) as client:
        declined = await call(client, "ecs_diagnose_instance", region_id="cn-hangzhou")
        said = refusal("ecs_diagnose_instance", declined)
        assert declined.is_error and "用户拒绝了" in said, said
        check_chinese(said)
        malformed = await call(client, "ecs_get_diagnosis_status", diagnosis_id="d-xyz")
        assert malformed.is_error
        check_chinese(refusal("ecs_get_diagnosis_status", malformed))
        # a resource of no diagnosis of the caller's: the server's default language
        with pytest.raises(MCPError) as unknown:
            await client.read_resource("diagnosis://d-" + "0" * 32)
        check_chinese(str(unknown.value))
        assert "ecs_start_diagnosis" in str(unknown.value)
