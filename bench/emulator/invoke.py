"""The Invoke API: POST /2015-03-31/functions/{name}/invocations, answered as Lambda answers it.

Status 200 with X-Amz-Executed-Version, X-Amz-Function-Error: Unhandled on a function error,
and X-Amz-Log-Result (base64 of the last 4 KB of the log) when LogType is Tail.
"""

from __future__ import annotations

import asyncio
import base64

from aiohttp import web

from . import logformat
from .apierrors import LambdaApiError, invalid
from .pool import EnvironmentPool
from .registry import Registry, split_function_name

SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
LOG_TAIL_BYTES = 4096
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")


class InvokeApi:
    def __init__(self, registry: Registry, pool: EnvironmentPool) -> None:
        self.registry = registry
        self.pool = pool
        self._background: set[asyncio.Task] = set()

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/2015-03-31/functions/{name}/invocations", self.invoke)]

    async def invoke(self, request: web.Request) -> web.Response:
        name, qualifier = split_function_name(request.match_info["name"])
        qualifier = request.query.get("Qualifier") or qualifier
        version = self.registry.get(name).resolve(qualifier)
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type not in INVOCATION_TYPES:
            raise invalid(f"X-Amz-Invocation-Type {invocation_type!r}: must be one of {INVOCATION_TYPES}")
        payload = await request.read()
        if len(payload) > SYNC_PAYLOAD_LIMIT:
            raise LambdaApiError(413, "RequestEntityTooLargeException",
                                 f"Request must be smaller than {SYNC_PAYLOAD_LIMIT} bytes for the InvokeFunction operation")
        headers = {"X-Amz-Executed-Version": version.version}
        if invocation_type == "DryRun":
            return web.Response(status=204, headers=headers)
        client_context = request.headers.get("X-Amz-Client-Context")
        if invocation_type == "Event":
            task = asyncio.ensure_future(self.pool.invoke(version, payload, client_context))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return web.Response(status=202, headers=headers)
        outcome = await self.pool.invoke(version, payload, client_context)
        headers["x-amzn-RequestId"] = outcome.request_id
        headers["X-Amz-Executed-Version"] = outcome.version
        if outcome.function_error:
            headers["X-Amz-Function-Error"] = "Unhandled"
        if request.headers.get("X-Amz-Log-Type") == "Tail":
            tail = logformat.tail(outcome.log_lines, LOG_TAIL_BYTES)
            headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
        return web.Response(status=200, body=outcome.body, headers=headers, content_type="application/json")

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
