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

Records are folded in batches, as rows (bench/collect/rows.py: the tuples the SQLite store
writes): ``add_rows`` folds a batch at once, such as the rows the collector has just handed to
the store, and ``add`` buffers one record's row until BATCH rows wait; reads flush first. A batch
costs one dict lookup per row (its key's code) and a few passes that copy columns into numpy;
the rest is numpy: about 0.5 µs of one core per record in batches of 50,000, 0.7 µs in batches
of 8,192. Folding is exact (counts, sums, extremes, histogram buckets and timelines are sums
over records), so how records are batched never changes the result.
Two RunStats add exactly (``merge``), and travel as plain data (``to_wire``/``from_wire``:
base64 histograms, lists of ints), which is how Locust workers report to the master.
"""

from __future__ import annotations

import operator
from typing import Iterable, NamedTuple, Sequence

import numpy as np

from ..records import STATUSES, InvocationRecord
from . import histograms as hdr
from .rows import COLUMN, Row, row_of
from .timeline import ConcurrencyTimeline

SCHEMA_VERSION = 1
METRICS = ("client_ms", "duration_ms", "billed_ms", "init_ms")
COLD_LABELS = {True: "cold", False: "warm", None: "unknown"}
BATCH = 8192

_raw_key_of = operator.itemgetter(COLUMN["variant"], COLUMN["path"], COLUMN["cold"])
_status_of = operator.itemgetter(COLUMN["status"])
_start_of = operator.itemgetter(COLUMN["t_start_ns"])
_metric_of = {name: operator.itemgetter(COLUMN[name]) for name in METRICS}


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
        self._pending: list[Row] = []

    def add(self, record: InvocationRecord) -> None:
        """Take one record; it is folded in with its batch (at the latest on the next read)."""
        self._pending.append(row_of(record))
        if len(self._pending) >= self._batch_size:
            self.flush()

    def add_all(self, records: Iterable[InvocationRecord]) -> RunStats:
        for record in records:
            self.add(record)
        self.flush()
        return self

    def add_rows(self, rows: Sequence[Row]) -> None:
        """Fold in a batch of rows (``rows.row_of`` of each record) now. ``rows`` is only read."""
        if rows:
            _fold_rows(self, rows)

    def flush(self) -> None:
        """Fold the buffered records into the histograms, counts and timelines."""
        if self._pending:
            rows, self._pending = self._pending, []
            _fold_rows(self, rows)

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


class _Codes(dict):
    """Value -> 0, 1, 2 ... in order of first appearance; looking a value up gives it a code."""

    def __missing__(self, value):
        code = self[value] = len(self)
        return code


def _codes(values: Iterable, codes: _Codes, count: int) -> np.ndarray:
    return np.fromiter(map(codes.__getitem__, values), dtype=np.intp, count=count)


def _fold_rows(stats: RunStats, rows: Sequence[Row]) -> None:
    """Fold a batch in: per raw key (variant, path, cold), its status counts, metrics and timeline.

    One dict lookup per row gives each row its key's code; the rest is numpy over whole columns.
    """
    raw_keys = _Codes()
    key_code = _codes(map(_raw_key_of, rows), raw_keys, len(rows))
    members = _members(key_code, len(raw_keys))
    key_stats = [stats.key_stats(StatsKey(variant, path, COLD_LABELS[cold])) for variant, path, cold in raw_keys]
    _fold_statuses(rows, key_code, key_stats)
    client_ms = _ms_column(rows, "client_ms")
    _fold_metric("client_ms", client_ms, members, key_stats)
    for name in METRICS[1:]:
        _fold_metric(name, _ms_column(rows, name), members, key_stats)
    start = np.fromiter(map(_start_of, rows), dtype=np.int64, count=len(rows))
    for (variant, path, _), rows_of_key in zip(raw_keys, members):
        stats.timeline(variant, path).add(start[rows_of_key], client_ms[rows_of_key])


def _members(key_code: np.ndarray, keys: int) -> list:
    """The rows of each key code, 0 .. keys - 1, as index arrays (or one slice for a single key)."""
    if keys == 1:
        return [slice(None)]
    order = np.argsort(key_code, kind="stable")
    return np.split(order, np.cumsum(np.bincount(key_code, minlength=keys))[:-1])


def _fold_statuses(rows: Sequence[Row], key_code: np.ndarray, key_stats: list[KeyStats]) -> None:
    statuses = _Codes()
    status_code = _codes(map(_status_of, rows), statuses, len(rows))
    counts = np.bincount(key_code * len(statuses) + status_code, minlength=len(key_stats) * len(statuses))
    for stats_of_key, counts_of_key in zip(key_stats, counts.reshape(len(key_stats), len(statuses)).tolist()):
        for status, count in zip(statuses, counts_of_key):
            if count:
                stats_of_key.statuses[status] = stats_of_key.statuses.get(status, 0) + count


def _ms_column(rows: Sequence[Row], name: str) -> np.ndarray:
    """One metric of every row, in ms; None becomes NaN (a metric the record does not have)."""
    return np.array(list(map(_metric_of[name], rows)), dtype=np.float64)


def _fold_metric(name: str, values_ms: np.ndarray, members: list, key_stats: list[KeyStats]) -> None:
    """Record one metric's present values into each key's histogram (µs computed once for all)."""
    present = ~np.isnan(values_ms)
    values_us = np.zeros(values_ms.size, dtype=np.int64)
    values_us[present] = hdr.ms_to_us(values_ms[present])
    for stats_of_key, rows_of_key in zip(key_stats, members):
        values = values_us[rows_of_key][present[rows_of_key]]
        if values.size:
            stats_of_key.metric(name).record(values)


def _series_summary(timeline: ConcurrencyTimeline) -> dict:
    try:
        series = timeline.series()
    except ValueError as err:
        return {"error": str(err)}
    return {"max_in_flight": max(series["in_flight"], default=0), "max_mean": max(series["mean"], default=0.0),
            **series}


def _ms(value_us: float | int | None) -> float | None:
    return None if value_us is None else value_us / 1000.0
