"""The emulator's front door: its one listening socket. Invoke is served here directly; every other
request by the aiohttp app, as before there was a front door.

Invoke is the request a load test sends thousands of times a second, and aiohttp's per-request
machinery (request and response objects, the router, the middleware, its writer) was a quarter of
the emulator's CPU per warm invoke: serving Invoke here took it from about 420 µs to about 320 µs
(issue 15; tests/perf/fidelity_appetite.py). So each connection starts here, and each request's
line is looked at first. An Invoke (``POST /2015-03-31/functions/{name}/invocations``
over HTTP/1.1, with a Content-Length body of at most FAST_BODY_MAX) is parsed with httptools,
answered by :meth:`InvokeApi.answer` (the same code as the aiohttp route) and written back
directly. At the first request that is anything else (the control plane, the Logs API, the API
Gateway fronts; a chunked, expecting or larger body; a malformed head) the connection is handed to
aiohttp for good, with every byte not yet answered: aiohttp answers that request and all later
ones on it exactly as it always did, errors and limits included.

Requests on one connection are answered in order, one at a time. A client that goes away while its
invoke runs leaves the invocation running (the pool's invocations cannot be cancelled by a caller),
as Lambda finishes it.
"""

from __future__ import annotations

import asyncio
import email.utils
import http
import re
import sys
import time
import traceback
from collections.abc import Callable
from urllib.parse import unquote, unquote_plus

import httptools

from .apierrors import LambdaApiError
from .invoke import Answer, InvokeApi, InvokeCall

INVOKE_LINE = re.compile(rb"POST /2015-03-31/functions/([^/?#\s]+)/invocations(?:\?(\S*))? HTTP/1\.1")
MAX_HEAD = 16 * 1024  # a longer head goes to aiohttp, which has bounds of its own
# The fast path's body bound: a larger payload goes to aiohttp, which reads it with its limits in force.
FAST_BODY_MAX = 256 * 1024
# Stop reading a connection that sends this much ahead of the answer it waits for.
BUFFER_MAX = 2 * FAST_BODY_MAX
REASONS = {status.value: status.phrase.encode() for status in http.HTTPStatus}
# The only headers the fast path reads (lower-cased name -> its key in InvokeCall.headers): the
# framing ones, to know whether the request is one for it, and the Invoke API's own. Every other
# header is skipped at the cost of a length test, not decoded and kept.
WANTED_HEADERS = {
    name.encode(): name
    for name in (
        "content-length",
        "transfer-encoding",
        "expect",
        "x-amz-invocation-type",
        "x-amz-client-context",
        "x-amz-log-type",
    )
}
WANTED_LENGTHS = frozenset(len(name) for name in WANTED_HEADERS)
# The path's function name and query, decoded, by their raw bytes: a load test sends the same few.
TARGETS_KEPT = 256


class FrontDoor:
    """The listening socket and its connections; ``aiohttp_handler`` makes aiohttp's protocol."""

    def __init__(self, invoke_api: InvokeApi, aiohttp_handler: Callable[[], asyncio.Protocol]) -> None:
        self.invoke_api = invoke_api
        self.aiohttp_handler = aiohttp_handler
        self.connections: set[FrontConnection] = set()
        self._server: asyncio.AbstractServer | None = None
        self._date = (0, b"")
        self._targets: dict[bytes, tuple[str, str | None] | None] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host``:``port`` (0: any free port); returns the port."""
        # Kept: asking asyncio for the running loop costs a getpid(2) each time, on every invoke.
        self.loop = loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: FrontConnection(self), host, port, backlog=128)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self, timeout_s: float) -> None:
        """No new connections; the invokes in flight get ``timeout_s`` to be answered; then all close."""
        if self._server is not None:
            self._server.close()
        busy = {connection.task for connection in self.connections if connection.task is not None}
        if busy:
            await asyncio.wait(busy, timeout=timeout_s)
        for connection in list(self.connections):
            connection.close()

    def target(self, request_line: bytes) -> tuple[str, str | None] | None:
        """An Invoke's (function name, Qualifier) from its request line, decoded; None for any other
        request. Kept by line: a load test sends the same few, and decoding them is most of this."""
        try:
            return self._targets[request_line]
        except KeyError:
            known = _target(request_line)
        if len(self._targets) >= TARGETS_KEPT:
            self._targets.clear()
        self._targets[request_line] = known
        return known

    def date(self) -> bytes:
        """The Date header's value, made once a second."""
        now = int(time.time())
        if now != self._date[0]:
            self._date = (now, email.utils.formatdate(now, usegmt=True).encode())
        return self._date[1]


