"""The command line: ``ecs-reboot-diagnosis <command>``, written for a person at a terminal.

Exit codes are part of the interface (scripts branch on them); :mod:`cli_errors` lists them and
is the one place where errors become the line the person reads. A Markdown report on a terminal
is rendered for it (:mod:`terminal`); piped or written with ``--output``, it is plain Markdown.
Every option and ``ECS_DIAG_*`` value is checked before any API call, ``--output`` included;
an ECS_DIAG_STORE that cannot be used is a bad setting (exit 2).
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
from ecs_reboot_diagnosis.errors import DiagnosisError, InvalidInputError, ScanBusyError
from ecs_reboot_diagnosis.models import LANGS, Lang, Text
from ecs_reboot_diagnosis.text_safety import strip_controls
from ecs_reboot_diagnosis_mcp.cli_errors import (
    EXIT_BUSY,
    EXIT_CANNOT_LISTEN,
    EXIT_CLOUD,
    EXIT_CREDENTIALS,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    CliError,
    cli_error_for,
    exit_code_for,
)
from ecs_reboot_diagnosis_mcp.output_file import check_output_path, os_reason, write_atomically
from ecs_reboot_diagnosis_mcp.terminal import is_terminal, show_markdown

if TYPE_CHECKING:
    from ecs_reboot_diagnosis.fleet_scan import FleetScanner
    from ecs_reboot_diagnosis.service import DiagnosisService
    from ecs_reboot_diagnosis_mcp.settings import Settings

__all__ = [
    "EXIT_BUSY",
    "EXIT_CANNOT_LISTEN",
    "EXIT_CLOUD",
    "EXIT_CREDENTIALS",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_UNEXPECTED",
    "EXIT_USAGE",
    "CliError",
    "build_parser",
    "exit_code_for",
    "main",
]


def _lang(args: argparse.Namespace | None = None) -> Lang:
    """The language of what the command says: ``--lang``, else ECS_DIAG_LANG when it is a
    language (a bad value is refused by the settings, in English), else English."""
    chosen = getattr(args, "lang", None)
    if chosen in LANGS:
        return chosen  # type: ignore[no-any-return]
    env = os.environ.get("ECS_DIAG_LANG", "").strip()
    return "zh-CN" if env == "zh-CN" else "en"


def _write_output(
    text: str, output: Path | None, *, markdown: bool = False, lang: Lang = "en"
) -> None:
    """Write to stdout, or atomically to a file so a failure never leaves half a report (the
    path written is said on stderr); no control character of guest or API text reaches either.
    Markdown on a terminal is rendered for it; piped or to a file it stays plain Markdown."""
    text = strip_controls(text)
    if output is None:
        if markdown and is_terminal(sys.stdout):
            show_markdown(text, sys.stdout)
            return
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    write_atomically(output, text.encode("utf-8"), lang)
    print(Text(en=f"written to {output}", zh_CN=f"已写入 {output}").get(lang), file=sys.stderr)


def _output(args: argparse.Namespace) -> Path | None:
    """``--output``, checked before anything else runs (None: stdout)."""
    output: Path | None = getattr(args, "output", None)
    return None if output is None else check_output_path(output, lang=_lang(args))


def cmd_render_report(args: argparse.Namespace) -> int:
    from ecs_reboot_diagnosis.report.render import (
        ReportLoadError,
        load_report,
        render_json,
        render_markdown,
    )

    output = _output(args)
    lang = _lang(args)
    path: Path = args.report
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        why = os_reason(exc, lang)
        said = Text(en=f"cannot read {path}: {why}", zh_CN=f"无法读取 {path}：{why}")
        raise CliError(said.get(lang), EXIT_USAGE) from exc
    try:
        report = load_report(text)
    except ReportLoadError as exc:
        said = Text(en=f"{path} is not a saved report: {exc}",
                    zh_CN=f"{path} 不是保存的报告：{exc}")  # fmt: skip
        raise CliError(said.get(lang), EXIT_USAGE) from exc
    markdown = args.format != "json"
    if markdown:
        rendered = render_markdown(report, args.lang or _settings(args).lang)
    else:
        rendered = render_json(report)
    _write_output(rendered, output, markdown=markdown, lang=lang)
    return EXIT_OK


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


def _ask(
    args: argparse.Namespace, name: str, flag: str, label: Text, example: str, lang: Lang
) -> str:
    value: str = getattr(args, name) or ""
    if value:
        return value
    if not sys.stdin.isatty():
        said = Text(
            en=f"{flag} is required (for example {flag} {example}); it is never guessed",
            zh_CN=f"缺少 {flag}（例如 {flag} {example}）；程序不会猜测它",
        )
        raise CliError(said.get(lang), EXIT_USAGE)
    prompt = Text(en=f"{label.en} (e.g. {example}): ", zh_CN=f"{label.zh_CN}（例如 {example}）：")
    try:
        return input(prompt.get(lang)).strip()
    except EOFError as exc:
        said = Text(en=f"{flag} is required", zh_CN=f"缺少 {flag}")
        raise CliError(said.get(lang), EXIT_USAGE) from exc


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
        said = Text(
            en=f"cannot load the simulator scenarios: {exc}",
            zh_CN=f"无法加载模拟器场景：`{exc}`",
        )
        raise CliError(said.get(_lang(args)), EXIT_USAGE) from exc
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


SETTING_OPTIONS: dict[str, str] = {
    "endpoint": "--endpoint",
    "metrics_endpoint": "--metrics-endpoint",
    "actiontrail_endpoint": "--actiontrail-endpoint",
    "host": "--host",
    "port": "--port",
    "transport": "--transport",
}
"""Settings a command-line option overrides: field -> option (named in error messages)."""


def _settings(args: argparse.Namespace) -> Settings:
    """The ECS_DIAG_* settings with the options given on top, every value validated; a bad one
    stops here, before any API call, with a message naming the variable or the option."""
    from ecs_reboot_diagnosis_mcp.settings import SettingsInvalid, load_settings

    overrides = {field: getattr(args, field.replace("-", "_"), None) for field in SETTING_OPTIONS}
    overrides = {field: value for field, value in overrides.items() if value is not None}
    if getattr(args, "no_guest_commands", False):
        overrides["guest_commands"] = False
    flags = {field: SETTING_OPTIONS[field] for field in overrides if field in SETTING_OPTIONS}
    ca_bundle = _ca_bundle(getattr(args, "ca_bundle", None))
    if ca_bundle is not None:
        overrides["ca_bundle"] = ca_bundle
        flags["ca_bundle"] = "--ca-bundle"
    try:
        return load_settings(overrides, flags, _lang(args))
    except SettingsInvalid as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def _ca_bundle(value: str | None) -> str | None:
    if value is None:
        return None
    from ecs_reboot_diagnosis_mcp.aliyun.ca_bundle import CaBundleError, check_ca_bundle

    try:
        return check_ca_bundle(value, "--ca-bundle")
    except CaBundleError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def _check_reboot_time(value: str | None, lang: Lang = "en") -> None:
    """Refuse a bad --reboot-time before anything is asked or called (the service reads it
    again, against its own clock, when the diagnosis starts)."""
    if value is None:
        return
    from ecs_reboot_diagnosis.clock import SystemClock
    from ecs_reboot_diagnosis.reboot_time import parse_reboot_time

    try:
        parse_reboot_time(value, SystemClock().now())
    except InvalidInputError as exc:
        raise cli_error_for(exc, lang) from exc


def _default_region(value: str, lang: Lang = "en") -> str:
    """ECS_DIAG_REGION_ID, the command line's region when --region is not given (the MCP
    tools never assume a region: the agent asks the user)."""
    from ecs_reboot_diagnosis.service import validate_region_id

    try:
        return validate_region_id(value)
    except InvalidInputError:
        said = Text(
            en=f"ECS_DIAG_REGION_ID={value[:64]}: not a region id (one looks like cn-hangzhou)",
            zh_CN=f"ECS_DIAG_REGION_ID={value[:64]}：不是地域 ID（地域 ID 形如 cn-hangzhou）",
        )
        raise CliError(said.get(lang), EXIT_USAGE) from None


INSTANCE_LABEL = Text(en="ECS instance id", zh_CN="ECS 实例 ID")
REGION_LABEL = Text(en="Region id", zh_CN="地域 ID")


def cmd_diagnose(args: argparse.Namespace) -> int:
    lang = _lang(args)
    _check_reboot_time(args.reboot_time, lang)
    output = _output(args)
    settings = _settings(args)
    lang = args.lang or settings.lang
    instance_id = _ask(args, "instance_id", "--instance-id", INSTANCE_LABEL,
                       "i-bp1a2b3c4d5e6f7g8h9j", lang)  # fmt: skip
    if not args.region and settings.region_id:
        args.region = _default_region(settings.region_id, lang)
    region_id = _ask(args, "region", "--region", REGION_LABEL, "cn-hangzhou", lang)
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
                    lang=lang,
                )
            )
    finally:
        progress.close()
    from ecs_reboot_diagnosis.report.render import render_json, render_markdown  # after the run

    markdown = args.format != "json"
    text = render_markdown(report, lang) if markdown else render_json(report)
    _write_output(text, output, markdown=markdown, lang=lang)
    screenshot = service.status(report.diagnosis_id, owner="").screenshot_png
    if screenshot and output is not None:
        path = output.with_name(output.stem + ".screenshot.png")
        write_atomically(path, screenshot, lang)
        said = Text(en=f"screenshot saved to {path}", zh_CN=f"屏幕截图已保存到 {path}")
        print(said.get(lang), file=sys.stderr)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from ecs_reboot_diagnosis_mcp.app import fleet_scanner_for
    from ecs_reboot_diagnosis_mcp.mcp_server import build_server

    settings = _settings(args)
    logging.basicConfig(stream=sys.stderr, level=settings.log_level)
    if not settings.http_transport:
        with _service(args, settings) as service:
            build_server(service, scanner=fleet_scanner_for(service, settings)).run("stdio")
        return EXIT_OK
    import uvicorn

    from ecs_reboot_diagnosis_mcp import http_app
    from ecs_reboot_diagnosis_mcp.listen import listening_socket

    host, port = settings.host, settings.port
    tokens = http_app.parse_tokens(settings.http_token)
    configured = args.allowed_host or settings.allowed_hosts.split(",")
    try:
        http_app.check_exposure(host, tokens)
        hosts = http_app.allowed_hosts(host, port, configured)
    except http_app.ConfigurationError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    auth = http_app.auth_settings(hosts) if tokens else None
    verifier = http_app.StaticTokenVerifier(tokens) if tokens else None
    # Bound first: a busy port is one clear line and exit 6, before the simulator or anything
    # else starts (uvicorn would exit 3, the credentials code).
    with listening_socket(host, port, _lang(args)) as sock, _service(args, settings) as service:
        server = build_server(
            service,
            auth=auth,
            token_verifier=verifier,
            scanner=fleet_scanner_for(service, settings),
        )
        app = server.streamable_http_app(
            host=host, transport_security=http_app.transport_security(hosts)
        )
        print(f"MCP endpoint: http://{_url_host(host)}:{port}/mcp"
              + (" (bearer token required)" if tokens else "")
              + f"; accepted Host values: {', '.join(hosts)}", file=sys.stderr)  # fmt: skip
        config = uvicorn.Config(app, log_level="warning", access_log=False)
        uvicorn.Server(config).run(sockets=[sock])
    return EXIT_OK


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def cmd_simulate(args: argparse.Namespace) -> int:
    from ecs_api_simulator import ScenarioError, SimulatorServer
    from ecs_api_simulator.fleet import FleetSpec

    _exit_on_sigterm()
    dirs = [args.scenario] if args.scenario else None
    try:
        fleet = FleetSpec(size=args.fleet) if args.fleet else None
        sim = SimulatorServer(dirs, host=args.host, port=args.port, tls=args.tls, fleet=fleet)
    except (ScenarioError, OSError, ValueError) as exc:
        raise CliError(f"cannot load the simulator scenarios: {exc}", EXIT_USAGE) from exc
    try:
        sim.start()
    except OSError as exc:
        raise CliError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}; choose another "
            "--port",
            EXIT_CANNOT_LISTEN,
        ) from None
    # Started above, so that a busy port is its own error; stopped here. Ctrl+C or SIGTERM at
    # any point after the start stops the server and ends normally.
    try:
        with contextlib.suppress(KeyboardInterrupt):
            print(
                f"ECS API simulator on {sim.url} AccessKey ID {sim.access_key_id} AccessKey "
                f"secret {sim.access_key_secret} (built-in, fake, for the simulator only)",
                flush=True,
            )
            if sim.ca_file is not None:
                print(f"CA certificate (trust it with --ca-bundle or ECS_DIAG_CA_BUNDLE): "
                      f"{sim.ca_file}", flush=True)  # fmt: skip
            while True:
                time.sleep(3600)
    finally:
        sim.stop()
    return EXIT_OK


def _exit_on_sigterm() -> None:
    """SIGTERM (a service manager, ``timeout``, ``kill``) unwinds like Ctrl+C: the simulator
    stops and removes its throwaway TLS files."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


