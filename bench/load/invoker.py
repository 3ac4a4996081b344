"""A Lambda client for Locust: one invoke, timed, turned into an InvocationRecord and a request event.

Two clients can carry the invoke: the fast one (bench/load/fastclient.py, the default) and boto3
(``--lambda-client boto3``). Both hand back the raw reply (status, headers, body), and one parser
here turns it into the record, reading the wire as botocore does: so the same answer makes the
same record, whichever client fetched it.

The request event carries Locust's usual fields; the Lambda-specific ones (cold, init, billed)
travel in its ``context`` as the record, so Locust's request counts stay one per invoke.
Throttles and function errors are failures with their error type, never retried: botocore
is configured with one attempt, and the fast client has no retries at all.
"""

from __future__ import annotations

import base64
import json
import time

import locust  # noqa: F401  (gevent patches sockets before botocore loads)
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .. import awsclient
from ..collect import ReportLineError, find_report
from ..records import CONTEXT_KEY, InvocationRecord
from .fastclient import FastLambdaClient, InvokeReply, TransportError
from .settings import LoadSettings

REQUEST_TYPE = "Invoke"
# The emulator names the kind of environment that served a call; AWS sends no such header.
INIT_TYPE_HEADER = "x-lambench-initialization-type"
THROTTLE_CODE = "TooManyRequestsException"
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 930.0  # the longest Lambda timeout, plus margin


class LambdaError(Exception):
    """A failed invoke as Locust shows it: '<status>: <error type>'."""


def make_invoke_client(settings: LoadSettings, pool_size: int):
    """The invoke-path client the users share, the one ``settings.client`` names (fast or boto3);
    either has ``invoke(...) -> InvokeReply``. Not a control-plane client: bench.awsclient makes those."""
    if settings.client == "boto3":
        return Boto3LambdaClient(settings, pool_size)
    return FastLambdaClient(
        settings.endpoint_url,
        settings.region,
        pool_size=pool_size,
        connect_timeout_s=CONNECT_TIMEOUT_S,
        read_timeout_s=READ_TIMEOUT_S,
    )


class Boto3LambdaClient:
    """boto3's invoke, handing back the raw reply like the fast client does.

    boto3 keeps an error answer's body to itself (a ClientError holds only what botocore parsed
    from it), so an after-call hook keeps the raw body on the parsed response that the ClientError
    carries; the record is then read from the wire by the one parser below.
    """

    _RAW_BODY = "LambenchRawBody"

    def __init__(self, settings: LoadSettings, pool_size: int) -> None:
        config = Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=max(10, pool_size),
            connect_timeout=CONNECT_TIMEOUT_S,
            read_timeout=READ_TIMEOUT_S,
            tcp_keepalive=True,
        )
        self.client = awsclient.client("lambda", settings.endpoint_url, settings.region, config)
        self.client.meta.events.register("after-call.lambda.Invoke", self._keep_error_body)

    def invoke(
        self,
        function_name: str,
        qualifier: str | None = None,
        payload: bytes = b"",
        *,
        log_type: str | None = None,
        invocation_type: str | None = None,
        client_context: str | None = None,
    ) -> InvokeReply:
        params = {
            "FunctionName": function_name,
            "Qualifier": qualifier,
            "Payload": payload,
            "LogType": log_type,
            "InvocationType": invocation_type,
            "ClientContext": client_context,
        }
        try:
            response = self.client.invoke(**{k: v for k, v in params.items() if v is not None})
            body = response["Payload"].read()
        except ClientError as err:
            metadata = err.response.get("ResponseMetadata", {})
            return InvokeReply(
                metadata.get("HTTPStatusCode", 0),
                metadata.get("HTTPHeaders", {}),
                err.response.get(self._RAW_BODY, b""),
            )
        except (BotoCoreError, OSError) as err:
            raise TransportError(type(err).__name__, str(err)) from err
        metadata = response["ResponseMetadata"]
        return InvokeReply(metadata["HTTPStatusCode"], metadata["HTTPHeaders"], body)

    @classmethod
    def _keep_error_body(cls, http_response, parsed, **_kwargs) -> None:
        # Only error bodies: botocore has already read them, whereas a success body is a stream
        # that the caller reads from the Payload.
        if http_response.status_code >= 300 and isinstance(parsed, dict):
            parsed[cls._RAW_BODY] = http_response.content


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
            reply = self.client.invoke(s.function_name, variant, s.payload, log_type="Tail")
        except TransportError as err:
            client_ms = (time.perf_counter() - started) * 1000.0
            record = _record(s, variant, t_start_ns, client_ms, "transport_error", error_type=err.error_type)
        else:
            client_ms = (time.perf_counter() - started) * 1000.0
            record = record_from_reply(reply, client_ms, t_start_ns, variant, s)
        self._fire(record)
        return record

    def _fire(self, record: InvocationRecord) -> None:
        exception = None
        if record.status != "ok":
            exception = LambdaError(f"{record.status}: {record.error_type}")
        self.request_event.fire(
            request_type=REQUEST_TYPE,
            name=f"invoke {record.variant}",
            response_time=record.client_ms,
            response_length=record.response_bytes,
            response=None,
            exception=exception,
            context={CONTEXT_KEY: record},
        )


