"""Locust users that call a function through API Gateway: HTTP API (payload 2.0) or REST API (1.0).

Built on Locust's FastHttpUser. Each user walks the variants (one stage per alias) round-robin
from a random start, like LambdaUser, so direct and gateway paths can run interleaved in one
run. The client cannot see the Lambda request id or the REPORT line, so each record carries
API Gateway's request id and ``cold = None``; bench/collect/correlate.py fills the Lambda
fields from the logs after the run.
"""

from __future__ import annotations

import time

from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

from ..errors import UserError
from ..records import InvocationRecord
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


def classify(status: int) -> tuple[str, str | None]:
    """What an API Gateway status says about the invocation behind it."""
    if status == 504:
        return "timeout", "HTTP 504"
    if status in (500, 502, 503):
        return "function_error", f"HTTP {status}"
    if status == 0:
        return "transport_error", "connection"
    return "ok", None


class ApiGatewayUser(FastHttpUser):
    """Calls the function's route through one API Gateway kind (``kind = "http"`` or ``"rest"``)."""

    abstract = True
    kind = "http"
    wait_time = constant(0)

    def __init__(self, environment) -> None:
        settings: LoadSettings = environment.lambench
        self.host = gateway_base_url(settings, self.kind)
        super().__init__(environment)
        self.settings = settings
        self.route = settings.apigw_route
        # An empty event means a plain GET of the route; any other payload is POSTed as the body.
        self.payload = settings.payload if settings.payload not in (b"", b"{}") else None
        self._variants = variant_rotation(settings.variants)

    @task
    def call_next_variant(self) -> None:
        variant = next(self._variants)
        t_start_ns = time.time_ns()
        payload = self.payload
        method = "POST" if payload else "GET"
        with self.client.request(method, f"/{variant}{self.route}", data=payload, catch_response=True,
                                 name=f"{self.kind} {variant}",
                                 headers={"Content-Type": "application/json"} if payload else None) as response:
            status = response.status_code or 0
            outcome, error_type = classify(status)
            record = InvocationRecord(
                run_id=self.settings.run_id, variant=variant, path=PATHS[self.kind], t_start_ns=t_start_ns,
                client_ms=response.request_meta["response_time"], status=outcome, error_type=error_type,
                payload_bytes=len(payload or b""), response_bytes=len(response.content or b""),
                worker=self.settings.worker,
                gateway_request_id=(response.headers or {}).get(REQUEST_ID_HEADERS[self.kind]),
            )
            response.request_meta["context"]["lambench_record"] = record
            if outcome == "ok":
                response.success()
            else:
                response.failure(f"{outcome}: {error_type}")
