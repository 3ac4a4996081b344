"""A sample as analysis sees it: distinct values with their counts, plus exact moments.

Every statistic lambench reports is computed from a :class:`Sample`, made either from one of
the collector's aggregates (:meth:`Sample.from_metric`: an HDR histogram's non-empty buckets and
the metric's exact count, sum, sum of squares, min and max) or from raw values
(:meth:`Sample.of`: exact). So the same code gives the figures of ten invocations and of ten
million, in memory that depends on the number of distinct values (a few thousand HDR buckets),
never on the number of invocations.

**The percentile rule** (the one definition of every percentile in results.json, summary.json,
the report and the Locust tab): the p-th percentile of n values is the value of rank
``max(1, floor(p * n / 100 + 0.5))`` in ascending order (nearest rank, rounding half up), which
is HdrHistogram's getValueAtPercentile. From a histogram, that value is answered as its
bucket's highest equivalent value, within 1/1024 (0.098 %) above the true value; min, max and
mean are exact. The 0th percentile is the minimum.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from bench.collect.metric import Metric

PERCENTILE_RULE = (
    "nearest rank: the value of rank max(1, floor(p/100 * n + 0.5)) "
    "(HdrHistogram's getValueAtPercentile), to 3 significant digits from histograms"
)


@dataclass(frozen=True, eq=False)
class Sample:
    """n values as ascending distinct ``values`` with ``counts``; ``mean`` and ``m2`` (sum of
    squared deviations) exact. ``bucketed`` when values are histogram bucket values."""

    values: np.ndarray
    counts: np.ndarray
    n: int
    mean: float | None
    m2: float
    minimum: float | None
    maximum: float | None
    bucketed: bool = False

    @classmethod
    def empty(cls) -> Sample:
        return cls(np.zeros(0), np.zeros(0, dtype=np.int64), 0, None, 0.0, None, None)

    @classmethod
    def of(cls, values: Sequence[float] | np.ndarray) -> Sample:
        """The exact sample of raw values; ValueError unless they are a flat run of finite numbers."""
        array = np.asarray(values, dtype=float)
        if array.ndim != 1 or not np.all(np.isfinite(array)):
            raise ValueError("values must be a flat sequence of finite numbers")
        if array.size == 0:
            return cls.empty()
        distinct, counts = np.unique(array, return_counts=True)
        mean = float(np.mean(array))
        m2 = float(np.sum((array - mean) ** 2))
        return cls(
            distinct, counts.astype(np.int64), int(array.size), mean, m2, float(distinct[0]), float(distinct[-1])
        )

    @classmethod
    def from_metric(cls, metric: Metric) -> Sample:
        """The sample a collector Metric (bench/collect/metric.py) holds, in ms."""
        from bench.collect.histograms import buckets_us

        n = metric.count
        if not n:
            return cls.empty()
        assert metric.min_us is not None and metric.max_us is not None  # a metric with values has both
        values_us, counts = buckets_us(metric.histogram)
        # n * sumsq - sum**2 in exact integers: no cancellation, however large the values.
        m2 = (n * metric.sumsq_us2 - metric.sum_us**2) / n / 1e6
        return cls(
            values_us / 1000.0,
            counts,
            n,
            metric.sum_us / n / 1000.0,
            max(m2, 0.0),
            metric.min_us / 1000.0,
            metric.max_us / 1000.0,
            bucketed=True,
        )

    @classmethod
    def from_metrics(cls, metrics: Iterable[Metric]) -> Sample:
        """One sample of several metrics' values together (e.g. warm, cold and unknown keys)."""
        from bench.collect.metric import Metric

        total = Metric()
        for metric in metrics:
            total.merge(metric)
        return cls.from_metric(total)

    @property
    def variance(self) -> float | None:
        """The sample variance (n - 1 in the denominator); None below n = 2."""
        return self.m2 / (self.n - 1) if self.n >= 2 else None

    @property
    def sd(self) -> float | None:
        variance = self.variance
        return None if variance is None else float(np.sqrt(variance))

    def value_at_rank(self, rank: int) -> float:
        """The rank-th smallest value, 1-based."""
        if not 1 <= rank <= self.n:
            raise ValueError(f"rank {rank}: must be 1..{self.n}")
        return float(self.values[int(np.searchsorted(np.cumsum(self.counts), rank))])

    def percentile(self, p: float) -> float | None:
        """The p-th percentile (0..100) by the module's rule; None for an empty sample."""
        if not self.n:
            return None
        if not 0 <= p <= 100:
            raise ValueError(f"percentile {p}: must be 0..100")
        if p == 0:
            return self.minimum
        return self.value_at_rank(max(int(p * self.n / 100 + 0.5), 1))

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0..1): ``percentile(100 q)``."""
        return self.percentile(round(q * 100, 9))

    def affine(self, scale: float, offset: float) -> Sample:
        """The sample of scale * x + offset (scale > 0): costs from billed durations, say."""
        if not scale > 0:
            raise ValueError("scale must be > 0")
        mapped = None if self.mean is None else self.mean * scale + offset
        return Sample(
            self.values * scale + offset,
            self.counts,
            self.n,
            mapped,
            self.m2 * scale * scale,
            None if self.minimum is None else self.minimum * scale + offset,
            None if self.maximum is None else self.maximum * scale + offset,
            self.bucketed,
        )

    def repeated(self) -> np.ndarray:
        """Every value, counts expanded (for tests and small samples only)."""
        return np.repeat(self.values, self.counts)


def as_sample(values: Sample | Sequence[float] | np.ndarray) -> Sample:
    """A Sample as it is, or the exact sample of raw values."""
    return values if isinstance(values, Sample) else Sample.of(values)
