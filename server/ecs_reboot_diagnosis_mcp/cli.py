"""The command line: ``ecs-reboot-diagnosis <command>``.

Exit codes are part of the interface (scripts branch on them):
0 success; 2 bad arguments or input; 3 credentials or permissions; 4 instance not found;
5 cloud or network failure; 1 anything unexpected.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ecs_reboot_diagnosis import __version__
from ecs_reboot_diagnosis.errors import (
    CloudApiError,
    DiagnosisError,
    InstanceNotFoundError,
    InvalidInputError,
)
from ecs_reboot_diagnosis.models import LANGS
from ecs_reboot_diagnosis.text_safety import strip_controls

if TYPE_CHECKING:
    from ecs_reboot_diagnosis.service import DiagnosisService
    from ecs_reboot_diagnosis_mcp.settings import Settings

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_CREDENTIALS = 3
EXIT_NOT_FOUND = 4
EXIT_CLOUD = 5


class CliError(Exception):
    """A failure the user can act on: one line on stderr and a documented exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _write_output(text: str, output: Path | None) -> None:
    """Write to stdout, or atomically to a file so a failure never leaves half a report; no
    control character of guest or API text reaches either."""
    text = strip_controls(text)
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    tmp = output.with_name(f".{output.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CliError(f"cannot write {output}: {exc.strerror or exc}", EXIT_USAGE) from exc


def cmd_render_report(args: argparse.Namespace) -> int:
    from ecs_reboot_diagnosis.report.render import (
        ReportLoadError,
        load_report,
        render_json,
        render_markdown,
    )

    path: Path = args.report
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_USAGE) from exc
    try:
        report = load_report(text)
    except ReportLoadError as exc:
        raise CliError(f"{path} is not a saved report: {exc}", EXIT_USAGE) from exc
    if args.format == "json":
        rendered = render_json(report)
    else:
        rendered = render_markdown(report, args.lang or _settings(args).lang)
    _write_output(rendered, args.output)
    return EXIT_OK


