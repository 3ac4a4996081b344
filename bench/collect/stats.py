"""The run's mergeable aggregates: what the raw rows say, in memory that does not grow with them.

Per key (variant, path, cold) a :class:`RunStats` keeps a :class:`KeyStats`:
- the count of each status (ok, function_error, throttled, timeout, client_error,
  transport_error), of each error type, each init type and each configured memory size;
- the largest Max Memory Used;
- a Metric (bench/collect/metric.py: HDR histogram and exact moments, µs) for each of client
  latency (ok records only), duration, billed duration and init duration;
and per (variant, path) a concurrency timeline (bench/collect/timeline.py).

``cold`` is ``cold``, ``warm`` or ``unknown`` (a throttled call, or one whose REPORT line was
not seen). Records are folded in batches of rows (bench/collect/fold.py). Folding is exact
(counts, sums, extremes, histogram buckets and timelines are sums over records), so how records
are batched never changes the result. Two RunStats add exactly (``merge``), and travel as plain
data (``to_wire``/``from_wire``: base64 histograms, lists of ints), which is how Locust workers
report to the master. :func:`stats_of_store` folds a finished run's SQLite store, API Gateway
join included, in chunks: the way every figure of a report is made (bench/analysis reads the
result; nothing here computes a percentile).

Wire format history: 1 - counts and metrics (count, sum, min, max, histogram); 2 - adds each
key's error types, init types, memory sizes and Max Memory Used, each metric's sum of squares,
client latency of ok records only, and cold starts per second in the timelines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from ..records import STATUSES, InvocationRecord
from .fold import FOLD_FIELDS, FOLD_ROWS, fold_rows
from .metric import Metric
from .rows import Row, row_of
from .store import row_batches
from .timeline import ConcurrencyTimeline

SCHEMA_VERSION = 2
METRICS = ("client_ms", "duration_ms", "billed_ms", "init_ms")
BATCH = 8192


class StatsKey(NamedTuple):
    variant: str
    path: str
    cold: str  # cold | warm | unknown


def _sum_into(mine: dict, theirs: dict) -> None:
    for value, count in theirs.items():
        mine[value] = mine.get(value, 0) + count


class KeyStats:
    """Counts, Max Memory Used and latency metrics of one (variant, path, cold) key."""

    __slots__ = ("statuses", "error_types", "init_types", "memory", "max_memory_mb", "max_memory_n", "metrics")

    def __init__(self) -> None:
        self.statuses: dict[str, int] = dict.fromkeys(STATUSES, 0)
        self.error_types: dict[str, int] = {}
        self.init_types: dict[str, int] = {}
        self.memory: dict[int, int] = {}  # configured memory size (REPORT's Memory Size) -> records
        self.max_memory_mb: int | None = None
        self.max_memory_n = 0  # records that reported Max Memory Used
        # Made on first use: a warm key has no init durations, a throttled one no duration.
        self.metrics: dict[str, Metric] = {}

    @property
    def records(self) -> int:
        return sum(self.statuses.values())

    def metric(self, name: str) -> Metric:
        if name not in self.metrics:
            self.metrics[name] = Metric()
        return self.metrics[name]

    def add_max_memory(self, largest: int, n: int) -> None:
        self.max_memory_mb = largest if self.max_memory_mb is None else max(self.max_memory_mb, largest)
        self.max_memory_n += n

    def merge(self, other: KeyStats) -> None:
        for name in ("statuses", "error_types", "init_types", "memory"):
            _sum_into(getattr(self, name), getattr(other, name))
        if other.max_memory_mb is not None:
            self.add_max_memory(other.max_memory_mb, other.max_memory_n)
        for name, metric in other.metrics.items():
            self.metric(name).merge(metric)

    def to_wire(self) -> dict:
        return {
            "statuses": self.statuses,
            "error_types": self.error_types,
            "init_types": self.init_types,
            "memory": sorted([mb, n] for mb, n in self.memory.items()),
            "max_memory_mb": self.max_memory_mb,
            "max_memory_n": self.max_memory_n,
            "metrics": {name: metric.to_wire() for name, metric in self.metrics.items()},
        }

    @classmethod
    def from_wire(cls, wire: dict) -> KeyStats:
        stats = cls()
        stats.statuses.update(wire["statuses"])
        stats.error_types, stats.init_types = dict(wire["error_types"]), dict(wire["init_types"])
        stats.memory = {int(mb): n for mb, n in wire["memory"]}
        stats.max_memory_mb, stats.max_memory_n = wire["max_memory_mb"], wire["max_memory_n"]
        stats.metrics = {name: Metric.from_wire(m) for name, m in wire["metrics"].items()}
        return stats

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KeyStats):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]


class RunStats:
    """Histograms, counts and concurrency of a stream of InvocationRecords."""

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
        fold_rows(self, rows)

    def flush(self) -> None:
        """Fold the buffered records into the histograms, counts and timelines."""
        if self._pending:
            rows, self._pending = self._pending, []
            fold_rows(self, rows)

    @property
    def records(self) -> int:
        self.flush()
        return sum(stats.records for stats in self.keys.values())

    def key_stats(self, key: tuple[str, str, str]) -> KeyStats:
        """The stats of (variant, path, cold label), made empty on first use."""
        stats = self.keys.get(key)  # type: ignore[call-overload]  # a plain tuple finds its StatsKey
        if stats is None:
            stats = self.keys[StatsKey(*key)] = KeyStats()
        return stats

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
        return {
            "schema_version": SCHEMA_VERSION,
            "keys": [[*key, stats.to_wire()] for key, stats in sorted(self.keys.items())],
            "timelines": [
                [variant, path, self.timelines[(variant, path)].to_wire()] for variant, path in sorted(self.timelines)
            ],
        }

    @classmethod
    def from_wire(cls, wire: dict) -> RunStats:
        if wire.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"stats schema_version {wire.get('schema_version')!r}, expected {SCHEMA_VERSION}")
        stats = cls()
        for variant, path, cold, key_wire in wire["keys"]:
            stats.keys[StatsKey(variant, path, cold)] = KeyStats.from_wire(key_wire)
        for variant, path, timeline in wire["timelines"]:
            stats.timelines[(variant, path)] = ConcurrencyTimeline.from_wire(timeline)
        return stats

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunStats):
            return NotImplemented
        return self.to_wire() == other.to_wire()

    __hash__ = None  # type: ignore[assignment]


def build_stats(records: Iterable[InvocationRecord]) -> RunStats:
    """RunStats of all the given records."""
    return RunStats().add_all(records)


def stats_of_store(path: str | Path) -> RunStats:
    """RunStats of every record in a SQLite store, with the API Gateway join's results applied.

    Reads the store in chunks (bench/collect/store.py ``row_batches``), so memory does not grow
    with the number of records.
    """
    stats = RunStats()
    for rows in row_batches(path, FOLD_FIELDS):
        fold_rows(stats, rows, FOLD_ROWS)
    return stats
