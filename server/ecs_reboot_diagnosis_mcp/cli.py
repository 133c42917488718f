"""The command line: ``ecs-reboot-diagnosis <command>``.

Exit codes are part of the interface (scripts branch on them):
0 success; 2 bad arguments or input; 3 credentials or permissions; 4 instance not found;
5 cloud or network failure; 1 anything unexpected.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ecs_reboot_diagnosis import __version__
from ecs_reboot_diagnosis.models import LANGS

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
    """Write to stdout, or atomically to a file so a failure never leaves half a report."""
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
    rendered = render_json(report) if args.format == "json" else render_markdown(report, args.lang)
    _write_output(rendered, args.output)
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
    render.add_argument("--lang", choices=LANGS, default="en", help="report language")
    render.add_argument("--format", choices=("markdown", "json"), default="markdown")
    render.add_argument("--output", type=Path, help="write to this file instead of stdout")
    render.set_defaults(handler=cmd_render_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        code: int = args.handler(args)
    except CliError as exc:
        print(f"ecs-reboot-diagnosis: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ecs-reboot-diagnosis: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    raise SystemExit(main())
