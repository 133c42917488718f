"""Authentication: the real SDK's signatures are accepted; tampering, unknown keys and replays
are refused with the codes and statuses the real service uses."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import ClientException

from ecs_api_simulator import SimulatorServer
from ecs_api_simulator.signature import (
    EMPTY_SHA256,
    v1_signature,
    v1_string_to_sign,
    v3_canonical_request,
    v3_signature,
    v3_string_to_sign,
)
from tests.e2e.simulator.sdk_clients import make_client
from tests.e2e.simulator.signed_requests import call, post, signed_v3

REGION = {"RegionId": "cn-hangzhou"}


def signed_with_builtin_key(
    sim: SimulatorServer, action: str, params: dict[str, str]
) -> tuple[str, dict[str, str]]:
    """A V3-signed request with the simulator's built-in key, to tamper with afterwards."""
    return signed_v3(
        sim.endpoint,
        action,
        params,
        access_key_id=sim.access_key_id,
        access_key_secret=sim.access_key_secret,
    )


def test_research_v3_vector_matches_the_sdk_signature() -> None:
    query = "RegionId=cn-hangzhou&InstanceIds=%5B%22i-abc%22%2C%22i-def%22%5D&InstanceName=web+%2A~"
    headers = {
        "host": "127.0.0.1:8080",
        "x-acs-version": "2014-05-26",
        "x-acs-action": "DescribeInstances",
        "user-agent": "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
        "x-acs-date": "2024-01-01T00:00:00Z",
        "x-acs-signature-nonce": "0123456789abcdef0123456789abcdef",
        "accept": "application/json",
        "x-acs-content-sha256": EMPTY_SHA256,
        "x-acs-credentials-provider": "static_ak",
    }
    signed = ";".join(sorted(headers))
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    canonical = v3_canonical_request("POST", "/", pairs, headers, signed, EMPTY_SHA256)
    assert canonical.splitlines()[2] == (
        "InstanceIds=%5B%22i-abc%22%2C%22i-def%22%5D&InstanceName=web%20%2A~&RegionId=cn-hangzhou"
    )
    assert v3_signature("testSecret", v3_string_to_sign(canonical)) == (
        "28c73c5911fc1af0881056f61cea3b2509b31b6b92c3037277b2c4fb0470ecd8"
    )


def test_research_v1_vector() -> None:
    params = {
        "Action": "DescribeInstances",
        "Format": "json",
        "Version": "2014-05-26",
        "Timestamp": "2024-01-01T00:00:00Z",
        "SignatureNonce": "0123456789abcdef0123456789abcdef",
        "RegionId": "cn-hangzhou",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "AccessKeyId": "testAK",
    }
    string_to_sign = v1_string_to_sign("POST", params.items())
    assert v1_signature("testSecret", string_to_sign) == "je4ECh7yj5+dNFpSywHBCS0rWms="


def test_sdk_v3_request_is_accepted_and_carries_request_id(client: Any) -> None:
    response = client.describe_instances(
        ecs_models.DescribeInstancesRequest(region_id="cn-hangzhou")
    )
    assert response.status_code == 200
    assert response.body is not None
    assert response.body.request_id
    assert response.headers["x-acs-request-id"] == response.body.request_id


def test_sdk_legacy_v1_signature_is_accepted(sim: SimulatorServer) -> None:
    legacy = make_client(sim, signature_algorithm="v2")
    response = legacy.describe_instances(
        ecs_models.DescribeInstancesRequest(region_id="cn-shanghai", page_size=5)
    )
    assert response.body is not None
    assert response.body.total_count == 12


def test_sdk_async_request_is_accepted(client: Any) -> None:
    import asyncio

    request = ecs_models.DescribeInstanceAttributeRequest(instance_id="i-bp1simguest0linux01")
    response = asyncio.run(client.describe_instance_attribute_async(request))
    assert response.body is not None
    assert response.body.instance_name == "guest-linux"


def test_sts_credentials_with_their_token_are_accepted(sim: SimulatorServer) -> None:
    sts = make_client(
        sim,
        access_key_id="STS.SimTempKey0001",
        access_key_secret="SimTempSecret0001",
        security_token="CAIS/sim+token==0001",
    )
    response = sts.describe_cloud_assistant_status(
        ecs_models.DescribeCloudAssistantStatusRequest(
            region_id="cn-hangzhou", instance_id=["i-bp1simguest0linux01"]
        )
    )
    assert response.body is not None