@contextlib.contextmanager
def _fleet_scanner(args: argparse.Namespace, settings: Settings) -> Iterator[FleetScanner]:
    """The fleet scanner over the real cloud, or over the bundled simulator (``--simulator``,
    plus a generated fleet with ``--simulator-fleet N``), keeping its scans in the store
    ECS_DIAG_STORE names (the same file as the diagnoses)."""
    from ecs_reboot_diagnosis_mcp.aliyun.flow_control import parse_rate_limits
    from ecs_reboot_diagnosis_mcp.app import build_fleet_scanner

    try:
        limits = parse_rate_limits(args.rate_limits or "")
    except ValueError as exc:
        raise CliError(f"--rate-limits: {exc}", EXIT_USAGE) from exc
    if getattr(args, "simulator", None) is None:
        if args.simulator_fleet:
            raise CliError("--simulator-fleet needs --simulator", EXIT_USAGE)
        try:
            yield build_fleet_scanner(settings, limits=limits)
        except ValueError as exc:
            raise CliError(f"ECS_DIAG_SCAN_RATE_LIMITS: {exc}", EXIT_USAGE) from exc
        return
    from ecs_api_simulator import ScenarioError, SimulatorServer
    from ecs_api_simulator.fleet import FleetSpec

    _clear_proxies()
    dirs = [args.simulator] if args.simulator else None
    try:
        fleet = FleetSpec(size=args.simulator_fleet) if args.simulator_fleet else None
        sim = SimulatorServer(dirs, fleet=fleet)
    except (ScenarioError, OSError, ValueError) as exc:
        raise CliError(f"cannot load the simulator scenarios: {exc}", EXIT_USAGE) from exc
    with sim:
        simulated = settings.model_copy(
            update={"endpoint": sim.url, "actiontrail_endpoint": sim.url, "simulated": True}
        )
        yield build_fleet_scanner(
            simulated,
            access_key_id=sim.access_key_id,
            access_key_secret=sim.access_key_secret,
            limits=limits,
        )


