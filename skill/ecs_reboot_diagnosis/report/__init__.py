"""Report rendering: one stored :class:`~ecs_reboot_diagnosis.models.Report`, shown as Markdown
(output-format.md, English or Simplified Chinese) or as JSON."""

from ecs_reboot_diagnosis.report.render import (
    ReportLoadError,
    load_report,
    render_json,
    render_markdown,
)

__all__ = ["ReportLoadError", "load_report", "render_json", "render_markdown"]