def record_from_reply(
    reply: InvokeReply, client_ms: float, t_start_ns: int, variant: str, s: LoadSettings
) -> InvocationRecord:
    """The record of one Invoke answer: botocore's reading of the wire, then lambench's classification."""
    # botocore raises a ClientError for any status from 300 up.
    if reply.status >= 300:
        return _from_error_reply(reply, client_ms, t_start_ns, variant, s)
    return _from_success_reply(reply, client_ms, t_start_ns, variant, s)


def _record(
    s: LoadSettings, variant: str, t_start_ns: int, client_ms: float, status: str, **fields
) -> InvocationRecord:
    return InvocationRecord(
        run_id=s.run_id,
        variant=variant,
        path="direct",
        t_start_ns=t_start_ns,
        client_ms=client_ms,
        status=status,
        payload_bytes=len(s.payload),
        worker=s.worker,
        **fields,
    )


def _from_success_reply(
    reply: InvokeReply, client_ms: float, t_start_ns: int, variant: str, s: LoadSettings
) -> InvocationRecord:
    headers, body = reply.headers, reply.body
    status, error_type = "ok", None
    if headers.get("x-amz-function-error"):
        error_type = _function_error_type(body)
        status = "timeout" if error_type == "Sandbox.Timedout" else "function_error"
    # botocore's ResponseMetadata.RequestId on a success: x-amzn-requestid, else x-amz-request-id.
    request_id = headers.get("x-amzn-requestid", headers.get("x-amz-request-id"))
    report = _report(headers.get("x-amz-log-result"), request_id)
    fields = report.record_fields() if report else {"request_id": request_id}
    return _record(
        s,
        variant,
        t_start_ns,
        client_ms,
        status,
        error_type=error_type,
        response_bytes=len(body),
        init_type=headers.get(INIT_TYPE_HEADER),
        **fields,
    )


def _report(log_result: str | None, request_id: str | None):
    if not log_result:
        return None
    log = base64.b64decode(log_result).decode("utf-8", "replace")
    try:
        return find_report(log, request_id) or find_report(log)
    except ReportLineError:
        return None


def _from_error_reply(
    reply: InvokeReply, client_ms: float, t_start_ns: int, variant: str, s: LoadSettings
) -> InvocationRecord:
    code, body, request_id = _error_code(reply)
    if code == THROTTLE_CODE:
        # The modeled field Reason (ConcurrentInvocationLimitExceeded, ...) is the error type that tells.
        reason = body.get("Reason") if isinstance(body, dict) else None
        return _record(s, variant, t_start_ns, client_ms, "throttled", error_type=reason or code, request_id=request_id)
    return _record(s, variant, t_start_ns, client_ms, "client_error", error_type=code, request_id=request_id)


def _error_code(reply: InvokeReply) -> tuple[str, dict, str | None]:
    """(error code, parsed JSON body, request id) of an error answer, as botocore's rest-json parser reads them."""
    if 300 <= reply.status < 301:
        # botocore parses a 300 as a success, then raises a ClientError without a code.
        return "ClientError", {}, reply.headers.get("x-amzn-requestid", reply.headers.get("x-amz-request-id"))
    if _is_generic_error(reply):
        # An HTML or empty 5xx (a proxy, a load balancer): botocore names it by its status, with no request id.
        return str(reply.status), {}, None
    body = _json_body(reply.body)
    code = body.get("__type", str(reply.status))
    if "x-amzn-errortype" in reply.headers:
        code = reply.headers["x-amzn-errortype"]
    elif "code" in body or "Code" in body:
        code = body.get("code", body.get("Code", ""))
    if isinstance(code, str):
        # "ResourceNotFoundException:http://internal.amazon.com/..." and "aws.protocols#Foo" both name Foo.
        code = code.split(":", 1)[0].rsplit("#", 1)[-1]
    return str(code) or "ClientError", body, reply.headers.get("x-amzn-requestid")


def _is_generic_error(reply: InvokeReply) -> bool:
    body = reply.body.strip()
    return reply.status >= 500 and (not body or body.startswith(b"<html>"))


def _json_body(body: bytes) -> dict:
    # botocore: an empty body is {}, and one that is not JSON becomes the error's message.
    if not body:
        return {}
    text = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        return {"message": text}
    return parsed if isinstance(parsed, dict) else {}


def _function_error_type(body: bytes) -> str:
    try:
        return str(json.loads(body).get("errorType") or "Unhandled")
    except (ValueError, AttributeError):
        return "Unhandled"
