"""Cloud Assistant invocations: asynchronous runs and their per-instance state over time.

RunCommand records an invocation and returns at once. Each instance's run then reads, as the
clock moves: ``Pending`` for ``pending_seconds``, ``Running`` for at least ``running_seconds``
(and for as long as a real bash run is still going), then a terminal state. A scenario can force
a failure code instead (``ClientNotRunning``, ``ExecutionTimeout``, ...). Linux shell scripts run
for real in a worker thread (see :mod:`ecs_api_simulator.script_runner`); PowerShell/Bat runs
return the scenario's recorded output.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ecs_api_simulator.clock import Clock
from ecs_api_simulator.guest_templates import RenderedGuest, guest_now, render_guest
from ecs_api_simulator.invocation_codes import DELIVERY_ERRORS, ERROR_INFO, FORCED_STATUS
from ecs_api_simulator.output_limit import limit_output
from ecs_api_simulator.scenario import Instance
from ecs_api_simulator.script_runner import RunningScripts, RunOutcome, run_shell_script

_ALPHABET = string.ascii_lowercase + string.digits
CANNED_NONCE = "f1ee7" * 6 + "00"
"""The nonce a fleet class's shared collector run is given; each run's own replaces it."""


def new_id(prefix: str, region_id: str) -> str:
    region_tag = "".join(part[:1] for part in region_id.split("-"))[:3]
    return f"{prefix}-{region_tag}{''.join(secrets.choice(_ALPHABET) for _ in range(18))}"


@dataclass(frozen=True)
class RunView:
    """One instance's run as the API reports it at a moment."""

    status: str
    exit_code: int | None
    output: bytes
    dropped: int
    error_code: str
    error_info: str
    start_time: datetime | None
    finish_time: datetime | None
    repeats: int

    @property
    def terminal(self) -> bool:
        return self.status not in ("Pending", "Running", "Scheduled", "Stopping")


@dataclass
class InstanceRun:
    instance: Instance
    script: str
    pending_until: datetime
    running_until: datetime
    forced_error: str | None
    forced_status: str | None
    output_quota: int | None = None
    """Set by a RunCommand fault: keep at most this many output bytes (head and tail)."""
    outcome: RunOutcome | None = None
    outcome_at: datetime | None = None
    future: Future[None] | None = None


@dataclass(frozen=True)
class InvocationRecord:
    """One instance's run, for tests: when RunCommand created it, when it ran and ended."""

    invoke_id: str
    instance_id: str
    created: datetime
    status: str
    started: datetime | None
    """When it left Pending (None for delivery failures and while Pending)."""
    finished: datetime | None
    """When it reached its terminal state (None while it has not)."""


@dataclass
class Invocation:
    invoke_id: str
    command_id: str
    region_id: str
    command_type: str
    command_content: str
    parameters: dict[str, str]
    name: str
    description: str
    timeout: int
    username: str
    working_dir: str
    repeat_mode: str
    creation_time: datetime
    runs: dict[str, InstanceRun] = field(default_factory=dict)


def _view(run: InstanceRun, now: datetime) -> RunView:
    if now < run.pending_until:
        return RunView("Pending", None, b"", 0, "", "", None, None, 0)
    start = run.pending_until
    code = run.forced_error
    if code is not None and code != "ExitCodeNonzero":
        info = ERROR_INFO.get(code, code)
        if code in DELIVERY_ERRORS:
            status = run.forced_status or FORCED_STATUS.get(code, "Failed")
            return RunView(status, None, b"", 0, code, info, None, run.pending_until, 0)
        if now < run.running_until:
            return RunView("Running", None, b"", 0, "", "", start, None, 1)
        status = run.forced_status or FORCED_STATUS.get(code, "Error")
        exit_code = None if status == "Timeout" else -1
        return RunView(status, exit_code, b"", 0, code, info, start, run.running_until, 1)
    outcome = run.outcome
    if outcome is None or run.outcome_at is None or now < run.running_until:
        return RunView("Running", None, b"", 0, "", "", start, None, 1)
    finish = max(run.running_until, run.outcome_at)
    if outcome.start_error:
        info = f"{ERROR_INFO['ExecutionException']}: {outcome.start_error}"
        return RunView("Error", None, b"", 0, "ExecutionException", info, start, finish, 1)
    if outcome.timed_out:
        return RunView(
            "Timeout",
            None,
            outcome.output,
            outcome.dropped,
            "ExecutionTimeout",
            ERROR_INFO["ExecutionTimeout"],
            start,
            finish,
            1,
        )
    exit_code = outcome.exit_code if outcome.exit_code is not None else -1
    if code == "ExitCodeNonzero" and exit_code == 0:
        exit_code = 1
    if exit_code == 0:
        return RunView("Success", 0, outcome.output, outcome.dropped, "", "", start, finish, 1)
    return RunView(
        "Failed",
        exit_code,
        outcome.output,
        outcome.dropped,
        "ExitCodeNonzero",
        ERROR_INFO["ExitCodeNonzero"],
        start,
        finish,
        1,
    )


