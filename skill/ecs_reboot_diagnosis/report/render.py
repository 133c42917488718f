"""Render a :class:`Report` as Markdown (output-format.md, English or Chinese) or as JSON.

- :func:`render_markdown` fills ``templates/<os>.md.j2`` (one template per OS; every label comes
  from the string catalog, so both languages share one structure).
- :func:`render_json` is the report itself; :func:`load_report` reads it back.
"""

from __future__ import annotations

import json
from functools import cache

import jinja2
from pydantic import ValidationError

from ecs_reboot_diagnosis.errors import DiagnosisError
from ecs_reboot_diagnosis.models import LANGS, SCHEMA_VERSION, Lang, Report
from ecs_reboot_diagnosis.report.catalog import Catalog, load_catalog
from ecs_reboot_diagnosis.report.markdown import Md, inline
from ecs_reboot_diagnosis.report.view import build_view
from ecs_reboot_diagnosis.text_safety import strip_controls, strip_controls_deep

TEMPLATE_NAMES = {"linux": "linux.md.j2", "windows": "windows.md.j2"}
MAX_ERRORS_SHOWN = 5


class ReportLoadError(DiagnosisError):
    """The text is not a stored report (not JSON, or not the shape of :class:`Report`)."""


def _finalize(value: object) -> object:
    """Every ``{{ ... }}`` passes here: trusted Markdown as is, any other string escaped."""
    if isinstance(value, Md):
        return value
    if isinstance(value, bool) or value is None:
        raise TypeError(f"template value {value!r} must be formatted by the view, not printed")
    if isinstance(value, str):
        return inline(value)
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"template value of type {type(value).__name__} cannot be printed")


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("ecs_reboot_diagnosis.report", "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=_finalize,
    )


def render_markdown(report: Report, lang: Lang, *, catalog: Catalog | None = None) -> str:
    """The report as Markdown in ``lang``, following the OS variant of output-format.md."""
    if lang not in LANGS:
        raise ValueError(f"unsupported report language {lang!r}; expected one of {LANGS}")
    strings = catalog if catalog is not None else load_catalog()
    view = build_view(report, lang, strings)

    def t(key: str, **params: str | int) -> Md:
        return strings.text(key, lang, **params)

    template = _environment().get_template(TEMPLATE_NAMES[report.instance.os_type])
    text = template.render(
        v=view,
        t=t,
        colon=strings.text("punct.colon", lang),
        colon_end=strings.text("punct.colon_end", lang),
    )
    # the escapers clean every untrusted value; this pass guarantees the whole document
    return strip_controls("\n".join(line.rstrip() for line in text.splitlines()) + "\n")


def render_json(report: Report) -> str:
    """The report as JSON (field aliases such as ``zh-CN``); :func:`load_report` reads it back.
    Control characters of guest and API text are removed, as from every output."""
    clean = Report.model_validate(strip_controls_deep(report.model_dump()))
    return clean.model_dump_json(indent=2, by_alias=True)


def load_report(text: str | bytes) -> Report:
    """Parse a report written by :func:`render_json`; :class:`ReportLoadError` says what's wrong."""
    hint = "Pass the JSON written by render_json (e.g. the diagnose command's --format json)."
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReportLoadError(f"The report is not valid JSON: {exc}.", hint=hint) from None
    if not isinstance(data, dict):
        raise ReportLoadError(
            f"The report must be a JSON object, not {type(data).__name__}.", hint=hint
        )
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise ReportLoadError(
            f"The report has schema_version {version!r}; this tool reads version {SCHEMA_VERSION}.",
            hint="Render it with the tool version that wrote it.",
        )
    try:
        return Report.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        ]
        shown = "; ".join(problems[:MAX_ERRORS_SHOWN])
        hidden = len(problems) - MAX_ERRORS_SHOWN
        more = f" (and {hidden} more)" if hidden > 0 else ""
        raise ReportLoadError(
            f"The report does not have the expected shape: {shown}{more}.", hint=hint
        ) from None