def _split(values: Sequence[str] | None) -> list[str]:
    return [v.strip() for value in values or () for v in value.split(",") if v.strip()]


def _tags(values: Sequence[str] | None) -> list[tuple[str, str]]:
    tags = []
    for value in values or ():
        key, sep, tag_value = value.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--tag {value!r}: give it as KEY=VALUE (e.g. --tag team=web)",
                           EXIT_USAGE)  # fmt: skip
        tags.append((key.strip(), tag_value.strip()))
    return tags


def cmd_scan(args: argparse.Namespace) -> int:
    from ecs_reboot_diagnosis.fleet_models import parse_since
    from ecs_reboot_diagnosis.report.fleet_render import (
        render_fleet_json,
        render_fleet_markdown,
        render_fleet_table,
    )
    from ecs_reboot_diagnosis.scan_store import check_scan_id

    output = _output(args)
    settings = _settings(args)
    regions, ids, tags = _split(args.region), _split(args.instance_ids), _tags(args.tag)
    if args.resume:
        if regions or ids or tags or args.since:
            raise CliError("--resume continues a scan with its own regions, instances, tags and "
                           "window: drop --region, --instance-ids, --tag and --since",
                           EXIT_USAGE)  # fmt: skip
        check_scan_id(args.resume)
        if settings.store_path() is None:
            raise CliError(
                "--resume reads the scan from the store file, and ECS_DIAG_STORE=memory keeps "
                "no scan after the command ends: unset ECS_DIAG_STORE (or set it to sqlite or "
                "sqlite:///ABSOLUTE/PATH) and start the scan again; a scan run with memory "
                "cannot be resumed",
                EXIT_USAGE,
            )
    elif not regions:
        raise CliError("--region is required (for example --region cn-hangzhou); it is never "
                       "guessed", EXIT_USAGE)  # fmt: skip
    since = parse_since(args.since or "24h")
    progress = Progress(sys.stderr)
    scan_id = args.resume or ""
    kept = settings.store_path() is not None
    resume = f"ecs-reboot-diagnosis scan --resume {scan_id}"
    try:
        with _fleet_scanner(args, settings) as scanner:
            if not scan_id:
                request = scanner.new_request(
                    regions,
                    instance_ids=ids,
                    tags=tags,
                    since=since,
                    guest_commands=settings.guest_commands,
                )
                scan_id = scanner.start(request)
            resume = f"ecs-reboot-diagnosis scan --resume {scan_id}"
            print(f"scan {scan_id} " + (f"(if interrupted: {resume})" if kept else
                  "(not kept: ECS_DIAG_STORE=memory, it cannot be resumed)"),
                  file=sys.stderr)  # fmt: skip
            result = asyncio.run(scanner.run(scan_id, progress))
    except KeyboardInterrupt:
        progress.close()
        print(f"ecs-reboot-diagnosis: scan {scan_id} interrupted; "
              + (f"continue it with: {resume}" if kept else "it was not kept (ECS_DIAG_STORE="
                 "memory)"), file=sys.stderr)  # fmt: skip
        return 130
    except DiagnosisError as exc:
        progress.close()
        if not scan_id or isinstance(exc, InvalidInputError):  # resuming would not help
            raise
        error = cli_error_for(exc)
        if isinstance(exc, ScanBusyError):
            if not exc.gone:
                error = CliError(f"{error} ({resume})", error.exit_code)
        elif kept:
            error = CliError(f"{error} What was concluded is kept: once it is fixed, continue "
                             f"with: {resume}", error.exit_code)  # fmt: skip
        raise error from exc
    finally:
        progress.close()
    lang = args.lang or settings.lang
    if args.format == "json":
        text = render_fleet_json(result)
    elif args.format == "markdown":
        text = render_fleet_markdown(result, lang)
    else:
        text = render_fleet_table(result, lang)
    _write_output(text, output)
    return EXIT_OK


