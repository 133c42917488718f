"""HTTPS end to end: the simulator's TLS mode (a throwaway CA made at start), trusted by the
official SDK through its CA setting (``Config.ca``, the product's ``--ca-bundle`` /
``ECS_DIAG_CA_BUNDLE``), never by turning verification off. And the connections: every call of
a process goes over the SDK's pooled keep-alive transport, counted on the simulator's side."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import ClientException

from ecs_api_simulator import SimulatorServer, builtin_scenarios_dir
from ecs_reboot_diagnosis.errors import CloudApiError
from ecs_reboot_diagnosis.ports import TERMINAL_INVOCATION_STATUSES
from ecs_reboot_diagnosis_mcp.aliyun import AliyunEcsGateway
from ecs_reboot_diagnosis_mcp.aliyun.sdk_transport import POOL_SIZE
from ecs_reboot_diagnosis_mcp.app import build_gateway, build_outside_gateways, build_service
from ecs_reboot_diagnosis_mcp.settings import Settings
from tests.e2e.simulator.sdk_clients import make_client, settings_for

pytestmark = pytest.mark.anyio

REGION = "cn-hangzhou"
LINUX = "i-bp1simguest0linux01"
PANIC = "i-bp1seed02panicvmcore"
"""A kernel panic with a vmcore: the diagnosis goes all the way through the guest."""


@pytest.fixture(scope="module")
def tls_sim(scenarios_dir: Path) -> Iterator[SimulatorServer]:
    dirs = [scenarios_dir / "linux-guest", builtin_scenarios_dir() / "s02-kernel-panic-vmcore"]
    with SimulatorServer(dirs, tls=True) as server:
        yield server


def tls_gateway(sim: SimulatorServer, **overrides: object) -> AliyunEcsGateway:
    options: dict[str, object] = {"endpoint": sim.url, "ca_bundle": str(sim.ca_file)}
    options.update(overrides)
    return AliyunEcsGateway(settings_for(sim, **options))


def test_the_simulator_serves_https_with_its_own_ca(tls_sim: SimulatorServer) -> None:
    assert tls_sim.protocol == "https" and tls_sim.url.startswith("https://127.0.0.1:")
    assert tls_sim.ca_file is not None and tls_sim.ca_file.is_file()
    assert "BEGIN CERTIFICATE" in tls_sim.ca_file.read_text()
    key = tls_sim.ca_file.parent / "server-key.pem"
    assert key.stat().st_mode & 0o077 == 0  # the private key is the owner's only


def test_the_tls_files_go_away_with_the_simulator(scenarios_dir: Path) -> None:
    with SimulatorServer([scenarios_dir / "linux-guest"], tls=True) as server:
        ca_file = server.ca_file
        assert ca_file is not None and ca_file.exists()
    assert not ca_file.parent.exists()
    assert server.ca_file is None


def test_the_official_sdk_trusts_the_simulator_through_its_ca_setting(
    tls_sim: SimulatorServer,
) -> None:
    client = make_client(tls_sim, protocol="https", ca=str(tls_sim.ca_file))
    request = ecs_models.DescribeInstancesRequest(region_id=REGION, instance_ids=f'["{LINUX}"]')
    response = client.describe_instances(request)
    assert [i.instance_id for i in response.body.instances.instance] == [LINUX]
    # The async path honours the same setting.
    response = asyncio.run(client.describe_instances_async(request))
    assert [i.instance_id for i in response.body.instances.instance] == [LINUX]


def test_without_the_ca_the_certificate_is_refused(tls_sim: SimulatorServer) -> None:
    # Its own pool size, hence its own SDK session: the SDK's session for an endpoint keeps
    # the CAs its clients gave it (one process, one CA bundle: the product's case).
    client = make_client(tls_sim, protocol="https", max_idle_conns=3)
    request = ecs_models.DescribeInstancesRequest(region_id=REGION)
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED") as caught:
        client.describe_instances(request)
    assert not isinstance(caught.value, ClientException)  # not an API answer: no handshake


async def test_an_untrusted_certificate_is_a_clear_error_tried_once(
    tls_sim: SimulatorServer,
) -> None:
    gateway = tls_gateway(tls_sim, ca_bundle=None, max_attempts=4)
    before = tls_sim.connection_count()
    with pytest.raises(CloudApiError) as caught:
        await gateway.describe_instance(REGION, LINUX)
    error = caught.value
    assert (error.kind, error.code) == ("network", "UntrustedCertificate")
    assert tls_sim.endpoint in error.api_message
    assert "--ca-bundle" in error.hint and "ECS_DIAG_CA_BUNDLE" in error.hint
    assert "gave up" not in error.api_message  # no retry can fix it
    assert tls_sim.connection_count() == before  # no request got through


async def test_sequential_calls_share_one_connection(tls_sim: SimulatorServer) -> None:
    gateway = tls_gateway(tls_sim)
    before_connections = tls_sim.connection_count()
    before_requests = tls_sim.request_count("DescribeCloudAssistantStatus")
    for _ in range(20):
        heartbeat = await gateway.describe_cloud_assistant(REGION, LINUX)
        assert heartbeat.running
    assert tls_sim.request_count("DescribeCloudAssistantStatus") == before_requests + 20
    # At most one new connection for the 20 calls (none when an earlier test's is still open).
    assert tls_sim.connection_count() - before_connections <= 1


async def test_concurrent_calls_reuse_the_pooled_connections(tls_sim: SimulatorServer) -> None:
    gateway = tls_gateway(tls_sim)
    tls_sim.inject_fault("DescribeCloudAssistantStatus", kind="latency", delay_ms=200, times=50)
    before = tls_sim.connection_count()
    first = await asyncio.gather(
        *(gateway.describe_cloud_assistant(REGION, LINUX) for _ in range(50))
    )
    opened = tls_sim.connection_count() - before
    # 50 calls in flight at once: one connection each, as many as the pool allows.
    assert 1 < opened <= min(50, POOL_SIZE)
    second = await asyncio.gather(
        *(gateway.describe_cloud_assistant(REGION, LINUX) for _ in range(50))
    )
    assert len(first) == len(second) == 50
    # The second round goes over the connections the first one opened.
    assert tls_sim.connection_count() - before == opened


async def test_a_whole_diagnosis_over_tls(tls_sim: SimulatorServer) -> None:
    """ECS, CloudMonitor and ActionTrail, all over HTTPS, trusted through ECS_DIAG_CA_BUNDLE's
    setting, from the first call to the report."""
    settings = Settings(endpoint=tls_sim.url, simulated=True, ca_bundle=str(tls_sim.ca_file))
    keys = {"access_key_id": tls_sim.access_key_id, "access_key_secret": tls_sim.access_key_secret}
    metrics, audit = build_outside_gateways(settings, **keys)
    service = build_service(settings, build_gateway(settings, **keys), metrics=metrics, audit=audit)
    before = {
        action: tls_sim.request_count(action, code="")
        for action in ("RunCommand", "DescribeMetricList", "LookupEvents")
    }
    report = await service.diagnose(PANIC, REGION, owner="")
    assert report.instance.instance_id == PANIC
    assert report.guest_run is not None and report.guest_run.status in TERMINAL_INVOCATION_STATUSES
    assert report.guest is not None
    for action, count in before.items():
        assert tls_sim.request_count(action, code="") > count, action


@pytest.mark.slow
def test_the_cli_diagnoses_over_tls_with_ca_bundle(
    tls_sim: SimulatorServer, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        ALIBABA_CLOUD_ECS_METADATA_DISABLED="true",
        ALIBABA_CLOUD_ACCESS_KEY_ID=tls_sim.access_key_id,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET=tls_sim.access_key_secret,
        ECS_DIAG_CA_BUNDLE=str(tls_sim.ca_file),
    )
    output = tmp_path / "report.json"
    command = [sys.executable, "-m", "ecs_reboot_diagnosis_mcp", "diagnose", "--instance-id",
               PANIC, "--region", REGION, "--endpoint", tls_sim.url, "--format", "json",
               "--output", str(output)]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f'"instance_id": "{PANIC}"' in output.read_text()
    # The same run without the CA: refused, and the error says what to set.
    env.pop("ECS_DIAG_CA_BUNDLE")
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 5, refused.stderr
    assert "UntrustedCertificate" in refused.stderr and "--ca-bundle" in refused.stderr


@pytest.mark.slow
def test_simulate_tls_prints_its_ca_and_removes_it_on_sigterm() -> None:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    with subprocess.Popen(
        [sys.executable, "-m", "ecs_reboot_diagnosis_mcp", "simulate", "--tls", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            banner = process.stdout.readline()
            assert banner.startswith("ECS API simulator on https://127.0.0.1:"), banner
            ca_line = process.stdout.readline()
            assert "--ca-bundle" in ca_line and "ECS_DIAG_CA_BUNDLE" in ca_line
            ca_file = Path(ca_line.rsplit(": ", 1)[1].strip())
            assert ca_file.is_file()
        finally:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=20)
    assert process.returncode == 0
    assert not ca_file.exists()


@pytest.mark.slow
def test_the_sdk_debug_switch_prints_no_credentials(tls_sim: SimulatorServer) -> None:
    """DEBUG=sdk makes the SDK's transport print every request's headers (Authorization with
    the AccessKey ID, the security token) on stderr: the product keeps that log off."""
    token = "sts-token-that-must-never-be-printed"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        DEBUG="sdk",
        ALIBABA_CLOUD_ECS_METADATA_DISABLED="true",
        ALIBABA_CLOUD_ACCESS_KEY_ID=tls_sim.access_key_id,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET=tls_sim.access_key_secret,
        ALIBABA_CLOUD_SECURITY_TOKEN=token,
        ECS_DIAG_CA_BUNDLE=str(tls_sim.ca_file),
        ECS_DIAG_LOG_LEVEL="DEBUG",
    )
    command = [sys.executable, "-m", "ecs_reboot_diagnosis_mcp", "diagnose", "--instance-id",
               PANIC, "--region", REGION, "--endpoint", tls_sim.url, "--no-guest-commands",
               "--format", "json"]  # fmt: skip
    before = tls_sim.request_count("DescribeInstances")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert tls_sim.request_count("DescribeInstances") > before  # the calls were made
    assert done.returncode == 0, done.stderr[-2000:]
    for secret in (tls_sim.access_key_id, token):
        assert secret not in done.stderr
        assert secret not in done.stdout
