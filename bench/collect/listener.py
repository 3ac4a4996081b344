"""Glue from Locust's request event to the record store and the streaming statistics.

The load users put an InvocationRecord in the request event's ``context``; this listener takes
it from there, turns it into its row once (bench/collect/rows.py) and buffers the row. A flush
hands the buffered rows to both the SQLite store (raw rows, one transaction) and a RunStats
(histograms, counts, concurrency), which folds them as one numpy batch: per record, the hot path
is one tuple and one append. Rows are flushed at least once a second (checked on every request,
and by a gevent timer so that records are written even when invocations stop arriving: a
stalled or throttled target) and whenever MAX_BUFFERED rows wait. It knows Locust only as an
``events`` object.
"""

from __future__ import annotations

import time

import gevent

from ..records import CONTEXT_KEY
from .rows import Row, row_of
from .stats import RunStats
from .store import RecordStore

# Rows held before a flush whatever the clock says: at any rate the buffer stays a few MB, and
# executemany still gets batches large enough to be at full speed.
MAX_BUFFERED = 50_000


class RecordCollector:
    """Collects the records of Locust's request events into a RecordStore and a RunStats.

    ``stats`` holds every record up to the last flush; ``flush()`` (or ``take_stats``, or
    ``close``) first, to read it complete. A record waits for disk at most ``flush_interval_s``
    (or the store's own interval, if shorter), give or take the timer's wake-up when the
    process is busy.
    """

    def __init__(
        self,
        store: RecordStore,
        stats: RunStats | None = None,
        flush_interval_s: float = 1.0,
        max_buffered: int = MAX_BUFFERED,
    ) -> None:
        self.store = store
        self.stats = stats if stats is not None else RunStats()
        self.flush_interval_s = flush_interval_s
        self.max_buffered = max_buffered
        self._interval_s = min(flush_interval_s, store.flush_interval_s)
        self._rows: list[Row] = []
        self._due = time.monotonic() + self._interval_s
        self._events = None
        self._flusher: gevent.Greenlet | None = None

    def attach(self, events) -> RecordCollector:
        self._events = events
        events.request.add_listener(self.on_request)
        self._flusher = gevent.spawn(self._flush_forever)
        return self

    def on_request(self, context=None, **_kwargs) -> None:
        record = context.get(CONTEXT_KEY) if context else None
        if record is None:
            return
        rows = self._rows
        rows.append(row_of(record))
        if len(rows) >= self.max_buffered or time.monotonic() >= self._due:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows in one transaction and fold them into the statistics."""
        self._due = time.monotonic() + self._interval_s
        rows = self._rows
        if rows:
            # The store takes the rows first (it raises if closed, and then they stay here):
            # whatever happens next, they are the store's to write, now or on a later flush.
            self.store.add_rows(rows)
            self._rows = []
        try:
            self.stats.add_rows(rows)
            self.stats.flush()
        finally:
            self.store.flush()

    def take_stats(self) -> RunStats:
        """The statistics gathered since the last call (or since the start); the collector starts afresh.

        A Locust worker sends these deltas to the master, so that each record is counted once.
        """
        self.flush()
        taken, self.stats = self.stats, RunStats()
        return taken

    def _flush_forever(self) -> None:
        while True:
            # Wake when the next flush is due, not a whole interval after the last check.
            gevent.sleep(max(self._due - time.monotonic(), 0.01))
            if time.monotonic() >= self._due:
                self.flush()

    def close(self) -> None:
        if self._events is not None:
            self._events.request.remove_listener(self.on_request)
            self._events = None
        if self._flusher is not None:
            self._flusher.kill(block=False)
            self._flusher = None
        try:
            self.flush()
        finally:
            self.store.close()
