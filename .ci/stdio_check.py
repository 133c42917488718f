"""An MCP client over stdio against a server command, as a client config starts it:

    python .ci/stdio_check.py uvx --from dist/ecs_reboot_diagnosis-0.1.0-py3-none-any.whl \\
        ecs-reboot-diagnosis serve --simulator

Lists the tools, runs the one-call diagnosis of the simulator's Linux instance and checks that a
report came back. Exits non-zero with the reason otherwise. The server gets the environment
without proxy variables (the simulator is on loopback)."""

from __future__ import annotations

import json
import os
import sys

import anyio
from mcp import Client, StdioServerParameters

INSTANCE = {"instance_id": "i-bp1sim0linux0000001", "region_id": "cn-hangzhou"}
WORKFLOW = {"ecs_start_diagnosis", "ecs_diagnose_instance", "ecs_render_report"}


async def check(command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    params = StdioServerParameters(command=command[0], args=command[1:], env=env)
    with anyio.fail_after(180):
        await talk(params)


async def talk(params: StdioServerParameters) -> None:
    async with Client(params) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        missing = WORKFLOW - tools
        if missing:
            raise SystemExit(f"stdio: tools/list lacks {sorted(missing)}: {sorted(tools)}")
        result = await client.call_tool("ecs_diagnose_instance", {**INSTANCE, "lang": "en"})
        texts = [getattr(block, "text", "") for block in result.content]
        everything = "\n".join([*texts, json.dumps(result.structured_content or {})])
        if result.is_error or "Diagnostic Conclusion" not in everything:
            raise SystemExit(f"stdio: ecs_diagnose_instance gave no report: {everything[:1000]}")
    print(f"   {len(tools)} tools listed; ecs_diagnose_instance returned a report")


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    anyio.run(check, sys.argv[1:])


if __name__ == "__main__":
    main()
