"""Windows analyzer robustness: seconds for 1 MB lines without spaces and full of near-matches.

    python benchmarks/analyzer_robustness.py

Prints one row per input (the event-text parser, the XML reader and ``analyze-log`` end to end);
every figure should stay well under a second (issue 11: "a 1 MB line without spaces analysed in
< 1 s"). Timing lives here, not in the tests.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ecs_reboot_diagnosis.analysis.windows_guest import (
    analyze_windows_events,
    events_from_text,
    events_from_xml,
)
from ecs_reboot_diagnosis_mcp.analyze_log import run

MB = 1024 * 1024
INPUTS: dict[str, str] = {
    "1 MB without spaces": "x" * MB,
    "6008 prefix repeated": "The previous system shutdown at " * (MB // 32),
    "1074 prefix repeated": "The process " * (MB // 12),
    "dump path prefix repeated": "A dump was saved in:" * (MB // 20),
    "bug check '(' unclosed": "bugcheck was 0x1 (" * (MB // 18),
    "<?xml unclosed": "<?xml" * (MB // 5),
    "Application Error repeated": "Faulting application name: a" * (MB // 28),
    "BlueScreen repeated": "Event Name: BlueScreen " * (MB // 23),
    "XML tags repeated": "<EventID>41</EventID><Data Name=" * (MB // 32),
    "1 M newlines": "\n" * MB + "x",
    "1 M left-to-right marks": "\u200e" * MB,
}


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def xml(text: str) -> None:
    try:
        analyze_windows_events(events_from_xml(text))
    except ValueError:
        pass


def main() -> None:
    print(f"{'input':<30} {'text s':>8} {'xml s':>8} {'analyze-log s':>14}")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.txt"
        for name, text in INPUTS.items():
            path.write_text(text, "utf-8")
            t_text = timed(lambda: analyze_windows_events(events_from_text(text)))  # noqa: B023
            t_xml = timed(lambda: xml(text))  # noqa: B023
            t_cli = timed(lambda: run(path, "windows", "json"))
            worst = max(worst, t_text, t_xml, t_cli)
            print(f"{name:<30} {t_text:8.3f} {t_xml:8.3f} {t_cli:14.3f}")
    print(f"worst: {worst:.3f} s (target < 1 s)")


if __name__ == "__main__":
    main()
