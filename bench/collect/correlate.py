"""Joins API Gateway calls to the Lambda invocations behind them, through logs alone.

A client of API Gateway sees neither the Lambda request id nor the REPORT line. What it does
see is API Gateway's own request id (``apigw-requestid`` on HTTP APIs, ``x-amzn-RequestId`` on
REST APIs). API Gateway's access log can write both ids on one line, with no help from the
function: ``$context.requestId`` beside ``$context.integration.requestId`` (HTTP API) or
``$context.awsEndpointRequestId`` (REST API). So the join is two log queries:

    gateway request id --access log--> Lambda request id --REPORT line--> cold, init, billed

On the bundled emulator the access log is ``/aws/apigateway/<function>``, JSON with keys
``requestId`` and ``integrationRequestId``; on AWS, configure that format and pass the group.
Logs reach CloudWatch seconds late and some never do (SeBS expects missing REPORT lines), so
the join retries until ``wait_s`` and leaves what it cannot match with ``cold = None``, counted
as unmatched; it never guesses.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Iterable

from ..records import InvocationRecord
from .reportline import Report, parse_log_line

MARGIN_MS = 60_000  # log timestamps are the service's, not the client's clock


@dataclass(frozen=True)
class JoinResult:
    records: list[InvocationRecord]
    gateway_records: int
    matched: int

    @property
    def unmatched(self) -> int:
        return self.gateway_records - self.matched


def _events(logs, group: str, pattern: str, start_ms: int, end_ms: int) -> Iterable[dict]:
    paginator = logs.get_paginator("filter_log_events")
    pages = paginator.paginate(logGroupName=group, filterPattern=pattern, startTime=start_ms, endTime=end_ms)
    for page in pages:
        yield from page.get("events", [])


def access_log_ids(logs, group: str, start_ms: int, end_ms: int) -> dict[str, str]:
    """Gateway request id -> Lambda request id, from JSON access-log lines."""
    found = {}
    for event in _events(logs, group, "integrationRequestId", start_ms, end_ms):
        try:
            entry = json.loads(event["message"])
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("requestId") and entry.get("integrationRequestId"):
            found[entry["requestId"]] = entry["integrationRequestId"]
    return found


def report_lines(logs, group: str, start_ms: int, end_ms: int) -> dict[str, Report]:
    reports = {}
    for event in _events(logs, group, '"REPORT RequestId"', start_ms, end_ms):
        report = parse_log_line(event["message"])
        if report is not None:
            reports[report.request_id] = report
    return reports


def join_gateway_records(records: list[InvocationRecord], logs, function_name: str,
                         access_log_group: str | None = None, wait_s: float = 0.0,
                         poll_s: float = 2.0) -> JoinResult:
    """Fill cold, init, duration, billed and the Lambda request id of every API Gateway record."""
    pending = {r.gateway_request_id for r in records if r.path != "direct" and r.gateway_request_id}
    if not pending:
        return JoinResult(list(records), 0, 0)
    starts = [r.t_start_ns // 1_000_000 for r in records if r.gateway_request_id in pending]
    start_ms, end_ms = min(starts) - MARGIN_MS, max(starts) + MARGIN_MS + 15 * 60_000
    group = access_log_group or f"/aws/apigateway/{function_name}"
    lambda_ids: dict[str, str] = {}
    reports: dict[str, Report] = {}
    deadline = time.monotonic() + wait_s
    while True:
        lambda_ids.update(access_log_ids(logs, group, start_ms, end_ms))
        reports.update(report_lines(logs, f"/aws/lambda/{function_name}", start_ms, end_ms))
        joined = {g for g in pending if lambda_ids.get(g) in reports}
        if joined == pending or time.monotonic() >= deadline:
            break
        time.sleep(poll_s)
    out = [_joined(r, lambda_ids, reports) if r.gateway_request_id in joined else r for r in records]
    return JoinResult(out, len(pending), len(joined))


def _joined(record: InvocationRecord, lambda_ids: dict[str, str], reports: dict[str, Report]) -> InvocationRecord:
    report = reports[lambda_ids[record.gateway_request_id]]
    return dataclasses.replace(record, **report.record_fields())


def join_run_records(records_path, logs, function_name: str, access_log_group: str | None = None,
                     wait_s: float = 0.0) -> JoinResult:
    """Join a run's API Gateway records in place: read the store, fill them in, write it back."""
    from .store import read_records, rewrite_records

    records = read_records(records_path)
    result = join_gateway_records(records, logs, function_name, access_log_group, wait_s)
    if result.matched:
        rewrite_records(records_path, result.records)
    return result
