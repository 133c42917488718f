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


class GuestClaim(BaseModel):
    """A process's claim to send the guest collector for one diagnosis, written to the store
    (with the revision check) before RunCommand, so that processes sharing the store never both
    send it. Cleared when the invocation is recorded; lapses at ``expires_at`` when its process
    died first (the step may then run again).

    ``client_token``, ``nonce`` and ``log_days`` are the run's RunCommand ClientToken and
    parameters: a run taking over a claim that lapsed (or was let go with its outcome unknown)
    sends them again unchanged, so Cloud Assistant answers with the invocation an earlier send
    created, if any, instead of starting a second one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    claim_id: str
    """Unique to one claim: the claimant recognises its own."""
    holder: str
    """Who claimed (process id and host), for a person reading the store."""
    claimed_at: datetime
    expires_at: datetime
    client_token: str = Field(max_length=64)
    nonce: str = Field(repr=False)
    log_days: int = Field(ge=1)


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
    guest_claim: GuestClaim | None = None
    """Set while a process sends the guest collector (see :class:`GuestClaim`)."""
    report: Report | None = None
    revision: int = Field(default=0, ge=0, repr=False)
    """How many times the store has written this diagnosis since it was added. A write of a copy
    whose revision is not the stored one is refused (another process wrote first)."""
