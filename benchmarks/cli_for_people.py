"""What the CLI's people-facing parts cost: rendering a report for a terminal (rich Markdown),
drawing the metric sparklines, and the import time the libraries add (rich, tenacity,
defusedxml) over what the program imports anyway.

(a) Terminal rendering of every saved report in tests/fixtures/reports, both languages, with a
    metrics section of three series added (the sparkline path): the first render (imports
    included) and the median of ``--rounds`` more.
(b) Marginal import time of each library in a fresh interpreter, over the modules it shares
    with the program (asyncio, xml.etree), as ``python -X importtime`` reports it (median of
    ``--imports`` runs).

A benchmark, not a test: it prints figures and exits 0. Figures on a shared machine are noisy.

    python benchmarks/cli_for_people.py [--rounds 20] [--imports 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ecs_reboot_diagnosis.models import Report

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "tests" / "fixtures" / "reports"
IMPORTS = {
    "rich.markdown": "import asyncio",
    "tenacity": "import asyncio, concurrent.futures",
    "defusedxml.ElementTree": "import xml.etree.ElementTree",
}


def with_metrics(report_text: str) -> Report:
    from ecs_reboot_diagnosis.analysis.metrics import summarize
    from ecs_reboot_diagnosis.ports import MetricPoint, MetricSeries
    from ecs_reboot_diagnosis.report.render import load_report

    report = load_report(report_text)
    start = datetime(2025, 3, 19, 10, 0, tzinfo=UTC)
    series = []
    for name, low, high in (("memory_usedutilization", 40, 99), ("CPUUtilization", 5, 60),
                            ("load_1m", 0.3, 7.5)):  # fmt: skip
        points = [
            MetricPoint(
                timestamp=start + timedelta(minutes=5 * i), maximum=low + (high - low) * i / 287
            )
            for i in range(288)
        ]
        series.append(
            summarize(
                MetricSeries(
                    metric=name,
                    unit="%" if "util" in name.lower() else "",
                    period_seconds=300,
                    points=points,
                ),
                start,
                start + timedelta(days=1),
            )
        )
    return report.model_copy(update={"metrics": series})


def rendering(rounds: int) -> None:
    from ecs_reboot_diagnosis.models import LANGS
    from ecs_reboot_diagnosis.report.render import render_markdown
    from ecs_reboot_diagnosis_mcp.terminal import show_markdown

    reports = [with_metrics(p.read_text()) for p in sorted(REPORTS.glob("*.json"))]
    markdowns = [render_markdown(r, lang) for r in reports for lang in LANGS]
    started = time.perf_counter()
    show_markdown(markdowns[0], io.StringIO(), force_terminal=True)
    first = time.perf_counter() - started
    each: list[float] = []
    for _ in range(rounds):
        for text in markdowns:
            started = time.perf_counter()
            show_markdown(text, io.StringIO(), force_terminal=True)
            each.append(time.perf_counter() - started)
    draw: list[float] = []
    for _ in range(rounds):
        for report in reports:
            started = time.perf_counter()
            render_markdown(report, "en")
            draw.append(time.perf_counter() - started)
    print(f"(a) {len(markdowns)} reports ({max(map(len, markdowns))} chars at most)")
    print(
        f"    terminal render: first {first * 1000:.1f} ms (imports included), then median "
        f"{statistics.median(each) * 1000:.1f} ms, max {max(each) * 1000:.1f} ms"
    )
    print(f"    Markdown render with 3 sparklines: median {statistics.median(draw) * 1000:.2f} ms")


def import_cost(module: str, shared: str) -> float:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"{shared}; import {module}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = done.stderr.strip().splitlines()[-1]
    return int(line.split("|")[1]) / 1000


def imports(runs: int) -> None:
    print(f"(b) marginal import time (median of {runs}):")
    for module, shared in IMPORTS.items():
        cost = statistics.median(import_cost(module, shared) for _ in range(runs))
        print(f"    {module:<24} {cost:6.1f} ms  (after: {shared})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--imports", type=int, default=5)
    args = parser.parse_args()
    rendering(args.rounds)
    imports(args.imports)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
