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

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .reportline import Report, parse_log_line
from .store import unjoined_gateway_calls, write_joined

MARGIN_MS = 60_000  # log timestamps are the service's, not the client's clock


@dataclass(frozen=True)
class JoinResult:
    gateway_records: int
    matched: int

    @property
    def unmatched(self) -> int:
        return self.gateway_records - self.matched

    def describe(self) -> str:
        return (
            f"{self.matched} of {self.gateway_records} API Gateway calls joined to their REPORT lines; "
            f"{self.unmatched} unmatched (cold unknown)"
        )


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


def match_reports(
    logs,
    function_name: str,
    pending: dict[str, int],
    access_log_group: str | None = None,
    wait_s: float = 0.0,
    poll_s: float = 2.0,
) -> dict[str, Report]:
    """Gateway request id -> its invocation's REPORT, for the ids in ``pending`` (id -> start, ns)."""
    if not pending:
        return {}
    starts = [t // 1_000_000 for t in pending.values()]
    start_ms, end_ms = min(starts) - MARGIN_MS, max(starts) + MARGIN_MS + 15 * 60_000
    group = access_log_group or f"/aws/apigateway/{function_name}"
    lambda_ids: dict[str, str] = {}
    reports: dict[str, Report] = {}
    deadline = time.monotonic() + wait_s
    while True:
        lambda_ids.update(access_log_ids(logs, group, start_ms, end_ms))
        reports.update(report_lines(logs, f"/aws/lambda/{function_name}", start_ms, end_ms))
        joined = {g for g in pending if lambda_ids.get(g) in reports}
        if len(joined) == len(pending) or time.monotonic() >= deadline:
            return {g: reports[lambda_ids[g]] for g in joined}
        time.sleep(poll_s)


def join_run(
    records_path: str | Path,
    endpoint_url: str | None,
    region: str,
    function_name: str,
    access_log_group: str | None = None,
) -> JoinResult:
    """Join a run's API Gateway records to their REPORT lines; the results go beside the records.

    The store stays append-only: the matches are written to its join table
    (bench/collect/store.py ``write_joined``), which every reader applies. On AWS, logs arrive
    seconds late, so the join keeps asking for a minute; the emulator has them at once.
    """
    from .. import awsclient

    pending = unjoined_gateway_calls(records_path)
    if not pending:
        return JoinResult(0, 0)
    logs = awsclient.client("logs", endpoint_url, region)
    wait_s = 0.0 if awsclient.is_local(endpoint_url) else 60.0
    matched = match_reports(logs, function_name, pending, access_log_group, wait_s)
    write_joined(records_path, ((g, report.record_fields()) for g, report in matched.items()))
    return JoinResult(len(pending), len(matched))
