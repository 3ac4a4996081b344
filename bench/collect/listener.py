"""Glue from Locust's request event to the record store and the streaming statistics.

The load users put an InvocationRecord in the request event's ``context``; this listener takes
it from there and hands it to both the SQLite store (raw rows, on disk within a second, and
sooner when MAX_BUFFERED rows are waiting) and a RunStats (histograms, counts, concurrency).
It knows Locust only as an ``events`` object, and flushes the store from a gevent timer so that
records are written even when invocations stop arriving (a stalled or throttled target).
"""

from __future__ import annotations

import gevent

from .stats import RunStats
from .store import RecordStore

CONTEXT_KEY = "lambench_record"
# Rows held before a flush whatever the clock says: at any rate the buffer stays a few MB, and
# executemany still gets batches large enough to be at full speed.
MAX_BUFFERED = 50_000


class RecordCollector:
    def __init__(self, store: RecordStore, stats: RunStats | None = None, flush_interval_s: float = 1.0,
                 max_buffered: int = MAX_BUFFERED) -> None:
        self.store = store
        self.stats = stats if stats is not None else RunStats()
        self.flush_interval_s = flush_interval_s
        self.max_buffered = max_buffered
        self._unflushed = 0
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
        self.store.add(record)
        self.stats.add(record)
        self._unflushed += 1
        if self._unflushed >= self.max_buffered:
            self.store.flush()
            self._unflushed = 0
        elif self.store.maybe_flush():
            self._unflushed = 0

    def flush(self) -> None:
        """Write the buffered rows and fold the buffered statistics."""
        self.store.flush()
        self._unflushed = 0
        self.stats.flush()

    def take_stats(self) -> RunStats:
        """The statistics gathered since the last call (or since the start); the collector starts afresh.

        A Locust worker sends these deltas to the master, so that each record is counted once.
        """
        taken, self.stats = self.stats, RunStats()
        taken.flush()
        return taken

    def _flush_forever(self) -> None:
        while True:
            gevent.sleep(self.flush_interval_s)
            if self.store.maybe_flush():
                self._unflushed = 0

    def close(self) -> None:
        if self._events is not None:
            self._events.request.remove_listener(self.on_request)
            self._events = None
        if self._flusher is not None:
            self._flusher.kill(block=False)
            self._flusher = None
        self.stats.flush()
        self.store.close()
