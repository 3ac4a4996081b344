"""The Lambda Runtime API, served to execution environments on one loopback port each.

Each environment gets a listening socket of its own, open before its process starts, because
awslambdaric exits on any failed /next; a connection serves only the environment whose socket it
came in on.

A port alone does not say who is asking: any process on the host can connect to any loopback
port. So each environment's address carries a random token as its first path segment
(AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT/TOKEN; runtime clients append /2018-06-01/runtime/...
to it), and a request without its environment's token gets 403 and touches nothing: one function
cannot take another environment's event or answer for it. A path that is not the Runtime API's
gets 404, a known path with the wrong method 405, a request that is not HTTP 400 (and the
connection is closed).

Two of the three HTTP exchanges of every warm invoke are here (/next, then /response), so this is
a plain asyncio Protocol over httptools' parser rather than an aiohttp app: leaving aiohttp's
per-request machinery (request and response objects, a task per request, its router) took the
emulator's CPU per warm invoke from about 600 µs to about 420 µs (issue 15;
tests/perf/fidelity_appetite.py). HTTP/1.1 as runtime clients speak it: keep-alive,
Content-Length or chunked bodies, ``Expect: 100-continue``, pipelined requests answered in order.

A /next long-poll waits as a callback registered with its environment. When its connection is
lost (the runtime died), the callback is withdrawn, so a dead runtime's poll cannot swallow the
next event.
"""

from __future__ import annotations

import asyncio
import collections
import hmac
import json
from urllib.parse import unquote

import httptools

from ..awsfacts import RESPONSE_LIMIT_BYTES
from .environment import ExecutionEnvironment, Invocation, RuntimeAnswer

API = b"/2018-06-01/runtime/"
# The bound for the bodies of /error and /init/error (an error document, never large).
BODY_LIMIT = 7 * 1024 * 1024
# Past this many pipelined requests behind a waiting /next, stop reading from the connection.
PIPELINE_DEPTH = 4
ERROR_TYPE_HEADER = b"lambda-runtime-function-error-type"
# What Lambda's Runtime API answers a runtime whose response is over the limit.
RESPONSE_TOO_LARGE_FOR_RUNTIME = {
    "errorMessage": f"Exceeded maximum allowed payload size ({RESPONSE_LIMIT_BYTES} bytes).",
    "errorType": "RequestEntityTooLarge",
}
ACCEPTED = b'{"status":"OK"}'
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
REASONS = {
    200: b"OK",
    202: b"Accepted",
    400: b"Bad Request",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Method Not Allowed",
    413: b"Request Entity Too Large",
}

# What a request asks for, decided from its request line and its token.
NEXT, RESPONSE, ERROR, INIT_ERROR = "next", "response", "error", "init-error"
ROUTES = {  # the path after /TOKEN/2018-06-01/runtime/ -> (method, route)
    (b"invocation", b"next"): (b"GET", NEXT),
    (b"init", b"error"): (b"POST", INIT_ERROR),
}
PER_REQUEST = {b"response": RESPONSE, b"error": ERROR}  # invocation/{request_id}/...
NEXT_PATH, INVOCATION_PATH, RESPONSE_PATH = b"invocation/next", b"invocation/", b"/response"
INVOCATION_LENGTH, RESPONSE_LENGTH = len(INVOCATION_PATH), len(RESPONSE_PATH)


class RuntimeApi:
    """The Runtime API's listening sockets, one per environment."""

    def __init__(self) -> None:
        self._servers: dict[int, tuple[asyncio.AbstractServer, set[RuntimeConnection]]] = {}

    async def open(self, env: ExecutionEnvironment) -> int:
        """Listen for ``env``'s runtime on a free loopback port; returns the port."""
        connections: set[RuntimeConnection] = set()
        token = env.runtime_token.encode()
        server = await asyncio.get_running_loop().create_server(
            lambda: RuntimeConnection(env, token, connections), "127.0.0.1", 0
        )
        port = int(server.sockets[0].getsockname()[1])
        self._servers[port] = (server, connections)
        return port

    async def close_port(self, port: int) -> None:
        server, connections = self._servers.pop(port, (None, set()))
        if server is not None:
            server.close()
        for connection in list(connections):
            connection.abort()

    async def stop(self) -> None:
        for port in list(self._servers):
            await self.close_port(port)


