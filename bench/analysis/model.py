"""The data model of analysis: figures with their n and interval, per variant and per run.

These frozen dataclasses are what analysis hands the report and decision stages (and what
results.json stores, through ``as_dict``/``from_dict``). A figure with no data is None, never 0.
Percentile point estimates follow the one rule of bench/analysis/sample.py (nearest rank).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any

from bench.analysis.cdf import LatencyCdf
from bench.analysis.pricing import RegionalPrices, prices_for
from bench.analysis.sample import as_sample
from bench.analysis.separation import CheapestCheck
from bench.analysis.stats import CONFIDENCE, PERCENTILE_METHOD, Interval, Values, quantile_ci

QUANTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


@dataclass(frozen=True)
class Percentiles:
    """p50/p95/p99 of n samples, each with its order-statistic interval; all None when n is 0.

    An interval is always present when n > 0; it has lo/hi None and a reason when n is
    too small for it (p95 needs n >= 72, p99 n >= 368 at 95%).
    """

    n: int
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    p50_ci: Interval | None = None
    p95_ci: Interval | None = None
    p99_ci: Interval | None = None

    @classmethod
    def of(cls, values: Values, confidence: float = CONFIDENCE) -> Percentiles:
        sample = as_sample(values)
        if not sample.n:
            return cls(n=0)
        p50, p95, p99 = (sample.quantile(q) for _, q in QUANTILES)
        i50, i95, i99 = (quantile_ci(sample, q, confidence) for _, q in QUANTILES)
        return cls(sample.n, p50, p95, p99, i50, i95, i99)

    def interval(self, name: str) -> Interval | None:
        """The interval of "p50", "p95" or "p99"."""
        interval: Interval | None = getattr(self, f"{name}_ci")
        return interval

    def as_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Percentiles | None:
        if data is None:
            return None
        values = dict(data)
        for name, _ in QUANTILES:  # version-1 files carry no intervals
            values[f"{name}_ci"] = Interval.from_dict(values.get(f"{name}_ci"))
        return cls(**values)


@dataclass(frozen=True)
class Figure:
    """One value (a mean, a rate or a maximum) over n samples, with its interval where it has
    one; value and interval are None when n is 0."""

    n: int
    value: float | None = None
    ci: Interval | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "value": self.value, "ci": _plain(self.ci)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Figure | None:
        if data is None:
            return None
        return cls(data["n"], data.get("value"), Interval.from_dict(data.get("ci")))


def _plain(value: Any) -> Any:
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _frozen_counts(counts: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(counts))


_PERCENTILE_FIELDS = (
    "client_ms",
    "duration_ms",
    "client_ms_warm",
    "client_ms_cold",
    "duration_ms_warm",
    "duration_ms_cold",
)
_FIGURE_FIELDS = (
    "billed_ms_mean",
    "init_ms_mean",
    "max_memory_used_mb",
    "cold_rate",
    "billed_ms_warm",
    "billed_ms_cold",
)


@dataclass(frozen=True)
class VariantSummary:
    """What one variant did over one path (direct or an API Gateway front).

    The fields after ``cost_per_million_usd`` came with results.json version 2; read from a
    version-1 file they are None (not recorded), never a made-up zero.
    """

    variant: str
    path: str
    memory_mb: int | None
    invocations: int
    ok: int
    errors: int
    errors_by_status: Mapping[str, int]
    errors_by_type: Mapping[str, int]
    cold_starts: int | None  # None when no record knew whether it was cold
    cold_known: int  # the n of cold_starts
    client_ms: Percentiles
    duration_ms: Percentiles
    billed_ms_mean: Figure
    init_ms_mean: Figure  # over cold invocations only
    max_memory_used_mb: Figure
    cost_per_million_usd: float | None  # its n is billed_ms_mean.n
    cost_per_million_ci: Interval | None = None  # from billed_ms_mean's interval
    cold_rate: Figure | None = None  # cold_starts / cold_known, Wilson interval
    provisioned_served: int | None = None  # None when no record knew its init_type
    init_type_known: int | None = None  # the n of provisioned_served
    client_ms_warm: Percentiles | None = None
    client_ms_cold: Percentiles | None = None
    duration_ms_warm: Percentiles | None = None
    duration_ms_cold: Percentiles | None = None
    billed_ms_warm: Figure | None = None
    billed_ms_cold: Figure | None = None
    warnings: tuple[str, ...] = ()  # pyperf-style stability checks that failed

    def __post_init__(self) -> None:
        # Read-only views, so a frozen summary cannot be changed through its counters.
        object.__setattr__(self, "errors_by_status", _frozen_counts(self.errors_by_status))
        object.__setattr__(self, "errors_by_type", _frozen_counts(self.errors_by_type))
        object.__setattr__(self, "warnings", tuple(self.warnings))

    def as_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VariantSummary:
        values = dict(data)
        for name in _PERCENTILE_FIELDS:
            if name in values:
                values[name] = Percentiles.from_dict(values[name])
        for name in _FIGURE_FIELDS:
            if name in values:
                values[name] = Figure.from_dict(values[name])
        values["cost_per_million_ci"] = Interval.from_dict(values.get("cost_per_million_ci"))
        values["warnings"] = tuple(values.get("warnings", ()))
        return cls(**values)


@dataclass(frozen=True)
class Concurrency:
    """Concurrency of one variant over one path, per whole second from ``origin_s`` (Unix s).

    ``starts``: invocations started in the second (the offered rate); ``cold_starts``: those of
    them that started cold; ``in_flight``: in flight at the second's first instant; ``mean``: in
    flight on average over the second (busy time).
    The peak within a second is not known (bench/collect/timeline.py says why); ``error`` is
    set, and the series empty, when the records' times cannot be one run.
    """

    variant: str
    path: str
    origin_s: int | None
    starts: tuple[int, ...]
    in_flight: tuple[int, ...]
    mean: tuple[float, ...]
    error: str | None = None
    cold_starts: tuple[int, ...] = ()

    @property
    def max_in_flight(self) -> int:
        return max(self.in_flight, default=0)

    @property
    def max_mean(self) -> float:
        return max(self.mean, default=0.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "path": self.path,
            "origin_s": self.origin_s,
            "max_in_flight": self.max_in_flight,
            "max_mean": self.max_mean,
            "starts": list(self.starts),
            "cold_starts": list(self.cold_starts),
            "in_flight": list(self.in_flight),
            "mean": list(self.mean),
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Concurrency:
        return cls(
            data["variant"],
            data["path"],
            data["origin_s"],
            tuple(data["starts"]),
            tuple(data["in_flight"]),
            tuple(data["mean"]),
            data.get("error"),
            tuple(data.get("cold_starts") or ()),
        )


@dataclass(frozen=True)
class RunSummary:
    """All variants of a run, sorted by memory; the cheapest one (None if none ran ok) and
    whether the data can tell it from the next cheapest."""

    architecture: str
    variants: tuple[VariantSummary, ...]
    cheapest: str | None
    percentile_method: str = PERCENTILE_METHOD
    confidence: float = CONFIDENCE
    cheapest_check: CheapestCheck | None = None
    concurrency: tuple[Concurrency, ...] = ()
    cdfs: tuple[LatencyCdf, ...] = ()  # client latency curves, warm and cold apart
    region: str | None = None  # whose prices the costs are in; None: not recorded (us-east-1's)

    @property
    def prices(self) -> RegionalPrices:
        return prices_for(self.region)

    @property
    def prices_statement(self) -> str:
        """Whose prices the costs are in, naming what is us-east-1's for this run's architecture and paths."""
        return self.prices.statement(self.architecture, {v.path for v in self.variants} or None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "architecture": self.architecture,
            "region": self.region,
            "prices": self.prices_statement,
            "percentile_method": self.percentile_method,
            "confidence": self.confidence,
            "variants": [v.as_dict() for v in self.variants],
            "cheapest": self.cheapest,
            "cheapest_check": _plain(self.cheapest_check),
            "concurrency": [c.as_dict() for c in self.concurrency],
            "cdfs": [c.as_dict() for c in self.cdfs],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSummary:
        return cls(
            architecture=data["architecture"],
            variants=tuple(VariantSummary.from_dict(v) for v in data["variants"]),
            cheapest=data["cheapest"],
            percentile_method=data.get("percentile_method", PERCENTILE_METHOD),
            confidence=data.get("confidence", CONFIDENCE),
            cheapest_check=CheapestCheck.from_dict(data.get("cheapest_check")),
            concurrency=tuple(Concurrency.from_dict(c) for c in data.get("concurrency") or ()),
            cdfs=tuple(LatencyCdf.from_dict(c) for c in data.get("cdfs") or ()),
            # A file from before "region" was written priced everything at us-east-1's: None says so.
            region=data.get("region"),
        )