def overall_status(views: list[RunView]) -> str:
    """InvocationStatus of the whole invocation from its instances (DescribeInvocations docs)."""
    statuses = [v.status for v in views]
    for waiting in ("Pending", "Scheduled", "Running", "Stopping"):
        if waiting in statuses:
            return waiting
    stopped = {"Cancelled", "Terminated", "Stopped"}
    if all(s in stopped for s in statuses):
        return "Stopped"
    if "Success" in statuses:
        others = [s for s in statuses if s != "Success"]
        return "Success" if all(s in stopped for s in others) else "PartialFailed"
    return "Failed"


def legacy_status(status: str) -> str:
    """InvokeRecordStatus / InstanceInvokeStatus for a per-instance InvocationStatus."""
    if status in ("Pending", "Running", "Scheduled"):
        return "Running"
    if status in ("Success", "Failed"):
        return "Finished"
    if status in ("Cancelled", "Terminated"):
        return "Stopped"
    if status == "Stopping":
        return "Stopping"
    return "Failed"


def legacy_overall_status(overall: str) -> str:
    return {
        "Pending": "Running",
        "Scheduled": "Running",
        "Running": "Running",
        "Success": "Finished",
        "Stopping": "Stopping",
        "Stopped": "Stopped",
        "PartialFailed": "PartialFailed",
    }.get(overall, "Failed")


