"""The HTTP face of the simulator: Alibaba Cloud OpenAPI RPC style over Starlette.

``POST /`` (GET works too) with every parameter in the query string (or a form body); the action
and version come from the ``x-acs-action`` / ``x-acs-version`` headers (V3 signature) or the
``Action`` / ``Version`` parameters (legacy V1). The version selects the product (ECS,
CloudMonitor or ActionTrail, see ``products.py``), so one endpoint serves the three SDKs. Every
answer is JSON with a ``RequestId`` and the ``x-acs-request-id`` header; errors are
``{RequestId, HostId, Code, Message, Recommend}`` (CloudMonitor adds ``Success: false``).
"""

from __future__ import annotations

import json
import logging
import urllib.parse
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ecs_api_simulator.actions import RequestContext
from ecs_api_simulator.api_errors import ApiError, internal_error, missing_parameter
from ecs_api_simulator.authentication import authenticate
from ecs_api_simulator.nonces import NonceStore
from ecs_api_simulator.products import ECS, PRODUCTS, Product
from ecs_api_simulator.request_params import Params
from ecs_api_simulator.world import World

API_VERSION = ECS.version
JSON_CONTENT_TYPE = "application/json;charset=utf-8"
log = logging.getLogger("ecs_api_simulator")


def _json_response(
    status: int, body: dict[str, Any], request_id: str, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
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


def _form_pairs(request: Request, body: bytes) -> list[tuple[str, str]]:
    content_type = request.headers.get("content-type", "")
    if not body or not content_type.startswith("application/x-www-form-urlencoded"):
        return []
    return urllib.parse.parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def create_app(world: World) -> Starlette:
    nonces = NonceStore()

    async def rpc(request: Request) -> Response:
        request_id = str(uuid.uuid4()).upper()
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
            fault = world.faults.take(action)
            if fault is not None:
                raise fault
            context = RequestContext(world, caller, action, params, now, product.denial)
            result = handler(context)
        except ApiError as error:
            log.info("%s -> %s %s (%s)", action or "-", error.status, error.code, request_id)
            return _error_response(error, request_id, params.get("RegionId"), product)
        except Exception:
            log.exception("%s failed (%s)", action, request_id)
            return _error_response(internal_error(), request_id, params.get("RegionId"), product)
        log.info("%s -> 200 (%s)", action, request_id)
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
