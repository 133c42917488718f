"""What the diagnosis store costs per operation: in memory and in the SQLite file (WAL).

A real diagnosis is made first (s02, a kernel panic with a vmcore: guest evidence, dump triage,
report) with the service over the bundled simulator; then, ``--ops`` times each, on each store:
``add`` (a copy under a new id), ``get`` (what every step and status read does), ``put`` (a
read-modify-write, what every step does), ``history`` (the recurrence query of a report, with
``--ops`` reports of the instance kept). Prints the size of the stored JSON and the median and
95th percentile of each operation, and the file size at the end.

This is a benchmark, not a test: it prints figures and exits 0 (1 only if it cannot run).

    python benchmarks/store_ops.py [--ops 500]
"""

from __future__ import annotations

import os

os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
os.environ["ECS_DIAG_STORE"] = "memory"
for _name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_name, None)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

from ecs_api_simulator import SimulatorServer  # noqa: E402
from ecs_api_simulator.server import builtin_scenarios_dir  # noqa: E402
from ecs_reboot_diagnosis.clock import SystemClock  # noqa: E402
from ecs_reboot_diagnosis.diagnosis import Diagnosis, new_diagnosis_id  # noqa: E402
from ecs_reboot_diagnosis.ports import DiagnosisStore  # noqa: E402
from ecs_reboot_diagnosis.store import InMemoryDiagnosisStore  # noqa: E402
from ecs_reboot_diagnosis_mcp.app import build_gateway, build_service  # noqa: E402
from ecs_reboot_diagnosis_mcp.settings import Settings  # noqa: E402
from ecs_reboot_diagnosis_mcp.sqlite_db import StoreDatabase  # noqa: E402
from ecs_reboot_diagnosis_mcp.sqlite_store import SqliteDiagnosisStore  # noqa: E402

INSTANCE = ("i-bp1seed02panicvmcore", "cn-hangzhou")


async def real_diagnosis() -> Diagnosis:
    with SimulatorServer([builtin_scenarios_dir()]) as sim:
        settings = Settings(endpoint=sim.url, wait_deadline_s=60.0)
        keys = {"access_key_id": sim.access_key_id, "access_key_secret": sim.access_key_secret}
        service = build_service(settings, build_gateway(settings, **keys))
        report = await service.diagnose(*INSTANCE, owner="bench")
        return service.status(report.diagnosis_id, "bench")


def timed(ops: int, fn: Callable[[int], object]) -> tuple[float, float]:
    """Median and 95th percentile of ``fn(i)``, microseconds."""
    samples = []
    for i in range(ops):
        start = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def bench(name: str, store: DiagnosisStore, template: Diagnosis, ops: int) -> None:
    fresh = [
        template.model_copy(update={"id": new_diagnosis_id(), "report": None, "revision": 0})
        for _ in range(ops)
    ]
    rows = {
        "add": timed(ops, lambda i: store.add(fresh[i])),
        "get": timed(ops, lambda i: store.get(fresh[i].id)),
        "put (get + write)": timed(
            ops,
            lambda i: store.put(
                store.get(fresh[i].id).model_copy(update={"report": template.report})
            ),
        ),
        "history (recurrence query)": timed(
            ops,
            lambda i: store.history(
                "bench", *INSTANCE[::-1], since=template.updated_at - timedelta(days=30)
            ),
        ),
    }
    for op, (median, p95) in rows.items():
        print(f"  {name:<7} {op:<27} median {median:8.1f} us   p95 {p95:8.1f} us")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=500)
    args = parser.parse_args()
    template = asyncio.run(real_diagnosis())
    size = len(template.model_dump_json())
    print(f"stored diagnosis (s02, reported): {size / 1024:.1f} KiB of JSON")
    clock = SystemClock()
    bench("memory", InMemoryDiagnosisStore(clock, max_diagnoses=args.ops + 10), template, args.ops)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "diagnoses.sqlite3"
        with StoreDatabase.open(path) as db:
            store = SqliteDiagnosisStore(db, clock, max_diagnoses=args.ops + 10)
            bench("sqlite", store, template, args.ops)
            db_size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        print(f"sqlite file (+ WAL) after {args.ops} diagnoses: {db_size / 1024 / 1024:.1f} MiB")
    print("(timings on a shared machine are noisy; compare the two stores, not absolute values)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
