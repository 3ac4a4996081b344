"""The emulator's in-memory log store: log groups, their streams, and the queries over them.

:class:`LogStore` is the emulator's log sink: every line an execution environment prints,
and the platform's START/END/REPORT lines, land in log group ``/aws/lambda/<function>``
under the environment's log stream, as on Lambda; API Gateway's access logs land in groups
of their own. Events are searchable the moment they are written (no ingestion delay).

A line longer than one CloudWatch event (256 KB, counting 26 bytes of overhead) becomes several
events, as on Lambda. Nothing is retained by age; instead the store is bounded in memory: a
group keeps its newest LOG_EVENTS_KEPT events, and all groups together hold at most
LOG_BYTES_KEPT (each event counted as its UTF-8 bytes plus EVENT_MEMORY_BYTES, what one more
event costs this process). Past that, the group holding the most gives up its oldest events, so
a function that prints megabytes evicts its own logs before a quiet function's.

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

from ..awsfacts import LOG_EVENT_MAX_BYTES, LOG_EVENT_OVERHEAD_BYTES, lambda_log_group

LOG_EVENTS_KEPT = 200_000
LOG_BYTES_KEPT = 64 * 1024 * 1024
EVENT_MESSAGE_MAX_BYTES = LOG_EVENT_MAX_BYTES - LOG_EVENT_OVERHEAD_BYTES
# Measured (tracemalloc, CPython 3.11): an event's object, ids, times, deque slot and str header.
EVENT_MEMORY_BYTES = 200


def split_message(message: str, limit: int = EVENT_MESSAGE_MAX_BYTES) -> list[str]:
    """``message`` as events of at most ``limit`` UTF-8 bytes each, never cutting a character."""
    if len(message) * 4 <= limit:  # no character is longer than 4 bytes: no need to encode
        return [message]
    encoded = message.encode("utf-8", "surrogatepass")
    if len(encoded) <= limit:
        return [message]
    pieces = []
    start = 0
    while start < len(encoded):
        end = min(start + limit, len(encoded))
        while end < len(encoded) and encoded[end] & 0xC0 == 0x80:  # a continuation byte: step back
            end -= 1
        pieces.append(encoded[start:end].decode("utf-8", "surrogatepass"))
        start = end
    return pieces


# Not frozen, though nothing changes an event once stored: a frozen dataclass's __init__ sets each
# field through object.__setattr__, four times the cost of a plain one, and three events are made
# per invoke (START, END, REPORT; issue 15).
@dataclass(slots=True)
class LogEvent:
    event_id: int
    timestamp: int
    ingestion_time: int
    stream: str
    message: str
    size: int  # the message's UTF-8 bytes

    @property
    def memory(self) -> int:
        return self.size + EVENT_MEMORY_BYTES


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

    def __init__(self, name: str, creation_time: int) -> None:
        self.name = name
        self.creation_time = creation_time
        self.events: collections.deque[LogEvent] = collections.deque()
        self.streams: dict[str, LogStream] = {}
        self.last_timestamp = 0
        self.last_event_id = 0
        self.stored_bytes = 0  # CloudWatch's measure of what the group holds
        self.memory = 0  # what its events cost this process (LogStore's budget)

    def appended(self, stream_name: str, timestamp: int, last_event_id: int) -> None:
        """Events of ``stream_name`` were appended to ``events``, the last of them ``last_event_id``,
        all at ``timestamp`` (LogStore.put_lines counts their bytes as it appends them)."""
        self.last_timestamp = timestamp
        self.last_event_id = last_event_id
        stream = self.streams.get(stream_name)
        if stream is None:
            self.streams[stream_name] = LogStream(stream_name, self.name, timestamp, timestamp, timestamp, timestamp)
            return
        stream.last_event_timestamp = timestamp
        stream.last_ingestion_time = timestamp

    def drop_oldest(self) -> int:
        """Forget the oldest event; returns the memory it held."""
        event = self.events.popleft()
        self.stored_bytes -= event.size + LOG_EVENT_OVERHEAD_BYTES
        self.memory -= event.memory
        return event.memory

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

    def __init__(self, events_kept: int = LOG_EVENTS_KEPT, bytes_kept: int = LOG_BYTES_KEPT) -> None:
        self.events_kept = events_kept
        self.bytes_kept = bytes_kept
        self.groups: dict[str, LogGroup] = {}
        self.memory = 0
        self._last_event_id = 0

    def __call__(self, function: str, stream: str, message: str) -> None:
        self.put_lines(lambda_log_group(function), stream, (message,))

    def lines(self, function: str, stream: str, messages: tuple[str, ...]) -> None:
        """Several lines of a function's log at once, in order (END and REPORT: one call, not two)."""
        self.put_lines(lambda_log_group(function), stream, messages)

    def put(self, name: str, stream: str, message: str) -> None:
        """Append a line to any log group (API Gateway's access logs use their own groups)."""
        self.put_lines(name, stream, (message,))

    def put_lines(self, name: str, stream: str, messages: tuple[str, ...]) -> None:
        """Append lines to any log group, in order, with one timestamp."""
        group = self.groups.get(name)
        now = time.time_ns() // 1_000_000
        if group is None:
            group = self.groups[name] = LogGroup(name, now)
        # The wall clock can step back; clamping keeps a group in time order, which queries bisect on.
        timestamp = now if now > group.last_timestamp else group.last_timestamp
        events, kept = group.events, self.events_kept
        # Each event's bytes are counted here as it is appended, not by a method per event: this runs
        # for every line (three per invoke at least).
        for message in messages:
            # split_message's own first test, here: nearly every line is one event, and this runs per line.
            pieces = (message,) if len(message) * 4 <= EVENT_MESSAGE_MAX_BYTES else split_message(message)
            for piece in pieces:
                self._last_event_id += 1
                size = len(piece) if piece.isascii() else len(piece.encode("utf-8", "surrogatepass"))
                if len(events) >= kept:
                    self.memory -= group.drop_oldest()
                events.append(LogEvent(self._last_event_id, timestamp, timestamp, stream, piece, size))
                group.stored_bytes += size + LOG_EVENT_OVERHEAD_BYTES
                group.memory += size + EVENT_MEMORY_BYTES
                self.memory += size + EVENT_MEMORY_BYTES
            if self.memory > self.bytes_kept:
                self._evict()
        if messages:
            group.appended(stream, timestamp, self._last_event_id)

    def _evict(self) -> None:
        """Back under the byte budget: the group holding the most gives up its oldest events."""
        while self.memory > self.bytes_kept:
            largest = max(self.groups.values(), key=_memory)
            self.memory -= largest.drop_oldest()


def _memory(group: LogGroup) -> int:
    return group.memory