def cmd_analyze_log(args: argparse.Namespace) -> int:
    from ecs_reboot_diagnosis_mcp.analyze_log import run

    output = _output(args)
    code, text = run(args.file, args.os, args.format)
    if code != EXIT_OK:
        raise CliError(text, code)
    _write_output(text, output)
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
    diagnose.add_argument(
        "--output",
        type=Path,
        help="write the report to this file, as plain Markdown (checked before any API call; "
        "the path written is said on stderr). Without it the report goes to stdout, rendered "
        "for a terminal when stdout is one",
    )
    _add_cloud_arguments(diagnose)
    diagnose.set_defaults(handler=cmd_diagnose)

    serve = sub.add_parser("serve", help="serve the diagnosis tools over MCP")
    serve.add_argument(
        "--transport",
        choices=("stdio", "http", "streamable-http"),
        help="MCP transport (default: ECS_DIAG_TRANSPORT, else stdio); http is streamable "
        "HTTP, also spelled streamable-http",
    )
    serve.add_argument("--host", help="HTTP bind address (default: ECS_DIAG_HOST, else 127.0.0.1)")
    serve.add_argument(
        "--port", type=_port_number, help="HTTP port, 1-65535 (default: ECS_DIAG_PORT, else 8000)"
    )
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
    simulate.add_argument(
        "--port", type=_port_number_or_zero, default=8765, help="0-65535; 0 picks a free port"
    )
    simulate.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with a certificate from a throwaway CA made at start (its path is "
        "printed; removed at exit)",
    )
    simulate.add_argument(
        "--fleet",
        type=int,
        metavar="N",
        help="also serve a generated fleet of N instances in cn-shanghai and cn-beijing (for scan)",
    )
    simulate.set_defaults(handler=cmd_simulate)

    scan = sub.add_parser(
        "scan",
        help="which instances of a region rebooted, stopped or crashed, and why, grouped by cause",
        description="Scan a fleet with batched API calls (100 instances a call) and one Cloud "
        "Assistant run per batch: platform events, API calls (ActionTrail) and, where allowed, "
        "the read-only collector in the guests. Prints the causes, then the instances, each "
        "with the command of its full diagnosis. The scan is kept in the store file with the "
        "diagnoses (ECS_DIAG_STORE; by default $XDG_STATE_HOME/ecs-reboot-diagnosis/"
        "diagnoses.sqlite3) for 24 h after its last progress; --resume SCAN_ID continues an "
        "interrupted scan or prints a finished one again.",
    )
    scan.add_argument(
        "--region", action="append", metavar="REGION", help="region id (repeatable, or a,b)"
    )
    scan.add_argument(
        "--instance-ids",
        nargs="+",
        metavar="ID",
        help="only these instances (space- or comma-separated; default: every instance)",
    )
    scan.add_argument(
        "--tag", action="append", metavar="KEY=VALUE", help="only instances with this tag"
    )
    scan.add_argument(
        "--since", metavar="DURATION", help="the window to scan, 1h..30d (default 24h)"
    )
    scan.add_argument(
        "--resume",
        metavar="SCAN_ID",
        help="continue an interrupted scan, or print a finished one again (from the store file)",
    )
    scan.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    scan.add_argument("--lang", choices=LANGS, help="output language (default: en)")
    scan.add_argument("--output", type=Path, help="write to this file instead of stdout")
    scan.add_argument(
        "--rate-limits",
        metavar="LIMITS",
        help="per-API rate limits over the defaults, e.g. RunCommand=2,LookupEvents=1/2s "
        "(env ECS_DIAG_SCAN_RATE_LIMITS)",
    )
    scan.add_argument(
        "--simulator-fleet",
        type=int,
        metavar="N",
        help="with --simulator: add a generated fleet of N instances in cn-shanghai and cn-beijing",
    )
    _add_cloud_arguments(scan)
    scan.set_defaults(handler=cmd_scan)

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


