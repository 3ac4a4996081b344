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
as unmatched, and says what it did not find where (no access-log line, no REPORT line, no such
log group); it never guesses.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..awsfacts import apigw_access_log_group, lambda_log_group
from .reportline import Report, parse_log_line
from .store import unjoined_gateway_calls, write_joined

MARGIN_MS = 60_000  # log timestamps are the service's, not the client's clock
# How long the join waits on AWS for log lines that have not arrived yet. A line reaches CloudWatch
# Logs some seconds after the call, API Gateway's access log and Lambda's REPORT line alike, and
# AWS's pages (FilterLogEvents, API Gateway's logging) give no bound on it: past this wait, the
# calls are left unmatched and the run says which log lacked what.
LOG_WAIT_S = 120.0
POLL_S = 5.0


@dataclass(frozen=True)
class JoinResult:
    gateway_records: int
    matched: int
    missing: tuple[str, ...] = ()  # what was not found, where, for the unmatched calls
    interrupted: bool = False  # Ctrl-C stopped the wait: what had arrived was joined

    @property
    def unmatched(self) -> int:
        return self.gateway_records - self.matched

    def describe(self) -> str:
        text = (
            f"{self.matched} of {self.gateway_records} API Gateway calls joined to their REPORT lines; "
            f"{self.unmatched} unmatched (cold unknown)"
        )
        if self.missing:
            text += ": " + "; ".join(self.missing)
        return text + (" (the wait for the logs was interrupted)" if self.interrupted else "")


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


@dataclass
class _Found:
    """What the log queries have found so far, and which groups do not exist."""

    lambda_ids: dict[str, str] = field(default_factory=dict)  # gateway request id -> Lambda request id
    reports: dict[str, Report] = field(default_factory=dict)  # Lambda request id -> its REPORT
    absent: list[str] = field(default_factory=list)

    def joined(self, pending: dict[str, int]) -> dict[str, Report]:
        return {g: self.reports[self.lambda_ids[g]] for g in pending if self.lambda_ids.get(g) in self.reports}

    def missing(self, pending: dict[str, int], access_group: str, function_group: str) -> tuple[str, ...]:
        if self.absent:
            return tuple(f"log group {group} does not exist" for group in self.absent)
        no_access = sum(1 for g in pending if g not in self.lambda_ids)
        no_report = sum(1 for g in pending if g in self.lambda_ids and self.lambda_ids[g] not in self.reports)
        notes = []
        if no_access:
            notes.append(f"{no_access} had no access-log line in {access_group}")
        if no_report:
            notes.append(f"{no_report} had no REPORT line in {function_group}")
        return tuple(notes)


def _query(found: _Found, group: str, read) -> dict:
    try:
        return read()
    except Exception as error:  # botocore's ClientError, named lazily (see bench/cli.py)
        code = getattr(error, "response", {}).get("Error", {}).get("Code")
        if code != "ResourceNotFoundException":
            raise
        found.absent.append(group)
        return {}


def match_reports(
    logs,
    function_name: str,
    pending: dict[str, int],
    access_log_group: str | None = None,
    wait_s: float = 0.0,
    poll_s: float = 2.0,
) -> dict[str, Report]:
    """Gateway request id -> its invocation's REPORT, for the ids in ``pending`` (id -> start, ns)."""
    return _match(logs, function_name, pending, access_log_group, wait_s, poll_s)[0].joined(pending)


def _match(logs, function_name: str, pending: dict[str, int], access_log_group: str | None, wait_s: float,
           poll_s: float) -> tuple[_Found, bool]:  # fmt: skip
    """Ask the logs until every call is joined, a group is missing, or ``wait_s`` is over.

    Returns what was found and whether a Ctrl-C cut the wait short (what had arrived is kept)."""
    found = _Found()
    if not pending:
        return found, False
    starts = [t // 1_000_000 for t in pending.values()]
    start_ms, end_ms = min(starts) - MARGIN_MS, max(starts) + MARGIN_MS + 15 * 60_000
    group = access_log_group or apigw_access_log_group(function_name)
    function_group = lambda_log_group(function_name)
    deadline = time.monotonic() + wait_s
    try:
        while True:
            found.lambda_ids.update(_query(found, group, lambda: access_log_ids(logs, group, start_ms, end_ms)))
            found.reports.update(
                _query(found, function_group, lambda: report_lines(logs, function_group, start_ms, end_ms))
            )
            complete = len(found.joined(pending)) == len(pending)
            # A group that does not exist will not fill up while we wait: stop at once, and say so.
            if complete or found.absent or time.monotonic() >= deadline:
                return found, False
            time.sleep(poll_s)
    except KeyboardInterrupt:
        return found, True


def join_run(
    records_path: str | Path,
    endpoint_url: str | None,
    region: str,
    function_name: str,
    access_log_group: str | None = None,
    say: Callable[[str], None] | None = None,
) -> JoinResult:
    """Join a run's API Gateway records to their REPORT lines; the results go beside the records.

    The store stays append-only: the matches are written to its join table
    (bench/collect/store.py ``write_joined``), which every reader applies. On AWS, logs arrive
    late (LOG_WAIT_S), so the join keeps asking until every call is joined or that wait is over,
    and a Ctrl-C stops the wait, keeping what had arrived; the emulator has them at once.
    ``say`` hears, before the wait, what is being waited for.
    """
    from .. import awsclient

    pending = unjoined_gateway_calls(records_path)
    if not pending:
        return JoinResult(0, 0)
    logs = awsclient.client("logs", endpoint_url, region)
    wait_s = 0.0 if awsclient.is_local(endpoint_url) else LOG_WAIT_S
    group = access_log_group or apigw_access_log_group(function_name)
    if say is not None and wait_s:
        say(f"{len(pending)} API Gateway calls: waiting up to {wait_s:.0f} s for their access-log lines in {group} "
            f"and REPORT lines in {lambda_log_group(function_name)} (Ctrl-C stops waiting)")  # fmt: skip
    found, interrupted = _match(logs, function_name, pending, access_log_group, wait_s, poll_s=POLL_S)
    matched = found.joined(pending)
    write_joined(records_path, ((g, report.record_fields()) for g, report in matched.items()))
    missing = found.missing(pending, group, lambda_log_group(function_name))
    return JoinResult(len(pending), len(matched), missing, interrupted)
