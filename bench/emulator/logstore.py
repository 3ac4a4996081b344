"""The emulator's in-memory log store: log groups, their streams, and the queries over them.

:class:`LogStore` is the emulator's log sink: every line an execution environment prints,
and the platform's START/END/REPORT lines, land in log group ``/aws/lambda/<function>``
under the environment's log stream, as on Lambda; API Gateway's access logs land in groups
of their own. A group keeps its newest LOG_EVENTS_KEPT events (no retention by age), and
events are searchable the moment they are written (no ingestion delay).

This module knows nothing of HTTP or of AWS's wire shapes: logs_api.py validates requests,
pages the results and answers in the CloudWatch Logs JSON protocol.
"""

from __future__ import annotations

import bisect
import collections
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

LOG_EVENTS_KEPT = 200_000


def group_name(function: str) -> str:
    return f"/aws/lambda/{function}"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class LogEvent:
    event_id: int
    timestamp: int
    ingestion_time: int
    stream: str
    message: str


@dataclass(slots=True)
class LogStream:
    name: str
    group: str
    creation_time: int
    first_event_timestamp: int
    last_event_timestamp: int
    last_ingestion_time: int


class LogGroup:
    """One log group: its newest events in order, and what each of its streams has seen."""

    def __init__(self, name: str, creation_time: int, events_kept: int) -> None:
        self.name = name
        self.creation_time = creation_time
        self.events: collections.deque[LogEvent] = collections.deque(maxlen=events_kept)
        self.streams: dict[str, LogStream] = {}
        self.last_timestamp = 0
        self.last_event_id = 0

    def append(self, event: LogEvent) -> None:
        self.events.append(event)
        self.last_timestamp = event.timestamp
        self.last_event_id = event.event_id
        stream = self.streams.get(event.stream)
        if stream is None:
            self.streams[event.stream] = LogStream(
                event.stream, self.name, event.timestamp, event.timestamp, event.timestamp, event.ingestion_time
            )
            return
        stream.last_event_timestamp = event.timestamp
        stream.last_ingestion_time = event.ingestion_time

    def events_from(self, min_event_id: int, start_time: int | None) -> Iterator[LogEvent]:
        """Events with id >= min_event_id and timestamp >= start_time, oldest first."""
        # Both ids and timestamps only grow within a group (see LogStore), so both bounds bisect.
        first = bisect.bisect_left(self.events, min_event_id, key=_event_id)
        if start_time is not None:
            first = max(first, bisect.bisect_left(self.events, start_time, key=_timestamp))
        return itertools.islice(self.events, first, None)

    def search(
        self,
        after_event_id: int,
        start_time: int | None,
        end_time: int | None,
        stream_wanted: Callable[[str], bool],
        message_wanted: Callable[[str], bool],
        at_most: int,
    ) -> list[LogEvent]:
        """Up to ``at_most`` matching events after ``after_event_id``, oldest first.

        Both time bounds are inclusive. Asking for one more than a page tells the caller
        whether another page exists without a second scan.
        """
        found: list[LogEvent] = []
        for event in self.events_from(after_event_id + 1, start_time):
            if end_time is not None and event.timestamp > end_time:
                break
            if stream_wanted(event.stream) and message_wanted(event.message):
                found.append(event)
                if len(found) >= at_most:
                    break
        return found

    def stream_events(self, stream: str, start_time: int | None, end_time: int | None) -> list[LogEvent]:
        """One stream's events, oldest first; start_time inclusive, end_time exclusive."""
        return [
            e
            for e in self.events
            if e.stream == stream
            and (start_time is None or e.timestamp >= start_time)
            and (end_time is None or e.timestamp < end_time)
        ]


def _event_id(event: LogEvent) -> int:
    return event.event_id


def _timestamp(event: LogEvent) -> int:
    return event.timestamp


class LogStore:
    """Every log line of every function, kept for log queries: the emulator's ``log_sink``.

    Called as ``store(function, stream, message)`` on the event loop, so no lock is needed, and
    a query, which never awaits while it reads, always sees a consistent group.
    """

    def __init__(self, events_kept: int = LOG_EVENTS_KEPT) -> None:
        self.events_kept = events_kept
        self.groups: dict[str, LogGroup] = {}
        self._last_event_id = 0

    def __call__(self, function: str, stream: str, message: str) -> None:
        self.put(group_name(function), stream, message)

    def put(self, name: str, stream: str, message: str) -> None:
        """Append one event to any log group (API Gateway's access logs use their own groups)."""
        group = self.groups.get(name)
        now = _now_ms()
        if group is None:
            group = self.groups[name] = LogGroup(name, now, self.events_kept)
        # The wall clock can step back; clamping keeps a group in time order, which queries bisect on.
        timestamp = max(now, group.last_timestamp)
        self._last_event_id += 1
        group.append(LogEvent(self._last_event_id, timestamp, timestamp, stream, message))
