"""Check a CA bundle (``--ca-bundle`` / ``ECS_DIAG_CA_BUNDLE``) before anything uses it.

The bundle is a PEM file of CA certificates the SDK trusts over HTTPS besides the public roots:
the CA of a TLS-inspecting proxy, of a private endpoint, or the throwaway CA of the simulator's
HTTPS mode (``ecs-reboot-diagnosis simulate --tls`` prints its path). A path that is missing,
unreadable or holds no certificate is refused up front with what to do, not at the first call.
"""

from __future__ import annotations

import ssl
from pathlib import Path

FIX = (
    "give the path of a PEM file of CA certificates (for the simulator's HTTPS mode, the CA "
    "file that `ecs-reboot-diagnosis simulate --tls` prints), or unset it to trust only the "
    "public roots"
)


class CaBundleError(ValueError):
    """The CA bundle cannot be used; the message says why and what to do."""


def check_ca_bundle(value: str, source: str = "ECS_DIAG_CA_BUNDLE") -> str:
    """The bundle's absolute path, or CaBundleError naming ``source`` (the option or variable
    it came from). An empty value means no bundle: ``""``."""
    text = value.strip()
    if not text:
        return ""
    path = Path(text).expanduser()
    if not path.exists():
        raise CaBundleError(f"{source}: {path} does not exist; {FIX}")
    if not path.is_file():
        raise CaBundleError(f"{source}: {path} is not a file; {FIX}")
    try:
        ssl.create_default_context(cafile=str(path))
    except PermissionError:
        raise CaBundleError(f"{source}: {path} cannot be read (permission denied); {FIX}") from None
    except (ssl.SSLError, OSError, ValueError):
        raise CaBundleError(f"{source}: {path} holds no PEM certificate; {FIX}") from None
    return str(path.resolve())
