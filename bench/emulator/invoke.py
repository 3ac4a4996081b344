"""The Invoke API: POST /2015-03-31/functions/{name}/invocations, answered as Lambda answers it.

- RequestResponse: 200 with X-Amz-Executed-Version, X-Amz-Function-Error: Unhandled on a
  function error, and X-Amz-Log-Result (base64 of the last 4 KB of the log) when LogType is Tail.
- Event: 202 at once; the event is queued, run, and on a function error retried twice (each
  attempt writes its own START/END/REPORT under the same request id). A throttled event waits
  and tries again, as Lambda's internal queue does.
- DryRun: 204.
Lambda's limits hold here as on AWS: a payload must be JSON (else 400
InvalidRequestContentException) and within 6 MB synchronous or the Event limit (else the typed
413, read no further than the limit); a response over 6,291,556 bytes becomes the function error
Function.ResponseSizeTooLarge.
The emulator also says which kind of environment served a call, in X-Lambench-Initialization-Type
(on-demand or provisioned-concurrency); AWS has no such header.

:meth:`InvokeApi.answer` is the operation itself, on plain values; it is served two ways: as an
aiohttp route, and by the front door's own fast path (front.py), which parses the request itself
and reads the payload before it asks.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web

from ..awsfacts import ASYNC_PAYLOAD_LIMIT_BYTES as ASYNC_PAYLOAD_LIMIT
from ..awsfacts import LOG_TAIL_BYTES, RESPONSE_LIMIT_BYTES
from ..awsfacts import SYNC_PAYLOAD_LIMIT_BYTES as SYNC_PAYLOAD_LIMIT
from . import logformat
from .apierrors import LambdaApiError, invalid, read_body, too_large, unparsable
from .pool import EnvironmentPool
from .registry import FunctionVersion, Registry, split_function_name
from .requestids import new_request_id

INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
INIT_TYPE_HEADER = "X-Lambench-Initialization-Type"
THROTTLED_EVENT_RETRY_S = 1.0
THROTTLED_EVENT_GIVE_UP_S = 6 * 3600.0
RESPONSE_TOO_LARGE = json.dumps(
    {
        "errorMessage": f"Response payload size exceeded maximum allowed payload size ({RESPONSE_LIMIT_BYTES} bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
).encode()
# Parsing a payload this large would hold up the event loop for milliseconds: a thread does it.
PARSE_IN_THREAD_BYTES = 256 * 1024


def _no_constant(name: str) -> object:
    raise ValueError(f"Non-standard token '{name}'")


# What json.loads(text, parse_constant=_no_constant) builds afresh on every call: made once.
_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def _check_json(payload: bytes) -> None:
    """Refuse what Lambda cannot parse as JSON (its parser takes no NaN or Infinity either)."""
    try:
        _DECODER.decode(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise unparsable(f"Could not parse payload into json: {err}") from None


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 3x, once per invoke
class InvokeCall:
    """What an Invoke request asks, as the path, the query and the headers say it."""

    function_name: str  # the path's {name}: a name, name:qualifier, or an ARN
    qualifier: str | None  # ?Qualifier=
    # The X-Amz-* headers, looked up by lower-cased name: aiohttp's headers are case-blind, and the
    # front door's keep only the headers it needs, under lower-cased names.
    headers: Mapping[str, str]


# An answer: status, headers, body.
Answer = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class InvokeSettings:
    async_payload_limit: int = ASYNC_PAYLOAD_LIMIT
    event_retry_delays_s: tuple[float, ...] = (60.0, 120.0)  # Lambda retries an async event twice
    seed: int | None = None


class InvokeApi:
    def __init__(self, registry: Registry, pool: EnvironmentPool, settings: InvokeSettings = InvokeSettings()) -> None:
        self.registry = registry
        self.pool = pool
        self.settings = settings
        self.rng = random.Random(settings.seed)
        self._background: set[asyncio.Task] = set()
        # The last payload found to be JSON: a load test sends the same payload again and again, and
        # comparing bytes costs less than parsing them (bytes that parsed once always parse).
        self._last_valid = b""

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/2015-03-31/functions/{name}/invocations", self.invoke)]

    async def invoke(self, request: web.Request) -> web.Response:
        """The aiohttp route."""
        call = InvokeCall(request.match_info["name"], request.query.get("Qualifier"), request.headers)
        status, headers, body = await self.answer(call, lambda kind: self._payload(request, kind))
        if status == 200:
            return web.Response(status=200, body=body, headers=headers, content_type="application/json")
        return web.Response(status=status, headers=headers)

    async def answer(
        self, call: InvokeCall, payload_of: Callable[[str], Awaitable[bytes] | bytes], shield: bool = True
    ) -> Answer:
        """Invoke as Lambda answers it; ``payload_of(invocation_type)`` reads and checks the payload
        (or gives it at once, checked already: no coroutine to make and await). A LambdaApiError is
        the caller's to answer. ``shield``: as EnvironmentPool.invoke's."""
        name, qualifier = split_function_name(call.function_name)
        qualifier = call.qualifier or qualifier
        version = self.registry.get(name).route(qualifier, self.rng)
        invocation_type = call.headers.get("x-amz-invocation-type", "RequestResponse")
        if invocation_type not in INVOCATION_TYPES:
            raise invalid(f"X-Amz-Invocation-Type {invocation_type!r}: must be one of {INVOCATION_TYPES}")
        read = payload_of(invocation_type)
        payload = read if isinstance(read, bytes) else await read
        headers = {"X-Amz-Executed-Version": version.version}
        if invocation_type == "DryRun":
            return 204, headers, b""
        client_context = call.headers.get("x-amz-client-context")
        if invocation_type == "Event":
            request_id = new_request_id()
            self._spawn(self._run_event(version, payload, client_context, request_id))
            return 202, {**headers, "x-amzn-RequestId": request_id}, b""
        outcome = await self.pool.invoke(version, payload, client_context, shield=shield)
        headers = {
            "X-Amz-Executed-Version": outcome.version,
            "x-amzn-RequestId": outcome.request_id,
            INIT_TYPE_HEADER: outcome.init_type,
        }
        body, function_error = outcome.body, outcome.function_error
        if len(body) > RESPONSE_LIMIT_BYTES:
            # Lambda answers 200 with the function error; the invocation itself ran and was billed.
            body, function_error = RESPONSE_TOO_LARGE, True
        if function_error:
            headers["X-Amz-Function-Error"] = "Unhandled"
        if call.headers.get("x-amz-log-type") == "Tail":
            tail = logformat.tail(outcome.log_lines, LOG_TAIL_BYTES)
            headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
        return 200, headers, body

    async def _payload(self, request: web.Request, invocation_type: str) -> bytes:
        """The payload, read no further than its limit, and checked to be JSON."""
        if invocation_type != "Event":
            payload = await read_body(request, SYNC_PAYLOAD_LIMIT, "InvokeFunction")
        else:
            limit = self.settings.async_payload_limit
            try:
                payload = await read_body(request, limit, "InvokeFunction")
            except LambdaApiError:
                raise self._event_too_large(request.content_length) from None
        return await self.checked(payload)

    def _event_too_large(self, content_length: int | None) -> LambdaApiError:
        size = content_length if content_length is not None else "The"
        limit = self.settings.async_payload_limit
        message = f"{size} byte payload is too large for the Event invocation type (limit {limit} bytes)"
        return LambdaApiError(413, "RequestEntityTooLargeException", message)

    def checked_payload(self, payload: bytes, invocation_type: str) -> Awaitable[bytes] | bytes:
        """A payload read whole already (the front door's): held to the limits ``_payload`` holds it to.
        Checked at once unless it is large enough for a thread to parse it (then: a coroutine)."""
        if invocation_type != "Event":
            if len(payload) > SYNC_PAYLOAD_LIMIT:
                raise too_large(SYNC_PAYLOAD_LIMIT, "InvokeFunction")
        elif len(payload) > self.settings.async_payload_limit:
            raise self._event_too_large(len(payload))
        if len(payload) > PARSE_IN_THREAD_BYTES:
            return self.checked(payload)
        return self._checked_here(payload)

    async def checked(self, payload: bytes) -> bytes:
        """``payload``, once it is known to be JSON."""
        if len(payload) > PARSE_IN_THREAD_BYTES:
            await asyncio.to_thread(_check_json, payload)
            return payload
        return self._checked_here(payload)

    def _checked_here(self, payload: bytes) -> bytes:
        """``checked``, on the event loop, for a payload small enough to parse here."""
        if payload and payload != self._last_valid:  # an empty payload is allowed: the handler gets {}
            _check_json(payload)
            self._last_valid = payload
        return payload

    def _spawn(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _run_event(
        self, version: FunctionVersion, payload: bytes, client_context: str | None, request_id: str
    ) -> None:
        delays = (0.0, *self.settings.event_retry_delays_s)
        for attempt, delay in enumerate(delays):
            await asyncio.sleep(delay)
            outcome = await self._admitted(version, payload, client_context, request_id)
            if outcome is None or not outcome.function_error:
                return
            if attempt + 1 < len(delays):
                self.pool.log_sink(
                    version.name,
                    "async-retries",
                    f"RETRY RequestId: {request_id} Attempt: {attempt + 2} of {len(delays)}",
                )

    async def _admitted(self, version: FunctionVersion, payload: bytes, client_context: str | None, request_id: str):
        waited = 0.0
        while True:
            try:
                return await self.pool.invoke(version, payload, client_context, request_id)
            except LambdaApiError as err:
                if err.status != 429 or waited >= THROTTLED_EVENT_GIVE_UP_S:
                    return None
            await asyncio.sleep(THROTTLED_EVENT_RETRY_S)
            waited += THROTTLED_EVENT_RETRY_S

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