@pytest.mark.parametrize(
    ("key_id", "secret", "token", "code"),
    [
        (
            "STS.SimTempKey0001",
            "SimTempSecret0001",
            "CAIS/other==",
            "InvalidSecurityToken.MismatchWithAccessKey",
        ),
        (
            "STS.SimExpiredKey01",
            "SimExpiredSecret01",
            "CAIS/sim+expired==01",
            "InvalidSecurityToken.Expired",
        ),
    ],
)
def test_bad_sts_tokens_are_refused(
    sim: SimulatorServer, key_id: str, secret: str, token: str, code: str
) -> None:
    sts = make_client(sim, access_key_id=key_id, access_key_secret=secret, security_token=token)
    with pytest.raises(ClientException) as caught:
        sts.describe_instances(ecs_models.DescribeInstancesRequest(region_id="cn-hangzhou"))
    assert caught.value.code == code
    assert caught.value.status_code == 400


def test_wrong_secret_is_signature_does_not_match(sim: SimulatorServer) -> None:
    bad = make_client(sim, access_key_secret="not-the-secret")
    with pytest.raises(ClientException) as caught:
        bad.describe_instances(ecs_models.DescribeInstancesRequest(region_id="cn-hangzhou"))
    assert caught.value.code == "SignatureDoesNotMatch"
    assert caught.value.status_code == 400
    assert caught.value.data["Message"].startswith(
        "Specified signature is not matched with our calculation."
    )


def test_unknown_access_key_is_404(sim: SimulatorServer) -> None:
    stranger = make_client(sim, access_key_id="LTAI5tUNKNOWN000000000")
    with pytest.raises(ClientException) as caught:
        stranger.describe_instances(ecs_models.DescribeInstancesRequest(region_id="cn-hangzhou"))
    assert caught.value.code == "InvalidAccessKeyId.NotFound"
    assert caught.value.status_code == 404
    assert caught.value.data["Message"] == "Specified access key is not found."


def test_tampered_query_is_refused(sim: SimulatorServer) -> None:
    url, headers = signed_with_builtin_key(
        sim, "DescribeInstanceAttribute", {"InstanceId": "i-bp1simguest0linux01"}
    )
    tampered = url.replace("i-bp1simguest0linux01", "i-bp1simguest0windows")
    response = post(tampered, headers)
    assert response.status_code == 400
    assert response.json()["Code"] == "SignatureDoesNotMatch"
    assert post(url, headers).status_code == 200  # the untouched request still passes


def test_tampered_action_header_is_refused(sim: SimulatorServer) -> None:
    url, headers = signed_with_builtin_key(sim, "DescribeInstances", REGION)
    headers["x-acs-action"] = "DescribeInstancesFullStatus"
    assert post(url, headers).json()["Code"] == "SignatureDoesNotMatch"


def test_replayed_nonce_is_refused(sim: SimulatorServer) -> None:
    url, headers = signed_with_builtin_key(sim, "DescribeInstances", REGION)
    first = post(url, headers)
    replay = post(url, headers)
    assert first.status_code == 200
    assert replay.status_code == 400
    body = replay.json()
    assert body["Code"] == "SignatureNonceUsed"
    assert body["Message"] == "Specified signature nonce was used already."
    assert body["RequestId"] and replay.headers["x-acs-request-id"] == body["RequestId"]


def test_missing_nonce_is_refused(sim: SimulatorServer) -> None:
    url, headers = signed_with_builtin_key(sim, "DescribeInstances", REGION)
    del headers["x-acs-signature-nonce"]
    response = post(url, headers)
    assert response.status_code == 400
    assert response.json()["Code"] == "MissingSignatureNonce"


def test_stale_date_is_refused(sim: SimulatorServer) -> None:
    stale = (datetime.now(UTC) - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = call(sim, "DescribeInstances", REGION, date=stale)
    assert response.status_code == 400
    assert response.json()["Code"] == "InvalidTimeStamp.Expired"


def test_malformed_authorization_is_incomplete_signature(sim: SimulatorServer) -> None:
    url, headers = signed_with_builtin_key(sim, "DescribeInstances", REGION)
    headers["authorization"] = "ACS3-HMAC-SHA256 Credential=x"
    response = post(url, headers)
    assert response.status_code == 400
    assert response.json()["Code"] == "IncompleteSignature"


def test_unsigned_request_is_refused(sim: SimulatorServer) -> None:
    response = post(f"{sim.url}?Action=DescribeInstances&Version=2014-05-26&RegionId=x", {})
    assert response.status_code == 400
    assert response.json()["Code"] == "MissingAccessKeyId"
