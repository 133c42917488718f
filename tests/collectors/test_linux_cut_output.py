"""The real collector's envelope, cut the way Cloud Assistant cuts it: nothing intact is lost,
and what the cut took makes the verdict unknown, never "clean"."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ecs_api_simulator.output_limit import limit_output
from ecs_reboot_diagnosis.analysis.conclusions import conclude_guest
from ecs_reboot_diagnosis.analysis.envelope import parse_envelope
from ecs_reboot_diagnosis.analysis.guest import parse_guest_output
from tests.collectors.linux_harness import LinuxRun


@pytest.mark.parametrize("case", ["rhel_panic_vmcore", "clean_reboot", "lockup_panic_oversized"])
@pytest.mark.parametrize("share", [2, 3])
def test_real_envelope_cut_keeps_every_whole_section(
    linux_case: Callable[..., LinuxRun], case: str, share: int
) -> None:
    run = linux_case(case)
    data = run.output.encode()
    whole = parse_envelope(run.output, run.nonce)
    kept, dropped = limit_output(data, len(data) // share)
    assert dropped > 0
    text = kept.decode("utf-8", errors="replace")
    env = parse_envelope(text, run.nonce, dropped_bytes=dropped)
    intact = [n for n, s in env.sections.items() if s.cut is None]
    assert intact, "the head and the tail each hold at least one whole section"
    for name in intact:
        assert env.sections[name] == whole.sections[name]
    guest = parse_guest_output("linux", text, run.nonce, dropped_bytes=dropped)
    cut = {s.name for s in guest.sections if s.cut}
    assert cut and cut.isdisjoint(intact)
    assert cut >= set(whole.sections) - set(env.sections)
    conclusion, _ = conclude_guest("linux", guest, None, None)
    assert conclusion.verdict not in {"no_abnormal_records"}
    assert conclusion.rule_id != "linux.clean_reboot"


def test_clean_reboot_uncut_still_concludes_clean(linux_case: Callable[..., LinuxRun]) -> None:
    run = linux_case("clean_reboot")
    guest = parse_guest_output("linux", run.output, run.nonce)
    assert not any(s.cut for s in guest.sections)
    conclusion, _ = conclude_guest("linux", guest, None, None)
    assert conclusion.rule_id == "linux.clean_reboot"


@pytest.mark.parametrize("lost", ["kdump", "sysctl", "crash_files", "reboot_history", "syslog"])
def test_one_decisive_or_log_section_lost_to_the_cut_blocks_a_clean_verdict(
    linux_case: Callable[..., LinuxRun], lost: str
) -> None:
    run = linux_case("clean_reboot")
    guest = parse_guest_output("linux", run.output, run.nonce)
    sections = [
        s.model_copy(update={"present": False, "cut": True}) if s.name == lost else s
        for s in guest.sections
    ]
    cut = guest.model_copy(update={"sections": sections})
    conclusion, _ = conclude_guest("linux", cut, None, None)
    assert conclusion.rule_id not in {"linux.clean_reboot", "linux.no_abnormal_records"}
