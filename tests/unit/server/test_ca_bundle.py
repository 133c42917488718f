"""The CA bundle option (--ca-bundle, ECS_DIAG_CA_BUNDLE): refused up front, with what to do,
when it is missing, not a file or holds no certificate; a real CA file is accepted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from ecs_api_simulator.certificates import TlsFiles, make_tls_files, remove_tls_files
from ecs_reboot_diagnosis_mcp.aliyun.ca_bundle import CaBundleError, check_ca_bundle
from ecs_reboot_diagnosis_mcp.aliyun.client_factory import EcsClientSettings, build_config
from ecs_reboot_diagnosis_mcp.cli import EXIT_USAGE, main
from ecs_reboot_diagnosis_mcp.settings import Settings


@pytest.fixture(scope="module")
def tls_files() -> Iterator[TlsFiles]:
    files = make_tls_files()
    yield files
    remove_tls_files(files)


def test_a_pem_ca_file_is_accepted_as_an_absolute_path(
    tls_files: TlsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tls_files.directory)
    assert check_ca_bundle("ca.pem") == str(tls_files.ca_file.resolve())
    assert check_ca_bundle("  ") == ""


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda tmp: tmp / "missing.pem", "does not exist"),
        (lambda tmp: tmp, "is not a file"),
        (lambda tmp: _write(tmp / "notes.txt", "not a certificate\n"), "holds no PEM certificate"),
        (lambda tmp: _write(tmp / "empty.pem", ""), "holds no PEM certificate"),
    ],
)
def test_an_unusable_bundle_is_refused_with_what_to_do(
    tmp_path: Path, make: object, says: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(CaBundleError) as caught:
        check_ca_bundle(str(path), "--ca-bundle")
    message = str(caught.value)
    assert message.startswith(f"--ca-bundle: {path} ")
    assert says in message
    assert "PEM file of CA certificates" in message and "simulate --tls" in message


def test_a_private_key_is_not_a_ca_bundle(tls_files: TlsFiles) -> None:
    with pytest.raises(CaBundleError, match="holds no PEM certificate"):
        check_ca_bundle(str(tls_files.key_file))


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_the_environment_variable_is_checked_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tls_files: TlsFiles
) -> None:
    monkeypatch.setenv("ECS_DIAG_CA_BUNDLE", str(tmp_path / "nope.pem"))
    with pytest.raises(ValidationError, match=r"ECS_DIAG_CA_BUNDLE: .*nope\.pem does not exist"):
        Settings()
    monkeypatch.setenv("ECS_DIAG_CA_BUNDLE", str(tls_files.ca_file))
    assert Settings().ca_bundle == str(tls_files.ca_file.resolve())


def test_the_sdk_config_carries_the_bundle_and_the_pool_size(tls_files: TlsFiles) -> None:
    from ecs_reboot_diagnosis_mcp.aliyun.sdk_transport import POOL_SIZE

    settings = EcsClientSettings(
        endpoint="https://127.0.0.1:8443",
        access_key_id="LTAI5tEXAMPLE0000000000",
        access_key_secret="secret-secret-secret",
        ca_bundle=str(tls_files.ca_file),
    )
    config = build_config(settings, "cn-hangzhou", None)
    assert (config.protocol, config.endpoint) == ("https", "127.0.0.1:8443")
    assert config.ca == str(tls_files.ca_file)
    assert config.max_idle_conns == POOL_SIZE
    assert build_config(EcsClientSettings(access_key_id="a" * 8, access_key_secret="b" * 8),
                        "cn-hangzhou", None).ca is None  # fmt: skip


def test_the_cli_option_is_checked_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "corp-ca.pem"
    code = main(["diagnose", "--instance-id", "i-bp1a2b3c4d5e6f7g8h9j", "--region",
                 "cn-hangzhou", "--ca-bundle", str(missing)])  # fmt: skip
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"--ca-bundle: {missing} does not exist" in err
    assert "PEM file of CA certificates" in err
