"""Streaming statistics of a run: what the raw rows say, in memory that does not grow with them.

Per key (variant, path, cold) a :class:`RunStats` keeps
- an HDR histogram (bench/collect/histograms.py: µs, 3 digits) with exact count, sum, min and
  max, for each of client latency, duration, billed duration and init duration;
- the count of each status (ok, function_error, throttled, timeout, client_error,
  transport_error);
and per (variant, path) a concurrency timeline (bench/collect/timeline.py).

``cold`` is ``cold``, ``warm`` or ``unknown`` (a throttled call, or one whose REPORT line was
not seen). Every record counts in its key's client-latency histogram, whatever its status: that
is what the client saw; the status counts tell the calls apart.

Records are buffered, grouped by key, and folded in batches with numpy (``flush``): about 1.5
µs of one core per record (tests/perf/collector.py); reads flush first.
Two RunStats add exactly (``merge``), and travel as plain data (``to_wire``/``from_wire``:
base64 histograms, lists of ints), which is how Locust workers report to the master.
"""

from __future__ import annotations

import operator
from collections import Counter
from typing import Iterable, NamedTuple

import numpy as np

from ..records import STATUSES, InvocationRecord
from . import histograms as hdr
from .timeline import ConcurrencyTimeline

SCHEMA_VERSION = 1
METRICS = ("client_ms", "duration_ms", "billed_ms", "init_ms")
COLD_LABELS = {True: "cold", False: "warm", None: "unknown"}
BATCH = 8192

_columns_of = operator.attrgetter("status", "t_start_ns", *METRICS)


class StatsKey(NamedTuple):
    variant: str
    path: str
    cold: str  # cold | warm | unknown


class Metric:
    """One latency metric of one key: an HDR histogram, plus exact count, sum, min, max in µs."""

    __slots__ = ("histogram", "count", "sum_us", "min_us", "max_us", "clamped")

    def __init__(self, histogram=None) -> None:
        self.histogram = histogram if histogram is not None else hdr.new_histogram()
        self.count = self.sum_us = self.clamped = 0
        self.min_us: int | None = None
        self.max_us: int | None = None

    def record(self, values_us: np.ndarray) -> None:
        if values_us.size == 0:
            return
        self.clamped += hdr.record_us(self.histogram, values_us)
        self.count += int(values_us.size)
        self.sum_us += int(values_us.sum())
        low, high = int(values_us.min()), int(values_us.max())
        self.min_us = low if self.min_us is None else min(self.min_us, low)
        self.max_us = high if self.max_us is None else max(self.max_us, high)

    def merge(self, other: Metric) -> None:
        self.histogram.add(other.histogram)
        self.count += other.count
        self.sum_us += other.sum_us
        self.clamped += other.clamped
        for name, pick in (("min_us", min), ("max_us", max)):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(self, name, theirs if mine is None else mine if theirs is None else pick(mine, theirs))

    def summary(self) -> dict:
        """Figures in ms: count, mean, min, p50 .. p99.9 (HDR), max (exact), clamped, and the histogram."""
        figures = {"count": self.count, "mean": _ms(self.sum_us / self.count) if self.count else None,
                   "min": _ms(self.min_us)}
        for percentile, value in hdr.percentiles_us(self.histogram).items():
            figures[hdr.percentile_label(percentile)] = _ms(value)
        figures.update({"max": _ms(self.max_us), "clamped": self.clamped, "hdr": hdr.encode(self.histogram)})
        return figures

    def to_wire(self) -> dict:
        return {"hdr": hdr.encode(self.histogram), "count": self.count, "sum_us": self.sum_us,
                "min_us": self.min_us, "max_us": self.max_us, "clamped": self.clamped}

    @classmethod
    def from_wire(cls, wire: dict) -> Metric:
        metric = cls(hdr.decode(wire["hdr"]))
        metric.count, metric.sum_us, metric.clamped = wire["count"], wire["sum_us"], wire["clamped"]
        metric.min_us, metric.max_us = wire["min_us"], wire["max_us"]
        return metric


class KeyStats:
    """Status counts and latency metrics of one (variant, path, cold) key."""

    __slots__ = ("statuses", "metrics")

    def __init__(self) -> None:
        self.statuses: dict[str, int] = dict.fromkeys(STATUSES, 0)
        # Made on first use: a warm key has no init durations, a throttled one no duration.
        self.metrics: dict[str, Metric] = {}

    @property
    def records(self) -> int:
        return sum(self.statuses.values())

    def metric(self, name: str) -> Metric:
        if name not in self.metrics:
            self.metrics[name] = Metric()
        return self.metrics[name]

    def merge(self, other: KeyStats) -> None:
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        for name, metric in other.metrics.items():
            self.metric(name).merge(metric)

    def summary(self) -> dict:
        return {"records": self.records, "statuses": dict(self.statuses),
                "metrics": {name: self.metrics[name].summary() for name in METRICS if name in self.metrics}}


