"""Cause signatures and the history a report mentions (analysis/cause_signature.py,
analysis/recurrence.py), and how the report shows it in both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ecs_reboot_diagnosis.analysis.cause_signature import cause_signature, normalize_reason
from ecs_reboot_diagnosis.analysis.recurrence import history, summarize
from ecs_reboot_diagnosis.models import History, PastDiagnosis, Report, Verdict
from ecs_reboot_diagnosis.report.render import load_report, render_markdown
from ecs_reboot_diagnosis.report.view import ordinal_suffix

REPORTS = Path(__file__).resolve().parents[2] / "fixtures" / "reports"
T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def fixture(name: str) -> Report:
    return load_report((REPORTS / f"{name}.json").read_text(encoding="utf-8"))


# --- signatures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("BUG: soft lockup - CPU#2 stuck for 22s!", "BUG: soft lockup - CPU#N stuck for Ns!"),
        (
            "Attempted to kill init! exitcode=0x0000000b",
            "Attempted to kill init! exitcode=0x0000000b",
        ),
        ("  Fatal   exception\tin interrupt ", "Fatal exception in interrupt"),
        ("x" * 200, "x" * 80),
    ],
)
def test_reasons_lose_their_varying_numbers_only(reason: str, expected: str) -> None:
    assert normalize_reason(reason) == expected


def test_a_kernel_crash_is_its_kind_reason_and_place() -> None:
    report = fixture("s02_linux_panic_vmcore")
    assert cause_signature(report) == (
        "kernel_panic | Kernel panic - not syncing: Fatal exception in interrupt | "
        "nvme_queue_rq [nvme]"
    )
    # the same crash without a dump has the same signature: nothing comes from the triage
    assert cause_signature(report.model_copy(update={"dump_triage": None})) == cause_signature(
        report
    )


def test_another_place_is_another_signature_and_untrusted_findings_name_no_cause() -> None:
    report = fixture("s02_linux_panic_vmcore")
    assert report.guest is not None
    moved = [
        f.model_copy(update={"facts": f.facts.model_copy(update={"rip_module": "virtio_blk"})})
        for f in report.guest.findings
    ]
    other = report.model_copy(update={"guest": report.guest.model_copy(update={"findings": moved})})
    assert cause_signature(other) != cause_signature(report)
    assert "[virtio_blk]" in (cause_signature(other) or "")
    forged = [f.model_copy(update={"trusted": False}) for f in report.guest.findings]
    untrusted = report.model_copy(
        update={"guest": report.guest.model_copy(update={"findings": forged})}
    )
    assert cause_signature(untrusted) == report.conclusion.rule_id


@pytest.mark.parametrize(
    ("name", "signature"),
    [
        ("s01_linux_maintenance_reboot", "event.system_maintenance_reboot"),
        ("s06_windows_bsod_memory_dump", "bugcheck | 0x0000007E"),
        ("s13_linux_sections_missing", "linux.clean_reboot"),
        ("s05_linux_oom_killer", None),  # unknown: no cause, no signature
        ("s10_windows_app_crash", None),  # no abnormal records
    ],
)
def test_signatures_by_verdict(name: str, signature: str | None) -> None:
    assert cause_signature(fixture(name)) == signature


def test_an_api_reboot_names_its_action() -> None:
    report = fixture("s13_linux_sections_missing")
    conclusion = report.conclusion.model_copy(
        update={"verdict": "api_initiated", "rule_id": "linux.api_reboot"}
    )
    assert cause_signature(report.model_copy(update={"conclusion": conclusion})) == (
        "linux.api_reboot"
    )


# --- the history a report mentions ---------------------------------------------------------------


def past(days: float, signature: str | None = "sig", *, verdict: Verdict = "guest_crash",
         incident: bool = True) -> PastDiagnosis:  # fmt: skip
    when = T0 - timedelta(days=days)
    return PastDiagnosis(
        diagnosed_at=when + timedelta(hours=1),
        incident_at=when if incident else None,
        verdict=verdict,
        rule_id="linux.kernel_panic",
        signature=signature,
    )


def with_incident(report: Report, when: datetime) -> Report:
    assert report.guest is not None
    return report.model_copy(
        update={"guest": report.guest.model_copy(update={"target_reboot": when})}
    )


def test_the_history_leaves_out_this_reboot_duplicates_and_causeless_reports() -> None:
    report = with_incident(fixture("s02_linux_panic_vmcore"), T0)
    own = summarize(report)
    assert own.incident_at == T0 and own.signature == cause_signature(report)
    same_reboot = past(0.003, own.signature)  # four minutes before: this very reboot
    week, week_again = past(7, own.signature), past(7.002, own.signature)
    fortnight, causeless, unknown_time = past(14, "other"), past(3, None), past(20, incident=False)
    found = history(report, [fortnight, week_again, causeless, same_reboot, week, unknown_time], 30)
    assert found.window_days == 30 and found.signature == own.signature
    assert found.earlier == [week, fortnight, unknown_time]  # newest first; week_again is week


# --- the report ------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "suffix"), [(1, "st"), (2, "nd"), (3, "rd"), (4, "th"),
                                           (11, "th"), (12, "th"), (13, "th"), (21, "st"),
                                           (102, "nd"), (111, "th")])  # fmt: skip
def test_english_ordinals(n: int, suffix: str) -> None:
    assert ordinal_suffix(n) == suffix


def rendered(report: Report, hist: History) -> tuple[str, str]:
    full = report.model_copy(update={"history": hist})
    return render_markdown(full, "en"), render_markdown(full, "zh-CN")


def test_the_report_counts_the_earlier_reboots_of_its_signature_in_both_languages() -> None:
    report = fixture("s02_linux_panic_vmcore")
    sig = cause_signature(report)
    hist = History(
        window_days=30,
        signature=sig,
        earlier=[past(7, sig), past(12, "other", verdict="platform"), past(14, sig)],
    )
    en, zh = rendered(report, hist)
    assert (
        "Recurrence: the 3rd kernel crash with this cause signature on this instance in 30 days "
        f"(`{sig}`)" in en
    )
    assert f"重复发生：这是本实例 30 天内第 3 次出现具有该原因特征的内核崩溃（`{sig}`）" in zh
    assert "- Earlier reboots of this instance diagnosed in the last 30 days\n" in en
    assert "  - 2026-11-08 03:00:00 UTC: reboot by a platform event (`other`)" in en
    assert "  - 2026-11-08 03:00:00 UTC：平台事件导致的重启（`other`）" in zh


def test_a_history_without_this_signature_lists_without_a_recurrence_line() -> None:
    report = fixture("s01_linux_maintenance_reboot")  # no guest evidence: still shown
    en, zh = rendered(report, History(window_days=7, signature="event.x", earlier=[past(2)]))
    assert "Recurrence" not in en and "重复发生" not in zh
    assert "Earlier reboots of this instance diagnosed in the last 7 days" in en
    en, zh = rendered(report, History(window_days=7, signature="event.x"))
    assert "No earlier reboot of this instance was diagnosed in the last 7 days" in en
    assert "最近 7 天内没有诊断过本实例更早的重启" in zh


def test_a_report_without_a_history_says_nothing_of_it() -> None:
    report = fixture("s02_linux_panic_vmcore")
    assert report.history is None
    en = render_markdown(report, "en")
    assert "diagnosed in the last" not in en and "Recurrence: the" not in en


def test_signatures_from_guest_text_cannot_forge_markdown() -> None:
    report = fixture("s02_linux_panic_vmcore")
    hostile = "oops | `x` [evil](http://e) \n## Heading"
    en, _ = rendered(report, History(window_days=30, signature=hostile, earlier=[past(3, hostile)]))
    assert "\n## Heading" not in en
    span = "``oops | `x` [evil](http://e) ## Heading``"  # one line, in a code span every time
    assert en.count(span) == en.count("[evil](http://e)") == 2
