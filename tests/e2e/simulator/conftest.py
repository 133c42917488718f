"""Shared fixtures: the simulator over loopback and official SDK clients pointed at it.

The credentials library reads ALIBABA_CLOUD_* variables once at import, so the ECS metadata
provider is disabled here, before anything imports it (and patched again in case it was).
Proxy variables are honoured by the SDK even for 127.0.0.1, so they are cleared for every test.
"""

from __future__ import annotations

import os

os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
for _name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_name, None)

import threading  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import alibabacloud_credentials.utils.auth_util as auth_util  # noqa: E402
import pytest  # noqa: E402

from ecs_api_simulator import ManualClock, SimulatorServer  # noqa: E402
from tests.e2e.simulator.sdk_clients import make_client  # noqa: E402

auth_util.environment_ecs_metadata_disabled = "true"

SCENARIOS = Path(__file__).resolve().parents[2] / "fixtures" / "sim_scenarios"


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def scenarios_dir() -> Path:
    return SCENARIOS


@pytest.fixture(scope="session")
def sim() -> Iterator[SimulatorServer]:
    """All fixture scenarios on the system clock, shared by the session."""
    with SimulatorServer([SCENARIOS]) as server:
        yield server


@pytest.fixture
def manual_sim() -> Iterator[tuple[SimulatorServer, ManualClock]]:
    """A private simulator whose clock moves only when the test says so."""
    clock = ManualClock()
    with SimulatorServer([SCENARIOS / "linux-guest"], clock=clock) as server:
        yield server, clock


@pytest.fixture(scope="session")
def client(sim: SimulatorServer) -> Any:
    return make_client(sim)


@pytest.fixture
def fake_endpoint() -> Iterator[tuple[str, list[bytes]]]:
    """A server answering every request with the next canned body."""
    bodies: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = bodies.pop(0) if bodies else b"{}"
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}", bodies
    server.shutdown()
    server.server_close()
    thread.join()