class RunStats:
    """Histograms, status counts and concurrency of a stream of InvocationRecords."""

    def __init__(self, batch_size: int = BATCH) -> None:
        self.keys: dict[StatsKey, KeyStats] = {}
        self.timelines: dict[tuple[str, str], ConcurrencyTimeline] = {}
        self._batch_size = batch_size
        # Buffered records grouped by their raw key as they arrive: grouping costs one dict
        # lookup here, where grouping a finished batch would cost a pass over every record.
        self._pending: dict[tuple, list[InvocationRecord]] = {}
        self._pending_count = 0

    def add(self, record: InvocationRecord) -> None:
        """Take one record; it is folded in with its batch (at the latest on the next read)."""
        raw_key = (record.variant, record.path, record.cold)
        group = self._pending.get(raw_key)
        if group is None:
            group = self._pending[raw_key] = []
        group.append(record)
        self._pending_count += 1
        if self._pending_count >= self._batch_size:
            self.flush()

    def add_all(self, records: Iterable[InvocationRecord]) -> RunStats:
        for record in records:
            self.add(record)
        self.flush()
        return self

    def flush(self) -> None:
        """Fold the buffered records into the histograms, counts and timelines."""
        if not self._pending_count:
            return
        pending, self._pending, self._pending_count = self._pending, {}, 0
        for (variant, path, cold), records in pending.items():
            _fold(self, StatsKey(variant, path, COLD_LABELS[cold]), records)

    @property
    def records(self) -> int:
        self.flush()
        return sum(stats.records for stats in self.keys.values())

    def key_stats(self, key: StatsKey) -> KeyStats:
        if key not in self.keys:
            self.keys[key] = KeyStats()
        return self.keys[key]

    def timeline(self, variant: str, path: str) -> ConcurrencyTimeline:
        if (variant, path) not in self.timelines:
            self.timelines[(variant, path)] = ConcurrencyTimeline()
        return self.timelines[(variant, path)]

    def merge(self, other: RunStats) -> None:
        """Add another RunStats into this one (another worker's, or a later report's)."""
        self.flush()
        other.flush()
        for key, stats in other.keys.items():
            self.key_stats(key).merge(stats)
        for (variant, path), timeline in other.timelines.items():
            self.timeline(variant, path).merge(timeline)

    def to_wire(self) -> dict:
        self.flush()
        return {"schema_version": SCHEMA_VERSION,
                "keys": [[*key, stats.statuses, {n: m.to_wire() for n, m in stats.metrics.items()}]
                         for key, stats in self.keys.items()],
                "timelines": [[variant, path, timeline.to_wire()]
                              for (variant, path), timeline in self.timelines.items()]}

    @classmethod
    def from_wire(cls, wire: dict) -> RunStats:
        if wire.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"stats schema_version {wire.get('schema_version')!r}, expected {SCHEMA_VERSION}")
        stats = cls()
        for variant, path, cold, statuses, metrics in wire["keys"]:
            key_stats = stats.key_stats(StatsKey(variant, path, cold))
            key_stats.statuses.update(statuses)
            key_stats.metrics = {name: Metric.from_wire(m) for name, m in metrics.items()}
        for variant, path, timeline in wire["timelines"]:
            stats.timelines[(variant, path)] = ConcurrencyTimeline.from_wire(timeline)
        return stats

    def summary(self) -> dict:
        """Plain data for summary.json: per key counts and percentiles (ms), and concurrency."""
        self.flush()
        totals = dict.fromkeys(STATUSES, 0)
        for stats in self.keys.values():
            for status, count in stats.statuses.items():
                totals[status] = totals.get(status, 0) + count
        return {
            "schema_version": SCHEMA_VERSION, "unit": "ms",
            "histogram": {"unit": hdr.UNIT, "lowest": hdr.LOWEST_US, "highest": hdr.HIGHEST_US,
                          "significant_digits": hdr.SIGNIFICANT_DIGITS, "encoding": "HdrHistogram V2, base64"},
            "records": sum(totals.values()), "statuses": totals,
            "keys": [{**key._asdict(), **self.keys[key].summary()} for key in sorted(self.keys)],
            "concurrency": self._concurrency_summary(),
        }

    def _concurrency_summary(self) -> dict:
        total = ConcurrencyTimeline()
        by_variant = []
        for (variant, path) in sorted(self.timelines):
            timeline = self.timelines[(variant, path)]
            total.merge(timeline)
            by_variant.append({"variant": variant, "path": path, **_series_summary(timeline)})
        return {"by_variant": by_variant, "total": _series_summary(total)}


def build_stats(records: Iterable[InvocationRecord]) -> RunStats:
    """RunStats of all the given records (e.g. read back from records.sqlite)."""
    return RunStats().add_all(records)


def _fold(stats: RunStats, key: StatsKey, records: list[InvocationRecord]) -> None:
    """Fold one key's buffered records in: status counts, metrics, and its pair's timeline."""
    status, start, *metrics = zip(*map(_columns_of, records))
    key_stats = stats.key_stats(key)
    for name, count in Counter(status).items():
        key_stats.statuses[name] = key_stats.statuses.get(name, 0) + count
    # None becomes NaN: a metric the record does not have.
    columns = {name: np.array(column, dtype=np.float64) for name, column in zip(METRICS, metrics)}
    for name, values in columns.items():
        values = values[~np.isnan(values)]
        if values.size:
            key_stats.metric(name).record(hdr.ms_to_us(values))
    stats.timeline(key.variant, key.path).add(np.array(start, dtype=np.int64), columns["client_ms"])


def _series_summary(timeline: ConcurrencyTimeline) -> dict:
    try:
        series = timeline.series()
    except ValueError as err:
        return {"error": str(err)}
    return {"max_in_flight": max(series["in_flight"], default=0), "max_mean": max(series["mean"], default=0.0),
            **series}


def _ms(value_us: float | int | None) -> float | None:
    return None if value_us is None else value_us / 1000.0
