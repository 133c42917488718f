"""Run the simulator: a uvicorn server in a background thread, for tests, demos and the CLI.

with SimulatorServer([scenario_dir]) as sim:
    sim.endpoint            # "127.0.0.1:PORT" for Config(endpoint=..., protocol="http")
    sim.protocol            # "http", or "https" with SimulatorServer(..., tls=True)
    sim.ca_file             # with tls=True: the throwaway CA to trust (Config(ca=...))
    sim.access_key_id       # the built-in fake AccessKey pair
    sim.access_key_secret
    sim.inject_fault("DescribeInstances", kind="drop")   # scripted faults (see references/)
    sim.request_count("DescribeInstances")               # requests the simulator served
    sim.connection_count()                               # distinct client connections seen
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from importlib.resources import files
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from ecs_api_simulator.access_keys import BUILTIN_ACCESS_KEY_ID, BUILTIN_ACCESS_KEY_SECRET
from ecs_api_simulator.app import create_app
from ecs_api_simulator.certificates import TlsFiles, make_tls_files, remove_tls_files
from ecs_api_simulator.clock import Clock, SystemClock
from ecs_api_simulator.faults import FaultSpec
from ecs_api_simulator.fleet import FleetSpec, FleetTruth, generate_fleet
from ecs_api_simulator.invocations import InvocationRecord
from ecs_api_simulator.request_log import RequestRecord
from ecs_api_simulator.scenario import discover_scenarios, load_scenario
from ecs_api_simulator.world import World

log = logging.getLogger("ecs_api_simulator")


_Asgi = Callable[
    [
        MutableMapping[str, Any],
        Callable[[], Awaitable[MutableMapping[str, Any]]],
        Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ],
    Awaitable[None],
]


class _ConnectionLog:
    """ASGI wrapper counting requests per client address and port, i.e. per TCP connection:
    what shows whether a client reuses its connections (keep-alive) or opens one per call."""

    def __init__(self, app: _Asgi) -> None:
        self.app = app
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, int]] = Counter()

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and client:
            with self._lock:
                self.requests[(str(client[0]), int(client[1]))] += 1
        await self.app(scope, receive, send)

    def count(self) -> int:
        with self._lock:
            return len(self.requests)


class _TlsServer(uvicorn.Server):
    """uvicorn, stopping without waiting on idle TLS connections.

    Clients keep connections alive between calls (the product pools them). Closing an idle TLS
    connection politely waits for the client's ``close_notify``, which an idle client pool
    never sends, so each would hold the stop for the whole graceful timeout and then leak its
    socket. Once the requests in flight are answered, the connections left are cut instead."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.config.timeout_graceful_shutdown or 0)
        while self.server_state.tasks and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        await asyncio.sleep(0)  # let the aborted connections report themselves lost
        await super().shutdown(sockets)


def builtin_scenarios_dir() -> Path:
    """The scenarios shipped inside the package."""
    return Path(str(files("ecs_api_simulator") / "scenarios"))


def resolve_scenario_dirs(paths: Iterable[str | Path]) -> list[Path]:
    """Each path is a scenario directory or a directory of scenario directories."""
    found: list[Path] = []
    for path in paths:
        directory = Path(path)
        if not directory.is_dir():
            raise FileNotFoundError(f"scenario directory {directory} does not exist")
        scenarios = discover_scenarios(directory)
        if not scenarios:
            raise FileNotFoundError(
                f"{directory} holds no scenario.json (nor sub-directories with one)"
            )
        found.extend(scenarios)
    return found


