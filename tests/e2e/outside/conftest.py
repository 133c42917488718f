"""Evidence from outside the guest, end to end: scenarios s18..s24 through the CLI and MCP.

Each CLI run starts its own simulator on one scenario directory, as a user would. The MCP tests
build the real server over a simulator of their own: screenshots of one instance are
rate-limited (10 s), as on the real API, so a test that reads the screen never shares one.
"""

from __future__ import annotations

import os

os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
for _name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_name, None)

import pytest  # noqa: E402


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
