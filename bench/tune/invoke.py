"""One tuning invocation: invoke a version with its log tail, read the REPORT line, make the record.

APLT reads each call's Duration, Init Duration and Billed Duration from the log tail
(LogType=Tail; utils.js:351-368, 537-560); so does this, with the collector's own parser
(bench/collect/reportline.py, which also reads JSON log format's ``platform.report``, where
APLT throws). Each call becomes an InvocationRecord, the contract every later stage reads.

A call that cannot be a sample says why (``Outcome.failure``): a timeout, running out of
memory, a throttle, an error APLT's allowedExceptions does not list, or no REPORT line. The
caller marks its size infeasible; tuning goes on with the others. Pre- and post-processors
(APLT's preProcessorARN / postProcessorARN) run around each call as APLT runs them; their
failure stops the tune, as it stops APLT's, since no size is at fault.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from bench import awsclient
from bench.collect import ReportLineError, find_report
from bench.records import InvocationRecord

# The emulator names the kind of environment that served a call; AWS sends no such header.
INIT_TYPE_HEADER = "x-lambench-initialization-type"
TIMEOUT_TYPE = "Sandbox.Timedout"
OUT_OF_MEMORY_TYPES = ("Runtime.OutOfMemory",)
READ_TIMEOUT_S = 930.0  # the longest Lambda timeout, plus margin


class ProcessorError(RuntimeError):
    """A pre- or post-processor failed: APLT stops the whole execution, and so does tune."""


def invoke_client(endpoint: str | None, region: str, pool: int = 10) -> Any:
    """A boto3 Lambda client for tuning's invokes: one attempt, so a throttle is seen, not retried."""
    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        read_timeout=READ_TIMEOUT_S,
        connect_timeout=10,
        max_pool_connections=max(10, pool),
    )
    return awsclient.client("lambda", endpoint, region, config)


@dataclass(frozen=True)
class Outcome:
    """One call: its record, and why it cannot count as a sample (None when it can)."""

    record: InvocationRecord
    failure: str | None = None


@dataclass(frozen=True)
class Invoker:
    """Invokes one function's versions for one tuning run (thread-safe: boto3 clients are)."""

    client: Any
    function: str  # the name or ARN to invoke
    run_id: str
    allowed_exceptions: tuple[str, ...] = ()
    pre_processor: str | None = None
    post_processor: str | None = None

    def invoke(self, qualifier: str, variant: str, payload: bytes) -> Outcome:
        """Invoke ``function:qualifier`` once with ``payload``, between the processors if any."""
        if self.pre_processor:
            out = self._processor(self.pre_processor, payload, "pre")
            payload = out or payload  # APLT keeps the original payload when the output is empty
        t_start_ns = time.time_ns()
        started = time.perf_counter()
        try:
            response = self.client.invoke(
                FunctionName=self.function, Qualifier=qualifier, Payload=payload, LogType="Tail"
            )
            body = response["Payload"].read()
        except ClientError as err:
            client_ms = (time.perf_counter() - started) * 1000.0
            return self._refused(err, variant, t_start_ns, client_ms, len(payload))
        client_ms = (time.perf_counter() - started) * 1000.0
        outcome = self._answered(response, body, variant, t_start_ns, client_ms, len(payload))
        if self.post_processor:
            self._processor(self.post_processor, body, "post")
        return outcome

    def _answered(
        self, response: dict[str, Any], body: bytes, variant: str, t_start_ns: int, client_ms: float, sent: int
    ) -> Outcome:
        headers = response["ResponseMetadata"].get("HTTPHeaders", {})
        error_type = message = None
        status = "ok"
        if response.get("FunctionError"):
            error_type, message = _function_error(body)
            status = "timeout" if _is_timeout(error_type, message) else "function_error"
            if status == "timeout":
                error_type = TIMEOUT_TYPE
        report = _report(response.get("LogResult"))
        fields: dict[str, Any] = report.record_fields() if report else {"request_id": _request_id(response)}
        record = InvocationRecord(
            run_id=self.run_id,
            variant=variant,
            path="direct",
            t_start_ns=t_start_ns,
            client_ms=client_ms,
            status=status,
            error_type=error_type,
            payload_bytes=sent,
            response_bytes=len(body),
            init_type=headers.get(INIT_TYPE_HEADER),
            **fields,
        )
        return Outcome(record, self._failure(record, message, report is not None))

    def _failure(self, record: InvocationRecord, message: str | None, reported: bool) -> str | None:
        if record.status == "timeout":
            return f"timed out ({TIMEOUT_TYPE}: {message})"
        if record.error_type in OUT_OF_MEMORY_TYPES or (message and "signal: killed" in message):
            return f"ran out of memory ({record.error_type}: {message})"
        if record.status == "function_error" and record.error_type not in self.allowed_exceptions:
            return f"failed ({record.error_type}: {message}); list it in allowedExceptions to count such calls"
        if not reported:
            return "no REPORT line in the invocation's log tail, so no duration to tune on"
        return None

    def _refused(self, err: ClientError, variant: str, t_start_ns: int, client_ms: float, sent: int) -> Outcome:
        error = err.response.get("Error", {})
        code = error.get("Code") or "ClientError"
        throttled = code == "TooManyRequestsException"
        reason = err.response.get("Reason") if throttled else None
        record = InvocationRecord(
            run_id=self.run_id,
            variant=variant,
            path="direct",
            t_start_ns=t_start_ns,
            client_ms=client_ms,
            status="throttled" if throttled else "client_error",
            error_type=reason or code,
            request_id=err.response.get("ResponseMetadata", {}).get("RequestId"),
            payload_bytes=sent,
        )
        what = "throttled" if throttled else "refused"
        return Outcome(record, f"{what} ({record.error_type}: {error.get('Message', '')})")

    def _processor(self, function: str, payload: bytes, which: str) -> bytes:
        try:
            response = self.client.invoke(FunctionName=function, Payload=payload)
        except ClientError as err:
            raise ProcessorError(f"{which}-processor {function}: {err}") from None
        body: bytes = response["Payload"].read()
        if response.get("FunctionError"):
            error_type, message = _function_error(body)
            raise ProcessorError(f"{which}-processor {function} failed: {error_type}: {message}")
        return body


def _function_error(body: bytes) -> tuple[str, str]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return "Unhandled", body.decode("utf-8", "replace")[:200]
    if not isinstance(parsed, dict):
        return "Unhandled", str(parsed)[:200]
    return str(parsed.get("errorType") or "Unhandled"), str(parsed.get("errorMessage", ""))[:200]


def _is_timeout(error_type: str, message: str) -> bool:
    # Older runtimes answer a timeout with no errorType, only the message.
    return error_type == TIMEOUT_TYPE or "Task timed out after" in message


def _request_id(response: dict[str, Any]) -> str | None:
    request_id = response.get("ResponseMetadata", {}).get("RequestId")
    return str(request_id) if request_id else None


def _report(log_result: str | None) -> Any:
    if not log_result:
        return None
    text = base64.b64decode(log_result).decode("utf-8", "replace")
    try:
        return find_report(text)
    except ReportLineError:
        return None
