"""Locust users that call a function through API Gateway: HTTP API (payload 2.0) or REST API (1.0).

Built on Locust's FastHttpUser. Each user walks the variants (one stage per alias) round-robin
from a random start, like LambdaUser, so direct and gateway paths can run interleaved in one
run. The client cannot see the Lambda request id or the REPORT line, so each record carries
API Gateway's request id and ``cold = None``; bench/collect/correlate.py fills the Lambda
fields from the logs after the run.

What a status means depends on who answered. Through the proxy integration the function picks
its own status: a 404, 418 or 429 it returned is an invocation that ran and answered ("ok").
What API Gateway answers itself is not: no such route or stage, its own throttle, a function
error it had to stand in for. The two kinds mark their own answers differently (as public
captures of AWS's answers show; tests/test_apigw_classify.py replays them):

- a REST API sends ``x-amzn-ErrorType`` with every answer of its own
  (``MissingAuthenticationTokenException`` on its 403, ``TooManyRequestsException`` on its 429,
  ``InternalServerErrorException`` on its 500, 502 and 504), never with the function's;
- an HTTP API sends no such header: its own answers are only its ``{"message": ...}`` bodies
  (404 "Not Found", 429 "Too Many Requests", 500 "Internal Server Error", 503 "Service
  Unavailable"). A function that answers one of those exact bodies with that status cannot be
  told from the gateway by its client; only the access log can (no integration request id).

A call that gets no HTTP answer at all is a ``transport_error`` named by its exception
(``ConnectionRefusedError``, ``NameResolutionError`` for a failed DNS lookup, ...), as a direct
invoke's is; its user then pauses a second, so that an API that cannot be reached is recorded, not
hammered in a loop that would starve the other users of the process's one event loop. The calls
go through the proxy the environment names (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), as boto3's do.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from urllib.parse import urlsplit

import gevent
from locust import task
from locust.contrib.fasthttp import FastHttpUser

from ..errors import UserError
from ..records import CONTEXT_KEY, InvocationRecord
from .openloop import arrival_wait, begin_arrival, wait_for_first_arrival
from .settings import LoadSettings, variant_rotation

# After a call that got no answer at all, its user waits this long before the next one.
TRANSPORT_ERROR_PAUSE_S = 1.0
REQUEST_ID_HEADERS = {"http": "apigw-requestid", "rest": "x-amzn-RequestId"}
PATHS = {"http": "apigw-http", "rest": "apigw-rest"}


def gateway_base_url(settings: LoadSettings, kind: str) -> str:
    """The API's base URL: given for AWS, else the emulator's front for the function."""
    given = settings.apigw_http_url if kind == "http" else settings.apigw_rest_url
    if given:
        return given.rstrip("/")
    if settings.endpoint_url is None:
        raise UserError(
            f"--apigw-{kind}-url: required against AWS (the API's invoke URL, one stage per alias; "
            f"lambench run: [target] apigw_{kind}_url, or the APIs it creates for the sample)"
        )
    return f"{settings.endpoint_url.rstrip('/')}/apigw/{kind}/{settings.function_name}"


def proxy_for(url: str) -> tuple[str, int] | None:
    """(host, port) of the proxy the environment names for ``url``, as boto3 and requests read it.

    HTTPS_PROXY / HTTP_PROXY (either case), minus NO_PROXY's hosts; never for the loopback, where
    the emulator's fronts are. Behind a proxy the gateway calls must go where boto3's calls go.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]  # in CPython, not typeshed
    if host in ("localhost", "::1") or host.startswith("127.") or bypass(host):
        return None
    proxy = urllib.request.getproxies_environment().get(parts.scheme)
    if not proxy:
        return None
    proxy_parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if not proxy_parts.hostname:
        raise UserError(f"{parts.scheme}_proxy {proxy!r}: not a proxy URL (http://HOST:PORT)")
    return proxy_parts.hostname, proxy_parts.port or 80


# A REST API names each answer of its own in this header; the function's answers never carry it.
REST_ERROR_TYPE_HEADER = "x-amzn-ErrorType"
# REST API: the gateway's own answers by the x-amzn-ErrorType it names them with. Its 500, 502
# and 504 all say InternalServerErrorException, so for that one the status tells (_classify_rest).
REST_GATEWAY_ANSWERS = {
    "MissingAuthenticationTokenException": ("client_error", "ApiGateway.MissingAuthenticationToken"),
    "TooManyRequestsException": ("throttled", "ApiGateway.TooManyRequests"),
    # A usage plan's quota, 429 "Limit Exceeded" (its error type by AWS's naming; not seen captured).
    "LimitExceededException": ("throttled", "ApiGateway.LimitExceeded"),
}
# HTTP API: the gateway's own answers by (status, message), the only mark they have. Its
# integration timeout is a 503 on AWS; the emulator's front answers it with a 504.
HTTP_GATEWAY_ANSWERS = {
    # An authorizer's refusals (JWT: 401 then 403; a Lambda authorizer's deny: 403): only a user's
    # own API has authorizers, and none of their calls reached the function.
    (401, "Unauthorized"): ("client_error", "ApiGateway.Unauthorized"),
    (403, "Forbidden"): ("client_error", "ApiGateway.Forbidden"),
    (404, "Not Found"): ("client_error", "ApiGateway.NotFound"),
    (429, "Too Many Requests"): ("throttled", "ApiGateway.TooManyRequests"),
    (500, "Internal Server Error"): ("function_error", "ApiGateway.InternalServerError"),
    (503, "Service Unavailable"): ("timeout", "ApiGateway.IntegrationTimeout"),
    (504, "Service Unavailable"): ("timeout", "ApiGateway.IntegrationTimeout"),
}


