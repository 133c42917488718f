"""The HTTP face of the simulator: Alibaba Cloud OpenAPI RPC style over Starlette.

``POST /`` (GET works too) with every parameter in the query string (or a form body); the action
and version come from the ``x-acs-action`` / ``x-acs-version`` headers (V3 signature) or the
``Action`` / ``Version`` parameters (legacy V1). The version selects the product (ECS,
CloudMonitor or ActionTrail, see ``products.py``), so one endpoint serves the three SDKs. Every
answer is JSON with a ``RequestId`` and the ``x-acs-request-id`` header; errors are
``{RequestId, HostId, Code, Message, Recommend}`` (CloudMonitor adds ``Success: false``).

Scripted faults (``faults.py``) may delay an answer, replace it with an error, or drop the
connection without any answer. Every request is counted in ``world.requests``.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ecs_api_simulator import json_text
from ecs_api_simulator.actions import RequestContext
from ecs_api_simulator.api_errors import ApiError, internal_error, missing_parameter
from ecs_api_simulator.authentication import authenticate
from ecs_api_simulator.nonces import NonceStore
from ecs_api_simulator.products import ECS, PRODUCTS, Product
from ecs_api_simulator.request_log import DROPPED, RequestRecord
from ecs_api_simulator.request_params import Params
from ecs_api_simulator.world import World

API_VERSION = ECS.version
JSON_CONTENT_TYPE = "application/json;charset=utf-8"
log = logging.getLogger("ecs_api_simulator")


def _json_response(
    status: int, body: dict[str, Any], request_id: str, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        json_text.dumps(body),
        status_code=status,
        media_type=None,
        headers={
            "content-type": JSON_CONTENT_TYPE,
            "x-acs-request-id": request_id,
            **(headers or {}),
        },
    )


def _error_response(
    error: ApiError, request_id: str, region_id: str | None, product: Product = ECS
) -> Response:
    body: dict[str, Any] = {
        "RequestId": request_id,
        "HostId": product.host(region_id),
        "Code": error.code,
        "Message": error.message,
        "Recommend": (
            f"https://api.aliyun.com/troubleshoot?q={error.code}&product={product.code}"
            f"&requestId={request_id}"
        ),
        **product.error_extra,
        **error.extra,
    }
    return _json_response(error.status, body, request_id, error.headers)


class _NothingToSend(Response):
    """The connection is already closed: send nothing."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        return None


