"""The command line as a person meets it: the report rendered on a terminal, ``--output`` checked
before any API call (the simulator counts the requests it serves), options and ``ECS_DIAG_*``
values refused by name, the documented transport values honoured, a busy port with its own exit
code, and errors that speak to the person at the keyboard."""

from __future__ import annotations

import os
import pty
import re
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ecs_api_simulator import SimulatorServer
from ecs_reboot_diagnosis_mcp.cli_errors import (
    EXIT_CANNOT_LISTEN,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
)

LINUX = ["--instance-id", "i-bp1sim0linux0000001", "--region", "cn-hangzhou"]
WINDOWS_BSOD = ["--instance-id", "i-bp1seed06bsodmemdmp", "--region", "cn-hangzhou"]
CLI = [sys.executable, "-m", "ecs_reboot_diagnosis_mcp"]
MARKDOWN_ESCAPES = re.compile(r"\\[_\[\]\\*`#]")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env = {k: v for k, v in env.items() if not k.startswith("ECS_DIAG_")}
    env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
    return {**env, **extra}


def run_cli(
    *args: str, sim: SimulatorServer | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The command in a child process; against ``sim`` with its keys on the default chain."""
    keys = {}
    if sim is not None:
        keys = {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": sim.access_key_id,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": sim.access_key_secret,
        }
    return subprocess.run(
        [*CLI, *args],
        env={**clean_env(**keys), **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("ecs-reboot-diagnosis: error: "), lines[0]
    return lines[0]


def on_a_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``argv`` with stdout on a pseudo-terminal (stderr and stdin elsewhere)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        argv,
        stdout=follower,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env={**env, "COLUMNS": "100", "TERM": "xterm-256color"},
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(leader)
    code = proc.wait(timeout=30)
    text = b"".join(chunks).decode("utf-8", errors="replace")
    return code, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\]8;[^\x1b]*\x1b\\", "", text)


# --- the report on a terminal -------------------------------------------------------------------


@pytest.mark.slow
def test_on_a_terminal_the_report_is_rendered_without_markdown_escapes() -> None:
    code, shown = on_a_terminal([*CLI, "diagnose", "--simulator", *WINDOWS_BSOD], clean_env())
    assert code == 0, shown[-2000:]
    assert "C:\\Windows" in shown  # one backslash, as the person types it
    assert not MARKDOWN_ESCAPES.search(shown), MARKDOWN_ESCAPES.findall(shown)[:5]
    assert "## Diagnostic Conclusion" not in shown  # rendered, not Markdown source
    assert "Diagnostic Conclusion" in shown


def test_piped_the_report_is_plain_markdown() -> None:
    done = run_cli("diagnose", "--simulator", *WINDOWS_BSOD)
    assert done.returncode == 0, done.stderr
    assert "## Diagnostic Conclusion" in done.stdout
    assert "C:\\\\Windows" in done.stdout  # Markdown escapes a backslash


# --- --output -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("no-such-dir/report.md", "does not exist; create it first"),
        ("", "is a directory"),
        ("locked/report.md", "is not writable"),
    ],
    ids=["missing-dir", "a-directory", "read-only-dir"],
)
def test_a_bad_output_path_exits_2_before_any_api_call(
    bundled_sim: SimulatorServer, tmp_path: Path, where: str, says: str
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if where.startswith("locked") and os.access(locked, os.W_OK):
        pytest.skip("running as a user who may write anywhere (root)")
    served = bundled_sim.request_count()
    target = tmp_path / where if where else tmp_path
    done = run_cli("diagnose", "--endpoint", bundled_sim.url, *LINUX, "--output", str(target),
                   sim=bundled_sim)  # fmt: skip
    assert done.returncode == EXIT_USAGE
    line = one_error_line(done)
    assert f"--output {target}" in line and says in line
    assert bundled_sim.request_count() == served


def test_output_says_where_it_wrote_and_leaves_no_temporary_file(
    bundled_sim: SimulatorServer, tmp_path: Path
) -> None:
    target = tmp_path / "report.md"
    target.write_text("an older report\n")
    done = run_cli("diagnose", "--endpoint", bundled_sim.url, *LINUX, "--output", str(target),
                   sim=bundled_sim)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr.strip().splitlines()[-1] == f"written to {target}"
    assert target.read_text().startswith("Diagnosis ID: ")
    assert "## Diagnostic Conclusion" in target.read_text()  # plain Markdown in a file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


# --- options and ECS_DIAG_* values --------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "env", "says"),
    [
        (["serve", "--port", "99999"], {},
         "argument --port: 99999 is out of range: must be 1-65535"),
        (["serve", "--port", "http"], {}, "argument --port: 'http' is not a port number"),
        (["serve", "--transport", "http"], {"ECS_DIAG_PORT": "99999"},
         "ECS_DIAG_PORT=99999: must be 1-65535"),
        (["serve"], {"ECS_DIAG_TRANSPORT": "tcp"},
         "ECS_DIAG_TRANSPORT=tcp: must be stdio, http or streamable-http"),
        (["diagnose", "--simulator", *LINUX], {"ECS_DIAG_LANG": "fr"},
         "ECS_DIAG_LANG=fr: must be en or zh-CN"),
        (["diagnose", "--simulator", *LINUX], {"ECS_DIAG_EVENT_WINDOW_DAYS": "45"},
         "ECS_DIAG_EVENT_WINDOW_DAYS=45: must be 1-30"),
        (["diagnose", "--simulator", *LINUX], {"ECS_DIAG_GUEST_COMMANDS": "maybe"},
         "ECS_DIAG_GUEST_COMMANDS=maybe: must be true or false"),
        (["diagnose", "--simulator", *LINUX], {"ECS_DIAG_WAIT_DEADLINE_S": "soon"},
         "ECS_DIAG_WAIT_DEADLINE_S=soon: must be a number above 0 and at most 3600"),
        (["simulate", "--port", "-1"], {}, "argument --port: -1 is out of range: must be 0-65535"),
    ],
    ids=["--port", "--port-text", "ECS_DIAG_PORT", "ECS_DIAG_TRANSPORT", "ECS_DIAG_LANG",
         "ECS_DIAG_EVENT_WINDOW_DAYS", "ECS_DIAG_GUEST_COMMANDS", "ECS_DIAG_WAIT_DEADLINE_S",
         "simulate--port"],
)  # fmt: skip
def test_a_bad_value_is_refused_by_its_name(
    argv: list[str], env: dict[str, str], says: str
) -> None:
    done = run_cli(*argv, env=env)
    assert done.returncode == EXIT_USAGE, done.stderr
    assert says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "pydantic" not in done.stderr
    assert "errors.pydantic.dev" not in done.stderr


def test_the_region_variable_is_the_cli_default_region(bundled_sim: SimulatorServer) -> None:
    done = run_cli("diagnose", "--endpoint", bundled_sim.url, "--instance-id",
                   "i-bp1sim0linux0000001", "--format", "json", sim=bundled_sim,
                   env={"ECS_DIAG_REGION_ID": "cn-hangzhou"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert '"region_id": "cn-hangzhou"' in done.stdout
    served = bundled_sim.request_count()
    bad = run_cli("diagnose", "--endpoint", bundled_sim.url, "--instance-id",
                  "i-bp1sim0linux0000001", sim=bundled_sim,
                  env={"ECS_DIAG_REGION_ID": "Hangzhou"})  # fmt: skip
    assert bad.returncode == EXIT_USAGE
    assert "ECS_DIAG_REGION_ID=Hangzhou: not a region id" in one_error_line(bad)
    assert bundled_sim.request_count() == served


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers_mcp(url: str, proc: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            response = httpx.post(
                url,
                headers={"Accept": "application/json, text/event-stream"},
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                timeout=2.0,
            )
            return response.status_code < 500
        except httpx.TransportError:
            if proc.poll() is not None:
                return False
            time.sleep(0.1)
    return False


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["http", "streamable-http"])
def test_the_transport_variable_is_honoured(transport: str) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [*CLI, "serve", "--simulator"],
        env=clean_env(ECS_DIAG_TRANSPORT=transport, ECS_DIAG_PORT=str(port)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert answers_mcp(f"http://127.0.0.1:{port}/mcp", proc)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert f"MCP endpoint: http://127.0.0.1:{port}/mcp" in err.decode()


@pytest.mark.slow
def test_a_busy_port_has_its_own_exit_code() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_cli("serve", "--simulator", "--transport", "http", "--port", str(port))
    assert done.returncode == EXIT_CANNOT_LISTEN
    line = one_error_line(done)
    assert f"cannot listen on 127.0.0.1:{port}: port {port} is already in use" in line
    assert "--port" in line


@pytest.mark.slow
def test_simulate_serves_and_a_busy_port_has_its_own_exit_code() -> None:
    proc = subprocess.Popen(
        [*CLI, "simulate", "--port", "0"],
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        match = re.search(r"on http://127\.0\.0\.1:(\d+)/ ", banner)
        assert match, banner
        port = int(match.group(1))
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code < 500
        busy = run_cli("simulate", "--port", str(port))
        assert busy.returncode == EXIT_CANNOT_LISTEN
        assert f"cannot listen on 127.0.0.1:{port}" in one_error_line(busy)
    finally:
        proc.terminate()
        proc.communicate(timeout=15)


# --- errors for the person at the keyboard --------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["--instance-id", "i-bp1nosuchinstance01", "--region", "cn-hangzhou"], EXIT_NOT_FOUND,
         "Check --instance-id and --region."),
        (["--instance-id", "bp1", "--region", "cn-hangzhou"], EXIT_USAGE,
         "--instance-id: 'bp1' is not an ECS instance id."),
        (["--instance-id", "i-bp1sim0linux0000001", "--region", "Hangzhou"], EXIT_USAGE,
         "--region: 'Hangzhou' is not a region id."),
        ([*LINUX, "--reboot-time", "yesterday"], EXIT_USAGE, "with your UTC offset"),
    ],
    ids=["not-found", "bad-instance-id", "bad-region", "bad-time"],
)  # fmt: skip
def test_errors_speak_to_the_person_at_the_keyboard(
    bundled_sim: SimulatorServer, argv: list[str], code: int, says: str
) -> None:
    done = run_cli("diagnose", "--endpoint", bundled_sim.url, *argv, sim=bundled_sim)
    assert done.returncode == code, done.stderr
    line = one_error_line(done)
    assert says in line
    assert "the user" not in line.lower() and "guess" not in line.lower(), line
