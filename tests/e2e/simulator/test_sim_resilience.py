"""The gateway under faults, end to end: official SDK (pooled, on worker threads) -> loopback
simulator.

Retries are proven from the simulator's side (``request_count``: what it received), never by
timing on the test's side. Throttling retried then served, and reported after the attempts, are
in test_sim_gateway.py (``test_throttling_is_retried``, ``test_throttling_beyond_the_attempts_is
_reported``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import ClientException

from ecs_api_simulator import SimulatorServer
from ecs_reboot_diagnosis.errors import CloudApiError
from ecs_reboot_diagnosis_mcp.aliyun import AliyunEcsGateway
from ecs_reboot_diagnosis_mcp.aliyun.error_translation import translate
from tests.e2e.simulator.sdk_clients import make_client, settings_for

pytestmark = pytest.mark.anyio

REGION = "cn-hangzhou"
LINUX = "i-bp1simguest0linux01"
STS_ID = "STS.SimTempKey0001"  # an STS key of the ram-denied scenario
STS_SECRET = "SimTempSecret0001"
STS_TOKEN = "CAIS/sim+token==0001"


@pytest.fixture(scope="module")
def server(scenarios_dir: Path) -> Iterator[SimulatorServer]:
    """A private simulator: persistent faults and request counts stay in this module."""
    with SimulatorServer([scenarios_dir / "linux-guest", scenarios_dir / "ram-denied"]) as private:
        yield private


@pytest.fixture
def sim(server: SimulatorServer) -> Iterator[SimulatorServer]:
    """The private simulator with its request counts at zero and no fault left afterwards."""
    server.world.requests.clear()
    yield server
    server.clear_faults()


def gateway_for(sim: SimulatorServer, **overrides: object) -> AliyunEcsGateway:
    return AliyunEcsGateway(settings_for(sim, **overrides))


# --- dropped connections -------------------------------------------------------------------


async def test_a_dropped_connection_is_retried(sim: SimulatorServer) -> None:
    sim.inject_fault("DescribeInstances", kind="drop", times=2)
    facts = await gateway_for(sim).describe_instance(REGION, LINUX)
    assert facts is not None and facts.instance_id == LINUX
    assert sim.request_count("DescribeInstances", code="ConnectionDropped") == 2
    assert sim.request_count("DescribeInstances", code="") == 1


async def test_dropped_connections_end_in_a_network_error(sim: SimulatorServer) -> None:
    sim.inject_fault("DescribeCloudAssistantStatus", kind="drop", times=None)
    with pytest.raises(CloudApiError) as caught:
        await gateway_for(sim).describe_cloud_assistant(REGION, LINUX)
    error = caught.value
    assert (error.kind, error.code, error.action) == (
        "network",
        "NetworkError",
        "DescribeCloudAssistantStatus",
    )
    assert sim.request_count("DescribeCloudAssistantStatus") == 3  # max_attempts, all dropped
    assert error.api_message == (
        f"{sim.endpoint} closed the connection without answering (gave up after 3 attempts)"
    )
    assert "proxy, firewall or load balancer" in error.hint
    assert "retried" in error.hint


async def test_a_lost_run_command_answer_does_not_run_the_command_twice(
    sim: SimulatorServer,
) -> None:
    sim.inject_fault("RunCommand", kind="drop", processed=True)  # handled, answer lost
    known = {r.invoke_id for r in sim.invocation_records()}
    invoke_id = await gateway_for(sim).run_command(
        REGION,
        LINUX,
        command_type="RunShellScript",
        content="echo once",
        parameters={},
        timeout_seconds=30,
        name="idempotent",
    )
    assert sim.request_count("RunCommand", code="ConnectionDropped") == 1
    assert sim.request_count("RunCommand", code="") == 1
    created = [r.invoke_id for r in sim.invocation_records() if r.invoke_id not in known]
    assert created == [invoke_id]  # the retry carried the same ClientToken
    assert sim.wait_for_invocations()


# --- server errors, timeouts, errors not worth retrying ------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [("ServiceUnavailable", 503), ("InternalError", 500), ("BadGateway", 502)],
)
async def test_server_errors_are_retried(sim: SimulatorServer, code: str, status: int) -> None:
    sim.inject_fault("GetInstanceConsoleOutput", code, status=status, times=2)
    console = await gateway_for(sim).console_output(REGION, LINUX)
    assert "Kernel panic" in console.text
    assert sim.request_count("GetInstanceConsoleOutput", code=code) == 2
    assert sim.request_count("GetInstanceConsoleOutput", code="") == 1


async def test_a_lasting_server_error_is_reported_after_the_attempts(
    sim: SimulatorServer,
) -> None:
    sim.inject_fault("GetInstanceConsoleOutput", "ServiceUnavailable", status=503, times=None)
    with pytest.raises(CloudApiError) as caught:
        await gateway_for(sim, max_attempts=4).console_output(REGION, LINUX)
    assert (caught.value.kind, caught.value.code) == ("server", "ServiceUnavailable")
    assert caught.value.api_message.endswith("(gave up after 4 attempts)")
    assert sim.request_count("GetInstanceConsoleOutput") == 4


async def test_an_answer_slower_than_the_read_timeout_is_retried(sim: SimulatorServer) -> None:
    sim.inject_fault("DescribeInstances", kind="latency", delay_ms=600)
    gateway = gateway_for(sim, read_timeout_ms=200)
    facts = await gateway.describe_instance(REGION, LINUX)
    assert facts is not None
    for _ in range(300):  # the simulator records the slow answer once it has sent it
        if sim.request_count("DescribeInstances") == 2:
            break
        await asyncio.sleep(0.01)
    assert sim.request_count("DescribeInstances", code="") == 2  # the timed-out one, the retry


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("InvalidParameter", 400, "invalid_parameter"),
        ("Forbidden.RAM", 403, "forbidden"),
        ("SignatureDoesNotMatch", 400, "credentials"),
    ],
)
async def test_errors_retrying_cannot_fix_are_tried_once(
    sim: SimulatorServer, code: str, status: int, kind: str
) -> None:
    sim.inject_fault("GetInstanceConsoleOutput", code, status=status, times=None)
    with pytest.raises(CloudApiError) as caught:
        await gateway_for(sim).console_output(REGION, LINUX)
    assert (caught.value.kind, caught.value.code) == (kind, code)
    assert "gave up" not in caught.value.api_message
    assert sim.request_count("GetInstanceConsoleOutput") == 1


async def test_a_call_backing_off_does_not_hold_up_other_calls(sim: SimulatorServer) -> None:
    """The SDK's own retry loop would time.sleep on the event loop; the gateway awaits."""
    gateway = gateway_for(sim, max_backoff_ms=2000)
    sim.inject_fault("DescribeInstances", "Throttling.User", retry_after_ms=500)

    async def once_the_first_call_backs_off() -> None:
        while sim.request_count("DescribeInstances", code="Throttling.User") == 0:
            await asyncio.sleep(0.005)
        await gateway.describe_cloud_assistant(REGION, LINUX)

    facts, _ = await asyncio.gather(
        gateway.describe_instance(REGION, LINUX), once_the_first_call_backs_off()
    )
    assert facts is not None
    served = [
        (r.action, r.code)
        for r in sim.world.requests.records()
        if r.action in ("DescribeInstances", "DescribeCloudAssistantStatus")
    ]
    assert served == [
        ("DescribeInstances", "Throttling.User"),
        ("DescribeCloudAssistantStatus", ""),  # served during the 500 ms backoff
        ("DescribeInstances", ""),
    ]