def _port_number(text: str, low: int = 1) -> int:
    """A TCP port, for argparse: its message names the option ("argument --port: ...")."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not low <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is out of range: must be {low}-65535")
    return value


def _port_number_or_zero(text: str) -> int:
    return _port_number(text, low=0)


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
        "--ca-bundle",
        metavar="FILE",
        help="PEM file of CA certificates to trust over HTTPS besides the public roots (env "
        "ECS_DIAG_CA_BUNDLE); verification is never turned off",
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
    lang = _lang(args)
    # zh-CN: the program's name, then the sentence (which has its own colon, if any: one a line)
    error_label = Text(en="error: ", zh_CN="").get(lang)
    try:
        code: int = args.handler(args)
    except CliError as exc:
        print(f"ecs-reboot-diagnosis: {error_label}{strip_controls(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except DiagnosisError as exc:
        error = cli_error_for(exc, lang)
        print(f"ecs-reboot-diagnosis: {error_label}{strip_controls(str(error))}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(Text(en="ecs-reboot-diagnosis: interrupted",
                   zh_CN="ecs-reboot-diagnosis: 已中断").get(lang), file=sys.stderr)  # fmt: skip
        return EXIT_INTERRUPTED
    return code


if __name__ == "__main__":
    raise SystemExit(main())
