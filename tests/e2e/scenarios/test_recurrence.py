"""The recurrence line across diagnoses: reports of earlier diagnoses of the same instance, kept
in the SQLite store, feed the report of a new one (s15: a soft lockup panicked the kernel).

The simulator's scenario replays one crash, so two earlier crashes of the same signature are
made from the first real report, moved back one and two weeks; everything else is real: the
service over the simulator through the SDK, the store file reopened as a restarted server
would, the report rendered in both languages."""

from __future__ import annotations

import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from ecs_api_simulator import SimulatorServer
from ecs_reboot_diagnosis.diagnosis import new_diagnosis_id
from ecs_reboot_diagnosis.models import Report
from ecs_reboot_diagnosis.report.render import load_report, render_markdown
from ecs_reboot_diagnosis.report.view import format_time
from ecs_reboot_diagnosis.service import DiagnosisService
from ecs_reboot_diagnosis_mcp.app import build_gateway, build_service
from ecs_reboot_diagnosis_mcp.cli import main
from ecs_reboot_diagnosis_mcp.settings import Settings

pytestmark = pytest.mark.anyio

SOFTLOCKUP = ("i-bp1seed15softlockup", "cn-hangzhou")
SIGNATURE = "soft_lockup | softlockup: hung tasks | native_queued_spin_lock_slowpath"


def service(sim: SimulatorServer, store: Path) -> DiagnosisService:
    """A service as a (re)started server builds it, on the store file ``store``."""
    settings = Settings(store=f"sqlite://{store}", endpoint=sim.url, wait_deadline_s=60.0)
    keys = {"access_key_id": sim.access_key_id, "access_key_secret": sim.access_key_secret}
    return build_service(settings, build_gateway(settings, **keys))


def earlier_copy(svc: DiagnosisService, report: Report, back: timedelta) -> None:
    """Keep in the store a finished diagnosis of the same crash, ``back`` earlier."""
    d = svc.status(report.diagnosis_id, owner="")
    assert report.guest is not None and report.guest.target_reboot is not None
    guest = report.guest.model_copy(update={"target_reboot": report.guest.target_reboot - back})
    moved = report.model_copy(
        update={"generated_at": report.generated_at - back, "guest": guest, "history": None}
    )
    copy = d.model_copy(update={"id": new_diagnosis_id(), "report": None, "revision": 0})
    svc.store.add(copy)
    svc.store.put(copy.model_copy(update={"report": moved}))


async def test_earlier_reports_of_the_instance_feed_the_recurrence_line(
    bundled_sim: SimulatorServer, tmp_path: Path
) -> None:
    store = tmp_path / "diagnoses.sqlite3"
    first = service(bundled_sim, store)
    report = await first.diagnose(*SOFTLOCKUP, owner="")
    assert report.history is not None and report.history.earlier == []
    assert report.history.signature == SIGNATURE
    assert "No earlier reboot of this instance was diagnosed in the last 30 days" in (
        render_markdown(report, "en")
    )
    for weeks in (1, 2):
        earlier_copy(first, report, timedelta(weeks=weeks))

    again = await service(bundled_sim, store).diagnose(*SOFTLOCKUP, owner="")  # a new process
    assert again.history is not None
    # the first diagnosis explained this same reboot: a re-diagnosis is not a recurrence
    assert [p.signature for p in again.history.earlier] == [SIGNATURE, SIGNATURE]
    en, zh = render_markdown(again, "en"), render_markdown(again, "zh-CN")
    assert (
        "Recurrence: the 3rd kernel crash with this cause signature on this instance in 30 "
        f"days (`{SIGNATURE}`)" in en
    )
    assert f"重复发生：这是本实例 30 天内第 3 次出现具有该原因特征的内核崩溃（`{SIGNATURE}`）" in zh
    assert "Earlier reboots of this instance diagnosed in the last 30 days" in en
    assert "最近 30 天内诊断过的本实例更早的重启" in zh
    target = report.guest.target_reboot if report.guest else None
    assert target is not None
    for weeks in (1, 2):
        stamp = format_time(target - timedelta(weeks=weeks))
        assert f"{stamp}: kernel crash (`{SIGNATURE}`)" in en
        assert f"{stamp}：内核崩溃（`{SIGNATURE}`）" in zh

    # owner-scoped: another caller's diagnosis of the same instance sees none of it
    theirs = await service(bundled_sim, store).diagnose(*SOFTLOCKUP, owner="beta")
    assert theirs.history is not None and theirs.history.earlier == []


def test_the_cli_keeps_its_diagnoses_in_the_state_directory_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ECS_DIAG_STORE")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    argv = ["diagnose", "--simulator", "--instance-id", SOFTLOCKUP[0], "--region", SOFTLOCKUP[1],
            "--format", "json"]  # fmt: skip
    assert main(argv) == 0
    first = load_report(capsys.readouterr().out)
    path = tmp_path / "ecs-reboot-diagnosis" / "diagnoses.sqlite3"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert main(argv) == 0  # a second run, a new simulator: the same reboot again
    second = load_report(capsys.readouterr().out)
    with sqlite3.connect(path) as conn:
        kept = conn.execute("SELECT diagnosis_id FROM reports ORDER BY generated_at").fetchall()
    assert [row[0] for row in kept] == [first.diagnosis_id, second.diagnosis_id]
    assert second.history is not None and second.history.window_days == 30
    assert second.history.earlier == []  # a re-diagnosis of one reboot is no recurrence
