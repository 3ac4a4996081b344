"""Glue from Locust's request event to the record store: every record on disk within a second.

The load users put an InvocationRecord in the request event's ``context``; this listener takes
it from there. It knows Locust only as an ``events`` object, and flushes from a gevent timer so
that records are written even when invocations stop arriving (a stalled or throttled target).
"""

from __future__ import annotations

import gevent

from .store import RecordStore

CONTEXT_KEY = "lambench_record"


class RecordCollector:
    def __init__(self, store: RecordStore, flush_interval_s: float = 1.0) -> None:
        self.store = store
        self.flush_interval_s = flush_interval_s
        self._events = None
        self._flusher: gevent.Greenlet | None = None

    def attach(self, events) -> RecordCollector:
        self._events = events
        events.request.add_listener(self.on_request)
        self._flusher = gevent.spawn(self._flush_forever)
        return self

    def on_request(self, context=None, **_kwargs) -> None:
        record = (context or {}).get(CONTEXT_KEY)
        if record is not None:
            self.store.add(record)
            self.store.maybe_flush()

    def _flush_forever(self) -> None:
        while True:
            gevent.sleep(self.flush_interval_s)
            self.store.maybe_flush()

    def close(self) -> None:
        if self._events is not None:
            self._events.request.remove_listener(self.on_request)
            self._events = None
        if self._flusher is not None:
            self._flusher.kill(block=False)
            self._flusher = None
        self.store.close()
