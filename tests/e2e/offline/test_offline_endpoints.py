"""The documented offline use stays offline (issue 12, finding 5).

With ``--endpoint`` (or ``ECS_DIAG_ENDPOINT``) CloudMonitor and ActionTrail go to that endpoint
too, or to their own ``--metrics-endpoint`` / ``--actiontrail-endpoint``, never silently to a
public one; with ``--simulator`` all three products use the embedded simulator whatever the
``ECS_DIAG_*_ENDPOINT`` variables say. The scheme of the endpoint (``http`` for the simulator)
carries over.

Two ways of checking it:
- always: every SDK client the gateways build (in-process) has the given endpoint and protocol,
  and the CLI (a subprocess, over loopback) run against a simulator leaves the CloudMonitor and
  ActionTrail requests in that simulator's request log and no "could not be read" note
  (``unavailable`` entry) in the report;
- in a network namespace with only loopback (``unshare -n``, util-linux): the documented
  commands run as subprocesses where any other address is unreachable. It needs root (or
  unprivileged user namespaces) and the ``unshare`` binary; ``lo`` is brought up with an ioctl,
  so iproute2 is not needed. Where ``unshare -n`` is not permitted the test is skipped with the
  reason, and the in-process checks still run.
"""

from __future__ import annotations

import os

os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
for _name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_name, None)

import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from ecs_api_simulator import SimulatorServer  # noqa: E402
from ecs_reboot_diagnosis_mcp.aliyun.sdk_gateway import SdkGateway  # noqa: E402
from ecs_reboot_diagnosis_mcp.app import build_gateway, build_outside_gateways  # noqa: E402
from ecs_reboot_diagnosis_mcp.settings import Settings  # noqa: E402