class _UnfinishedResponse(Response):
    """Start an answer and stop: the server then closes the connection mid-response."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", JSON_CONTENT_TYPE.encode()),
                    (b"content-length", b"2"),
                ],
            }
        )


async def _drop_connection(request: Request) -> Response:
    """Close the client's connection without sending a single byte of an answer.

    uvicorn's ``receive`` is a method of the request cycle, which holds the asyncio transport;
    closing it sends a FIN, and the SDK sees the server disconnect with no response. Once the
    server has noticed the connection is gone it sends nothing more. Under a server that does
    not expose the transport, an answer is started and abandoned instead.
    """
    cycle = getattr(request.receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if not isinstance(transport, asyncio.BaseTransport):
        return _UnfinishedResponse()
    transport.close()
    for _ in range(100):  # connection_lost runs on the next loop iterations
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)
    return _NothingToSend()


def _form_pairs(request: Request, body: bytes) -> list[tuple[str, str]]:
    content_type = request.headers.get("content-type", "")
    if not body or not content_type.startswith("application/x-www-form-urlencoded"):
        return []
    return urllib.parse.parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def _named_instances(params: Params) -> tuple[str, ...]:
    """The instance ids a request names, in any of the API's forms; malformed ones are left out
    (the action itself rejects them)."""
    ids = [*params.repeat_list("InstanceId"), *params.repeat_list("ResourceId")]
    single = params.get("InstanceId")
    if single:
        ids.append(single)
    try:
        ids.extend(params.json_list("InstanceIds") or [])
    except ApiError:
        pass
    return tuple(dict.fromkeys(i for i in ids if isinstance(i, str)))


def create_app(world: World) -> Starlette:
    nonces = NonceStore()

    async def rpc(request: Request) -> Response:
        request_id = str(uuid.uuid4()).upper()
        arrived = world.clock.now()
        body = await request.body()
        query_pairs = urllib.parse.parse_qsl(request.url.query, keep_blank_values=True)
        form_pairs = _form_pairs(request, body)
        params = Params(query_pairs + form_pairs)
        headers = {k.lower(): v for k, v in request.headers.items()}
        action = headers.get("x-acs-action") or params.get("Action") or ""
        product = ECS
        try:
            if not action:
                raise missing_parameter("Action")
            version = headers.get("x-acs-version") or params.get("Version")
            if not version:
                raise missing_parameter("Version")
            known = PRODUCTS.get(version)
            if known is None:
                raise ApiError(400, "InvalidVersion", "Specified parameter Version is not valid.")
            product = known
            handler = product.actions.get(action)
            if handler is None:
                raise ApiError(
                    404,
                    "InvalidAction.NotFound",
                    "Specified api is not found, please check your url and method.",
                )
            now = world.clock.now()
            caller = authenticate(
                method=request.method,
                path=request.url.path,
                query_pairs=query_pairs,
                form_pairs=form_pairs,
                headers=headers,
                body=body,
                keys=world.access_keys,
                nonces=nonces,
                now=now,
            )
            denied = action in caller.access_key.denied_actions
            if denied and (product is not ECS or action != "DescribeInstances"):
                raise product.denial.error(action, caller.access_key.principal)
            fault = world.faults.take(action, now)
            if fault.delay_seconds > 0:
                await asyncio.sleep(fault.delay_seconds)
                now = world.clock.now()
            if fault.drop and not fault.drop_after_processing:
                log.info("%s -> connection dropped (%s)", action, request_id)
                world.requests.record(RequestRecord(action, 0, DROPPED, arrived, world.clock.now()))
                return await _drop_connection(request)
            if fault.error is not None:
                raise fault.error
            context = RequestContext(world, caller, action, params, now, product.denial)
            if fault.drop:  # handle the request, then lose the answer (an error one too)
                try:
                    handler(context)
                except ApiError:
                    pass
                except Exception:
                    log.exception("%s failed (%s)", action, request_id)
                log.info("%s -> handled, connection dropped (%s)", action, request_id)
                world.requests.record(RequestRecord(action, 0, DROPPED, arrived, world.clock.now()))
                return await _drop_connection(request)
            result = handler(context)
        except ApiError as error:
            log.info("%s -> %s %s (%s)", action or "-", error.status, error.code, request_id)
            world.requests.record(
                RequestRecord(
                    action,
                    error.status,
                    error.code,
                    arrived,
                    world.clock.now(),
                    _named_instances(params),
                )
            )
            return _error_response(error, request_id, params.get("RegionId"), product)
        except Exception:
            log.exception("%s failed (%s)", action, request_id)
            failure = internal_error()
            world.requests.record(
                RequestRecord(action, failure.status, failure.code, arrived, world.clock.now())
            )
            return _error_response(failure, request_id, params.get("RegionId"), product)
        log.info("%s -> 200 (%s)", action, request_id)
        world.requests.record(
            RequestRecord(action, 200, "", arrived, world.clock.now(), _named_instances(params))
        )
        return _json_response(200, {"RequestId": request_id, **result}, request_id)

    async def unknown_path(request: Request) -> Response:
        request_id = str(uuid.uuid4()).upper()
        error = ApiError(
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        )
        return _error_response(error, request_id, None)

    routes = [
        Route("/", rpc, methods=["GET", "POST"]),
        Route("/{path:path}", unknown_path, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ]
    return Starlette(routes=routes)
