"""The public API of ecs_reboot_diagnosis.collectors."""

from __future__ import annotations

import hashlib
import re

import pytest

from ecs_reboot_diagnosis.collectors import (
    COLLECTOR_PARAMETERS,
    Collector,
    collector_parameters,
    load_collector,
    new_nonce,
    substitute_parameters,
)
from ecs_reboot_diagnosis.collectors.delivery import content_size, packed_command
from ecs_reboot_diagnosis.errors import InvalidInputError


@pytest.mark.parametrize(
    ("os_type", "command_type", "suffix"),
    [("linux", "RunShellScript", "#!/bin/sh\n"), ("windows", "RunPowerShellScript", "# ecs")],
)
def test_load_collector(os_type: str, command_type: str, suffix: str) -> None:
    collector = load_collector(os_type)
    assert isinstance(collector, Collector)
    assert collector.os_type == os_type
    assert collector.command_type == command_type
    assert collector.content.startswith(suffix)
    assert collector.sha256 == hashlib.sha256(collector.content.encode()).hexdigest()
    assert re.fullmatch(r"\d+\.\d+\.\d+", collector.version)
    assert collector.name == f"ecs-reboot-diagnosis-{os_type}-{collector.version}"
    assert collector.parameters == COLLECTOR_PARAMETERS == ("nonce", "since_days")
    # whatever the readable size, the packed form fits the strictest documented limit
    packed = packed_command(collector)
    assert content_size(packed.content, collector_parameters(new_nonce())) <= 16 * 1024
    with pytest.raises(AttributeError):
        collector.content = "x"  # type: ignore[misc]
    assert load_collector(os_type) is collector  # read once  # type: ignore[arg-type]


def test_version_is_the_one_the_envelope_prints() -> None:
    linux = load_collector("linux")
    assert f"\nV={linux.version}\n" in linux.content
    windows = load_collector("windows")
    assert f"$CollectorVersion = '{windows.version}'" in windows.content


def test_unknown_os_type() -> None:
    with pytest.raises(InvalidInputError):
        load_collector("solaris")


def test_new_nonce_is_128_random_bits() -> None:
    nonces = {new_nonce() for _ in range(50)}
    assert len(nonces) == 50
    assert all(re.fullmatch(r"[0-9a-f]{32}", n) for n in nonces)


def test_collector_parameters() -> None:
    nonce = new_nonce()
    assert collector_parameters(nonce) == {"nonce": nonce, "since_days": "7"}
    assert collector_parameters(nonce, 30)["since_days"] == "30"
    for bad_nonce in ("", "ABC", nonce.upper(), nonce + "0", "'; reboot; '"):
        with pytest.raises(InvalidInputError):
            collector_parameters(bad_nonce)
    for days in (0, 366, -1, True):
        with pytest.raises(InvalidInputError):
            collector_parameters(nonce, days)


def test_substitute_parameters_like_cloud_assistant() -> None:
    text = "a={{nonce}} b={{ Since_Days }} c={{NONCE}}"
    assert substitute_parameters(text, {"nonce": "n", "since_days": "7"}) == "a=n b=7 c=n"
    with pytest.raises(InvalidInputError):
        substitute_parameters("{{other}}", {"nonce": "n"})
    content = load_collector("linux").content
    rendered = substitute_parameters(content, collector_parameters("a" * 32, 3))
    assert "{{" not in rendered and "\n" + "a" * 32 + "\n" in rendered and "\n3\n" in rendered
