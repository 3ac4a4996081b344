"""Latency distributions to draw: client latency CDFs per variant and path, warm and cold apart.

Each curve is the one percentile rule (bench/analysis/sample.py) read at fixed levels, so a point
on the chart is the same number results.json would give for that percentile. 100 levels from 1%
to 100% plus the 99.5th and 99.9th keep the tail visible without shipping every bucket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.analysis.sample import Sample
from bench.collect import RunStats

LEVELS: tuple[float, ...] = tuple(sorted({*(float(i) for i in range(1, 101)), 99.5, 99.9}))


@dataclass(frozen=True)
class LatencyCdf:
    """(ms, percentile) points of client latency, ok calls, for one variant, path and coldness."""

    variant: str
    path: str
    cold: str  # warm | cold
    n: int
    points: tuple[tuple[float, float], ...]

    def as_dict(self) -> dict[str, Any]:
        return {"variant": self.variant, "path": self.path, "cold": self.cold, "n": self.n,
                "points": [list(p) for p in self.points]}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LatencyCdf:
        points = tuple((float(ms), float(p)) for ms, p in data["points"])
        return cls(data["variant"], data["path"], data["cold"], data["n"], points)


def latency_cdfs(stats: RunStats) -> tuple[LatencyCdf, ...]:
    """Warm and cold client-latency curves of every (variant, path) that has ok calls of that kind."""
    out = []
    for key in sorted(stats.keys):
        metric = stats.keys[key].metrics.get("client_ms")
        if key.cold == "unknown" or metric is None or not metric.count:
            continue
        sample = Sample.from_metric(metric)
        points = tuple((value, level) for level in LEVELS if (value := sample.percentile(level)) is not None)
        out.append(LatencyCdf(key.variant, key.path, key.cold, sample.n, points))
    return tuple(out)