class FrontConnection(asyncio.Protocol):
    """One client connection, until it is handed to aiohttp."""

    def __init__(self, door: FrontDoor) -> None:
        self.door = door
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.parser = httptools.HttpRequestParser(self)
        self.task: asyncio.Task | None = None  # the invoke being answered
        self.paused = False
        # The request being parsed: its head's length and its whole length once the head is read.
        self.head_end = 0
        self.total = 0
        self.headers: dict[str, str] = {}
        self.complete = False
        self.call: InvokeCall | None = None

    # ---- the transport ----------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport (uvloop's is no subclass)
        self.door.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.door.connections.discard(self)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.task is None:
            self._serve()
        elif len(self.buffer) > BUFFER_MAX and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # ---- httptools' callbacks -----------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) in WANTED_LENGTHS:
            key = WANTED_HEADERS.get(name.lower())
            if key is not None and key not in self.headers:  # the first of a repeated header, as aiohttp's get
                self.headers[key] = value.decode("latin-1")

    def on_message_complete(self) -> None:
        self.complete = True

    # ---- requests ---------------------------------------------------------------------------------------
    def _serve(self) -> None:
        """Answer the requests in the buffer, in order, for as long as they are Invokes."""
        while self.task is None and self.transport is not None and self.buffer:
            buffer = self.buffer
            if not self.total:
                line_end = buffer.find(b"\r\n", 0, MAX_HEAD)
                head_end = buffer.find(b"\r\n\r\n", max(0, line_end), MAX_HEAD)
                if head_end < 0:
                    if len(buffer) >= MAX_HEAD:
                        self._hand_over()
                    return
                target = self.door.target(bytes(buffer[:line_end]))
                if target is None or not self._read_head(head_end + 4):
                    self._hand_over()  # for aiohttp to answer, whatever the request is
                    return
                self.call = InvokeCall(target[0], target[1], self.headers)
            if len(buffer) < self.total:
                return  # the rest of the body is on its way
            payload = bytes(buffer[self.head_end : self.total])
            if payload:
                try:
                    self.parser.feed_data(payload)
                except httptools.HttpParserError:
                    self._refuse_malformed()
                    return
            del buffer[: self.total]
            self.total = 0
            if not self.complete or self.call is None:  # cannot be, with a Content-Length body read whole
                self._refuse_malformed()
                return
            assert self.door.loop is not None, "listening"
            self.task = self.door.loop.create_task(self._answer(self.call, payload, self.parser.should_keep_alive()))

    def _read_head(self, head_end: int) -> bool:
        """Parse the head; False when the request is not one for the fast path."""
        self.headers = {}
        self.complete = False
        try:
            self.parser.feed_data(bytes(self.buffer[:head_end]))
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            return False
        headers = self.headers
        if "transfer-encoding" in headers or "expect" in headers:
            return False
        length = headers.get("content-length", "0")
        if not length.isdigit() or int(length) > FAST_BODY_MAX:
            return False
        self.head_end, self.total = head_end, head_end + int(length)
        return True

    async def _answer(self, call: InvokeCall, payload: bytes, keep_alive: bool) -> None:
        api = self.door.invoke_api
        try:
            # Unshielded: this task is never cancelled (a client that goes away leaves it running).
            answer = await api.answer(call, lambda kind: api.checked_payload(payload, kind), shield=False)
        except LambdaApiError as err:
            answer = err.status, {"x-amzn-ErrorType": err.error_type}, err.body()
        except Exception:  # as aiohttp answers a handler's failure: a 500, and the traceback in the log
            traceback.print_exc(file=sys.stderr)
            answer = 500, {}, b"500 Internal Server Error\n\nServer got itself in trouble"
        finally:
            self.task = None
        self._write(answer, keep_alive)
        if self.transport is not None:
            if self.paused:
                self.paused = False
                self.transport.resume_reading()
            self._serve()

    def _write(self, answer: Answer, keep_alive: bool) -> None:
        transport = self.transport
        if transport is None:
            return  # the client went away; the invocation ran anyway
        status, headers, body = answer
        if status == 204:
            framing = b""
        elif body:
            framing = b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        else:
            framing = b"Content-Length: 0\r\n"
        fields = "".join([f"{name}: {value}\r\n" for name, value in headers.items()]).encode()
        # One write, one system call: the head and the body together.
        transport.write(
            b"HTTP/1.1 %d %s\r\nDate: %s\r\n%s%s%s\r\n%s"
            % (
                status,
                REASONS.get(status, b""),
                self.door.date(),
                framing,
                fields,
                b"" if keep_alive else b"Connection: close\r\n",
                body,
            )
        )
        if not keep_alive:
            transport.close()
            self.transport = None

    def _refuse_malformed(self) -> None:
        if self.transport is not None:
            self._write((400, {}, b""), keep_alive=False)

    def _hand_over(self) -> None:
        """From now on aiohttp serves this connection, starting with the bytes not yet answered."""
        transport = self.transport
        if transport is None:
            return
        self.transport = None
        self.door.connections.discard(self)
        handler = self.door.aiohttp_handler()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        if self.paused:
            transport.resume_reading()
        data, self.buffer = bytes(self.buffer), bytearray()
        if data:
            handler.data_received(data)


def _target(request_line: bytes) -> tuple[str, str | None] | None:
    """The Invoke path's {name} and first Qualifier, decoded; None for any other request, and for a
    name aiohttp's route would not match ("/", "{" or "}" in it, once decoded): refusing it is aiohttp's."""
    line = INVOKE_LINE.fullmatch(request_line)
    if line is None:
        return None
    name = unquote(line[1].decode("latin-1"))
    if "/" in name or "{" in name or "}" in name:
        return None
    query = line[2].decode("latin-1") if line[2] else ""
    return name, _qualifier(query) if query else None


def _qualifier(query: str) -> str | None:
    """The first Qualifier of a query string, decoded as aiohttp decodes it (parse_qsl's way, cheaper)."""
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key == "Qualifier" or unquote_plus(key) == "Qualifier":
            return unquote_plus(value)
    return None