class SimulatorServer:
    """The simulator on ``host:port`` (port 0 picks a free one), serving in a daemon thread.

    With ``tls=True`` it serves HTTPS only, with a certificate made at start by a throwaway CA
    (``ca_file``) that exists as long as the server runs; clients trust that CA, they never turn
    verification off."""

    def __init__(
        self,
        scenario_dirs: Iterable[str | Path] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        tls: bool = False,
        fleet: FleetSpec | None = None,
    ) -> None:
        dirs = [builtin_scenarios_dir()] if scenario_dirs is None else list(scenario_dirs)
        self.clock: Clock = clock or SystemClock()
        now = self.clock.now()
        self.loaded_at = now
        """When the scenarios were loaded: their relative times (``-2h``) count from here."""
        scenarios = [load_scenario(d, now) for d in resolve_scenario_dirs(dirs)]
        self.fleet_truth: dict[str, FleetTruth] = {}
        """A generated fleet's instances and the cause each one has (``fleet=``)."""
        if fleet is not None:
            fleet_scenario, self.fleet_truth = generate_fleet(fleet, now, builtin_scenarios_dir())
            scenarios.append(fleet_scenario)
        self.world = World(scenarios, self.clock)
        self.host = host
        self._requested_port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.tls = tls
        self._tls_files: TlsFiles | None = None
        self._connections = _ConnectionLog(create_app(self.world))

    # --- what clients need ---------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the simulator is not running")
        return int(self._socket.getsockname()[1])

    @property
    def endpoint(self) -> str:
        """``host:port`` without a scheme, as the SDK's ``Config.endpoint`` wants it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def protocol(self) -> str:
        """``https`` in TLS mode, else ``http`` (the SDK's ``Config.protocol``)."""
        return "https" if self.tls else "http"

    @property
    def url(self) -> str:
        return f"{self.protocol}://{self.endpoint}/"

    @property
    def ca_file(self) -> Path | None:
        """In TLS mode, while running: the PEM file of the CA that signed the server's
        certificate (for ``Config(ca=...)``, ``--ca-bundle``, ``ECS_DIAG_CA_BUNDLE``)."""
        return self._tls_files.ca_file if self._tls_files is not None else None

    @property
    def access_key_id(self) -> str:
        return BUILTIN_ACCESS_KEY_ID

    @property
    def access_key_secret(self) -> str:
        return BUILTIN_ACCESS_KEY_SECRET

    # --- test helpers --------------------------------------------------------------------

    def inject_fault(self, action: str, code: str = "", **options: Any) -> FaultSpec:
        """Add a fault for ``action`` (``"*"``: any), with the fields of a scenario's
        ``faults[]`` entry (references/simulator-scenarios.md): ``kind`` (default
        ``"error"``), ``times``
        (``None``: every call), ``status``, ``delay_ms``, ``limit``, ``error_code``, ...

        inject_fault("RunCommand", "Throttling.User", times=2)
        inject_fault("DescribeInstances", kind="drop", times=3)
        inject_fault("*", kind="latency", delay_ms=200, times=None)
        inject_fault("DescribeInstances", kind="rate_limit", limit=5, window_seconds=1)
        inject_fault("RunCommand", kind="invocation", error_code="ClientNotResponse")
        """
        fields: dict[str, Any] = {"action": action, **options}
        if code:
            fields["code"] = code
        spec = FaultSpec.model_validate(fields)
        self.world.faults.add(spec)
        return spec

    def clear_faults(self) -> None:
        """Remove every fault still in force, scripted or injected."""
        self.world.faults.clear()

    def request_count(self, action: str | None = None, *, code: str | None = None) -> int:
        """How many requests of ``action`` (None: any) were answered with ``code`` (None: any
        outcome, ``""``: success, ``"ConnectionDropped"``: dropped) since start-up."""
        return self.world.requests.count(action, code=code)

    def connection_count(self) -> int:
        """How many client connections (distinct address and port) have sent requests since
        start-up: a client that keeps its connections alive opens few."""
        return self._connections.count()

    def request_records(self, action: str | None = None) -> list[RequestRecord]:
        """The requests of ``action`` (None: any) answered so far, in the order they were
        answered, with their arrival and answer times (the last 10 000 are kept)."""
        return self.world.requests.records(action)

    def invocation_records(self) -> list[InvocationRecord]:
        """Every Cloud Assistant run so far, with its creation, start and end times."""
        return self.world.invocations.records()

    def wait_for_invocations(self, timeout: float = 30.0) -> bool:
        """Block (real time) until every started bash run has ended."""
        return self.world.invocations.wait_idle(timeout)

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> SimulatorServer:
        if self._thread is not None:
            raise RuntimeError("the simulator is already running")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on sockets that say
        # they are TCP. Without it every answer (headers, then body: two writes) waits for the
        # client's delayed ACK, about 40 ms a call.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        sock.listen(128)
        self._socket = sock
        tls_options: dict[str, Any] = {}
        if self.tls:
            self._tls_files = make_tls_files(self.host)
            tls_options = {
                "ssl_certfile": str(self._tls_files.cert_file),
                "ssl_keyfile": str(self._tls_files.key_file),
            }
        config = uvicorn.Config(
            self._connections,
            **tls_options,
            log_config=None,
            log_level="warning",
            access_log=False,
            proxy_headers=False,  # nothing reads X-Forwarded-*: skip that middleware per request
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = _TlsServer(config) if self.tls else uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name="ecs-api-simulator",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the simulator did not start")
            time.sleep(0.01)
        log.info("ECS API simulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.world.close()
        if self._socket is not None:
            self._socket.close()
        if self._tls_files is not None:
            remove_tls_files(self._tls_files)
            self._tls_files = None
        self._server = None
        self._thread = None

    def serve_forever(self) -> None:
        """Run in the foreground until interrupted (used by the command line)."""
        if self._thread is None:
            self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
