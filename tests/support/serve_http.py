"""``ecs-reboot-diagnosis serve --transport http`` in a subprocess, for the tests that need a real
server process (two processes on one store, a server killed mid-diagnosis, the HTTP transport)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

SERVE_HTTP = [sys.executable, "-m", "ecs_reboot_diagnosis_mcp", "serve", "--transport", "http"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def http_server_process(
    env: dict[str, str], *args: str, port: int = 0, log: list[str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The server with ``env`` and extra ``args``; yields its loopback MCP URL once it answers,
    and its process (a test may kill it). Stopped on exit if it still runs; ``log`` receives its
    stderr once it has stopped."""
    port = port or free_port()
    proc = subprocess.Popen(
        [*SERVE_HTTP, "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(url, timeout=1.0)
                break
            except httpx.TransportError:
                if proc.poll() is not None:
                    raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "") from None
                time.sleep(0.1)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        _, err = proc.communicate(timeout=20)
        if log is not None:
            log.append(err.decode(errors="replace"))
