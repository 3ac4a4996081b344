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
"""

from __future__ import annotations

import json
import time

from locust import task
from locust.contrib.fasthttp import FastHttpUser

from ..errors import UserError
from ..records import CONTEXT_KEY, InvocationRecord
from .openloop import arrival_wait, begin_arrival, wait_for_first_arrival
from .settings import LoadSettings, variant_rotation

REQUEST_ID_HEADERS = {"http": "apigw-requestid", "rest": "x-amzn-RequestId"}
PATHS = {"http": "apigw-http", "rest": "apigw-rest"}


def gateway_base_url(settings: LoadSettings, kind: str) -> str:
    """The API's base URL: given for AWS, else the emulator's front for the function."""
    given = settings.apigw_http_url if kind == "http" else settings.apigw_rest_url
    if given:
        return given.rstrip("/")
    if settings.endpoint_url is None:
        raise UserError(f"--apigw-{kind}-url: required against AWS (the API's invoke URL, one stage per alias)")
    return f"{settings.endpoint_url.rstrip('/')}/apigw/{kind}/{settings.function_name}"


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
