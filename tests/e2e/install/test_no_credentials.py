"""A first run without credentials: one line on stderr (what is missing, how to set it, how to
try without an account), no traceback, exit code 3; off ECS the chain never reaches for the
metadata service. Each run is a child process with a clean environment and HOME in a temporary
directory. The machine is made a non-Alibaba VM by its firmware (DMI files in a temporary
directory), so that nothing here talks to anything but loopback."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecs_reboot_diagnosis_mcp.aliyun.credential_chain import (
    metadata_answers,
    metadata_probe_wanted,
    on_ecs,
)
from ecs_reboot_diagnosis_mcp.cli import EXIT_CREDENTIALS
from ecs_reboot_diagnosis_mcp.credentials_help import NO_CREDENTIALS

DIAGNOSE = ["diagnose", "--instance-id", "i-bp1a2b3c4d5e6f7g8h9j", "--region", "cn-hangzhou"]

# The child: this machine's firmware reads as a QEMU guest, then the CLI runs as installed.
CHILD = """
import sys
from pathlib import Path
from ecs_reboot_diagnosis_mcp.aliyun import credential_chain
credential_chain._DMI = Path(sys.argv[1])
from ecs_reboot_diagnosis_mcp.cli import main
sys.exit(main(sys.argv[2:]))
"""


def firmware(tmp_path: Path, vendor: str, product: str) -> Path:
    dmi = tmp_path / "dmi"
    dmi.mkdir()
    (dmi / "sys_vendor").write_text(vendor + "\n")
    (dmi / "product_name").write_text(product + "\n")
    return dmi


def run_child(
    tmp_path: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), **(extra_env or {})}
    dmi = firmware(tmp_path, "QEMU", "Standard PC (Q35 + ICH9, 2009)")
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(dmi), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_no_credentials_at_all_is_one_line_and_exit_3(tmp_path: Path) -> None:
    proc = run_child(tmp_path, *DIAGNOSE)
    assert proc.returncode == EXIT_CREDENTIALS
    assert proc.stdout == ""
    assert proc.stderr == f"ecs-reboot-diagnosis: error: {NO_CREDENTIALS}\n"
    for needed in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "aliyun configure", "--simulator"):
        assert needed in proc.stderr


@pytest.mark.slow
def test_a_profile_that_does_not_load_is_named_in_one_line(tmp_path: Path) -> None:
    """Something is configured but broken: the message names it instead of the first-run line."""
    config = tmp_path / "home" / ".aliyun" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text("{not json")
    proc = run_child(tmp_path, *DIAGNOSE)
    assert proc.returncode == EXIT_CREDENTIALS
    (line,) = proc.stderr.splitlines()
    assert line.startswith("ecs-reboot-diagnosis: error: ResolveCredentials failed: ")
    assert str(config) in line and "Traceback" not in proc.stderr
    assert "EcsRamRoleCredentialsProvider" not in line  # off ECS: the chain has no metadata step


@pytest.mark.slow
def test_the_simulator_the_line_points_to_works_in_the_same_clean_environment(
    tmp_path: Path,
) -> None:
    proc = run_child(
        tmp_path, "diagnose", "--simulator", "--instance-id", "i-bp1sim0linux0000001",
        "--region", "cn-hangzhou",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "## Diagnostic Conclusion" in proc.stdout


@pytest.mark.parametrize(
    ("vendor", "product", "expected"),
    [
        ("Alibaba Cloud", "Alibaba Cloud ECS", True),
        ("QEMU", "Alibaba Cloud ECS", True),
        ("QEMU", "Standard PC (i440FX + PIIX, 1996)", False),
        ("Amazon EC2", "m5.large", False),
    ],
)
def test_the_firmware_decides_without_the_network(
    tmp_path: Path, vendor: str, product: str, expected: bool
) -> None:
    def probe() -> bool:
        raise AssertionError("the firmware was readable: no metadata request")

    assert on_ecs(firmware(tmp_path, vendor, product), probe=probe) is expected


@pytest.mark.parametrize("answer", [True, False])
def test_without_firmware_information_the_metadata_service_decides(
    tmp_path: Path, answer: bool
) -> None:
    if sys.platform in ("darwin", "win32"):
        pytest.skip("Linux reads DMI; the other platforms have their own source")
    assert on_ecs(tmp_path / "no-dmi-here", probe=lambda: answer) is answer


@pytest.mark.parametrize(
    ("env", "on", "wanted"),
    [
        ({}, False, False),
        ({}, True, True),
        ({"ALIBABA_CLOUD_ECS_METADATA": "my-ecs-role"}, False, True),  # a role named: asked for
        ({"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "false"}, False, True),  # explicitly enabled
        ({"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"}, True, False),
        ({"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "TRUE"}, True, False),
    ],
)
def test_when_the_chain_includes_the_ram_role(env: dict[str, str], on: bool, wanted: bool) -> None:
    assert metadata_probe_wanted(env, detect=lambda: on) is wanted


class _Metadata(http.server.BaseHTTPRequestHandler):
    status = 200
    body = b"i-bp1a2b3c4d5e6f7g8h9j"

    def do_GET(self) -> None:
        assert self.path == "/latest/meta-data/instance-id"
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def metadata_server() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Metadata)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, b"i-bp1a2b3c4d5e6f7g8h9j", True),
        (404, b"not found", False),  # something answers on the address, not a metadata service
        (200, b"<html>captive portal</html>", False),
    ],
)
def test_the_metadata_check_wants_an_instance_id(
    metadata_server: http.server.HTTPServer, status: int, body: bytes, expected: bool
) -> None:
    handler = type("H", (_Metadata,), {"status": status, "body": body})
    metadata_server.RequestHandlerClass = handler
    port = metadata_server.server_address[1]
    assert metadata_answers("127.0.0.1", int(port)) is expected


def test_the_metadata_check_is_false_when_nothing_listens() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: the connection is refused
        assert metadata_answers("127.0.0.1", port) is False
