"""The default Alibaba Cloud credentials chain, without the ECS metadata probe off ECS.

How alibabacloud-credentials (1.0.x) decides, read from its source: ``DefaultCredentialsProvider``
tries, in order, the environment (``ALIBABA_CLOUD_ACCESS_KEY_ID`` / ``_SECRET`` /
``_SECURITY_TOKEN``), OIDC (when its three variables are set), the aliyun CLI profile
(``~/.aliyun/config.json``), the credentials file (``ALIBABA_CLOUD_CREDENTIALS_FILE`` or
``~/.alibabacloud/credentials.ini``), then the ECS RAM role from the metadata service at
100.100.100.200 unless ``ALIBABA_CLOUD_ECS_METADATA_DISABLED`` is ``true``, then
``ALIBABA_CLOUD_CREDENTIALS_URI``. Every variable is read once, when ``auth_util`` is imported;
the chain reads ``auth_util.environment_ecs_metadata_disabled`` when it is built. Off ECS the
metadata provider waits for its timeouts (1 s to connect, 1 s to read, for a token and then the
role) and logs each failure with a traceback on a handler of its own.

So the chain is built here with the metadata provider only where it can answer: the user asked
for it (``ALIBABA_CLOUD_ECS_METADATA`` names a role, or ``ALIBABA_CLOUD_ECS_METADATA_DISABLED``
is set either way: then the library decides as documented), or this machine is an ECS instance
(its firmware says so; where the firmware cannot be read, the metadata service answers an
instance id within a fraction of a second). The library's own log lines go through logging,
below WARNING unless this package logs at DEBUG: its failures reach the user once, as the
CloudApiError the caller raises.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from alibabacloud_credentials.client import Client as CredentialClient

METADATA_HOST = "100.100.100.200"
_DMI = Path("/sys/class/dmi/id")
_VENDOR = "alibaba cloud"
_LIBRARY_LOGGER = "credentials"


def _firmware_says_ecs(dmi: Path) -> bool | None:
    """Linux DMI (``sys_vendor`` "Alibaba Cloud", ``product_name`` "Alibaba Cloud ECS"); None
    when it cannot be read (some containers and sandboxes hide it)."""
    seen = None
    for name in ("sys_vendor", "product_name"):
        try:
            text = (dmi / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        seen = seen or False
        if _VENDOR in text.lower():
            return True
    return seen


def _windows_firmware_says_ecs() -> bool | None:
    if sys.platform != "win32":
        return None
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"HARDWARE\DESCRIPTION\System\BIOS") as key:
            values = [
                str(winreg.QueryValueEx(key, name)[0])
                for name in ("SystemManufacturer", "SystemProductName")
            ]
    except OSError:
        return None
    return any(_VENDOR in value.lower() for value in values)


def metadata_answers(host: str = METADATA_HOST, port: int = 80, timeout: float = 0.3) -> bool:
    """Whether an ECS metadata service answers an instance id (no proxy, ``timeout`` seconds
    to connect and as much to read)."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", "/latest/meta-data/instance-id")
        response = connection.getresponse()
        body = response.read(64).decode("ascii", "replace").strip()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()
    return response.status == 200 and re.fullmatch(r"i-[0-9a-z]{8,32}", body) is not None


def on_ecs(dmi: Path | None = None, probe: Callable[[], bool] = metadata_answers) -> bool:
    """Whether this machine is an ECS instance: its firmware, else the metadata service."""
    if sys.platform == "darwin":
        return False
    if sys.platform == "win32":
        verdict = _windows_firmware_says_ecs()
    else:
        verdict = _firmware_says_ecs(dmi or _DMI)
    return probe() if verdict is None else verdict


def metadata_probe_wanted(
    env: Mapping[str, str] | None = None, detect: Callable[[], bool] = on_ecs
) -> bool:
    """Whether the chain should include the ECS RAM role provider (see the module docstring)."""
    env = os.environ if env is None else env
    if "ALIBABA_CLOUD_ECS_METADATA_DISABLED" in env:
        return env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"].strip().lower() != "true"
    if env.get("ALIBABA_CLOUD_ECS_METADATA", "").strip():
        return True
    return detect()


def _quiet_library_log() -> None:
    log = logging.getLogger(_LIBRARY_LOGGER)
    for handler in list(log.handlers):
        if type(handler) is logging.StreamHandler:  # the ones the library adds at import
            log.removeHandler(handler)
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    debug = logging.getLogger("ecs_reboot_diagnosis_mcp").isEnabledFor(logging.DEBUG)
    log.setLevel(logging.DEBUG if debug else logging.CRITICAL)


def default_credential_client(detect: Callable[[], bool] = on_ecs) -> CredentialClient:
    """The default chain as a credentials client; nothing is fetched yet."""
    from alibabacloud_credentials.provider import DefaultCredentialsProvider
    from alibabacloud_credentials.utils import auth_util

    _quiet_library_log()
    disabled = auth_util.environment_ecs_metadata_disabled
    if disabled.lower() == "true" or metadata_probe_wanted(detect=detect):
        return CredentialClient(provider=DefaultCredentialsProvider())
    auth_util.environment_ecs_metadata_disabled = "true"
    try:
        return CredentialClient(provider=DefaultCredentialsProvider())
    finally:
        auth_util.environment_ecs_metadata_disabled = disabled
