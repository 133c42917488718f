"""The documents say what the code does: README.md, SKILL.md and references/ name every tool (as
the live MCP server lists them), every ECS_DIAG_* setting, every report section (as the templates
render them, in both languages) and every exit code, and nothing that does not exist. The sample
errors in references/ram-policy.md are the text the product prints.

Other work adding a tool, a setting or a section fails here until the documents say so: that is
the point.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from ecs_api_simulator import SimulatorServer
from ecs_reboot_diagnosis.clock import SystemClock
from ecs_reboot_diagnosis.models import LANGS, Lang
from ecs_reboot_diagnosis.report.catalog import load_catalog
from ecs_reboot_diagnosis.service import DiagnosisService, ServiceConfig
from ecs_reboot_diagnosis.store import InMemoryDiagnosisStore
from ecs_reboot_diagnosis_mcp.app import build_gateway, build_service
from ecs_reboot_diagnosis_mcp.cli_errors import EXIT_CODES
from ecs_reboot_diagnosis_mcp.mcp_server import build_server
from ecs_reboot_diagnosis_mcp.settings import Settings, documented_variables
from tests.support.memory_gateway import MemoryGateway

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SKILL = ROOT / "SKILL.md"
REFERENCES = sorted((ROOT / "references").glob("*.md"))
DOCS = [README, SKILL, *REFERENCES]
TEMPLATES = ROOT / "skill" / "ecs_reboot_diagnosis" / "report" / "templates"
CODE_DIRS = [ROOT / "skill", ROOT / "server", ROOT / "tests", ROOT / "benchmarks", ROOT / ".ci"]
PACKAGES = {"ecs_reboot_diagnosis", "ecs_reboot_diagnosis_mcp", "ecs_api_simulator"}

TOOL_NAME = re.compile(r"\becs_[a-z]+(?:_[a-z]+)+\b")
VARIABLE = re.compile(r"\bECS_DIAG_[A-Z0-9_]*[A-Z0-9]\b")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


async def live_tools() -> set[str]:
    """The tools the MCP server lists (guest commands on: every tool)."""
    clock = SystemClock()
    service = DiagnosisService(MemoryGateway(), InMemoryDiagnosisStore(clock), clock,
                               ServiceConfig())  # fmt: skip
    async with Client(build_server(service)) as client:
        return {t.name for t in (await client.list_tools()).tools}


# --- tools ----------------------------------------------------------------------------------


async def test_readme_and_skill_name_every_tool() -> None:
    tools = await live_tools()
    assert len(tools) >= 10
    for doc in (README, SKILL):
        missing = sorted(t for t in tools if f"`{t}" not in text(doc))
        assert not missing, f"{rel(doc)} does not name {missing}"


async def test_no_document_names_a_tool_that_does_not_exist() -> None:
    tools = await live_tools()
    for doc in DOCS:
        named = set(TOOL_NAME.findall(text(doc))) - PACKAGES
        unknown = sorted(named - tools)
        assert not unknown, f"{rel(doc)} names tools the server does not have: {unknown}"


async def test_every_prompt_argument_is_described() -> None:
    clock = SystemClock()
    service = DiagnosisService(MemoryGateway(), InMemoryDiagnosisStore(clock), clock,
                               ServiceConfig())  # fmt: skip
    async with Client(build_server(service)) as client:
        prompts = (await client.list_prompts()).prompts
    arguments = [a for p in prompts for a in p.arguments or []]
    assert {a.name for a in arguments} >= {"instance_id", "region_id"}
    for argument in arguments:
        assert argument.description and len(argument.description) > 20, argument.name


# --- ECS_DIAG_* -------------------------------------------------------------------------------


def variables_in_code() -> set[str]:
    """Every ECS_DIAG_* name the code reads or sets (settings, tests, benchmarks, scripts)."""
    found = set(documented_variables())
    for base in CODE_DIRS:
        for path in base.rglob("*"):
            if path.suffix in (".py", ".sh", ".ps1", ".toml") or path.name == "run":
                found |= set(VARIABLE.findall(path.read_text(encoding="utf-8", errors="replace")))
    return found


def test_readme_documents_every_setting() -> None:
    readme = text(README)
    missing = [name for name in documented_variables() if f"`{name}" not in readme]
    assert not missing, f"README.md does not document {missing}"


def test_no_document_names_a_variable_that_does_not_exist() -> None:
    known = variables_in_code()
    for doc in DOCS:
        unknown = sorted(set(VARIABLE.findall(text(doc))) - known)
        assert not unknown, f"{rel(doc)} names variables nothing reads: {unknown}"


def test_every_setting_is_a_field_of_the_settings_model() -> None:
    """The control of the two tests above: the names come from the model."""
    names = documented_variables()
    assert len(names) == len(Settings.model_fields) - 1  # all but the internal "simulated"
    assert "ECS_DIAG_EVENT_WINDOW_DAYS" in names


# --- report sections --------------------------------------------------------------------------

_LINE = re.compile(
    r'^(?P<prefix>#{2,3} |\*\*)\{\{ t\("(?P<key>[a-z0-9_.]+)"[^)]*\) \}\}'
    r"(?P<colon>\{\{ colon_end \}\}\*\*)?$"
)


def outline(os_name: str, lang: Lang) -> list[str]:
    """The template's headings and bold block labels in order, as they render (a label's
    placeholder shown as ``{name}``), with the ``---`` rules."""
    catalog = load_catalog()
    colon = catalog.raw("punct.colon_end", lang)
    lines: list[str] = []
    for line in text(TEMPLATES / f"{os_name}.md.j2").splitlines():
        if line.strip() == "---":
            lines.append("---")
            continue
        match = _LINE.match(line.strip())
        if match is None:
            continue
        label = catalog.raw(match["key"], lang)
        if match["prefix"] == "**":
            lines.append(f"**{label}{colon}**")
        else:
            lines.append(f"{match['prefix']}{label}")
    return lines


OUTLINES = {
    ("linux", "en"): "## Linux outline",
    ("windows", "en"): "## Windows outline",
    ("linux", "zh-CN"): "## 中文报告结构（Linux）",
    ("windows", "zh-CN"): "## 中文报告结构（Windows）",
}


def documented_outline(heading: str) -> list[str]:
    doc = text(ROOT / "references" / "report-format.md")
    start = doc.index(heading + "\n")
    block = re.search(r"```\n(.*?)\n```", doc[start:], re.S)
    assert block is not None, heading
    return block.group(1).splitlines()


@pytest.mark.parametrize(("os_name", "lang"), list(OUTLINES))
def test_report_format_gives_each_outline_as_rendered(os_name: str, lang: Lang) -> None:
    expected = outline(os_name, lang)
    assert sum(line.startswith("#") for line in expected) >= 8
    assert documented_outline(OUTLINES[(os_name, lang)]) == expected


def test_sections_named_in_prose_exist() -> None:
    """A section named in prose ("the section **The Reboot Explained**") is a heading the
    templates render, in one of the languages."""
    headings = {
        line.split(" ", 1)[1]
        for os_name in ("linux", "windows")
        for lang in LANGS
        for line in outline(os_name, lang)
        if line.startswith("#")
    }
    corpus = "\n".join(text(doc) for doc in DOCS)
    named = re.findall(r"[Ss]ection \*\*([^*]+)\*\*", corpus)
    assert named, "no section is named in prose"
    assert not sorted(set(named) - headings)


# --- exit codes ---------------------------------------------------------------------------------


def test_readme_gives_the_exit_code_table() -> None:
    readme = text(README)
    table = readme[readme.index("### Exit codes") :]
    rows = dict(re.findall(r"^\| `(\d+)` \| (.+?) \|$", table, re.M))
    assert {int(code) for code in rows} == set(EXIT_CODES)
    for code, meaning in rows.items():
        assert meaning.replace("`", "") == EXIT_CODES[int(code)], code


# --- the sample errors of ram-policy.md ---------------------------------------------------------

REQUEST_ID = re.compile(r"RequestId [0-9A-F-]{36}")
DOC_REQUEST_ID = "RequestId 7B0D3E1C-5F2A-4C8E-9A61-2D4F8B7C3E90"
FORBIDDEN_MESSAGE = (
    "User not authorized to operate on the specified resource, or this API doesn't support RAM."
)


@pytest.fixture(scope="module")
def denying_sim() -> Iterator[SimulatorServer]:
    """A simulator where DescribeInstanceHistoryEvents is denied, as the real API denies it."""
    with SimulatorServer() as sim:
        sim.inject_fault("DescribeInstanceHistoryEvents", "Forbidden.RAM", status=403,
                         message=FORBIDDEN_MESSAGE, times=None)  # fmt: skip
        yield sim


def sample_blocks() -> list[str]:
    doc = text(ROOT / "references" / "ram-policy.md")
    section = doc[doc.index("## What a denial looks like") :]
    return [b.strip() for b in re.findall(r"```\n(.*?)```", section, re.S)]


def test_the_cli_sample_is_what_the_cli_prints(denying_sim: SimulatorServer) -> None:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env = {k: v for k, v in env.items() if not k.startswith("ECS_DIAG_")}
    env |= {
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": denying_sim.access_key_id,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": denying_sim.access_key_secret,
    }
    done = subprocess.run(
        [sys.executable, "-m", "ecs_reboot_diagnosis_mcp", "diagnose", "--endpoint",
         denying_sim.url, "--instance-id", "i-bp1sim0linux0000001", "--region", "cn-hangzhou"],
        env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    printed = REQUEST_ID.sub(DOC_REQUEST_ID, done.stderr.strip())
    assert printed in sample_blocks(), printed


async def test_the_tool_error_sample_is_what_the_model_reads(denying_sim: SimulatorServer) -> None:
    settings = Settings().model_copy(update={"endpoint": denying_sim.url, "simulated": True})
    keys: dict[str, Any] = {
        "access_key_id": denying_sim.access_key_id,
        "access_key_secret": denying_sim.access_key_secret,
    }
    server = build_server(build_service(settings, build_gateway(settings, **keys)))
    async with Client(server) as client:
        started = await client.call_tool(
            "ecs_start_diagnosis",
            {"instance_id": "i-bp1sim0linux0000001", "region_id": "cn-hangzhou"},
        )
        assert started.structured_content is not None
        did = started.structured_content["diagnosis_id"]
        denied = await client.call_tool("ecs_check_platform_events", {"diagnosis_id": did})
    assert denied.is_error
    first = denied.content[0]
    said = REQUEST_ID.sub(DOC_REQUEST_ID, first.text if hasattr(first, "text") else "")
    assert said in sample_blocks(), said
