# ruff: noqa: E501 - log lines are test data and keep their real length
"""Boot banners after a boot that nothing ended, localised syslog months, warnings.

Built from real excerpts of the corpus (tests/fixtures/real_logs) and lines copied from public
reports (URLs below).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from ecs_reboot_diagnosis.analysis.findings import analyze_log_text
from ecs_reboot_diagnosis.analysis.log_lines import kernel_message, month_number, parse_syslog_time
from ecs_reboot_diagnosis.analysis.reboot_records import looks_like_wtmp
from ecs_reboot_diagnosis.models import Finding

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "real_logs"
REF = datetime(2025, 3, 21, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def _lines(name: str) -> list[str]:
    return (CORPUS / name).read_text("utf-8").splitlines()


def _by_kind(text: str) -> dict[str, Finding]:
    return {f.kind: f for f in analyze_log_text(text, source="console")}


def test_a_second_boot_with_nothing_ending_the_first_is_an_unexpected_reset() -> None:
    # a console capture of two boots of the same machine (clean_boot-1: a real arm64 boot log)
    boot = _lines("clean_boot-1.log")
    banner = next(n for n, line in enumerate(boot, 1) if "Linux version" in line)
    found = _by_kind("\n".join(boot + boot))
    reset = found["unexpected_shutdown"]
    assert len(boot) + banner in {e.line_no for e in reset.evidence}


def test_a_clean_reboot_before_the_banner_is_no_unexpected_reset() -> None:
    boot, reboot = _lines("clean_boot-1.log"), _lines("clean_reboot-1.log")
    banner = next(n for n, line in enumerate(boot, 1) if "Linux version" in line)
    found = _by_kind("\n".join(boot + reboot + boot))
    assert "clean_reboot" in found
    second = len(boot) + len(reboot) + banner
    # clean_boot-1 replays its journal (a medium-confidence unclean end of the boot before it),
    # but the second banner follows "reboot: Restarting system": it is no reset
    assert second not in {e.line_no for e in found["unexpected_shutdown"].evidence}


def test_a_log_that_starts_with_its_banner_is_no_reset() -> None:
    found = _by_kind("\n".join(_lines("unexpected_shutdown-1.log")[:8]))
    assert found == {}  # one SeaBIOS banner at the top: a boot, not a reset


def test_seabios_reset_loop_is_an_unexpected_shutdown_of_low_confidence() -> None:
    found = _by_kind((CORPUS / "unexpected_shutdown-1.log").read_text("utf-8"))
    assert found["unexpected_shutdown"].confidence == "low"


def test_localised_month_names() -> None:
    # https://github.com/systemd/systemd/issues/21966 (French journal)
    fr = "janv. 02 11:57:14 vtt systemd[1]: Stopped Permit User Sessions."
    assert parse_syslog_time(fr, REF) == datetime(2025, 1, 2, 11, 57, 14, tzinfo=REF.tzinfo)
    assert kernel_message(fr) == ("systemd", "Stopped Permit User Sessions.")
    # tests/fixtures/real_logs/clean_shutdown-3.log (German journal)
    de = _lines("clean_shutdown-3.log")[0]
    assert parse_syslog_time(de, REF) == datetime(2025, 3, 15, 16, 50, 40, tzinfo=REF.tzinfo)
    table = {"Mär": 3, "Okt": 10, "Dez": 12, "déc.": 12, "févr.": 2, "mars": 3, "dic": 12,
             "ene": 1, "дек": 12, "12月": 12, "3月": 3, "Foo": None, "13月": None}  # fmt: skip
    assert {k: month_number(k) for k in table} == table


def test_a_word_that_is_no_month_leaves_the_line_untagged() -> None:
    line = "Booting 12 10:00:00 host kernel: x"
    assert parse_syslog_time(line, REF) is None


def test_netdev_watchdog_alone_is_no_finding() -> None:
    # https://github.com/openrisc/linux/issues/9: a transmit timeout warning, no panic
    text = """[  259.700000] ------------[ cut here ]------------
[  259.700000] WARNING: CPU: 0 PID: 7 at net/sched/sch_generic.c:442 dev_watchdog+0x2dc/0x2e4
[  259.700000] NETDEV WATCHDOG: eth0 (ethoc): transmit queue 0 timed out
[  259.700000] Modules linked in:
[  259.700000] CPU: 0 PID: 7 Comm: ksoftirqd/0 Not tainted 5.5.0-simple-smp-00006-g9737e2c5f0bc #90"""
    assert _by_kind(text) == {}


def test_wtmp_output_is_recognised_and_logs_are_not() -> None:
    assert looks_like_wtmp(_lines("clean_reboot-3.log"))
    assert looks_like_wtmp(_lines("unexpected_shutdown-2.log"))
    assert not looks_like_wtmp(_lines("clean_reboot-6.log"))
    assert not looks_like_wtmp(_lines("hung_task-9.log"))


def test_utmpdump_oldest_first_gives_the_clean_reboot() -> None:
    found = _by_kind((CORPUS / "clean_reboot-3.log").read_text("utf-8"))
    assert set(found) == {"clean_reboot"}
    assert found["clean_reboot"].confidence == "high"
