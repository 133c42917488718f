"""The HTTP configuration helpers: token parsing and verification, accepted hosts, exposure."""

from __future__ import annotations

import pytest

from ecs_reboot_diagnosis_mcp.http_app import (
    ConfigurationError,
    StaticTokenVerifier,
    allowed_hosts,
    auth_settings,
    check_exposure,
    owner_of,
    parse_tokens,
    transport_security,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_each_token_is_its_own_owner_and_others_are_refused() -> None:
    verifier = StaticTokenVerifier(parse_tokens(" alpha-secret , beta-secret ,, "))
    alpha = await verifier.verify_token("alpha-secret")
    beta = await verifier.verify_token("beta-secret")
    assert alpha is not None and beta is not None
    assert alpha.client_id == owner_of("alpha-secret") != beta.client_id
    assert "alpha-secret" not in alpha.model_dump_json()  # the secret is not kept
    for wrong in ("", "alpha", "alpha-secretx", "ALPHA-SECRET"):
        assert await verifier.verify_token(wrong) is None
    assert "secret" not in repr(verifier)
    with pytest.raises(ValueError):
        StaticTokenVerifier([])


def test_the_default_hosts_are_the_bind_address_and_loopback_with_the_port() -> None:
    assert allowed_hosts("0.0.0.0", 8000) == [
        "0.0.0.0:8000",
        "127.0.0.1:8000",
        "localhost:8000",
        "[::1]:8000",
    ]
    assert allowed_hosts("::", 9)[0] == "[::]:9"
    assert allowed_hosts("127.0.0.1", 8000, ["mcp.example", "10.0.0.5:80", "fe80::1", ""]) == [
        "mcp.example:8000",
        "10.0.0.5:80",
        "[fe80::1]:8000",
    ]
    for bad in ("a/b", "user@host", "a b"):
        with pytest.raises(ConfigurationError):
            allowed_hosts("127.0.0.1", 8000, [bad])


def test_origins_follow_the_hosts_and_protection_is_on() -> None:
    security = transport_security(["mcp.example:8000"])
    assert security.enable_dns_rebinding_protection
    assert security.allowed_origins == ["http://mcp.example:8000", "https://mcp.example:8000"]


def test_the_resource_url_names_a_concrete_address() -> None:
    settings = auth_settings(allowed_hosts("0.0.0.0", 8000))
    assert str(settings.resource_server_url) == "http://127.0.0.1:8000/mcp"
    settings = auth_settings(allowed_hosts("0.0.0.0", 8000, ["mcp.example"]))
    assert str(settings.resource_server_url) == "http://mcp.example:8000/mcp"


@pytest.mark.parametrize("bind", ["0.0.0.0", "::", "10.0.0.5", "mcp.example"])
def test_a_non_loopback_bind_needs_a_token(bind: str) -> None:
    with pytest.raises(ConfigurationError, match="ECS_DIAG_HTTP_TOKEN"):
        check_exposure(bind, [])
    check_exposure(bind, ["t"])


@pytest.mark.parametrize("bind", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_binds_need_none(bind: str) -> None:
    check_exposure(bind, [])