# --- secrets -------------------------------------------------------------------------------


def _spellings(secret: str) -> set[str]:
    once = quote(secret, safe="")
    return {secret, once, quote(once, safe=""), quote_plus(secret)}


def _texts(error: BaseException) -> list[str]:
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    if isinstance(error, CloudApiError):
        texts += [error.hint, error.api_message]
    return texts


def _logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    handler = logging.Handler()
    texts = []
    for record in caplog.records:
        texts.append(record.getMessage())
        if record.exc_info:
            texts.append(handler.formatException(record.exc_info))  # type: ignore[attr-defined]
        if record.exc_text:
            texts.append(record.exc_text)
    return texts


async def test_no_secret_or_token_in_errors_or_logs(
    sim: SimulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every library's records
    wrong = "WrongStsSecret-000111"
    bad_signature = gateway_for(
        sim, access_key_id=STS_ID, access_key_secret=wrong, security_token=STS_TOKEN
    )
    with pytest.raises(CloudApiError) as signature:
        await bad_signature.describe_instance(REGION, LINUX)
    assert (signature.value.kind, signature.value.code) == ("credentials", "SignatureDoesNotMatch")

    sts = gateway_for(
        sim, access_key_id=STS_ID, access_key_secret=STS_SECRET, security_token=STS_TOKEN
    )
    sim.inject_fault("DescribeInstances", "Throttling.User")
    sim.inject_fault("DescribeInstances", kind="drop")
    assert await sts.describe_instance(REGION, LINUX) is not None  # through two retries
    sim.inject_fault("GetInstanceConsoleOutput", kind="drop", times=None)
    with pytest.raises(CloudApiError) as dropped:
        await sts.console_output(REGION, LINUX)
    sim.inject_fault("DescribeCloudAssistantStatus", "InternalError", status=500, times=None)
    with pytest.raises(CloudApiError) as server_error:
        await sts.describe_cloud_assistant(REGION, LINUX)

    assert any("retrying" in r.getMessage() for r in caplog.records)  # retries are logged
    texts = [
        *_texts(signature.value),
        *_texts(dropped.value),
        *_texts(server_error.value),
        *_logged(caplog),
    ]
    for secret in (wrong, STS_SECRET, STS_TOKEN):
        for spelling in _spellings(secret):
            assert not [t for t in texts if spelling in t], spelling
    for error in (signature.value, dropped.value, server_error.value):
        assert STS_ID not in str(error)
        assert error.__cause__ is None and error.__context__ is None  # no SDK request attached


def test_a_legacy_signature_echo_is_redacted(sim: SimulatorServer) -> None:
    """A V1 SignatureDoesNotMatch echoes the string to sign, token included (encoded twice)."""
    legacy = make_client(
        sim,
        access_key_id=STS_ID,
        access_key_secret="WrongStsSecret-000222",
        security_token=STS_TOKEN,
        signature_algorithm="v2",
    )
    with pytest.raises(ClientException) as caught:
        legacy.describe_instances(ecs_models.DescribeInstancesRequest(region_id=REGION))
    twice = quote(quote(STS_TOKEN, safe=""), safe="")
    assert twice in str(caught.value)  # the SDK's own exception carries it...
    error = translate(
        caught.value,
        "DescribeInstances",
        endpoint=sim.endpoint,
        secrets=(STS_ID, "WrongStsSecret-000222", STS_TOKEN),
    )
    assert error.code == "SignatureDoesNotMatch"
    for text in _texts(error):  # ...the CloudApiError does not
        for spelling in (*_spellings(STS_TOKEN), STS_ID):
            assert spelling not in text


# --- no credentials at all -----------------------------------------------------------------

_NO_CREDENTIALS_CHILD = """
import asyncio, json, sys

connects = []


def audit(event, args):
    if event == "socket.connect":
        connects.append(repr(args[1]))


sys.addaudithook(audit)

from ecs_reboot_diagnosis.errors import CloudApiError
from ecs_reboot_diagnosis_mcp.aliyun import AliyunEcsGateway, EcsClientSettings


async def main():
    gateway = AliyunEcsGateway(EcsClientSettings(endpoint=sys.argv[1], max_attempts=4))
    try:
        await gateway.describe_instance("cn-hangzhou", "i-bp1simguest0linux01")
    except CloudApiError as exc:
        return {"kind": exc.kind, "code": exc.code, "text": str(exc), "hint": exc.hint}
    return {"kind": None}


result = asyncio.run(main())
result["connects"] = connects
print(json.dumps(result))
"""


@pytest.mark.slow
def test_no_credentials_fail_fast_with_how_to_configure_them(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    """An empty default chain, in a fresh interpreter (the credentials library reads the
    environment at import): no API call, no metadata-service probe, a clear message."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
    }
    child = subprocess.run(
        [sys.executable, "-c", _NO_CREDENTIALS_CHILD, sim.endpoint],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout)
    assert (result["kind"], result["code"]) == ("credentials", "CredentialsNotFound")
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in result["hint"]
    assert "ALIBABA_CLOUD_ACCESS_KEY_SECRET" in result["hint"]
    assert "~/.aliyun/config.json" in result["hint"]
    assert result["connects"] == []  # neither 100.100.100.200 (ECS metadata) nor the endpoint
    assert sim.request_count() == 0
