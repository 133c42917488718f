"""The domain core never imports the MCP SDK, the Alibaba Cloud SDK or the adapter package."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "skill" / "ecs_reboot_diagnosis"
FORBIDDEN = ("mcp", "alibabacloud_", "ecs_reboot_diagnosis_mcp", "ecs_api_simulator", "Tea",
             "darabonba")  # fmt: skip


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def is_forbidden(module: str) -> bool:
    top = module.split(".")[0]
    return any(top == f or (f.endswith("_") and top.startswith(f)) for f in FORBIDDEN)


def test_the_checker_catches_what_it_must() -> None:
    assert is_forbidden("mcp.server.mcpserver")
    assert is_forbidden("alibabacloud_ecs20140526.client")
    assert is_forbidden("ecs_reboot_diagnosis_mcp.cli")
    assert not is_forbidden("ecs_reboot_diagnosis.models")
    assert not is_forbidden("mcpish")


def test_core_imports_nothing_from_the_adapters_or_sdks() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 5
    offenders = [
        f"{path.relative_to(CORE)}: {module}"
        for path in files
        for module in imported_modules(path)
        if is_forbidden(module)
    ]
    assert offenders == []
