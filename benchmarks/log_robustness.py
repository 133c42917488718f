"""Linux analyzer robustness (issue 11 item 5): long lines and a big file of random bytes.

    python benchmarks/log_robustness.py [--mb 200]

Prints, each against its target (PASS or MISS with the figures):

- a 1 MB line without spaces through the kernel log analyzer and ``analyze-log`` (< 1 s);
- the ``invoked oom-killer`` worst case (a long token without spaces before the words) at
  64 KB, 250 KB and 1 MB, through the analyzer and through the pattern itself on the uncut line
  (before the fix: 18 s at 64 KB, 410 s at 250 KB);
- every signature and context pattern on the uncut 256 KB repetitions of each signature's
  fragments: the slowest pair (a super-linear pattern takes seconds here);
- a file of random bytes (200 MB by default) through ``analyze-log`` in a subprocess: wall time
  (< 10 s) and peak RSS from ``getrusage(RUSAGE_CHILDREN)`` (< 300 MB).

Timing lives here, not in the tests.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ecs_reboot_diagnosis.analysis import (
    boot_episodes,
    envelope,
    incident_context,
    linux_guest,
    log_lines,
    reboot_records,
    signatures,
)
from ecs_reboot_diagnosis.analysis.findings import analyze_log_text
from ecs_reboot_diagnosis_mcp import analyze_log
from ecs_reboot_diagnosis_mcp.analyze_log import run

KB = 1024
MB = 1024 * KB


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def patterns() -> dict[str, re.Pattern[str]]:
    out: dict[str, re.Pattern[str]] = {}
    modules = (log_lines, incident_context, signatures, reboot_records, linux_guest)
    for module in (*modules, boot_episodes, envelope, analyze_log):
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                out[f"{module.__name__.rsplit('.', 1)[-1]}.{name}"] = value
    for table in ("KERNEL_SIGNATURES", "SYSTEM_SIGNATURES"):
        for i, sig in enumerate(getattr(signatures, table)):
            out[f"{table}[{i}] {sig.kind}"] = sig.pattern
    for kind, pattern in signatures.PANIC_CAUSES:
        out[f"PANIC_CAUSES {kind}"] = pattern
    return out


def fragments(pattern: re.Pattern[str]) -> set[str]:
    """Literal pieces of a pattern (what an adversary repeats), plus generic ones."""
    words = re.findall(r"(?:\\.|[^\\()|?*+{}^$])+", pattern.pattern)
    out = {re.sub(r"\\(.)", r"\1", w) for w in words if len(w) >= 2}
    return out | {"x", " ", "(", "[", ":", "0", "a ", ", "}


def pattern_sweep(size: int) -> tuple[float, str]:
    worst, what = 0.0, ""
    for name, pattern in patterns().items():
        for frag in fragments(pattern):
            for text in (frag * (size // len(frag)), frag + "x" * size, frag + " " * size):
                seconds = timed(lambda: pattern.search(text))  # noqa: B023
                if seconds > worst:
                    worst, what = seconds, f"{name} on {frag[:30]!r}"
    return worst, what


def long_lines(tmp: Path) -> None:
    line = "x" * MB
    path = tmp / "line.log"
    path.write_text(line, "utf-8")
    t_text = timed(lambda: analyze_log_text(line))
    t_cli = timed(lambda: run(path, "auto", "json"))
    worst = max(t_text, t_cli)
    print(
        f"1 MB line without spaces: analyzer {t_text:.3f} s, analyze-log {t_cli:.3f} s "
        f"(target < 1 s) {verdict(worst < 1)}"
    )
    for size in (64 * KB, 250 * KB, MB):
        text = "x" * size + " invoked oom-killer: gfp_mask=0x0"
        t_line = timed(lambda: analyze_log_text(text))  # noqa: B023
        t_re = timed(lambda: incident_context._INVOKED.search(text))  # noqa: B023
        print(
            f"'invoked oom-killer' after {size // KB:>5} KB without spaces: analyzer "
            f"{t_line:.4f} s, pattern on the uncut line {t_re:.4f} s (target < 1 s) "
            f"{verdict(max(t_line, t_re) < 1)}"
        )
    worst_re, what = pattern_sweep(256 * KB)
    print(
        f"every pattern on uncut 256 KB repetitions of its fragments: slowest {worst_re:.4f} s "
        f"({what}) (target < 0.5 s) {verdict(worst_re < 0.5)}"
    )


def random_file(tmp: Path, size_mb: int) -> None:
    path = tmp / "random.bin"
    with path.open("wb") as fh:
        for _ in range(size_mb):
            fh.write(os.urandom(MB))
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ecs_reboot_diagnosis_mcp.cli", "analyze-log", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss_mb = usage.ru_maxrss / KB  # Linux: kB
    cpu = usage.ru_utime + usage.ru_stime
    print(
        f"{size_mb} MB of random bytes through analyze-log: {seconds:.1f} s wall, {cpu:.1f} s CPU "
        f"(target < 10 s) {verdict(seconds < 10)}, peak RSS {rss_mb:.0f} MB (target < 300 MB) "
        f"{verdict(rss_mb < 300)}; exit {done.returncode}: {done.stdout.strip()[:80]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="size of the random file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        long_lines(Path(tmp))
        random_file(Path(tmp), args.mb)


if __name__ == "__main__":
    main()
