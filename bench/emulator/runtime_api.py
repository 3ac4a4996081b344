"""The Lambda Runtime API, served to execution environments on one loopback port each.

One aiohttp app serves every environment; each environment gets its own TCPSite, and a request
is routed to its environment by the local port it arrived on. The site is listening before the
process starts, because awslambdaric exits on any failed /next.

A port alone does not say who is asking: any process on the host can connect to any loopback
port. So each environment's address carries a random token as its first path segment
(AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT/TOKEN; runtime clients append /2018-06-01/runtime/...
to it), and a request without its environment's token gets 403 and touches nothing: one function
cannot take another environment's event or answer for it.
"""

from __future__ import annotations

import hmac
import json

from aiohttp import web

from ..awsfacts import RESPONSE_LIMIT_BYTES
from .environment import ExecutionEnvironment, RuntimeAnswer

PREFIX = "/{token}/2018-06-01/runtime"
# What Lambda's Runtime API answers a runtime whose response is over the limit.
RESPONSE_TOO_LARGE_FOR_RUNTIME = {
    "errorMessage": f"Exceeded maximum allowed payload size ({RESPONSE_LIMIT_BYTES} bytes).",
    "errorType": "RequestEntityTooLarge",
}


class RuntimeApi:
    def __init__(self) -> None:
        self.app = web.Application(client_max_size=7 * 1024 * 1024)
        self.app.add_routes(
            [
                web.get(f"{PREFIX}/invocation/next", self._next),
                web.post(f"{PREFIX}/invocation/{{request_id}}/response", self._response),
                web.post(f"{PREFIX}/invocation/{{request_id}}/error", self._error),
                web.post(f"{PREFIX}/init/error", self._init_error),
            ]
        )
        # handler_cancellation: a dead runtime's /next long-poll must not swallow the next event.
        self.runner = web.AppRunner(self.app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        self._by_port: dict[int, ExecutionEnvironment] = {}
        self._sites: dict[int, web.TCPSite] = {}

    async def start(self) -> None:
        await self.runner.setup()

    async def open(self, env: ExecutionEnvironment) -> int:
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = bound_port(site)
        self._by_port[port] = env
        self._sites[port] = site
        return port

    async def close_port(self, port: int) -> None:
        self._by_port.pop(port, None)
        site = self._sites.pop(port, None)
        if site is not None:
            await site.stop()

    async def stop(self) -> None:
        await self.runner.cleanup()

    def _env(self, request: web.Request) -> ExecutionEnvironment:
        assert request.transport is not None, "a request being handled has its transport"
        port = request.transport.get_extra_info("sockname")[1]
        env = self._by_port.get(port)
        if env is None:
            raise web.HTTPGone()
        if not hmac.compare_digest(request.match_info["token"], env.runtime_token):
            raise web.HTTPForbidden()
        return env

    async def _next(self, request: web.Request) -> web.Response:
        env = self._env(request)
        env.runtime_ready()
        invocation = await env.next_invocation()
        headers = {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_epoch_ms),
            "Lambda-Runtime-Invoked-Function-Arn": invocation.invoked_arn,
            "Lambda-Runtime-Trace-Id": (
                f"Root=1-{invocation.request_id[:8]}-{invocation.request_id[9:13]}00000000000000000000;Sampled=0"
            ),
        }
        if invocation.client_context:
            headers["Lambda-Runtime-Client-Context"] = invocation.client_context
        return web.Response(body=invocation.payload, headers=headers, content_type="application/json")

    async def _response(self, request: web.Request) -> web.Response:
        env = self._env(request)
        # Read past Lambda's response limit by one byte at most, whatever aiohttp's own bound: the
        # Invoke API turns a longer answer into Function.ResponseSizeTooLarge, and the runtime
        # gets Lambda's 413 (awslambdaric then exits, as on Lambda).
        body = await request.content.read(RESPONSE_LIMIT_BYTES + 1)
        while len(body) <= RESPONSE_LIMIT_BYTES and not request.content.at_eof():
            more = await request.content.read(RESPONSE_LIMIT_BYTES + 1 - len(body))
            if not more:
                break
            body += more
        env.runtime_answer(request.match_info["request_id"], RuntimeAnswer(True, body))
        if len(body) > RESPONSE_LIMIT_BYTES:
            return web.json_response(RESPONSE_TOO_LARGE_FOR_RUNTIME, status=413)
        return web.json_response({"status": "OK"}, status=202)

    async def _error(self, request: web.Request) -> web.Response:
        env = self._env(request)
        body = await request.read()
        # awslambdaric sends no Lambda-Runtime-Function-Error-Type header here: read the body.
        error_type = request.headers.get("Lambda-Runtime-Function-Error-Type") or _error_type(body)
        env.runtime_answer(request.match_info["request_id"], RuntimeAnswer(False, body, error_type))
        return web.json_response({"status": "OK"}, status=202)

    async def _init_error(self, request: web.Request) -> web.Response:
        env = self._env(request)
        body = await request.read()
        error_type = request.headers.get("Lambda-Runtime-Function-Error-Type") or _error_type(body)
        env.runtime_init_error(error_type, body)
        return web.json_response({"status": "OK"}, status=202)


def _error_type(body: bytes) -> str:
    try:
        return str(json.loads(body).get("errorType") or "Unhandled")
    except (ValueError, AttributeError):
        return "Unhandled"


def bound_port(site: web.TCPSite) -> int:
    """The port a started site listens on (it was asked for port 0: any free one)."""
    server = site._server  # aiohttp keeps the asyncio server here; it has no public accessor
    # asyncio's Server or uvloop's: both have the AbstractServer's sockets.
    sockets = getattr(server, "sockets", None)
    assert sockets, "the site has not started"
    return int(sockets[0].getsockname()[1])