def exit_code_for(error: DiagnosisError) -> int:
    if isinstance(error, InvalidInputError):
        return EXIT_USAGE
    if isinstance(error, InstanceNotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(error, CloudApiError):
        if error.kind in ("credentials", "forbidden"):
            return EXIT_CREDENTIALS
        if error.kind == "not_found":
            return EXIT_NOT_FOUND
        if error.kind == "invalid_parameter":
            return EXIT_USAGE
        return EXIT_CLOUD
    return EXIT_UNEXPECTED


class Progress:
    """One live status line on stderr with the elapsed time; silent when not a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.started = time.monotonic()

    async def __call__(self, done: float, total: float | None, message: str) -> None:
        if not self.live:
            return
        elapsed = time.monotonic() - self.started
        self.stream.write(f"\r\x1b[K[{elapsed:6.1f}s] {strip_controls(message)[:110]}")
        self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _ask(args: argparse.Namespace, name: str, flag: str, label: str, example: str) -> str:
    value: str = getattr(args, name) or ""
    if value:
        return value
    if not sys.stdin.isatty():
        raise CliError(f"{flag} is required (for example {flag} {example}); it is never guessed",
                       EXIT_USAGE)  # fmt: skip
    try:
        return input(f"{label} (e.g. {example}): ").strip()
    except EOFError as exc:
        raise CliError(f"{flag} is required", EXIT_USAGE) from exc


def _clear_proxies() -> None:
    """The SDK honours proxy variables even for loopback; the simulator is always local."""
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
                 "all_proxy"):  # fmt: skip
        os.environ.pop(name, None)


@contextlib.contextmanager
def _service(args: argparse.Namespace, settings: Settings) -> Iterator[DiagnosisService]:
    """The service over the real cloud, or over the bundled simulator with ``--simulator``."""
    from ecs_reboot_diagnosis_mcp.app import build_gateway, build_outside_gateways, build_service

    if getattr(args, "simulator", None) is None:
        metrics, audit = build_outside_gateways(settings)
        yield build_service(settings, build_gateway(settings), metrics=metrics, audit=audit)
        return
    from ecs_api_simulator import ScenarioError, SimulatorServer

    _clear_proxies()
    dirs = [args.simulator] if args.simulator else None
    try:
        sim = SimulatorServer(dirs)
    except (ScenarioError, OSError) as exc:
        raise CliError(f"cannot load the simulator scenarios: {exc}", EXIT_USAGE) from exc
    with sim:
        # All three products on the simulator, whatever ECS_DIAG_*_ENDPOINT says.
        simulated = settings.model_copy(
            update={
                "endpoint": sim.url,
                "metrics_endpoint": sim.url,
                "actiontrail_endpoint": sim.url,
                "simulated": True,
            }
        )
        keys = {"access_key_id": sim.access_key_id, "access_key_secret": sim.access_key_secret}
        metrics, audit = build_outside_gateways(simulated, **keys)
        yield build_service(
            simulated, build_gateway(simulated, **keys), metrics=metrics, audit=audit
        )


def _settings(args: argparse.Namespace) -> Settings:
    from pydantic import ValidationError

    from ecs_reboot_diagnosis_mcp.settings import Settings

    overrides = {
        key: value
        for key, value in {
            "endpoint": getattr(args, "endpoint", None),
            "metrics_endpoint": getattr(args, "metrics_endpoint", None),
            "actiontrail_endpoint": getattr(args, "actiontrail_endpoint", None),
            "guest_commands": False if getattr(args, "no_guest_commands", False) else None,
        }.items()
        if value is not None
    }
    try:
        return Settings().model_copy(update=overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = "ECS_DIAG_" + "_".join(str(part) for part in error["loc"]).upper()
        message = error["msg"].removeprefix("Value error, ")
        if not message.startswith(name):
            message = f"{name}: {message}"
        raise CliError(f"invalid setting: {message}", EXIT_USAGE) from exc


def _check_reboot_time(value: str | None) -> None:
    """Refuse a bad --reboot-time before anything is asked or called (the service reads it
    again, against its own clock, when the diagnosis starts)."""
    if value is None:
        return
    from ecs_reboot_diagnosis.clock import SystemClock
    from ecs_reboot_diagnosis.reboot_time import parse_reboot_time

    try:
        parse_reboot_time(value, SystemClock().now())
    except InvalidInputError as exc:
        raise CliError(f"--reboot-time: {exc.message} {exc.hint}", EXIT_USAGE) from exc


def cmd_diagnose(args: argparse.Namespace) -> int:
    from ecs_reboot_diagnosis.report.render import render_json, render_markdown

    _check_reboot_time(args.reboot_time)
    settings = _settings(args)
    instance_id = _ask(args, "instance_id", "--instance-id", "ECS instance id",
                       "i-bp1a2b3c4d5e6f7g8h9j")  # fmt: skip
    region_id = _ask(args, "region", "--region", "Region id", "cn-hangzhou")
    progress = Progress(sys.stderr)
    try:
        with _service(args, settings) as service:
            report = asyncio.run(
                service.diagnose(
                    instance_id,
                    region_id,
                    progress,
                    reboot_time=args.reboot_time,
                    owner="",
                    lang=args.lang or settings.lang,
                )
            )
    finally:
        progress.close()
    lang = args.lang or settings.lang
    text = render_json(report) if args.format == "json" else render_markdown(report, lang)
    _write_output(text, args.output)
    screenshot = service.status(report.diagnosis_id, owner="").screenshot_png
    if screenshot and args.output is not None:
        path = args.output.with_name(args.output.stem + ".screenshot.png")
        _write_bytes(screenshot, path)
        print(f"screenshot saved to {path}", file=sys.stderr)
    return EXIT_OK


def _write_bytes(data: bytes, output: Path) -> None:
    tmp = output.with_name(f".{output.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(output)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CliError(f"cannot write {output}: {exc.strerror or exc}", EXIT_USAGE) from exc


def cmd_serve(args: argparse.Namespace) -> int:
    from ecs_reboot_diagnosis_mcp.mcp_server import build_server

    settings = _settings(args)
    logging.basicConfig(stream=sys.stderr, level=settings.log_level)
    if args.transport == "stdio":
        with _service(args, settings) as service:
            build_server(service).run("stdio")
        return EXIT_OK
    import uvicorn

    from ecs_reboot_diagnosis_mcp import http_app

    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    tokens = http_app.parse_tokens(settings.http_token)
    configured = args.allowed_host or settings.allowed_hosts.split(",")
    try:
        http_app.check_exposure(host, tokens)
        hosts = http_app.allowed_hosts(host, port, configured)
    except http_app.ConfigurationError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    auth = http_app.auth_settings(hosts) if tokens else None
    verifier = http_app.StaticTokenVerifier(tokens) if tokens else None
    with _service(args, settings) as service:
        server = build_server(service, auth=auth, token_verifier=verifier)
        app = server.streamable_http_app(
            host=host, transport_security=http_app.transport_security(hosts)
        )
        print(f"MCP endpoint: http://{_url_host(host)}:{port}/mcp"
              + (" (bearer token required)" if tokens else "")
              + f"; accepted Host values: {', '.join(hosts)}", file=sys.stderr)  # fmt: skip
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    return EXIT_OK


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def cmd_simulate(args: argparse.Namespace) -> int:
    from ecs_api_simulator import ScenarioError, SimulatorServer

    dirs = [args.scenario] if args.scenario else None
    try:
        sim = SimulatorServer(dirs, host=args.host, port=args.port)
    except (ScenarioError, OSError) as exc:
        raise CliError(f"cannot load the simulator scenarios: {exc}", EXIT_USAGE) from exc
    with sim:
        print(
            f"ECS API simulator on {sim.url} AccessKey ID {sim.access_key_id} "
            f"AccessKey secret {sim.access_key_secret} (built-in, fake, for the simulator only)",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return EXIT_OK


def cmd_analyze_log(args: argparse.Namespace) -> int:
    from ecs_reboot_diagnosis_mcp.analyze_log import run

    code, text = run(args.file, args.os, args.format)
    if code != EXIT_OK:
        raise CliError(text, code)
    _write_output(text, args.output)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecs-reboot-diagnosis",
        description="Find out, from data, why an Alibaba Cloud ECS instance rebooted or crashed.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    render = sub.add_parser(
        "render-report",
        help="render a saved report (JSON) as Markdown or JSON, in English or Chinese",
        description="Render a saved report model (the JSON that `--format json` produces) "
        "again, for example in the other language.",
    )
    render.add_argument("report", type=Path, metavar="REPORT.json")
    render.add_argument(
        "--lang", choices=LANGS, help="report language (default: ECS_DIAG_LANG, else en)"
    )
    render.add_argument("--format", choices=("markdown", "json"), default="markdown")
    render.add_argument("--output", type=Path, help="write to this file instead of stdout")
    render.set_defaults(handler=cmd_render_report)

    diagnose = sub.add_parser(
        "diagnose",
        help="diagnose why an instance rebooted or crashed, and print the report",
        description="Run the whole workflow (the same engine and guardrails as the MCP tools) "
        "and print the report. Credentials come from the default Alibaba Cloud chain; "
        "--simulator runs against the bundled ECS simulator instead.",
    )
    diagnose.add_argument("--instance-id", help="ECS instance id, e.g. i-bp1a2b3c4d5e6f7g8h9j")
    diagnose.add_argument("--region", help="region id, e.g. cn-hangzhou")
    diagnose.add_argument(
        "--reboot-time",
        metavar="TIME",
        help="when the reboot to explain happened, if not the latest: ISO 8601 "
        "(2026-11-30T03:00+08:00; without a zone it is UTC) or relative (2h ago, 3d ago, "
        "1d2h ago, 45 minutes ago)",
    )
    diagnose.add_argument(
        "--lang", choices=LANGS, help="report language (default: ECS_DIAG_LANG, else en)"
    )
    diagnose.add_argument("--format", choices=("markdown", "json"), default="markdown")
    diagnose.add_argument("--output", type=Path, help="write the report to this file")
    _add_cloud_arguments(diagnose)
    diagnose.set_defaults(handler=cmd_diagnose)

    serve = sub.add_parser("serve", help="serve the diagnosis tools over MCP")
    serve.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    serve.add_argument("--host", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP port (default 8000)")
    serve.add_argument(
        "--allowed-host",
        action="append",
        metavar="HOST[:PORT]",
        help="a Host header value to accept over HTTP (repeatable; default: the bind address "
        "and 127.0.0.1, localhost, [::1], with the port)",
    )
    _add_cloud_arguments(serve)
    serve.set_defaults(handler=cmd_serve)

    simulate = sub.add_parser("simulate", help="run the ECS API simulator in the foreground")
    simulate.add_argument(
        "--scenarios",
        "--scenario",
        dest="scenario",
        type=Path,
        help="a scenario directory, or a directory of them (default: the bundled set)",
    )
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=8765)
    simulate.set_defaults(handler=cmd_simulate)

    analyze = sub.add_parser(
        "analyze-log",
        help="find crash and reboot signatures in a saved log or collector output, offline",
        description="Read saved evidence (collector envelope, dmesg, syslog, journal export, "
        "serial console, vmcore-dmesg.txt, Windows event XML or text) and print the findings. "
        "Nothing is sent anywhere.",
    )
    analyze.add_argument("file", type=Path, metavar="FILE")
    analyze.add_argument("--os", choices=("auto", "linux", "windows"), default="auto")
    analyze.add_argument("--format", choices=("text", "json"), default="text")
    analyze.add_argument("--output", type=Path, help="write to this file instead of stdout")
    analyze.set_defaults(handler=cmd_analyze_log)

    from ecs_reboot_diagnosis_mcp.skill_install import add_skill_parser

    add_skill_parser(sub)
    return parser


def _add_cloud_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint",
        help="ECS API endpoint, host[:port] or URL (default: the region's own); CloudMonitor "
        "and ActionTrail use it too unless given their own",
    )
    parser.add_argument(
        "--metrics-endpoint", help="CloudMonitor endpoint (default: --endpoint if given)"
    )
    parser.add_argument(
        "--actiontrail-endpoint", help="ActionTrail endpoint (default: --endpoint if given)"
    )
    parser.add_argument(
        "--simulator",
        nargs="?",
        const="",
        metavar="SCENARIO_DIR",
        help="use the bundled ECS simulator (optionally with these scenarios)",
    )
    parser.add_argument(
        "--no-guest-commands",
        action="store_true",
        help="never run anything in the guest; diagnose from the cloud side only",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        code: int = args.handler(args)
    except CliError as exc:
        print(f"ecs-reboot-diagnosis: error: {strip_controls(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except DiagnosisError as exc:
        from ecs_reboot_diagnosis_mcp.credentials_help import missing_credentials_line

        message = missing_credentials_line(exc) or strip_controls(str(exc))
        print(f"ecs-reboot-diagnosis: error: {message}", file=sys.stderr)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        print("ecs-reboot-diagnosis: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    raise SystemExit(main())
