"""Report rendering: one stored :class:`~ecs_reboot_diagnosis.models.Report`, shown as Markdown
(output-format.md, English or Simplified Chinese) or as JSON.

The renderer (jinja2) loads on first use of these names, so that importing a sibling module
(the fleet's line renderer, the Markdown escapes) does not pay for it at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecs_reboot_diagnosis.report.render import (
        ReportLoadError,
        load_report,
        render_json,
        render_markdown,
    )

__all__ = ["ReportLoadError", "load_report", "render_json", "render_markdown"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ecs_reboot_diagnosis.report import render

        return getattr(render, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
