"""The listening socket of ``serve --transport http``, bound before the server starts so that a
busy port is one clear line and its own exit code, not uvicorn's startup-failure exit (3, the
code the command line gives to credentials problems)."""

from __future__ import annotations

import errno
import socket

from ecs_reboot_diagnosis.models import Lang, Text
from ecs_reboot_diagnosis_mcp.cli_errors import EXIT_CANNOT_LISTEN, CliError
from ecs_reboot_diagnosis_mcp.output_file import os_reason


def listening_socket(host: str, port: int, lang: Lang = "en") -> socket.socket:
    """A TCP socket bound to ``host``:``port`` and listening; CliError (exit 6) otherwise, in
    ``lang``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            why = Text(
                en=f"port {port} is already in use (another server?); choose another with --port "
                "or ECS_DIAG_PORT",
                zh_CN=f"端口 {port} 已被占用，可能另有服务在运行；"
                "请用 --port 或 ECS_DIAG_PORT 另选端口",
            )
        elif exc.errno == errno.EACCES:
            why = Text(
                en=f"not allowed to use port {port} (ports below 1024 need privileges)",
                zh_CN=f"无权使用端口 {port}（1024 以下的端口需要特权）",
            )
        elif exc.errno == errno.EADDRNOTAVAIL:
            why = Text(
                en=f"{host} is not an address of this machine; check --host / ECS_DIAG_HOST",
                zh_CN=f"{host} 不是本机的地址；请检查 --host / ECS_DIAG_HOST",
            )
        else:
            why = Text(en=os_reason(exc), zh_CN=os_reason(exc, "zh-CN"))
        said = Text(
            en=f"cannot listen on {shown}: {why.en}", zh_CN=f"无法在 {shown} 上监听：{why.zh_CN}"
        )
        raise CliError(said.get(lang), EXIT_CANNOT_LISTEN) from None
    except BaseException:
        sock.close()
        raise
    return sock
