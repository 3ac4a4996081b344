"""One latency metric of one key, as a mergeable aggregate: an HDR histogram and exact moments.

A :class:`Metric` holds, for the values recorded into it (whole microseconds):
- an HDR histogram (bench/collect/histograms.py: 1 µs .. 1 h, 3 significant digits), which is
  what every percentile and rank-based statistic is computed from (bench/analysis/sample.py);
- exact integer moments: count, sum and sum of squares, so that the mean and the variance are
  exact and two metrics add exactly, whatever the order or batching (Python integers do not
  overflow; the batch sums are split so numpy's int64 cannot either);
- the exact minimum and maximum, and how many values were clamped to the histogram's top.

Nothing here computes a percentile or an interval: that is analysis's job, done in one place.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

from . import histograms as hdr

# Values below 2**32 µs (71 minutes) square into three int64 partial sums without overflow.
_SPLIT_BITS = 16
_SPLIT_LIMIT = 1 << 32


def sum_of_squares(values_us: np.ndarray) -> int:
    """The exact sum of the squares of int64 values, as a Python int.

    x = hi * 2**16 + lo, so x**2 = hi**2 * 2**32 + 2 * hi * lo * 2**16 + lo**2; each partial
    sum stays far below 2**63 for fewer than 2**31 values under 2**32. Larger values (only a
    clamped or corrupt record could have one) are summed in Python.
    """
    values = np.abs(np.asarray(values_us, dtype=np.int64))
    if values.size == 0:
        return 0
    if int(values.max()) >= _SPLIT_LIMIT or values.size >= 1 << 31:
        return sum(v * v for v in values.tolist())
    hi, lo = values >> _SPLIT_BITS, values & ((1 << _SPLIT_BITS) - 1)
    return (int(np.dot(hi, hi)) << (2 * _SPLIT_BITS)) + (int(np.dot(hi, lo)) << (_SPLIT_BITS + 1)) + int(np.dot(lo, lo))


class Metric:
    """An HDR histogram plus exact count, sum, sum of squares, min and max, in µs."""

    __slots__ = ("histogram", "count", "sum_us", "sumsq_us2", "min_us", "max_us", "clamped")

    def __init__(self, histogram: HdrHistogram | None = None) -> None:
        self.histogram = histogram if histogram is not None else hdr.new_histogram()
        self.count = self.sum_us = self.sumsq_us2 = self.clamped = 0
        self.min_us: int | None = None
        self.max_us: int | None = None

    def record(self, values_us: np.ndarray) -> None:
        """Add whole-microsecond values (int64)."""
        if values_us.size == 0:
            return
        self.clamped += hdr.record_us(self.histogram, values_us)
        self.count += int(values_us.size)
        self.sum_us += int(values_us.sum())
        self.sumsq_us2 += sum_of_squares(values_us)
        low, high = int(values_us.min()), int(values_us.max())
        self.min_us = low if self.min_us is None else min(self.min_us, low)
        self.max_us = high if self.max_us is None else max(self.max_us, high)

    def merge(self, other: Metric) -> None:
        """Add another metric's values into this one (exact)."""
        self.histogram.add(other.histogram)
        self.count += other.count
        self.sum_us += other.sum_us
        self.sumsq_us2 += other.sumsq_us2
        self.clamped += other.clamped
        for name, pick in (("min_us", min), ("max_us", max)):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(self, name, theirs if mine is None else mine if theirs is None else pick(mine, theirs))

    def copy(self) -> Metric:
        twin = Metric()
        twin.merge(self)
        return twin

    def to_wire(self) -> dict[str, Any]:
        # The sum of squares travels as text: msgpack, which Locust's messages use, stops at 64 bits.
        return {
            "hdr": hdr.encode(self.histogram),
            "count": self.count,
            "sum_us": self.sum_us,
            "sumsq_us2": str(self.sumsq_us2),
            "min_us": self.min_us,
            "max_us": self.max_us,
            "clamped": self.clamped,
        }

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Metric:
        metric = cls(hdr.decode(wire["hdr"]))
        metric.count, metric.sum_us, metric.clamped = wire["count"], wire["sum_us"], wire["clamped"]
        metric.sumsq_us2 = int(wire["sumsq_us2"])
        metric.min_us, metric.max_us = wire["min_us"], wire["max_us"]
        return metric

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Metric):
            return NotImplemented
        fields = ("count", "sum_us", "sumsq_us2", "min_us", "max_us", "clamped")
        return all(getattr(self, f) == getattr(other, f) for f in fields) and bool(
            self.histogram.equals(other.histogram)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable: equal by value, not hashable
