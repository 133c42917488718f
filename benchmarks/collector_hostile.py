"""Peak memory and wall time of linux.sh on each hostile tree (issue 12 item 2).

Trees (tests/collectors/hostile_trees.py, built at run time, nothing in git): a 64 GiB sparse
vmcore-dmesg.txt and vmcore in /var/crash, a 64 GiB sparse /var/log/syslog, a rotated syslog
that inflates to 4 GiB without a newline, a FIFO and a symlink loop under /var/log, unreadable
files, a dump path whose ``stat`` hangs. Each run happens in its own Python subprocess, under
``/usr/bin/time -f %M``: the peak RSS of the largest process of the collector's tree (shell,
grep, awk, gzip ...), not a sum. (Python's own ``getrusage(RUSAGE_CHILDREN)`` would count the
Python process itself, which a forked child shares until it execs; without /usr/bin/time that
is the fallback, and an upper bound.)

Targets: peak RSS <= 64 MB and wall <= 15 s on each tree.

    python benchmarks/collector_hostile.py [--shell bash|dash]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RSS_TARGET_MB = 64
WALL_TARGET_S = 15.0


def _one(name: str, shell: str) -> None:
    """In a fresh process: run the collector once and print JSON {rss_mb, wall, sections}."""
    from ecs_reboot_diagnosis.analysis.envelope import parse_envelope
    from tests.collectors.hostile_trees import CASE, HOSTILE
    from tests.collectors.linux_harness import setup_linux_case

    h = HOSTILE[name]
    with tempfile.TemporaryDirectory() as work:
        setup = setup_linux_case(
            CASE, Path(work), shell=shell, prepare=h.prepare, shims=h.shims, env=h.env
        )
        timer = shutil.which("time", path="/usr/bin:/bin")
        argv = [timer, "-f", "ECS_RSS_KB=%M", *setup.argv] if timer else setup.argv
        start = time.monotonic()
        proc = subprocess.run(argv, env=setup.env, capture_output=True, timeout=300)
        wall = time.monotonic() - start
        rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        for line in proc.stderr.decode("utf-8", "replace").splitlines():
            if line.startswith("ECS_RSS_KB="):
                rss_kb = int(line.split("=", 1)[1])
        env = parse_envelope(proc.stdout.decode("ascii"), setup.nonce)
        left = [p.name for p in Path(work).iterdir() if p.name.startswith("tmp.")]
    print(
        json.dumps(
            {
                "rss_mb": rss_kb / 1024,
                "wall": wall,
                "complete": env.complete,
                "crash_files": env.sections["crash_files"].status,
                "kdump": env.sections["kdump"].status,
                "temp_left": len(left),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shell", default="bash")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args.one, args.shell)
        return
    from tests.collectors.hostile_trees import HOSTILE

    print(
        f"linux.sh under {args.shell}; targets: RSS <= {RSS_TARGET_MB} MB, wall <= "
        f"{WALL_TARGET_S:g} s"
    )
    print(f"{'tree':<20}{'peak RSS':>10}{'wall':>8}  {'envelope':<10}{'crash_files':<13}verdict")
    all_met = True
    for name in HOSTILE:
        out = subprocess.run(
            [sys.executable, __file__, "--shell", args.shell, "--one", name],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        met = r["rss_mb"] <= RSS_TARGET_MB and r["wall"] <= WALL_TARGET_S
        met = met and r["complete"] and r["kdump"] == "ok" and not r["temp_left"]
        all_met &= met
        envelope = "complete" if r["complete"] else "CUT"
        print(
            f"{name:<20}{r['rss_mb']:>7.1f} MB{r['wall']:>7.2f}s  {envelope:<10}"
            f"{r['crash_files']:<13}{'MET' if met else 'NOT MET'}"
        )
    print(f"\nall trees: {'MET' if all_met else 'NOT MET'}")


if __name__ == "__main__":
    main()
