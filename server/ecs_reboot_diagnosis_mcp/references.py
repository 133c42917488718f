"""The agent-facing documents of references/, found wherever this package was installed from.

In a wheel they are package data (``ecs_reboot_diagnosis_mcp/references``, mapped at build time);
in a source checkout or an editable install they are read from the repository's ``references/``.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2] / "references"


@cache
def references_dir() -> Path:
    packaged = Path(str(files(__package__ or "ecs_reboot_diagnosis_mcp"))) / "references"
    for candidate in (packaged, _CHECKOUT):
        if candidate.is_dir() and any(candidate.glob("*.md")):
            return candidate
    raise FileNotFoundError("the references/ documents are not installed with this package")


def reference_documents() -> dict[str, Path]:
    """Document name (file stem) -> path."""
    return {p.stem: p for p in sorted(references_dir().glob("*.md"))}