def classify(kind: str, status: int, headers, body: bytes | None) -> tuple[str, str | None]:
    """(status, error_type) of one call through API Gateway: "ok" for any answer of the function's
    own, whatever its HTTP status; otherwise what the gateway's own answer says happened."""
    if status == 0:
        return "transport_error", "connection"
    if kind == "rest":
        return _classify_rest(status, (headers or {}).get(REST_ERROR_TYPE_HEADER))
    message = _gateway_message(body)
    if message is None:
        return "ok", None
    return HTTP_GATEWAY_ANSWERS.get((status, message), ("ok", None))


def _classify_rest(status: int, error_type: str | None) -> tuple[str, str | None]:
    if not error_type:
        return "ok", None
    known = REST_GATEWAY_ANSWERS.get(error_type)
    if known:
        return known
    if error_type == "InternalServerErrorException":
        # 504: the integration timed out; 502: the function failed or its answer was not the proxy
        # shape; 500: Lambda could not be invoked at all (a throttle, a missing permission).
        if status == 504:
            return "timeout", "ApiGateway.IntegrationTimeout"
        return "function_error", "ApiGateway.InternalServerError"
    # Any other answer of the gateway's own (ForbiddenException for a missing API key, ...):
    # the function did not answer it, so it is not "ok", whatever its status.
    name = "ApiGateway." + error_type.removesuffix("Exception")
    return ("function_error" if status >= 500 else "client_error"), name


def _gateway_message(body: bytes | None) -> str | None:
    """The message of a body that is exactly API Gateway's ``{"message": "..."}``, else None."""
    if not body or not body.lstrip().startswith(b"{"):
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if isinstance(parsed, dict) and len(parsed) == 1 and isinstance(parsed.get("message"), str):
        return parsed["message"]
    return None


class ApiGatewayUser(FastHttpUser):
    """Calls the function's route through one API Gateway kind (``kind = "http"`` or ``"rest"``)."""

    abstract = True
    kind = "http"
    # Back to back in closed loop; at the process's Poisson arrivals in open loop (settings.rps).
    wait_time = arrival_wait

    def __init__(self, environment) -> None:
        settings: LoadSettings = environment.lambench
        self.host = gateway_base_url(settings, self.kind)
        self.proxy_host, self.proxy_port = proxy_for(self.host) or (None, None)  # read by FastHttpUser's __init__
        super().__init__(environment)
        self.settings = settings
        self.route = settings.apigw_route
        # An empty event means a plain GET of the route; any other payload is POSTed as the body.
        self.payload = settings.payload if settings.payload not in (b"", b"{}") else None
        self._variants = variant_rotation(settings.variants)

    def on_start(self) -> None:
        wait_for_first_arrival(self)

    @task
    def call_next_variant(self) -> None:
        if not begin_arrival(self):
            return  # the test is stopping: this arrival is not started
        variant = next(self._variants)
        t_start_ns = time.time_ns()
        payload = self.payload
        method = "POST" if payload else "GET"
        with self.client.request(
            method,
            f"/{variant}{self.route}",
            data=payload,  # type: ignore[arg-type]  # bytes are sent as they are; the hint is too narrow
            catch_response=True,
            name=f"{self.kind} {variant}",
            headers={"Content-Type": "application/json"} if payload else None,
        ) as response:
            status = response.status_code or 0
            outcome, error_type = classify(self.kind, status, response.headers, response.content)
            error = getattr(response, "error", None)
            if status == 0 and error is not None:
                error_type = _transport_error_type(error)
            record = InvocationRecord(
                run_id=self.settings.run_id,
                variant=variant,
                path=PATHS[self.kind],
                t_start_ns=t_start_ns,
                client_ms=response.request_meta["response_time"],
                status=outcome,
                error_type=error_type,
                payload_bytes=len(payload or b""),
                response_bytes=len(response.content or b""),
                worker=self.settings.worker,
                gateway_request_id=(response.headers or {}).get(REQUEST_ID_HEADERS[self.kind]),
            )
            response.request_meta["context"][CONTEXT_KEY] = record
            if outcome == "ok":
                response.success()
            else:
                response.failure(f"{outcome}: {error_type}")
        if outcome == "transport_error":
            # Recorded, then a pause: a gateway that cannot be reached answers at once, and a user
            # looping on it would hold the one event loop from the other paths' users.
            gevent.sleep(TRANSPORT_ERROR_PAUSE_S)


def _transport_error_type(error: BaseException) -> str:
    """The record's error_type for a call that got no HTTP answer: the exception's name, as a
    direct invoke's transport error gives botocore's (a failed DNS lookup is named so)."""
    if isinstance(error, socket.gaierror):
        return "NameResolutionError"
    return type(error).__name__
