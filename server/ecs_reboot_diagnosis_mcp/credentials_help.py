"""The line a first run without any Alibaba Cloud credentials prints: what is missing, how to
set it, and how to try the product without an account.

Only when nothing at all is configured: an AccessKey in the environment, an aliyun CLI profile
or a credentials file that fails to load is a different problem, and its own message (which
names the source and the reason) is the one to show.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ecs_reboot_diagnosis.errors import CloudApiError, DiagnosisError
from ecs_reboot_diagnosis.models import Lang

NO_CREDENTIALS = (
    "no Alibaba Cloud credentials found: set ALIBABA_CLOUD_ACCESS_KEY_ID and "
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET, or create a profile with `aliyun configure` "
    "(ALIBABA_CLOUD_PROFILE picks one), or run this on an ECS instance with a RAM role; "
    "to try it without an account, add --simulator "
    "(e.g. diagnose --simulator --instance-id i-bp1sim0linux0000001 --region cn-hangzhou)"
)
NO_CREDENTIALS_ZH = (
    "未找到阿里云凭证：请设置 ALIBABA_CLOUD_ACCESS_KEY_ID 和 ALIBABA_CLOUD_ACCESS_KEY_SECRET，"
    "或用 `aliyun configure` 创建一个配置（ALIBABA_CLOUD_PROFILE 选择其中之一），"
    "或在绑定了 RAM 角色的 ECS 实例上运行；没有账号也可以加上 --simulator 试用"
    "（例如 diagnose --simulator --instance-id i-bp1sim0linux0000001 --region cn-hangzhou）"
)

_SOURCE_VARIABLES = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
    "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    "ALIBABA_CLOUD_ROLE_ARN",
    "ALIBABA_CLOUD_CREDENTIALS_URI",
    "ALIBABA_CLOUD_CREDENTIALS_FILE",
    "ALIBABA_CLOUD_ECS_METADATA",
)


def configured_sources(env: Mapping[str, str], home: Path) -> list[str]:
    """The credential sources that are set up at all (loadable or not)."""
    found = [name for name in _SOURCE_VARIABLES if env.get(name, "").strip()]
    if env.get("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "").lower() != "true":
        cli = home / ".aliyun" / "config.json"
        if cli.exists():
            found.append(str(cli))
    ini = home / ".alibabacloud" / "credentials.ini"
    if ini.exists():
        found.append(str(ini))
    return found


def missing_credentials_line(
    error: DiagnosisError,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    lang: Lang = "en",
) -> str | None:
    """NO_CREDENTIALS (in ``lang``) when ``error`` is the chain finding nothing and nothing is
    configured."""
    if not (isinstance(error, CloudApiError) and error.code == "CredentialsNotFound"):
        return None
    if configured_sources(os.environ if env is None else env, home or Path.home()):
        return None
    return NO_CREDENTIALS_ZH if lang == "zh-CN" else NO_CREDENTIALS
