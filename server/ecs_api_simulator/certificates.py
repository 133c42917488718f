"""A throwaway certificate authority and server certificate for the simulator's HTTPS mode.

Made at start with ``cryptography`` (a dependency of the Alibaba Cloud SDK's tea-openapi, so it is
installed wherever the product is): a self-signed CA valid for one day and a server certificate
it signs for ``127.0.0.1``, ``::1``, ``localhost`` and the bind address. The client trusts the
CA file (the SDK's ``Config.ca``, the product's ``--ca-bundle`` / ``ECS_DIAG_CA_BUNDLE``);
verification is never turned off. ECDSA P-256 keys: generated in about a millisecond and cheap to
handshake with.

The files live in a fresh private directory (mode 0700) that the caller removes at stop.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = dt.timedelta(days=1)
_LOOPBACK_NAMES = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class TlsFiles:
    """Where the simulator's TLS material was written."""

    directory: Path
    ca_file: Path
    """The CA certificate (PEM): what a client must trust."""
    cert_file: Path
    """The server certificate (PEM), signed by the CA."""
    key_file: Path
    """The server's private key (PEM, unencrypted, mode 0600)."""


def _subject_names(host: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for name in dict.fromkeys((*_LOOPBACK_NAMES, host.strip("[]"))):
        if not name or name in ("0.0.0.0", "::"):
            continue
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    return names


def make_tls_files(host: str = "127.0.0.1") -> TlsFiles:
    """Write a fresh CA and a server certificate for ``host`` (and the loopback names) into a
    new private directory."""
    target = Path(tempfile.mkdtemp(prefix="ecs-sim-tls-"))
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ECS API simulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, "ECS API simulator throwaway CA"),
        ]
    )
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ECS API simulator")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(_subject_names(host)), critical=False)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    files = TlsFiles(
        directory=target,
        ca_file=target / "ca.pem",
        cert_file=target / "server.pem",
        key_file=target / "server-key.pem",
    )
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    key_bytes = server_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(files.key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key_bytes)
    return files


def remove_tls_files(files: TlsFiles) -> None:
    """Delete the files and their directory (missing ones are fine)."""
    for path in (files.key_file, files.cert_file, files.ca_file):
        path.unlink(missing_ok=True)
    try:
        files.directory.rmdir()
    except OSError:
        pass
