"""Cause signatures: the same bug on another CPU, at another address or in another process id is
one signature (the e2e fleet tests check the signatures of whole conclusions)."""

from __future__ import annotations

from ecs_reboot_diagnosis.fleet_signatures import normalise_reason


def test_numbers_and_addresses_do_not_split_a_signature() -> None:
    a = normalise_reason("Fatal exception in interrupt at 0xffffffffc0123456 on CPU 3 pid 4711")
    b = normalise_reason("Fatal exception in interrupt at 0xffffffffc0999999 on CPU 12 pid 99")
    assert a == b
    assert normalise_reason("softlockup: hung tasks") != normalise_reason("hung_task: blocked")
    assert normalise_reason(None) == ""