HELPER = Path(__file__).with_name("netns_offline_run.py")
INSTANCE = "i-bp1sim0linux0000001"
REGION = "cn-hangzhou"
CLI_MODULE = "ecs_reboot_diagnosis_mcp.cli"
OUTSIDE_ACTIONS = ("DescribeMetricList", "LookupEvents")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name.startswith("ECS_DIAG_"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def other_sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(host="127.0.0.1", port=0) as server:
        yield server


def _gateways(settings: Settings, sim: SimulatorServer) -> dict[str, SdkGateway]:
    keys = {"access_key_id": sim.access_key_id, "access_key_secret": sim.access_key_secret}
    metrics, audit = build_outside_gateways(settings, **keys)
    assert isinstance(metrics, SdkGateway) and isinstance(audit, SdkGateway)
    return {"ECS": build_gateway(settings, **keys), "CMS": metrics, "ActionTrail": audit}


def _endpoints(settings: Settings, sim: SimulatorServer) -> dict[str, tuple[str, str]]:
    """Each product's SDK client's endpoint and protocol, as the SDK will use them."""
    clients = {name: g._client(REGION) for name, g in _gateways(settings, sim).items()}
    return {name: (c._endpoint, c._protocol) for name, c in clients.items()}


# --- in-process: the SDK clients ------------------------------------------------------------


@pytest.mark.parametrize("form", ["url", "host:port", "url without slash"])
def test_every_sdk_client_uses_the_ecs_endpoint_override(sim: SimulatorServer, form: str) -> None:
    endpoint = {"url": sim.url, "host:port": sim.endpoint, "url without slash": sim.url[:-1]}
    settings = Settings(endpoint=endpoint[form])
    assert _endpoints(settings, sim) == dict.fromkeys(
        ("ECS", "CMS", "ActionTrail"), (sim.endpoint, "http")
    )


def test_per_product_endpoints_take_precedence(sim: SimulatorServer) -> None:
    settings = Settings(
        endpoint="https://ecs.example.internal",
        metrics_endpoint="http://127.0.0.1:18001/",
        actiontrail_endpoint="audit.example.internal:8443",
    )
    assert _endpoints(settings, sim) == {
        "ECS": ("ecs.example.internal", "https"),
        "CMS": ("127.0.0.1:18001", "http"),
        "ActionTrail": ("audit.example.internal:8443", "https"),
    }


def test_per_product_endpoints_from_the_environment(
    sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECS_DIAG_ENDPOINT", sim.url)
    monkeypatch.setenv("ECS_DIAG_METRICS_ENDPOINT", "http://127.0.0.1:18002")
    endpoints = _endpoints(Settings(), sim)
    assert endpoints["CMS"] == ("127.0.0.1:18002", "http")
    assert endpoints["ECS"] == endpoints["ActionTrail"] == (sim.endpoint, "http")


def test_the_simulator_overrides_every_per_product_endpoint(sim: SimulatorServer) -> None:
    settings = Settings(
        endpoint=sim.url,
        simulated=True,
        metrics_endpoint=f"metrics.{REGION}.aliyuncs.com",
        actiontrail_endpoint=f"actiontrail.{REGION}.aliyuncs.com",
    )
    assert set(_endpoints(settings, sim).values()) == {(sim.endpoint, "http")}


def test_without_any_override_each_product_keeps_its_public_endpoint(sim: SimulatorServer) -> None:
    assert _endpoints(Settings(), sim) == {
        "ECS": (f"ecs-{REGION}.aliyuncs.com", "https"),
        "CMS": (f"metrics.{REGION}.aliyuncs.com", "https"),
        "ActionTrail": (f"actiontrail.{REGION}.aliyuncs.com", "https"),
    }


# --- the CLI against a simulator, over loopback ----------------------------------------------


def _diagnose(argv: list[str], tmp_path: Path, **env: str) -> dict[str, Any]:
    """The real command in a subprocess: the credentials library reads its variables once."""
    output = tmp_path / "report.json"
    script = Path(sys.executable).with_name("ecs-reboot-diagnosis")
    command = [str(script)] if script.exists() else [sys.executable, "-m", CLI_MODULE]
    command += ["diagnose", "--instance-id", INSTANCE, "--region", REGION, *argv,
                "--format", "json", "--output", str(output)]  # fmt: skip
    done = subprocess.run(
        command,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report: dict[str, Any] = json.loads(output.read_text("utf-8"))
    return report


def _keys(sim: SimulatorServer) -> dict[str, str]:
    return {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": sim.access_key_id,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": sim.access_key_secret,
    }


def test_cli_endpoint_sends_cloudmonitor_and_actiontrail_to_the_simulator(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    report = _diagnose(["--endpoint", sim.url], tmp_path, **_keys(sim))
    assert report["unavailable"] == []
    for action in OUTSIDE_ACTIONS:
        assert sim.request_count(action) > 0, action
        assert sim.request_count(action, code="") == sim.request_count(action), action


def test_cli_per_product_endpoint_flags(
    sim: SimulatorServer,
    other_sim: SimulatorServer,
    tmp_path: Path,
) -> None:
    report = _diagnose(
        [
            *("--endpoint", sim.url),
            *("--metrics-endpoint", other_sim.url),
            *("--actiontrail-endpoint", other_sim.endpoint),
        ],
        tmp_path,
        **_keys(sim),
    )
    assert report["unavailable"] == []
    assert sim.request_count("DescribeInstances") > 0
    assert other_sim.request_count("DescribeInstances") == 0
    for action in OUTSIDE_ACTIONS:
        assert sim.request_count(action) == 0, action
        assert other_sim.request_count(action) > 0, action


def test_cli_simulator_ignores_public_per_product_endpoints(tmp_path: Path) -> None:
    report = _diagnose(
        ["--simulator"],
        tmp_path,
        ECS_DIAG_METRICS_ENDPOINT=f"https://metrics.{REGION}.aliyuncs.com",
        ECS_DIAG_ACTIONTRAIL_ENDPOINT="https://127.0.0.1:9/",
    )
    assert report["unavailable"] == []


# --- a network namespace with only loopback -------------------------------------------------


def _netns_unavailable_reason() -> str | None:
    if sys.platform != "linux":
        return "network namespaces are Linux only"
    if shutil.which("unshare") is None:
        return "the unshare binary (util-linux) is not installed"
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"unshare -n is not permitted here (needs root): {probe.stderr.strip()[:200]}"
    return None


@pytest.mark.slow
def test_offline_commands_reach_nothing_but_loopback() -> None:
    reason = _netns_unavailable_reason()
    if reason:
        pytest.skip(reason)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    done = subprocess.run(
        ["unshare", "-n", sys.executable, str(HELPER)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=Path(__file__).resolve().parents[3],
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout)
    assert result["interfaces"] == ["lo"]
    assert result["public_connect_error"], "a public address was reachable in the namespace"

    run = result["endpoint"]
    assert run["code"] == 0, run["stderr"]
    assert run["unavailable"] == [], run["unavailable"]
    for action in ("DescribeInstances", *OUTSIDE_ACTIONS):
        assert run["counts"][action] > 0, (action, run)
    assert not any(run["failed"].values()), run["failed"]

    embedded = result["simulator"]
    assert embedded["code"] == 0, embedded["stderr"]
    assert embedded["unavailable"] == [], embedded["unavailable"]
    # The embedded simulator is its own: the standalone one saw nothing of that run.
    assert not any(embedded["counts"].values()), embedded["counts"]


def test_the_readme_documents_the_per_product_endpoints() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    for flag, variable in (
        ("--endpoint", "ECS_DIAG_ENDPOINT"),
        ("--metrics-endpoint", "ECS_DIAG_METRICS_ENDPOINT"),
        ("--actiontrail-endpoint", "ECS_DIAG_ACTIONTRAIL_ENDPOINT"),
    ):
        assert f"| `{flag}` | `{variable}` |" in readme, flag
