"""``python -m ecs_api_simulator --scenario DIR --port N``: serve the simulator (foreground)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from ecs_api_simulator.fleet import FleetSpec
from ecs_api_simulator.scenario import ScenarioError
from ecs_api_simulator.server import SimulatorServer, builtin_scenarios_dir


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ecs_api_simulator",
        description="Serve a local simulator of the Alibaba Cloud ECS OpenAPI (with CloudMonitor "
        "DescribeMetricList and ActionTrail LookupEvents on the same endpoint).",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        metavar="DIR",
        help="a scenario directory, or a directory of them; repeatable "
        f"(default: the built-in set in {builtin_scenarios_dir()})",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free)")
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with a certificate from a throwaway CA made at start (the CA file's "
        "path is printed; it is removed at exit)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument(
        "--fleet",
        type=int,
        metavar="N",
        help="add a generated fleet of N instances (cn-shanghai, cn-beijing); with --fleet, the "
        "built-in scenarios are loaded only if --scenario names them",
    )
    parser.add_argument("--fleet-seed", type=int, default=1, help="the fleet's seed (default 1)")
    parser.add_argument(
        "--truth", metavar="FILE", help="write the fleet's cause per instance to FILE (JSON)"
    )
    parser.add_argument(
        "--rate-limit",
        action="append",
        metavar="ACTION=CALLS[/SECONDS]",
        help="answer Throttling.User above CALLS calls of ACTION per window (default 1 s); "
        "repeatable",
    )
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        fleet = FleetSpec(size=args.fleet, seed=args.fleet_seed) if args.fleet else None
        scenarios = args.scenario if args.scenario or fleet is None else []
        sim = SimulatorServer(scenarios, host=args.host, port=args.port, fleet=fleet, tls=args.tls)
        for entry in args.rate_limit or ():
            action, _, value = entry.partition("=")
            calls, _, window = value.partition("/")
            sim.inject_fault(
                action.strip(),
                kind="rate_limit",
                limit=int(calls),
                window_seconds=float(window.removesuffix("s")) if window else 1.0,
            )
    except (ScenarioError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.truth:
        truth = {k: dataclasses.asdict(v) for k, v in sim.fleet_truth.items()}
        Path(args.truth).write_text(json.dumps(truth), encoding="utf-8")
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        print(
            "warning: RunCommand executes bash scripts on this machine for any caller holding a "
            "configured AccessKey; bind to 127.0.0.1 unless you know why not.",
            file=sys.stderr,
        )

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # serve_forever stops the server and removes its TLS files

    signal.signal(signal.SIGTERM, stop)
    try:
        sim.start()
        instances = sum(len(s.instances) for s in sim.world.scenarios)
        sdk_config = f"protocol='{sim.protocol}'" + (", ca=CA" if sim.tls else "")
        ca_line = f"  CA certificate:    {sim.ca_file}\n" if sim.ca_file is not None else ""
        print(
            f"ECS API simulator on {sim.url} ({len(sim.world.scenarios)} scenarios, "
            f"{instances} instances)\n"
            f"  endpoint:          {sim.endpoint}  (SDK: Config(endpoint=..., {sdk_config}))\n"
            f"{ca_line}"
            "  products:          ECS 2014-05-26, CloudMonitor 2019-01-01, ActionTrail 2020-07-06\n"
            f"  AccessKey ID:      {sim.access_key_id}\n"
            f"  AccessKey secret:  {sim.access_key_secret}  (built-in fake key)\n"
            "Press Ctrl+C to stop.",
            flush=True,
        )
        sim.serve_forever()
    except KeyboardInterrupt:  # before serve_forever took over
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