class InvocationEngine:
    def __init__(self, clock: Clock, *, max_workers: int = 4) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._invocations: dict[str, Invocation] = {}
        self._by_token: dict[tuple[str, str], Invocation] = {}
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="ecs-sim")
        self._running = RunningScripts()
        self._canned_runs: dict[tuple[str, str], Future[RunOutcome]] = {}

    def by_client_token(self, key: tuple[str, str]) -> Invocation | None:
        """The invocation an earlier RunCommand created with this (AccessKey ID, ClientToken)."""
        with self._lock:
            return self._by_token.get(key)

    def submit(self, invocation: Invocation, client_token: tuple[str, str] | None = None) -> None:
        with self._lock:
            self._invocations[invocation.invoke_id] = invocation
            if client_token is not None:
                self._by_token[client_token] = invocation
        for run in invocation.runs.values():
            if run.forced_error is not None and run.forced_error != "ExitCodeNonzero":
                continue
            if invocation.command_type == "RunShellScript" and run.instance.canned_key:
                self._canned(invocation, run)
            elif invocation.command_type == "RunShellScript":
                run.future = self._executor.submit(self._execute, invocation, run)
            else:
                recorded = run.script.encode("utf-8")
                output, dropped = limit_output(recorded)
                exit_code = run.instance.spec.invocation.exit_code
                self._finish(run, RunOutcome(output, dropped, exit_code))

    def _execute(self, invocation: Invocation, run: InstanceRun) -> None:
        instance = run.instance
        limit = min(float(invocation.timeout), instance.spec.invocation.max_run_seconds)
        rendered: RenderedGuest | None = None
        try:
            root, fixture = instance.guest_root, instance.guest_fixture
            if instance.guest_template is not None:
                now = guest_now(instance.spec.guest.env, self._clock.now())
                rendered = render_guest(instance.guest_template, now)
                root, fixture = rendered.root, rendered.fixture
            outcome = run_shell_script(
                run.script,
                guest_root=root,
                guest_bin=instance.guest_bin,
                fixture=fixture,
                extra_env=instance.spec.guest.env,
                timeout_seconds=limit,
                running=self._running,
            )
        except Exception as exc:  # the run must end in a state, whatever happened
            outcome = RunOutcome(b"", 0, None, start_error=type(exc).__name__)
        finally:
            if rendered is not None:
                rendered.remove()
        self._finish(run, outcome)

    def _canned(self, invocation: Invocation, run: InstanceRun) -> None:
        """A fleet guest: the class's real output for this script, run once, with this run's
        nonce (see :mod:`ecs_api_simulator.fleet`)."""
        nonce = invocation.parameters.get("nonce", "")
        script = run.script.replace(nonce, CANNED_NONCE) if nonce else run.script
        key = (run.instance.canned_key or "", hashlib.sha256(script.encode()).hexdigest())
        with self._lock:
            future = self._canned_runs.get(key)
            if future is None:
                future = self._executor.submit(self._run_once, run.instance, script)
                self._canned_runs[key] = future

        own_host = run.instance.spec.host_name or ""
        class_host = self._class_host_name(run.instance)

        def done(finished: Future[RunOutcome]) -> None:
            outcome = finished.result()
            output = outcome.output
            if nonce:
                output = output.replace(CANNED_NONCE.encode(), nonce.encode())
            if class_host and len(own_host) == len(class_host):  # in place: no byte moves
                output = output.replace(class_host.encode(), own_host.encode())
            self._finish(run, replace(outcome, output=output))

        future.add_done_callback(done)

    def _class_host_name(self, instance: Instance) -> str:
        """The host name in the guest tree a fleet class shares (its output carries it)."""
        path = instance.guest_root / "etc" / "hostname"
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def _run_once(self, instance: Instance, script: str) -> RunOutcome:
        rendered: RenderedGuest | None = None
        try:
            root, fixture = instance.guest_root, instance.guest_fixture
            if instance.guest_template is not None:
                now = guest_now(instance.spec.guest.env, self._clock.now())
                rendered = render_guest(instance.guest_template, now)
                root, fixture = rendered.root, rendered.fixture
            return run_shell_script(
                script,
                guest_root=root,
                guest_bin=instance.guest_bin,
                fixture=fixture,
                extra_env=instance.spec.guest.env,
                timeout_seconds=instance.spec.invocation.max_run_seconds,
                running=self._running,
            )
        except Exception as exc:  # the run must end in a state, whatever happened
            return RunOutcome(b"", 0, None, start_error=type(exc).__name__)
        finally:
            if rendered is not None:
                rendered.remove()

    def _finish(self, run: InstanceRun, outcome: RunOutcome) -> None:
        if run.output_quota is not None:
            output, dropped = limit_output(outcome.output, run.output_quota)
            outcome = replace(outcome, output=output, dropped=outcome.dropped + dropped)
        with self._lock:
            run.outcome = outcome
            run.outcome_at = self._clock.now()

    def get(self, invoke_id: str) -> Invocation | None:
        with self._lock:
            return self._invocations.get(invoke_id)

    def all(self) -> list[Invocation]:
        with self._lock:
            return sorted(self._invocations.values(), key=lambda i: i.creation_time, reverse=True)

    def records(self) -> list[InvocationRecord]:
        """Every instance run so far, in the order RunCommand created them, as the clock reads
        it now."""
        with self._lock:
            invocations = list(self._invocations.values())
        records = []
        for invocation in invocations:
            for instance_id, run in invocation.runs.items():
                view = self.view(run)
                records.append(
                    InvocationRecord(
                        invoke_id=invocation.invoke_id,
                        instance_id=instance_id,
                        created=invocation.creation_time,
                        status=view.status,
                        started=view.start_time,
                        finished=view.finish_time,
                    )
                )
        return records

    def view(self, run: InstanceRun) -> RunView:
        now = self._clock.now()
        with self._lock:
            return _view(run, now)

    def active_count(self, instance_id: str) -> int:
        count = 0
        for invocation in self.all():
            run = invocation.runs.get(instance_id)
            if run is not None and not self.view(run).terminal:
                count += 1
        return count

    def wait_idle(self, timeout: float) -> bool:
        """Wait (real time) until every started bash run has ended; False on timeout."""
        with self._lock:
            futures = [
                run.future
                for invocation in self._invocations.values()
                for run in invocation.runs.values()
                if run.future is not None
            ]
            canned = list(self._canned_runs.values())
        waiting: list[Future[Any]] = [*futures, *canned]
        for future in waiting:
            try:
                future.result(timeout=timeout)
            except TimeoutError:
                return False
        return True

    def close(self) -> None:
        self._running.kill_all()
        self._executor.shutdown(wait=True, cancel_futures=True)


def schedule(created: datetime, *, pending: float, running: float) -> tuple[datetime, datetime]:
    """When a run stops being Pending, and the earliest it can stop being Running."""
    pending_until = created + timedelta(seconds=pending)
    return pending_until, pending_until + timedelta(seconds=running)
