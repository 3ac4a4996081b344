"""API Gateway fronts on the emulator: an HTTP API (payload 2.0) and a REST API (payload 1.0 proxy).

    {emulator}/apigw/http/{function}/{stage}/{proxy+}    HTTP API, one stage per alias
    {emulator}/apigw/rest/{function}/{stage}/{proxy+}    REST API, one stage per alias

Each call is an API Gateway request: it builds the event, invokes the alias the stage names,
and maps the answer back as API Gateway does (502 for a malformed 1.0 answer or a REST
function error, 500 on HTTP API, 500 for a throttle, 504 past the integration timeout; an unknown
API or stage is REST's 403 "Missing Authentication Token", HTTP API's 404 "Not Found"). What the
gateway answers itself has AWS's shape: a ``{"message": ...}`` body and, on REST APIs only, the
``x-amzn-ErrorType`` header naming it; a function's own answer never has that header. The
client gets API Gateway's request id (``apigw-requestid`` or ``x-amzn-RequestId``), never the
Lambda one. As on AWS with access logging on, each request writes one JSON access-log line to
``/aws/apigateway/{function}`` (stream ``{kind}/{stage}``) with ``requestId`` and
``integrationRequestId``: the only place the two ids meet, and what the collector joins on.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import time
import uuid
from dataclasses import dataclass

from aiohttp import web

from ..awsfacts import apigw_access_log_group
from .apierrors import LambdaApiError
from .apigw_events import (
    GatewayRequest,
    GatewayResponse,
    MalformedResponse,
    api_id,
    http_api_event,
    map_http_response,
    map_rest_response,
    rest_api_event,
)
from .logstore import LogStore
from .pool import EnvironmentPool
from .registry import Registry

KINDS = ("http", "rest")


@dataclass(frozen=True)
class GatewaySettings:
    overhead_ms: float = 0.0  # a fixed latency for the gateway itself; 0 measures the function path alone
    rest_timeout_s: float = 29.0  # REST API's default integration timeout
    http_timeout_s: float = 30.0  # HTTP API's integration timeout
    seed: int | None = None


def _message(status: int, message: str, error_type: str | None) -> GatewayResponse:
    headers = [("Content-Type", "application/json")]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return GatewayResponse(status, headers, json.dumps({"message": message}).encode())


# What each front answers when it cannot hand back the function's own response: status, message
# and the x-amzn-ErrorType a REST API sends with every answer of its own (HTTP APIs send none).
# Captured AWS answers show REST's 403 with MissingAuthenticationTokenException, and its 500,
# 502 and 504 ("Endpoint request timed out") all with InternalServerErrorException.
FAILURES: dict[str, dict[str, tuple[int, str, str | None]]] = {
    "http": {
        "not_found": (404, "Not Found", None),
        "function_error": (500, "Internal Server Error", None),
        "malformed": (500, "Internal Server Error", None),
        "throttled": (500, "Internal Server Error", None),
        "timeout": (504, "Service Unavailable", None),
    },
    "rest": {
        "not_found": (403, "Missing Authentication Token", "MissingAuthenticationTokenException"),
        "function_error": (502, "Internal server error", "InternalServerErrorException"),
        "malformed": (502, "Internal server error", "InternalServerErrorException"),
        "throttled": (500, "Internal server error", "InternalServerErrorException"),
        "timeout": (504, "Endpoint request timed out", "InternalServerErrorException"),
    },
}


class ApiGatewayFronts:
    def __init__(
        self, registry: Registry, pool: EnvironmentPool, logs: LogStore, settings: GatewaySettings = GatewaySettings()
    ) -> None:
        self.registry = registry
        self.pool = pool
        self.logs = logs
        self.settings = settings
        self.rng = random.Random(settings.seed)
        self._late: set[asyncio.Task] = set()

    def routes(self) -> list[web.RouteDef]:
        routes = []
        for kind in KINDS:
            handler = self._handler(kind)
            routes.append(web.route("*", f"/apigw/{kind}/{{function}}/{{stage}}/{{proxy:.*}}", handler))
            routes.append(web.route("*", f"/apigw/{kind}/{{function}}/{{stage}}", handler))
            # The API's base URL with no stage: API Gateway's own "no such stage", not aiohttp's 404.
            routes.append(web.route("*", f"/apigw/{kind}/{{function}}/", handler))
            routes.append(web.route("*", f"/apigw/{kind}/{{function}}", handler))
        return routes

    def _handler(self, kind: str):
        async def handle(request: web.Request) -> web.Response:
            return await self.handle(kind, request)

        return handle

    async def handle(self, kind: str, request: web.Request) -> web.Response:
        started = time.perf_counter()
        function = self.registry.functions.get(request.match_info["function"])
        stage = request.match_info.get("stage", "")
        gateway = _gateway_request(kind, request, await request.read())
        ids = _response_ids(kind, gateway)
        if function is None or stage not in function.aliases:
            return _to_web(self._failure(kind, "not_found"), ids)
        if self.settings.overhead_ms:
            await asyncio.sleep(self.settings.overhead_ms / 1000)
        event = http_api_event(gateway) if kind == "http" else rest_api_event(gateway, ids.get("x-amz-apigw-id", ""))
        version = function.route(stage, self.rng)
        invoke_started = time.perf_counter()
        task = asyncio.ensure_future(self.pool.invoke(version, json.dumps(event).encode()))
        response, lambda_id = await self._answer(kind, task)
        ended = time.perf_counter()
        self._access_log(
            function.name,
            kind,
            gateway,
            response.status,
            lambda_id,
            (ended - started) * 1000,
            (ended - invoke_started) * 1000,
            task,
        )
        return _to_web(response, ids)

    async def _answer(self, kind: str, task: asyncio.Task) -> tuple[GatewayResponse, str | None]:
        timeout = self.settings.http_timeout_s if kind == "http" else self.settings.rest_timeout_s
        try:
            outcome = await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            return self._failure(kind, "timeout"), None
        except LambdaApiError as err:
            return self._failure(kind, "throttled" if err.status == 429 else "function_error"), None
        if outcome.function_error:
            return self._failure(kind, "function_error"), outcome.request_id
        try:
            mapper = map_http_response if kind == "http" else map_rest_response
            return mapper(outcome.body), outcome.request_id
        except MalformedResponse:
            return self._failure(kind, "malformed"), outcome.request_id

    @staticmethod
    def _failure(kind: str, what: str) -> GatewayResponse:
        return _message(*FAILURES[kind][what])

    def _access_log(
        self,
        function: str,
        kind: str,
        gateway: GatewayRequest,
        status: int,
        lambda_id: str | None,
        response_ms: float,
        integration_ms: float,
        task: asyncio.Task,
    ) -> None:
        entry = {
            "requestId": gateway.request_id,
            "integrationRequestId": lambda_id,
            "apiKind": kind,
            "stage": gateway.stage,
            "routeKey": "ANY /{proxy+}",
            "httpMethod": gateway.method,
            "status": status,
            "responseLatency": round(response_ms, 2),
            "integrationLatency": round(integration_ms, 2),
            "requestTimeEpoch": gateway.epoch_ms,
        }
        stream = f"{kind}/{gateway.stage}"
        if lambda_id is not None or task.done():
            self.logs.put(apigw_access_log_group(function), stream, json.dumps(entry))
            return

        # Past the integration timeout the invocation goes on; its id is logged once it is known.
        def late(done: asyncio.Task) -> None:
            if not done.cancelled() and done.exception() is None:
                entry["integrationRequestId"] = done.result().request_id
            self.logs.put(apigw_access_log_group(function), stream, json.dumps(entry))

        task.add_done_callback(late)


def _gateway_request(kind: str, request: web.Request, body: bytes) -> GatewayRequest:
    request_id = (base64.b64encode(os.urandom(10)).decode()[:15] + "=") if kind == "http" else str(uuid.uuid4())
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return GatewayRequest(
        method=request.method,
        stage=request.match_info.get("stage", ""),
        proxy=request.match_info.get("proxy", ""),
        query=request.query_string,
        headers=list(request.headers.items()),
        body=body,
        source_ip=peer[0] if peer else "127.0.0.1",
        request_id=request_id,
        api_id=api_id(request.match_info["function"], kind),
    )


def _response_ids(kind: str, gateway: GatewayRequest) -> dict[str, str]:
    if kind == "http":
        return {"apigw-requestid": gateway.request_id}
    extended = base64.b64encode(os.urandom(10)).decode()[:15] + "="
    return {
        "x-amzn-RequestId": gateway.request_id,
        "x-amz-apigw-id": extended,
        "X-Amzn-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}",
    }


def _to_web(response: GatewayResponse, ids: dict[str, str]) -> web.Response:
    out = web.Response(status=response.status, body=response.body)
    for name, value in response.headers:
        out.headers.add(name, value)
    for name, value in ids.items():
        out.headers[name] = value
    return out
