"""A Lambda client for Locust: one invoke, timed, turned into an InvocationRecord and a request event.

The request event carries Locust's usual fields; the Lambda-specific ones (cold, init, billed)
travel in its ``context`` as the record, so Locust's request counts stay one per invoke.
Throttles and function errors are failures with their error type, never retried: botocore
is configured with one attempt.
"""

from __future__ import annotations

import base64
import json
import time

import locust  # noqa: F401  (gevent patches sockets before botocore loads)
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .. import awsclient
from ..collect.reportline import ReportLineError, find_report
from ..records import InvocationRecord
from .settings import LoadSettings

REQUEST_TYPE = "Invoke"
# The emulator names the kind of environment that served a call; AWS sends no such header.
INIT_TYPE_HEADER = "x-lambench-initialization-type"


class LambdaError(Exception):
    """A failed invoke as Locust shows it: '<status>: <error type>'."""


def make_lambda_client(settings: LoadSettings, pool_size: int):
    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=max(10, pool_size),
        connect_timeout=10, read_timeout=930,  # the longest Lambda timeout, plus margin
        tcp_keepalive=True,
    )
    return awsclient.client("lambda", settings.endpoint_url, settings.region, config)


class LambdaInvoker:
    def __init__(self, client, request_event, settings: LoadSettings) -> None:
        self.client = client
        self.request_event = request_event
        self.settings = settings

    def invoke(self, variant: str) -> InvocationRecord:
        s = self.settings
        t_start_ns = time.time_ns()
        started = time.perf_counter()
        try:
            response = self.client.invoke(FunctionName=s.function_name, Qualifier=variant,
                                          LogType="Tail", Payload=s.payload)
            body = response["Payload"].read()
            client_ms = (time.perf_counter() - started) * 1000.0
            record = _from_response(response, body, client_ms, t_start_ns, variant, s)
        except ClientError as err:
            client_ms = (time.perf_counter() - started) * 1000.0
            record = _from_client_error(err, client_ms, t_start_ns, variant, s)
        except (BotoCoreError, OSError) as err:
            client_ms = (time.perf_counter() - started) * 1000.0
            record = _record(s, variant, t_start_ns, client_ms, "transport_error", error_type=type(err).__name__)
        self._fire(record)
        return record

    def _fire(self, record: InvocationRecord) -> None:
        exception = None
        if record.status != "ok":
            exception = LambdaError(f"{record.status}: {record.error_type}")
        self.request_event.fire(
            request_type=REQUEST_TYPE, name=f"invoke {record.variant}", response_time=record.client_ms,
            response_length=record.response_bytes, response=None, exception=exception,
            context={"lambench_record": record},
        )


def _record(s: LoadSettings, variant: str, t_start_ns: int, client_ms: float, status: str, **fields) -> InvocationRecord:
    return InvocationRecord(run_id=s.run_id, variant=variant, path="direct", t_start_ns=t_start_ns,
                            client_ms=client_ms, status=status, payload_bytes=len(s.payload),
                            worker=s.worker, **fields)


def _from_response(response: dict, body: bytes, client_ms: float, t_start_ns: int, variant: str,
                   s: LoadSettings) -> InvocationRecord:
    status, error_type = "ok", None
    if response.get("FunctionError"):
        error_type = _error_type(body)
        status = "timeout" if error_type == "Sandbox.Timedout" else "function_error"
    report = None
    if response.get("LogResult"):
        log = base64.b64decode(response["LogResult"]).decode("utf-8", "replace")
        request_id = response.get("ResponseMetadata", {}).get("RequestId")
        try:
            report = find_report(log, request_id) or find_report(log)
        except ReportLineError:
            report = None
    metadata = response.get("ResponseMetadata", {})
    fields = report.record_fields() if report else {"request_id": metadata.get("RequestId")}
    init_type = metadata.get("HTTPHeaders", {}).get(INIT_TYPE_HEADER)
    return _record(s, variant, t_start_ns, client_ms, status, error_type=error_type,
                   response_bytes=len(body), init_type=init_type, **fields)


def _from_client_error(err: ClientError, client_ms: float, t_start_ns: int, variant: str,
                       s: LoadSettings) -> InvocationRecord:
    code = err.response.get("Error", {}).get("Code", "ClientError")
    request_id = err.response.get("ResponseMetadata", {}).get("RequestId")
    if code == "TooManyRequestsException":
        reason = err.response.get("Reason") or code
        return _record(s, variant, t_start_ns, client_ms, "throttled", error_type=reason, request_id=request_id)
    return _record(s, variant, t_start_ns, client_ms, "client_error", error_type=code, request_id=request_id)


def _error_type(body: bytes) -> str:
    try:
        return str(json.loads(body).get("errorType") or "Unhandled")
    except (ValueError, AttributeError):
        return "Unhandled"
