"""The CloudWatch Logs subset the collector needs, served on the emulator's own endpoint.

:class:`LogsApi` answers the operations boto3's ``logs`` client sends, so
``boto3.client("logs", endpoint_url=emulator_url)`` works unchanged: FilterLogEvents,
GetLogEvents, DescribeLogStreams and DescribeLogGroups, read from the emulator's
:class:`~.logstore.LogStore`. This module validates parameters, pages results and shapes
responses; the events themselves live in logstore.py.

The wire format is AWS's JSON protocol: ``POST /`` with ``X-Amz-Target:
Logs_20140328.<Operation>`` and an ``application/x-amz-json-1.1`` body; errors are HTTP 400
with ``{"__type": ..., "message": ...}``, from which boto3 raises its modelled exceptions.

A page of events holds at most 1 MB of messages (and at most 10,000 events), as on AWS, so a
function that printed megabytes is read back over several pages.

Differences from AWS, on purpose: events are searchable the moment they are written (no
ingestion delay); the store is bounded in memory rather than retained by age (logstore.py
says how); a stream's storedBytes is 0 and a group's is what it holds now (messages plus 26
bytes an event); filter patterns are the text subset in filterpattern.py (JSON,
space-delimited and regex patterns raise InvalidParameterException); page tokens are
opaque and only valid for the operation that issued them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web

from . import filterpattern
from .logstore import LogEvent, LogGroup, LogStore, LogStream
from .registry import ACCOUNT, REGION

__all__ = ["LogsApi", "LogsApiError"]

TARGET_PREFIX = "Logs_20140328"
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
EVENTS_LIMIT = 10_000  # AWS's default and maximum for FilterLogEvents and GetLogEvents
DESCRIBE_LIMIT = 50  # AWS's default and maximum for DescribeLogStreams and DescribeLogGroups
PAGE_BYTES = 1024 * 1024  # FilterLogEvents and GetLogEvents return "as many events as fit in 1 MB"
GET_TOKEN = re.compile(r"^([fb])/(\d+)$")


# ---- response shapes ----------------------------------------------------------------------------


def _group_arn(name: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"


def _filtered_event(event: LogEvent) -> dict[str, Any]:
    """The FilteredLogEvent shape."""
    return {
        "logStreamName": event.stream,
        "timestamp": event.timestamp,
        "message": event.message,
        "ingestionTime": event.ingestion_time,
        "eventId": f"{event.event_id:020d}",
    }


def _output_event(event: LogEvent) -> dict[str, Any]:
    """The OutputLogEvent shape (GetLogEvents)."""
    return {"timestamp": event.timestamp, "message": event.message, "ingestionTime": event.ingestion_time}


def _describe_stream(stream: LogStream) -> dict[str, Any]:
    return {
        "logStreamName": stream.name,
        "creationTime": stream.creation_time,
        "firstEventTimestamp": stream.first_event_timestamp,
        "lastEventTimestamp": stream.last_event_timestamp,
        "lastIngestionTime": stream.last_ingestion_time,
        "arn": f"{_group_arn(stream.group)}:log-stream:{stream.name}",
        "storedBytes": 0,
    }


def _describe_group(group: LogGroup) -> dict[str, Any]:
    arn = _group_arn(group.name)
    return {
        "logGroupName": group.name,
        "creationTime": group.creation_time,
        "metricFilterCount": 0,
        "arn": f"{arn}:*",
        "logGroupArn": arn,
        "storedBytes": group.stored_bytes,
        "logGroupClass": "STANDARD",
    }


def _fitting(events: list[LogEvent], from_end: bool = False) -> list[LogEvent]:
    """The events (from the start, or from the end) whose messages fit in one page's bytes; at least one."""
    ordered = reversed(events) if from_end else iter(events)
    kept: list[LogEvent] = []
    size = 0
    for event in ordered:
        size += event.size
        if kept and size > PAGE_BYTES:
            break
        kept.append(event)
    return kept[::-1] if from_end else kept


# ---- errors and parameters -----------------------------------------------------------------------


