"""The stored record of one diagnosis: its workflow state and everything collected so far."""

from __future__ import annotations

import secrets
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from ecs_reboot_diagnosis.models import (
    ApiCall,
    CloudAssistantStatus,
    ConsoleEvidence,
    DumpAdvice,
    DumpTriage,
    EventVerdict,
    GuestEvidence,
    GuestRun,
    InstanceFacts,
    Lang,
    MetricSummary,
    Report,
    ScreenshotInfo,
    Skip,
    SourceNote,
)
from ecs_reboot_diagnosis.workflow import WorkflowState

DIAGNOSIS_ID_PATTERN = r"^d-[0-9a-f]{32}$"


def new_diagnosis_id() -> str:
    """``d-`` followed by 128 random bits in hex: unguessable, so ids cannot be enumerated."""
    return "d-" + secrets.token_hex(16)


class Diagnosis(BaseModel):
    """Immutable: each step stores a new copy made with ``model_copy(update=...)``."""

    # bytes (the screenshot) as Base64 in JSON, so a stored diagnosis round-trips exactly
    model_config = ConfigDict(
        frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64"
    )

    id: str = Field(pattern=DIAGNOSIS_ID_PATTERN)
    owner: str = Field(default="", repr=False)
    """Who may use this diagnosis: an opaque caller identity from the adapter ("" = anyone
    on a transport without identities, such as stdio or the CLI)."""
    created_at: datetime
    updated_at: datetime
    workflow: WorkflowState
    instance: InstanceFacts
    reboot_time: datetime | None = None
    """The time of the reboot the user asked about (UTC), when given at the start."""
    lang: Lang = "en"
    """The language of this diagnosis: of its report by default, of the tool errors and of the
    ``lang`` argument its ``next_step`` names (set at the start, else the server's default)."""
    events: EventVerdict | None = None
    cloud_assistant: CloudAssistantStatus | None = None
    guest_run: GuestRun | None = None
    guest_nonce: str = Field(default="", repr=False)
    guest: GuestEvidence | None = None
    dump_triage: DumpTriage | None = None
    dump_advice: DumpAdvice | None = None
    api_calls: tuple[ApiCall, ...] | None = None
    metrics: tuple[MetricSummary, ...] | None = None
    console: ConsoleEvidence | None = None
    screenshot: ScreenshotInfo | None = None
    screenshot_png: bytes = Field(default=b"", repr=False)
    unavailable: tuple[SourceNote, ...] = ()
    skipped: tuple[Skip, ...] = ()
    manual_steps: tuple[str, ...] = ()
    report: Report | None = None
    revision: int = Field(default=0, ge=0, repr=False)
    """How many times the store has written this diagnosis since it was added. A write of a copy
    whose revision is not the stored one is refused (another process wrote first)."""
