"""An HTTP error without an API error code (a gateway or proxy in front, or a service failing
before it can say more), through the official SDK: the message gives the status and says the
request id is unknown, instead of the SDK's "None: code: 500, None request id: None"."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ecs_reboot_diagnosis.errors import CloudApiError
from ecs_reboot_diagnosis_mcp.aliyun.client_factory import EcsClientSettings
from ecs_reboot_diagnosis_mcp.aliyun.gateway import AliyunEcsGateway
from ecs_reboot_diagnosis_mcp.cli_errors import message_for

pytestmark = pytest.mark.anyio
Answer = tuple[int, bytes]


@pytest.fixture
def answering() -> Iterator[tuple[str, list[Answer], list[int]]]:
    """A loopback server answering every request with the status and body the test sets; it
    counts the requests it served."""
    answer: list[Answer] = [(500, b"{}")]
    served: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            status, body = answer[0]
            served.append(status)
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", answer, served
    server.shutdown()
    server.server_close()
    thread.join()


def gateway(endpoint: str) -> AliyunEcsGateway:
    settings = EcsClientSettings(
        endpoint=endpoint,
        access_key_id="LTAI5tFakeKeyForTests",
        access_key_secret="fake-secret-for-tests",
        max_attempts=2,
        backoff_period_ms=1,
        max_backoff_ms=5,
    )
    return AliyunEcsGateway(settings)


async def failure(endpoint: str) -> CloudApiError:
    with pytest.raises(CloudApiError) as caught:
        await gateway(endpoint).describe_instance("cn-hangzhou", "i-bp1abcdefghijk")
    return caught.value


@pytest.mark.parametrize("body", [b"{}", b'{"HostId": "ecs.aliyuncs.com"}'])
async def test_a_500_without_a_code_says_so_and_is_retried(
    answering: tuple[str, list[Answer], list[int]], body: bytes
) -> None:
    endpoint, answer, served = answering
    answer[0] = (500, body)
    error = await failure(endpoint)
    assert str(error).startswith(
        "DescribeInstances failed: the ECS API returned HTTP 500 without an error code "
        "(request id: unknown) (gave up after 2 attempts)"
    ), str(error)
    assert "None" not in str(error)
    assert error.kind == "server" and error.request_id == ""
    assert "Try again later" in error.hint
    assert served == [500, 500]


async def test_the_request_id_and_message_are_kept_when_the_body_has_them(
    answering: tuple[str, list[Answer], list[int]],
) -> None:
    endpoint, answer, _ = answering
    answer[0] = (503, b'{"RequestId": "6F1D-REQ", "Message": "upstream overloaded"}')
    error = await failure(endpoint)
    assert "returned HTTP 503 without an error code: upstream overloaded" in str(error)
    assert error.request_id == "6F1D-REQ" and "(RequestId 6F1D-REQ)" in str(error)
    assert "request id: unknown" not in str(error)
    assert "quote the RequestId" in error.hint


async def test_a_404_without_a_code_is_not_found_and_the_cli_words_it_for_a_person(
    answering: tuple[str, list[Answer], list[int]],
) -> None:
    endpoint, answer, served = answering
    answer[0] = (404, b"{}")
    error = await failure(endpoint)
    assert error.kind == "not_found" and served == [404]  # not retried
    assert "returned HTTP 404 without an error code" in str(error)
    assert message_for(error).endswith("Check --instance-id and --region.")


async def test_an_error_with_a_code_is_unchanged(
    answering: tuple[str, list[Answer], list[int]],
) -> None:
    endpoint, answer, _ = answering
    answer[0] = (
        403,
        b'{"Code": "Forbidden.RAM", "Message": "User not authorized", "RequestId": "R-1"}',
    )
    error = await failure(endpoint)
    assert str(error).startswith(
        "DescribeInstances failed: Forbidden.RAM: User not authorized (RequestId R-1)"
    )
    assert error.kind == "forbidden"
