"""The language of a diagnosis over a real MCP client: the server's default (ECS_DIAG_LANG), the
``lang`` argument of the start tools, carried in next_step, the report, tool errors, elicitation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import ElicitRequestFormParams, ElicitRequestParams, ElicitResult

from ecs_reboot_diagnosis_mcp.settings import Settings, SettingsInvalid, load_settings
from tests.e2e.mcp.conftest import LINUX
from tests.e2e.mcp.test_mcp_workflow import MODES, call, structured, text

pytestmark = pytest.mark.anyio


async def walk(client: Client, first: dict[str, object]) -> dict[str, object]:
    """Follow next_step from a start result to the report; every step names the language."""
    result = first
    langs = []
    while result.get("next_step"):
        step = result["next_step"]
        assert isinstance(step, dict)
        arguments = dict(step["arguments"])
        if step["tool"] == "ecs_render_report":
            langs.append(arguments["lang"])
        result = structured(await call(client, step["tool"], **arguments))
    assert langs, "the walk never reached ecs_render_report"
    result["next_step_langs"] = langs
    return result


@pytest.mark.parametrize("mode", MODES)
async def test_the_server_default_is_chinese_with_ecs_diag_lang(
    make_server: Callable[..., MCPServer], mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECS_DIAG_LANG", "zh-CN")
    assert Settings().lang == "zh-CN"
    async with Client(make_server(lang=Settings().lang), mode=mode) as client:
        start = structured(await call(client, "ecs_start_diagnosis", **LINUX))
        report = await walk(client, start)
        assert report["next_step_langs"] == ["zh-CN"]
        assert report["lang"] == "zh-CN"
        assert "## 诊断结论" in str(report["report_markdown"])
        # a step out of order: the tool error is in the diagnosis's language
        again = await call(client, "ecs_check_platform_events", diagnosis_id=start["diagnosis_id"])
        assert again.is_error and "本次诊断已运行过 ecs_check_platform_events" in text(again)
        # the one-call tool: the report in the default language
        one = structured(await call(client, "ecs_diagnose_instance", **LINUX))
        assert one["lang"] == "zh-CN" and "## 诊断结论" in str(one["report_markdown"])


@pytest.mark.parametrize("mode", MODES)
async def test_lang_of_the_start_tool_wins_over_the_default_and_stays(
    make_server: Callable[..., MCPServer], mode: str
) -> None:
    async with Client(make_server(), mode=mode) as client:
        start = structured(await call(client, "ecs_start_diagnosis", **LINUX, lang="zh-CN"))
        report = await walk(client, start)
        assert report["next_step_langs"] == ["zh-CN"] and report["lang"] == "zh-CN"
        english = structured(
            await call(client, "ecs_render_report", diagnosis_id=start["diagnosis_id"], lang="en")
        )
        assert "## Diagnostic Conclusion" in str(english["report_markdown"])
        unknown = await call(client, "ecs_get_diagnosis_status", diagnosis_id="d-" + "0" * 32)
        assert unknown.is_error and "is unknown" in text(unknown)  # no diagnosis: the default
        one = structured(await call(client, "ecs_diagnose_instance", **LINUX, lang="zh-CN"))
        assert one["lang"] == "zh-CN" and "## 诊断结论" in str(one["report_markdown"])
        assert structured(await call(client, "ecs_diagnose_instance", **LINUX))["lang"] == "en"


@pytest.mark.parametrize("mode", MODES)
async def test_elicitation_and_missing_ids_speak_the_callers_language(
    make_server: Callable[..., MCPServer], mode: str
) -> None:
    asked: list[ElicitRequestParams] = []

    async def on_elicit(context: object, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params)
        return ElicitResult(action="accept", content=dict(LINUX))

    async with Client(make_server(lang="zh-CN"), mode=mode, elicitation_callback=on_elicit) as c:
        result = structured(await call(c, "ecs_start_diagnosis", region_id="cn-hangzhou"))
        assert result["instance"]["instance_id"] == LINUX["instance_id"]
    assert asked and asked[0].message.startswith("缺少 ECS 实例 ID。")
    assert "要诊断哪个 ECS 实例" in asked[0].message
    form = asked[0]
    assert isinstance(form, ElicitRequestFormParams)
    schema = form.requested_schema["properties"]
    assert schema["instance_id"]["description"].startswith("ECS 实例 ID")
    async with Client(make_server(lang="zh-CN"), mode=mode) as client:
        refused = await call(client, "ecs_start_diagnosis", region_id="cn-hangzhou")
        assert refused.is_error and "请向用户询问" in text(refused)
        english = await call(client, "ecs_start_diagnosis", region_id="cn-hangzhou", lang="en")
        assert english.is_error and "Ask the user" in text(english)


@pytest.mark.parametrize("mode", MODES)
async def test_a_cloud_error_of_a_chinese_diagnosis_is_chinese(
    make_server: Callable[..., MCPServer], mode: str
) -> None:
    denied = {"instance_id": "i-bp1seed17ramdenied", "region_id": "cn-hangzhou"}
    async with Client(make_server(), mode=mode) as client:
        for lang, said in (
            ("zh-CN", "当前身份缺少 RAM 权限 ecs:DescribeInstanceHistoryEvents"),
            ("en", "lacks the RAM permission ecs:DescribeInstanceHistoryEvents"),
        ):
            start = structured(await call(client, "ecs_start_diagnosis", **denied, lang=lang))
            failed = await call(
                client, "ecs_check_platform_events", diagnosis_id=start["diagnosis_id"]
            )
            assert failed.is_error and said in text(failed), text(failed)
            assert "Forbidden.RAM" in text(failed)  # the API's code stays as it is


def test_an_unknown_ecs_diag_lang_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECS_DIAG_LANG", "fr")
    with pytest.raises(SettingsInvalid, match="ECS_DIAG_LANG=fr: must be en or zh-CN"):
        load_settings()
