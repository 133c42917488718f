"""The listening socket of ``serve --transport http``, bound before the server starts so that a
busy port is one clear line and its own exit code, not uvicorn's startup-failure exit (3, the
code the command line gives to credentials problems)."""

from __future__ import annotations

import errno
import socket

from ecs_reboot_diagnosis_mcp.cli_errors import EXIT_CANNOT_LISTEN, CliError


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` and listening; CliError (exit 6) otherwise."""
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
            why = (
                f"port {port} is already in use (another server?); choose another with --port "
                "or ECS_DIAG_PORT"
            )
        elif exc.errno == errno.EACCES:
            why = f"not allowed to use port {port} (ports below 1024 need privileges)"
        elif exc.errno == errno.EADDRNOTAVAIL:
            why = f"{host} is not an address of this machine; check --host / ECS_DIAG_HOST"
        else:
            why = exc.strerror or str(exc)
        raise CliError(f"cannot listen on {shown}: {why}", EXIT_CANNOT_LISTEN) from None
    except BaseException:
        sock.close()
        raise
    return sock