class _Request:
    # Defaults on the class, no __init__: one of these is made per request (two per invoke), and
    # a request sets only what differs.
    route: str | None = None
    request_id = ""
    status = 0  # an answer decided before the body is read (403, 404, 405), else 0
    allow = b""  # the method the path takes, for a 405
    body: list[bytes] | None = None  # made at its first piece
    size = 0
    error_type: str | None = None
    keep_alive = True


class RuntimeConnection(asyncio.Protocol):
    """One runtime client's connection: parses with httptools, answers in request order."""

    def __init__(self, env: ExecutionEnvironment, token: bytes, connections: set[RuntimeConnection]) -> None:
        self.env = env
        self.token = token
        self.prefix = b"/" + token + API
        self.prefix_length = len(self.prefix)
        self.connections = connections
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.expect_continue = False
        self.request = _Request()
        self.ready: collections.deque[_Request] = collections.deque()  # parsed, not yet answered
        self.polling = False  # a /next of this connection waits for an event
        self.polling_keep_alive = True  # and whether its connection stays open once it is answered
        self.paused = False

    # ---- the transport --------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport (uvloop's is no subclass)
        self.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self)
        self.transport = None
        self.ready.clear()
        if self.polling:
            self.polling = False
            self.env.stop_waiting(self.deliver)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            self._refuse_malformed()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _refuse_malformed(self) -> None:
        if self.transport is None:
            return
        self.ready.clear()
        if not self.polling:  # else an answer is owed first, and this one would come before it
            self.transport.write(_response(400, _error("InvalidRequest", "Malformed HTTP request"), close=True))
        self.transport.close()

    # ---- httptools' callbacks -------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.url = b""
        self.expect_continue = False
        self.request = _Request()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) not in (6, 34):  # neither Expect nor Lambda-Runtime-Function-Error-Type: most
            return
        lowered = name.lower()
        if lowered == ERROR_TYPE_HEADER:
            self.request.error_type = value.decode("utf-8", "replace")
        elif lowered == b"expect" and value.lower() == b"100-continue":
            self.expect_continue = True

    def on_headers_complete(self) -> None:
        self._route(self.request, self.parser.get_method(), self.url.partition(b"?")[0])
        if self.expect_continue and self.transport is not None and not self.ready and not self.polling:
            self.transport.write(CONTINUE)

    def on_body(self, body: bytes) -> None:
        request = self.request
        if request.status:
            return  # refused already: the body is read past, not kept
        limit = RESPONSE_LIMIT_BYTES + 1 if request.route == RESPONSE else BODY_LIMIT
        room = limit - request.size
        if room > 0:
            piece = body[:room] if len(body) > room else body
            if request.body is None:
                request.body = [piece]
            else:
                request.body.append(piece)
        request.size += len(body)

    def on_message_complete(self) -> None:
        request = self.request
        request.keep_alive = self.parser.should_keep_alive()
        self.ready.append(request)
        self._answer_ready()

    # ---- routing and answers ----------------------------------------------------------------------
    def _route(self, request: _Request, method: bytes, path: bytes) -> None:
        # The two requests of every warm invoke, when all is in order: /next, and the answer.
        # (The token is compared in constant time here too: the whole prefix that holds it is.)
        skip = self.prefix_length
        if hmac.compare_digest(path[:skip], self.prefix):
            rest = path[skip:]
            if rest == NEXT_PATH:
                if method == b"GET":
                    request.route = NEXT
                    return
            elif rest.startswith(INVOCATION_PATH) and rest.endswith(RESPONSE_PATH) and method == b"POST":
                request_id = rest[INVOCATION_LENGTH:-RESPONSE_LENGTH]
                if request_id and b"/" not in request_id:
                    request.route = RESPONSE
                    request.request_id = unquote(request_id.decode("utf-8", "replace"))
                    return
        # Anything else, refusals included, the long way.
        token, _, rest = path[1:].partition(b"/")
        if not path.startswith(b"/") or not rest.startswith(API[1:]):
            request.status = 404
            return
        parts = tuple(rest[len(API) - 1 :].split(b"/"))
        route = ROUTES.get(parts) if len(parts) == 2 else None
        if route is None and len(parts) == 3 and parts[0] == b"invocation" and parts[2] in PER_REQUEST and parts[1]:
            route = (b"POST", PER_REQUEST[parts[2]])
            request.request_id = unquote(parts[1].decode("utf-8", "replace"))
        if route is None:
            request.status = 404
        elif method != route[0]:
            request.status, request.allow = 405, route[0]
        elif not hmac.compare_digest(token, self.token):
            request.status = 403
        else:
            request.route = route[1]

    def _answer_ready(self) -> None:
        while self.ready and not self.polling and self.transport is not None:
            request = self.ready.popleft()
            if request.route == NEXT:
                self.polling = True
                self.polling_keep_alive = request.keep_alive
                self.env.wait_next(self.deliver)  # may deliver at once, and answer the rest
                if self.polling and len(self.ready) >= PIPELINE_DEPTH and not self.paused:
                    self.paused = True
                    self.transport.pause_reading()
                return
            self._write(request.keep_alive, self._handle(request))

    def _handle(self, request: _Request) -> bytes:
        if request.status:
            refusal = _error(REASONS[request.status].decode().replace(" ", ""), "Runtime API request refused")
            return _response(request.status, refusal, b"Allow: %s\r\n" % request.allow if request.allow else b"")
        body = b"".join(request.body) if request.body is not None else b""
        if request.size > (RESPONSE_LIMIT_BYTES if request.route == RESPONSE else BODY_LIMIT):
            if request.route != RESPONSE:
                return _response(413, _error("RequestEntityTooLarge", "Request body too large"))
            # The Invoke API turns a longer answer into Function.ResponseSizeTooLarge, and the
            # runtime gets Lambda's 413 (awslambdaric then exits, as on Lambda).
            self.env.runtime_answer(request.request_id, RuntimeAnswer(True, body))
            return _response(413, json.dumps(RESPONSE_TOO_LARGE_FOR_RUNTIME).encode())
        if request.route == RESPONSE:
            self.env.runtime_answer(request.request_id, RuntimeAnswer(True, body))
        elif request.route == ERROR:
            # awslambdaric sends no Lambda-Runtime-Function-Error-Type header here: read the body.
            error_type = request.error_type or _error_type(body)
            self.env.runtime_answer(request.request_id, RuntimeAnswer(False, body, error_type))
        else:
            self.env.runtime_init_error(request.error_type or _error_type(body), body)
        return _response(202, ACCEPTED)

    def deliver(self, invocation: Invocation) -> None:
        """The environment hands this connection's waiting /next its event."""
        self.polling = False
        self._write(self.polling_keep_alive, _next_response(invocation))
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        self._answer_ready()

    def _write(self, keep_alive: bool, response: bytes) -> None:
        if self.transport is None:
            return
        self.transport.write(response)
        if not keep_alive:
            self.transport.close()
            self.transport = None


