"""Fixtures for the collector tests: see linux_harness.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.collectors.linux_harness import LinuxRun, run_linux_case


@pytest.fixture
def linux_case(tmp_path: Path) -> Callable[..., LinuxRun]:
    def run(case: str, **kwargs: object) -> LinuxRun:
        return run_linux_case(case, tmp_path, **kwargs)

    return run
