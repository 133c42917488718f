"""What the Linux collector costs on a guest with big logs, next to the seed's improvised greps.

Builds, in a temporary directory, a guest root with a ~1 GB current /var/log/messages and ~200 MB
(on disk) of rotated gzip logs, all inside the log window, with a sprinkling of matching lines
(OOM kills, call traces, file-system errors) and a soft-lockup panic at the end. Then it runs
``linux.sh`` against it (``DIAG_ROOT``) and, for comparison, the seed skill's own commands
(``grep -i ... /var/log/messages | tail``, one pass per question) over the same files, and prints
wall time, peak RSS of the child processes (``wait4``), output size and the ratios.

Targets: ours <= 10 s, <= 64 MB RSS, <= 20 KB output, and not slower than the seed.

This is a benchmark, not a test:

    /work/venv/bin/python benchmarks/collector_cost.py [--current-mb 1000] [--rotated-gz-mb 200]
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ecs_reboot_diagnosis.collectors import (
    collector_parameters,
    load_collector,
    new_nonce,
    substitute_parameters,
)

HOST = "iZbp1f0000000000000abcZ"
REQ = "request id={:016x} user={} path=/api/v1/items/{} status={} bytes={} rt={:.4f}"
NOW = 1742522400  # 2025-03-21T02:00:00Z: the fixture's clock (DIAG_NOW)

SEED = """
grep -i "reboot\\|shutdown\\|restart" {root}/var/log/messages | tail -20
grep -i "kernel panic" {root}/var/log/messages | tail -10
grep -i "out of memory\\|oom\\|kill process" {root}/var/log/messages | tail -20
sysctl -n vm.panic_on_oom 2>/dev/null
cat {root}/etc/kdump.conf 2>/dev/null; grep "^path" {root}/etc/kdump.conf 2>/dev/null
ls -la {root}/var/crash/ 2>/dev/null
find {root}/var/crash -name "vmcore*" -type f -exec ls -lh {{}} \\; 2>/dev/null
find {root}/var/crash -type f \\( -name "vmcore*" -o -name "dump.*" -o -name "dmesg.*" \\) -mtime -7
"""


# The same three questions asked of every log in the window, as an operator following the seed
# would have to do to see the rotated files too.
SEED_ALL = """
cd {root}/var/log
logs="messages-*.gz messages"
for f in $logs; do zgrep -i "reboot\\|shutdown\\|restart" "$f"; done | tail -20
for f in $logs; do zgrep -i "kernel panic" "$f"; done | tail -10
for f in $logs; do zgrep -i "out of memory\\|oom\\|kill process" "$f"; done | tail -20
"""


def _block(day: str, seed: int, lines: int) -> bytes:
    """About 150 bytes a line of syslog noise with rare lines the collectors look for."""
    rng = random.Random(seed)
    programs = ["nginx[812]", "java[2201]", "sshd[999]", "systemd[1]", "CROND[4410]", "kernel"]
    out: list[str] = []
    for n in range(lines):
        ts = f"{day} {n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}"
        if n % 20000 == 0:
            out += [
                f"{ts} {HOST} kernel: java invoked oom-killer: gfp_mask=0x100cca, order=0",
                f"{ts} {HOST} kernel: Call Trace:",
                f"{ts} {HOST} kernel:  dump_stack+0x57/0x6d",
                f"{ts} {HOST} kernel: Out of memory: Killed process {n} (java) total-vm:1kB",
            ]
        elif n % 50000 == 0:
            out.append(f"{ts} {HOST} kernel: EXT4-fs error (device vdb1): bad block {n}")
        elif n % 7000 == 0:
            out.append(f"{ts} {HOST} systemd[1]: Started Session {n} of user root.")
        else:
            prog = rng.choice(programs)
            request = REQ.format(
                rng.getrandbits(64),
                rng.randrange(10**5),
                rng.randrange(10**7),
                rng.choice((200, 200, 304, 404)),
                rng.randrange(10**6),
                rng.random(),
            )
            out.append(f"{ts} {HOST} {prog}: {request}")
    return ("\n".join(out) + "\n").encode()


def build(root: Path, current_mb: int, rotated_gz_mb: int) -> dict[str, int]:
    log = root / "var/log"
    log.mkdir(parents=True)
    (root / "proc/sys/kernel/random").mkdir(parents=True)
    (root / "proc/sys/vm").mkdir(parents=True)
    (root / "proc/sys/kernel/osrelease").write_text("5.10.134-16.al8.x86_64\n")
    (root / "proc/uptime").write_text("600.00 1200.00\n")
    (root / "proc/sys/vm/panic_on_oom").write_text("0\n")
    (root / "proc/meminfo").write_text("MemTotal:       16139880 kB\n")
    (root / "etc").mkdir()
    (root / "etc/kdump.conf").write_text("path /var/crash\n")
    (root / "var/crash").mkdir()
    sizes = {"current_bytes": 0, "rotated_gz_bytes": 0, "rotated_uncompressed_bytes": 0}
    block = _block("Mar 20", 1, 70_000)  # ~10 MB
    with (log / "messages").open("wb") as out:
        while sizes["current_bytes"] < current_mb * 1_000_000:
            out.write(block)
            sizes["current_bytes"] += len(block)
        tail = (
            f"Mar 20 23:59:00 {HOST} kernel: watchdog: BUG: soft lockup - CPU#1 stuck for 23s! "
            f"[kworker/1:1:77]\nMar 20 23:59:01 {HOST} kernel: Kernel panic - not syncing: "
            "softlockup: hung tasks\n"
        ).encode()
        out.write(tail)
        sizes["current_bytes"] += len(tail)
    # rotated files: gzip members of one block concatenated (gzip -dc reads them all)
    member = gzip.compress(_block("Mar 17", 2, 70_000), compresslevel=6, mtime=0)
    per_file = rotated_gz_mb * 1_000_000 // 4
    for day in range(4):
        path = log / f"messages-202503{14 + day:02d}.gz"
        with path.open("wb") as out:
            written = 0
            while written < per_file:
                out.write(member)
                written += len(member)
                sizes["rotated_uncompressed_bytes"] += len(block)
        sizes["rotated_gz_bytes"] += written
        stamp = NOW - (4 - day) * 86400
        os.utime(path, (stamp, stamp))
    return sizes


@dataclass
class Cost:
    seconds: float
    max_rss_kb: int
    output_bytes: int


def measure(argv: list[str], env: dict[str, str], cwd: Path) -> Cost:
    """Wall time, peak RSS of the process tree and output size of one run.

    Peak RSS comes from GNU time (``%M``: the largest ru_maxrss among the command and the children
    it waited for); without it, from ``wait4`` on our own child, which then also counts the
    memory this Python process had when it forked.
    """
    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    if gnu_time is not None:
        argv = [gnu_time, "-f", "ECS_DIAG_MAXRSS=%M", *argv]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    elapsed = time.perf_counter() - start
    rss = 0
    for line in err.decode(errors="replace").splitlines():
        if line.startswith("ECS_DIAG_MAXRSS="):
            rss = int(line.split("=", 1)[1])
    if gnu_time is None:
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return Cost(elapsed, rss, len(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--current-mb", type=int, default=1000)
    parser.add_argument("--rotated-gz-mb", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the generated tree")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ecs-diag-bench-"))
    try:
        root = work / "root"
        t0 = time.perf_counter()
        sizes = build(root, args.current_mb, args.rotated_gz_mb)
        print(
            f"fixture: current {sizes['current_bytes'] / 1e6:.0f} MB, rotated gzip "
            f"{sizes['rotated_gz_bytes'] / 1e6:.0f} MB on disk "
            f"({sizes['rotated_uncompressed_bytes'] / 1e6:.0f} MB uncompressed), "
            f"built in {time.perf_counter() - t0:.1f} s"
        )
        nonce = new_nonce()
        script = work / "linux.sh"
        content = load_collector("linux").content
        script.write_text(substitute_parameters(content, collector_parameters(nonce, 7)))
        seed = work / "seed.sh"
        seed.write_text(SEED.format(root=root))
        seed_all = work / "seed_all.sh"
        seed_all.write_text(SEED_ALL.format(root=root))
        bash = shutil.which("bash") or "/bin/bash"
        path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        ours_env = {"PATH": path, "DIAG_ROOT": str(root), "DIAG_NOW": str(NOW), "TZ": "UTC",
                    "HOME": str(work), "TMPDIR": str(work), "LC_ALL": "C.UTF-8"}  # fmt: skip
        seed_env = {"PATH": path, "HOME": str(work), "LC_ALL": "C.UTF-8", "TZ": "UTC"}
        # warm the page cache once so both sides read from memory
        measure(["cat", str(root / "var/log/messages")], seed_env, work)
        ours = min(
            (measure([bash, str(script)], ours_env, work) for _ in range(2)),
            key=lambda c: c.seconds,
        )
        theirs = min(
            (measure([bash, str(seed)], seed_env, work) for _ in range(2)),
            key=lambda c: c.seconds,
        )
        theirs_all = min(
            (measure([bash, str(seed_all)], seed_env, work) for _ in range(2)),
            key=lambda c: c.seconds,
        )
        rows = [
            ("ours (linux.sh)", ours),
            ("seed, as written", theirs),
            ("seed, same logs", theirs_all),
        ]
        print(f"{'':18} {'wall s':>8} {'peak RSS MB':>12} {'output bytes':>13}")
        print("(seed as written: 3 greps over the current file only; same logs: also the rotated")
        print(" .gz files of the window, through zgrep, as linux.sh reads them)")
        for name, cost in rows:
            print(
                f"{name:18} {cost.seconds:8.2f} {cost.max_rss_kb / 1024:12.1f} "
                f"{cost.output_bytes:13d}"
            )
        for name, other in (("as written", theirs), ("same logs", theirs_all)):
            print(
                f"ratio ours/seed ({name}): time {ours.seconds / other.seconds:.2f}, "
                f"RSS {ours.max_rss_kb / max(other.max_rss_kb, 1):.2f}"
            )
        checks = {
            "time <= 10 s": ours.seconds <= 10,
            "RSS <= 64 MB": ours.max_rss_kb <= 64 * 1024,
            "output <= 20 KB": ours.output_bytes <= 20_000,
            "not slower than the seed over the same logs": ours.seconds <= theirs_all.seconds,
            "not slower than the seed as written": ours.seconds <= theirs.seconds,
        }
        for name, ok in checks.items():
            print(f"{'PASS' if ok else 'MISS'} {name}")
        if args.keep:
            print(f"kept: {work}")
        return 0 if all(checks.values()) else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
