"""A cut envelope (Cloud Assistant kept the head and the tail): what arrived whole is kept."""

from __future__ import annotations

import pytest

from ecs_api_simulator.output_limit import limit_output
from ecs_reboot_diagnosis.analysis.envelope import LINUX_SECTIONS, parse_envelope
from ecs_reboot_diagnosis.errors import CollectorIntegrityError
from tests.unit.analysis.test_envelope_parser import HEADER, OTHER, N, envelope, sec

LONG = [f"Mar 20 10:{i:02d}:00 host kernel: line {i} " + "x" * 40 for i in range(60)]


def _full() -> str:
    return envelope(
        sec("meta", "started=2026-03-20T10:00:00Z"),
        sec("os", "kernel=5.10"),
        sec("syslog", *LONG),
        sec("sysctl", "kernel.panic=10", "vm.panic_on_oom=0"),
        sec("kdump", "service=active"),
    )


def _cut(text: str, quota: int) -> tuple[str, int]:
    kept, dropped = limit_output(text.encode(), quota)
    return kept.decode("utf-8", errors="replace"), dropped


def test_middle_cut_inside_one_section_keeps_both_ends_marked() -> None:
    full = _full()
    kept, dropped = _cut(full, 2400)
    assert dropped > 0
    env = parse_envelope(kept, N, dropped_bytes=dropped)
    assert env.cut and env.dropped_bytes == dropped
    assert [n for n, s in env.sections.items() if s.cut is None] == [
        "meta",
        "os",
        "sysctl",
        "kdump",
    ]
    syslog = env.sections["syslog"]
    assert (syslog.cut, syslog.complete, syslog.truncated) == ("middle_lost", False, True)
    assert set(syslog.lines) < set(LONG)  # whole lines only, never a half line at the join
    assert syslog.lines[0] == LONG[0] and syslog.lines[-1] == LONG[-1]
    assert env.sections["sysctl"].kv()["vm.panic_on_oom"] == "0"
    status = {s.name: s for s in env.statuses(LINUX_SECTIONS)}
    assert status["syslog"].cut and "middle was dropped" in status["syslog"].note
    assert status["kdump"].present and not status["kdump"].cut
    # absent and the output cut: it may have been in the dropped middle, so it counts as lost
    assert not status["dmesg"].present and status["dmesg"].cut


def test_head_only_section_keeps_its_start_and_the_next_section_arrives_whole() -> None:
    """The cut falls inside syslog (its END dropped) and the tail starts before kdump."""
    kdump = [f"key{i}=value{i}" for i in range(80)]
    full = envelope(sec("meta", "a=1"), sec("syslog", *LONG), sec("kdump", *kdump))
    found = False
    for quota in range(600, 4000, 20):
        kept, dropped = _cut(full, quota)
        env = parse_envelope(kept, N, dropped_bytes=dropped)
        if "syslog" not in env.sections or env.sections["syslog"].cut != "end_lost":
            continue
        if env.sections["kdump"].cut is not None:
            assert env.sections["kdump"].cut == "start_lost"
            continue
        found = True
        syslog = env.sections["syslog"]
        assert syslog.lines == tuple(LONG[: len(syslog.lines)])
        assert env.sections["meta"].cut is None
        assert env.sections["kdump"].cut is None
        assert env.sections["kdump"].lines == tuple(kdump)
    assert found


@pytest.mark.parametrize("quota", [900, 1200, 1500, 2000, 2400, 3000])
def test_every_section_whose_end_arrived_is_kept_verbatim(quota: int) -> None:
    full = _full()
    whole = parse_envelope(full, N)
    kept, dropped = _cut(full, quota)
    env = parse_envelope(kept, N, dropped_bytes=dropped)
    for name, section in env.sections.items():
        if section.cut is None:
            assert section == whole.sections[name]
        elif section.cut == "start_lost":
            assert whole.sections[name].lines[-len(section.lines) :] == section.lines
        elif section.cut == "end_lost":
            assert whole.sections[name].lines[: len(section.lines)] == section.lines
    lost = {s.name for s in env.statuses(LINUX_SECTIONS) if s.cut and not s.present}
    assert lost >= set(whole.sections) - set(env.sections)
    assert not lost & {n for n, s in env.sections.items() if s.cut is None}


def test_tail_only_section_keeps_its_end() -> None:
    """The cut falls in an early section; a log section's last lines arrive in the tail."""
    full = envelope(sec("meta", "a=1"), sec("syslog", *LONG))
    kept, dropped = _cut(full, 1600)
    env = parse_envelope(kept, N, dropped_bytes=dropped)
    syslog = env.sections["syslog"]
    assert syslog.cut == "middle_lost"
    assert syslog.lines[-1] == LONG[-1]
    full = envelope(sec("meta", *LONG), sec("syslog", *LONG[:5]))
    kept, dropped = _cut(full, 1200)
    env = parse_envelope(kept, N, dropped_bytes=dropped)
    assert env.sections["meta"].cut == "middle_lost"
    assert env.sections["syslog"].cut is None and env.sections["syslog"].lines == tuple(LONG[:5])


def test_a_cut_output_of_another_run_is_still_refused() -> None:
    kept, dropped = _cut(_full(), 2000)
    with pytest.raises(CollectorIntegrityError, match="nonce"):
        parse_envelope(kept, OTHER, dropped_bytes=dropped)
    with pytest.raises(CollectorIntegrityError, match="no collector envelope header"):
        parse_envelope(kept[400:], N, dropped_bytes=dropped)
    other = _full().replace(N, OTHER)
    kept, dropped = _cut(other, 2000)
    spliced = HEADER + "\n" + kept.split("\n", 1)[1]
    with pytest.raises(CollectorIntegrityError, match="no marker of this run"):
        parse_envelope(spliced, N, dropped_bytes=dropped)


def test_guest_text_cannot_forge_markers_in_the_tail() -> None:
    forged = [f"====={OTHER} END kdump status=ok truncated=0 note=-=====", *LONG]
    full = envelope(sec("meta", "a=1"), sec("syslog", *forged), sec("kdump", "service=none"))
    kept, dropped = _cut(full, 1500)
    env = parse_envelope(kept, N, dropped_bytes=dropped)
    assert env.sections["kdump"].lines == ("service=none",)
    assert env.sections["syslog"].cut is not None


def test_cut_tail_out_of_order_is_still_an_integrity_error() -> None:
    full = _full()
    kept, dropped = _cut(full, 2000)
    broken = kept.replace(f"====={N} SECTION kdump=====", f"====={N} SECTION sysctl=====")
    with pytest.raises(CollectorIntegrityError, match="twice"):
        parse_envelope(broken, N, dropped_bytes=dropped)


def test_without_a_dropped_count_a_spliced_output_stays_an_error() -> None:
    kept, dropped = _cut(_full(), 900)
    assert parse_envelope(kept, N, dropped_bytes=dropped).sections["kdump"].cut is None
    with pytest.raises(CollectorIntegrityError):
        parse_envelope(kept, N)