def _next_response(invocation: Invocation) -> bytes:
    request_id = invocation.request_id
    headers = (
        f"Lambda-Runtime-Aws-Request-Id: {request_id}\r\n"
        f"Lambda-Runtime-Deadline-Ms: {invocation.deadline_epoch_ms}\r\n"
        f"Lambda-Runtime-Invoked-Function-Arn: {invocation.invoked_arn}\r\n"
        f"Lambda-Runtime-Trace-Id: Root=1-{request_id[:8]}-{request_id[9:13]}00000000000000000000;Sampled=0\r\n"
    )
    if invocation.client_context:
        # A header value from the Invoke request: never let it end the header early.
        context = invocation.client_context.replace("\r", "").replace("\n", "")
        headers += f"Lambda-Runtime-Client-Context: {context}\r\n"
    return _response(200, invocation.payload, headers.encode())


def _response(status: int, body: bytes, headers: bytes = b"", close: bool = False) -> bytes:
    return b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s%s\r\n%s" % (
        status,
        REASONS[status],
        len(body),
        headers,
        b"Connection: close\r\n" if close else b"",
        body,
    )


def _error(error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


def _error_type(body: bytes) -> str:
    try:
        return str(json.loads(body).get("errorType") or "Unhandled")
    except (ValueError, AttributeError):
        return "Unhandled"