class LogsApiError(Exception):
    """An error in the JSON protocol's shape: boto3 reads the exception name from ``__type``."""

    def __init__(self, error_type: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status = status

    def response(self) -> web.Response:
        return _json_response({"__type": self.error_type, "message": self.message}, self.status)


def invalid(message: str) -> LogsApiError:
    return LogsApiError("InvalidParameterException", message)


def _json_response(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        content_type=JSON_CONTENT_TYPE,
        headers={"x-amzn-RequestId": str(uuid.uuid4())},
    )


def _params(raw: bytes) -> dict[str, Any]:
    try:
        params = json.loads(raw or b"{}")
    except ValueError:
        raise LogsApiError("SerializationException", "The request body is not valid JSON") from None
    if not isinstance(params, dict):
        raise LogsApiError("SerializationException", "The request body must be a JSON object")
    return params


def _string(params: dict[str, Any], key: str) -> str | None:
    value = params.get(key)
    if value is not None and not isinstance(value, str):
        raise invalid(f"{key} must be a string")
    return value or None


def _integer(params: dict[str, Any], key: str, low: int, high: int | None = None) -> int | None:
    value = params.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise invalid(f"{key} {value!r}: must be an integer {bound}")
    return value


def _limit(params: dict[str, Any], maximum: int) -> int:
    limit = _integer(params, "limit", 1, maximum)
    return maximum if limit is None else limit


def _existing_group(store: LogStore, params: dict[str, Any]) -> LogGroup:
    group = store.groups.get(_group_name(params))
    if group is None:
        raise LogsApiError("ResourceNotFoundException", "The specified log group does not exist.")
    return group


def _group_name(params: dict[str, Any]) -> str:
    name, identifier = _string(params, "logGroupName"), _string(params, "logGroupIdentifier")
    if name and identifier:
        raise invalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if identifier:
        # An identifier is a name or an ARN (…:log-group:NAME, with or without a trailing :*).
        name = identifier.split(":log-group:", 1)[-1].removesuffix(":*")
    if not name:
        raise invalid("Either logGroupName or logGroupIdentifier must be specified.")
    return name


def _encode_token(operation: str, cursor: Any) -> str:
    raw = json.dumps({"op": operation, "after": cursor}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_token(token: Any, operation: str, kind: type) -> Any:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        cursor = decoded["after"] if decoded.get("op") == operation else None
    except (AttributeError, TypeError, ValueError, KeyError, binascii.Error):
        cursor = None
    if not isinstance(cursor, kind):
        raise invalid("The specified nextToken is invalid.")
    return cursor


def _pattern(params: dict[str, Any]) -> filterpattern.FilterPattern:
    try:
        return filterpattern.parse(_string(params, "filterPattern"))
    except filterpattern.FilterPatternError as err:
        raise invalid(str(err)) from None


def _stream_selector(params: dict[str, Any]) -> Callable[[str], bool]:
    names, prefix = params.get("logStreamNames"), _string(params, "logStreamNamePrefix")
    if names and prefix:
        raise invalid("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
    if names:
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise invalid("logStreamNames must be a list of strings")
        return set(names).__contains__
    return lambda name: name.startswith(prefix or "")


def _keyed_page(
    items: list, key: Callable[[Any], list], descending: bool, limit: int, token: Any, operation: str
) -> tuple[list, str | None]:
    """One page of ``items`` in ``key`` order, resuming after the key a previous token holds."""
    ordered = sorted(items, key=key, reverse=descending)
    if token is not None:
        cursor = _decode_token(token, operation, list)
        ordered = [i for i in ordered if (key(i) < cursor if descending else key(i) > cursor)]
    page = ordered[:limit]
    return page, (_encode_token(operation, key(page[-1])) if len(ordered) > limit else None)


# ---- operations: validate, read the store, return the response shape ------------------------------


def filter_log_events(store: LogStore, params: dict[str, Any]) -> dict[str, Any]:
    """Events of a group, oldest first; startTime and endTime are both inclusive, as on AWS."""
    group = _existing_group(store, params)
    wanted = _stream_selector(params)
    pattern = _pattern(params)
    limit = _limit(params, EVENTS_LIMIT)
    start, end = _integer(params, "startTime", 0), _integer(params, "endTime", 0)
    token = params.get("nextToken")
    after = 0 if token is None else _decode_token(token, "FilterLogEvents", int)
    # One match beyond the page tells whether another page exists: the last one has no token.
    found = group.search(after, start, end, wanted, pattern.matches, limit + 1)
    page = _fitting(found[:limit])
    more = len(found) > len(page)
    response: dict[str, Any] = {
        "events": [_filtered_event(event) for event in page],
        "searchedLogStreams": [
            {"logStreamName": name, "searchedCompletely": not more} for name in sorted(group.streams) if wanted(name)
        ],
    }
    if more:
        response["nextToken"] = _encode_token("FilterLogEvents", page[-1].event_id)
    return response


def get_log_events(store: LogStore, params: dict[str, Any]) -> dict[str, Any]:
    """One stream's events; startTime is inclusive and endTime exclusive, as AWS documents them.

    Without a token it returns the first ``limit`` events (startFromHead) or the last ones.
    ``f/N`` tokens read on after event N, ``b/N`` tokens read back from before it; at either
    end of the stream the caller gets its own token back, as on AWS.
    """
    group = _existing_group(store, params)
    stream = _string(params, "logStreamName")
    if stream is None:
        raise invalid("logStreamName must be specified.")
    if stream not in group.streams:
        raise LogsApiError("ResourceNotFoundException", "The specified log stream does not exist.")
    limit = _limit(params, EVENTS_LIMIT)
    start, end = _integer(params, "startTime", 0), _integer(params, "endTime", 0)
    events = group.stream_events(stream, start, end)
    token = _get_token(params.get("nextToken"))
    from_head = bool(params.get("startFromHead", False))
    page = _get_page(events, token, from_head, limit)
    reading_back = token[0] == "b" if token is not None else not from_head
    page = _fitting(page, from_end=reading_back) if page else page
    if page:
        forward, backward = page[-1].event_id, page[0].event_id
    else:
        forward = _empty_page_boundary(token, from_head, group.last_event_id)
        backward = forward + 1
    return {
        "events": [_output_event(e) for e in page],
        "nextForwardToken": f"f/{forward:020d}",
        "nextBackwardToken": f"b/{backward:020d}",
    }


def _get_token(token: Any) -> tuple[str, int] | None:
    if token is None:
        return None
    match = GET_TOKEN.match(token) if isinstance(token, str) else None
    if match is None:
        raise invalid("The specified nextToken is invalid.")
    return match.group(1), int(match.group(2))


def _get_page(events: list[LogEvent], token: tuple[str, int] | None, from_head: bool, limit: int) -> list[LogEvent]:
    if token is None:
        return events[:limit] if from_head else events[-limit:]
    direction, position = token
    if direction == "f":
        return [e for e in events if e.event_id > position][:limit]
    return [e for e in events if e.event_id < position][-limit:]


def _empty_page_boundary(token: tuple[str, int] | None, from_head: bool, last_event_id: int) -> int:
    """The event id after which a later forward read should resume, when this page was empty."""
    if token is not None:
        direction, position = token
        return position if direction == "f" else position - 1
    return 0 if from_head else last_event_id


STREAM_ORDERS: dict[str, Callable[[LogStream], list]] = {
    "LogStreamName": lambda s: [s.name],
    "LastEventTime": lambda s: [s.last_event_timestamp, s.name],
}


def describe_log_streams(store: LogStore, params: dict[str, Any]) -> dict[str, Any]:
    group = _existing_group(store, params)
    order = _string(params, "orderBy") or "LogStreamName"
    if order not in STREAM_ORDERS:
        raise invalid(f"orderBy {order!r}: must be one of {', '.join(STREAM_ORDERS)}")
    prefix = _string(params, "logStreamNamePrefix") or ""
    if prefix and order == "LastEventTime":
        raise invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
    streams = [s for s in group.streams.values() if s.name.startswith(prefix)]
    page, token = _keyed_page(
        streams,
        STREAM_ORDERS[order],
        bool(params.get("descending", False)),
        _limit(params, DESCRIBE_LIMIT),
        params.get("nextToken"),
        "DescribeLogStreams",
    )
    response: dict[str, Any] = {"logStreams": [_describe_stream(s) for s in page]}
    if token:
        response["nextToken"] = token
    return response


def describe_log_groups(store: LogStore, params: dict[str, Any]) -> dict[str, Any]:
    """Groups by name; logGroupNamePattern matches a case-insensitive substring, as on AWS."""
    prefix, pattern = _string(params, "logGroupNamePrefix"), _string(params, "logGroupNamePattern")
    if prefix and pattern:
        raise invalid("logGroupNamePrefix and logGroupNamePattern are mutually exclusive parameters.")
    groups = [
        g
        for g in store.groups.values()
        if g.name.startswith(prefix or "") and (pattern or "").lower() in g.name.lower()
    ]
    page, token = _keyed_page(
        groups, lambda g: [g.name], False, _limit(params, DESCRIBE_LIMIT), params.get("nextToken"), "DescribeLogGroups"
    )
    response: dict[str, Any] = {"logGroups": [_describe_group(g) for g in page]}
    if token:
        response["nextToken"] = token
    return response


OPERATIONS: dict[str, Callable[[LogStore, dict[str, Any]], dict[str, Any]]] = {
    "FilterLogEvents": filter_log_events,
    "GetLogEvents": get_log_events,
    "DescribeLogStreams": describe_log_streams,
    "DescribeLogGroups": describe_log_groups,
}


# ---- HTTP ---------------------------------------------------------------------------------------


class LogsApi:
    """``POST /`` for the JSON-protocol Logs operations, dispatched on X-Amz-Target."""

    def __init__(self, store: LogStore) -> None:
        self.store = store

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/", self.dispatch)]

    async def dispatch(self, request: web.Request) -> web.Response:
        target = request.headers.get("X-Amz-Target", "")
        service, _, operation = target.partition(".")
        if service != TARGET_PREFIX:
            # Another JSON-protocol service may share this path later; for now none answers here.
            return LogsApiError(
                "UnknownOperationException", f"No service on this endpoint answers X-Amz-Target {target!r}", 404
            ).response()
        handler = OPERATIONS.get(operation)
        if handler is None:
            return LogsApiError(
                "UnknownOperationException",
                f"The lambench emulator does not implement Logs operation {operation!r}; "
                f"it serves {', '.join(OPERATIONS)}",
            ).response()
        try:
            return _json_response(handler(self.store, _params(await request.read())))
        except LogsApiError as err:
            return err.response()
