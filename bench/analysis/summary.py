"""Per-variant summaries of a run: counts, percentiles, means and cost, each with n and interval.

``summarize`` turns InvocationRecords into a RunSummary, the data the report stage reads.
Each figure carries its n and, where one can be computed, its 95% interval (the method is
named in the interval; see bench.analysis.stats). A figure with no data is None, never 0:
a variant whose REPORT lines were never joined has no duration, not a duration of zero.
Latency and billed duration are also split into warm and cold invocations, so cold starts
can be read against latency and cost; invocations whose coldness is unknown are in neither.
Percentile point estimates are numpy's "linear" method (Hyndman & Fan type 7).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

import numpy as np

from bench.analysis.cost import PROVISIONED, arch_prices, cost_per_million, invocation_cost
from bench.analysis.separation import CheapestCheck, check_cheapest
from bench.analysis.stats import (
    CONFIDENCE,
    PERCENTILE_METHOD,
    UNSTABLE,
    Interval,
    mean_ci,
    proportion_ci,
    quantile_ci,
    stability_warnings,
)
from bench.records import PATHS, STATUSES, InvocationRecord

ERROR_STATUSES: tuple[str, ...] = tuple(s for s in STATUSES if s != "ok")
_VARIANT_MEMORY = re.compile(r"^mem-(\d+)$")
_QUANTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


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
    def of(cls, values: Sequence[float], confidence: float = CONFIDENCE) -> Percentiles:
        if not len(values):
            return cls(n=0)
        array = np.asarray(values, dtype=float)
        points = np.percentile(array, [100 * q for _, q in _QUANTILES], method=PERCENTILE_METHOD)
        intervals = [quantile_ci(array, q, confidence) for _, q in _QUANTILES]
        return cls(len(array), *map(float, points), *intervals)

    def interval(self, name: str) -> Interval | None:
        """The interval of "p50", "p95" or "p99"."""
        return getattr(self, f"{name}_ci")

    def as_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Percentiles | None:
        if data is None:
            return None
        values = dict(data)
        for name, _ in _QUANTILES:  # version-1 files carry no intervals
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


_PERCENTILE_FIELDS = ("client_ms", "duration_ms", "client_ms_warm", "client_ms_cold",
                      "duration_ms_warm", "duration_ms_cold")
_FIGURE_FIELDS = ("billed_ms_mean", "init_ms_mean", "max_memory_used_mb", "cold_rate",
                  "billed_ms_warm", "billed_ms_cold")


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
class RunSummary:
    """All variants of a run, sorted by memory; the cheapest one (None if none ran ok) and
    whether the data can tell it from the next cheapest."""

    architecture: str
    variants: tuple[VariantSummary, ...]
    cheapest: str | None
    percentile_method: str = PERCENTILE_METHOD
    confidence: float = CONFIDENCE
    cheapest_check: CheapestCheck | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "architecture": self.architecture,
            "percentile_method": self.percentile_method,
            "confidence": self.confidence,
            "variants": [v.as_dict() for v in self.variants],
            "cheapest": self.cheapest,
            "cheapest_check": _plain(self.cheapest_check),
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
        )


@dataclass
class _Samples:
    """The raw values of one (variant, path) group, gathered in one pass over the records."""

    statuses: Counter = field(default_factory=Counter)
    error_types: Counter = field(default_factory=Counter)
    memory: Counter = field(default_factory=Counter)
    client: list[float] = field(default_factory=list)
    duration: list[float] = field(default_factory=list)
    billed: list[int] = field(default_factory=list)
    init: list[float] = field(default_factory=list)
    max_memory: list[int] = field(default_factory=list)
    # keyed by cold: True / False; records of unknown coldness are in neither
    client_by: dict = field(default_factory=lambda: {True: [], False: []})
    duration_by: dict = field(default_factory=lambda: {True: [], False: []})
    billed_by: dict = field(default_factory=lambda: {True: [], False: []})
    init_types: Counter = field(default_factory=Counter)

    def add(self, r: InvocationRecord) -> None:
        self.statuses[r.status] += 1
        if r.status != "ok" and r.error_type is not None:
            self.error_types[r.error_type] += 1
        self.client.append(r.client_ms)
        _append_known(self.duration, r.duration_ms)
        _append_known(self.billed, r.billed_ms)
        _append_known(self.max_memory, r.max_memory_mb)
        if r.memory_mb is not None:
            self.memory[r.memory_mb] += 1
        if r.init_type is not None:
            self.init_types[r.init_type] += 1
        if r.cold is not None:
            self.client_by[r.cold].append(r.client_ms)
            _append_known(self.duration_by[r.cold], r.duration_ms)
            _append_known(self.billed_by[r.cold], r.billed_ms)
            if r.cold:
                _append_known(self.init, r.init_ms)


def _append_known(values: list, value: Any) -> None:
    if value is not None:
        values.append(value)


def _mean(values: Sequence[float]) -> Figure:
    if not values:
        return Figure(0)
    # Durations cannot be negative: clip the interval there.
    return Figure(len(values), float(np.mean(values)), mean_ci(values, floor=0.0))


def _cold_rate(s: _Samples) -> Figure:
    cold, known = len(s.client_by[True]), len(s.client_by[True]) + len(s.client_by[False])
    if not known:
        return Figure(0)
    return Figure(known, cold / known, proportion_ci(cold, known))


def _memory_of(variant: str, s: _Samples, memory_by_variant: Mapping[str, int]) -> int | None:
    if s.memory:
        return s.memory.most_common(1)[0][0]
    if variant in memory_by_variant:
        return memory_by_variant[variant]
    match = _VARIANT_MEMORY.match(variant)
    return int(match.group(1)) if match else None


def _cost(billed: Figure, memory_mb: int | None, architecture: str, path: str) -> tuple:
    """Cost per million and its interval; cost is affine in the mean billed ms, so the
    mean's Student t interval maps onto it exactly (clipped at 0 ms)."""
    if billed.value is None or memory_mb is None:
        return None, None
    cost = cost_per_million(billed.value, memory_mb, architecture, path)
    ci = billed.ci
    if ci is None or not ci.known:
        return cost, ci  # unknown, with the mean's reason
    lo, hi = (cost_per_million(max(0.0, ms), memory_mb, architecture, path) for ms in (ci.lo, ci.hi))
    return cost, Interval(lo, hi, ci.method, ci.confidence)


def _warnings(s: _Samples) -> tuple[str, ...]:
    # Warm duration is the function's own compute, with neither network nor INIT in it;
    # without REPORT lines, warm client latency is the best there is.
    for label, values in (("warm duration", s.duration_by[False]), ("warm client latency", s.client_by[False])):
        if len(values) >= 2:
            return tuple(f"{label}: {UNSTABLE}: {w}" for w in stability_warnings(values))
    return ()


def _summarize_group(
    variant: str, path: str, s: _Samples, architecture: str, memory_by_variant: Mapping[str, int]
) -> VariantSummary:
    memory_mb = _memory_of(variant, s, memory_by_variant)
    billed = _mean(s.billed)
    cost, cost_ci = _cost(billed, memory_mb, architecture, path)
    invocations = sum(s.statuses.values())
    known_types = sum(s.init_types.values())
    cold_rate = _cold_rate(s)
    return VariantSummary(
        variant=variant, path=path, memory_mb=memory_mb, invocations=invocations,
        ok=s.statuses["ok"], errors=invocations - s.statuses["ok"],
        errors_by_status={status: s.statuses[status] for status in ERROR_STATUSES},
        errors_by_type=dict(sorted(s.error_types.items())),
        cold_starts=len(s.client_by[True]) if cold_rate.n else None, cold_known=cold_rate.n,
        client_ms=Percentiles.of(s.client), duration_ms=Percentiles.of(s.duration),
        billed_ms_mean=billed, init_ms_mean=_mean(s.init),
        max_memory_used_mb=Figure(len(s.max_memory), max(s.max_memory, default=None)),
        cost_per_million_usd=cost, cost_per_million_ci=cost_ci, cold_rate=cold_rate,
        provisioned_served=s.init_types[PROVISIONED] if known_types else None,
        init_type_known=known_types,
        client_ms_warm=Percentiles.of(s.client_by[False]), client_ms_cold=Percentiles.of(s.client_by[True]),
        duration_ms_warm=Percentiles.of(s.duration_by[False]),
        duration_ms_cold=Percentiles.of(s.duration_by[True]),
        billed_ms_warm=_mean(s.billed_by[False]), billed_ms_cold=_mean(s.billed_by[True]),
        warnings=_warnings(s),
    )


def _sort_key(v: VariantSummary) -> tuple:
    # Variants of unknown memory go last rather than failing the comparison.
    return (v.memory_mb is None, v.memory_mb or 0, v.variant, PATHS.index(v.path))


def rank_by_cost(variants: Iterable[VariantSummary], architecture: str) -> list[tuple[float, int, str]]:
    """(Lambda cost per million, memory MB, variant), cheapest first, over variants with ok
    invocations and billed data; billed ms pooled over every path a variant was called
    through, since API Gateway charges the same at every memory size. Ties go to the
    smaller memory size."""
    ok: Counter = Counter()
    billed_sum: dict[str, float] = defaultdict(float)
    billed_n: Counter = Counter()
    memory: dict[str, int] = {}
    for v in variants:
        ok[v.variant] += v.ok
        if v.billed_ms_mean.value is not None and v.memory_mb is not None:
            billed_sum[v.variant] += v.billed_ms_mean.value * v.billed_ms_mean.n
            billed_n[v.variant] += v.billed_ms_mean.n
            memory.setdefault(v.variant, v.memory_mb)
    return sorted(
        (cost_per_million(billed_sum[name] / billed_n[name], memory[name], architecture),
         memory[name], name)
        for name in billed_n
        if ok[name] > 0
    )


def choose_cheapest(variants: Iterable[VariantSummary], architecture: str) -> str | None:
    """The variant with the lowest Lambda cost per million among those with ok invocations
    (see rank_by_cost); None when no variant qualifies."""
    ranked = rank_by_cost(variants, architecture)
    return ranked[0][2] if ranked else None


def _cost_samples(groups: Mapping[tuple[str, str], _Samples], variants: Sequence[VariantSummary],
                  architecture: str) -> dict[str, list[float]]:
    """Each variant's Lambda cost per million as if every call were like this one, per call,
    pooled over paths: the samples whose mean is the ranking figure."""
    memory = {v.variant: v.memory_mb for v in variants if v.memory_mb is not None}
    samples: dict[str, list[float]] = defaultdict(list)
    for (variant, _path), s in groups.items():
        if variant in memory:
            samples[variant].extend(1e6 * invocation_cost(ms, memory[variant], architecture)
                                    for ms in s.billed)
    return samples


def summarize(
    records: Iterable[InvocationRecord],
    *,
    architecture: str,
    memory_by_variant: dict[str, int] | None = None,
) -> RunSummary:
    """Summarise records per (variant, path); reads ``records`` once and never changes it.

    A variant's memory comes from its records' Memory Size, else ``memory_by_variant``,
    else its name (``mem-512``). ValueError for an architecture awsfacts has no prices for.
    """
    arch_prices(architecture)  # fail on a bad architecture even when nothing was billed
    groups: dict[tuple[str, str], _Samples] = defaultdict(_Samples)
    for record in records:
        groups[(record.variant, record.path)].add(record)
    memory_by_variant = dict(memory_by_variant or {})
    variants = sorted(
        (_summarize_group(variant, path, samples, architecture, memory_by_variant)
         for (variant, path), samples in groups.items()),
        key=_sort_key,
    )
    ranked = [name for _, _, name in rank_by_cost(variants, architecture)]
    check = None
    if len(ranked) >= 2:
        samples = _cost_samples(groups, variants, architecture)
        check = check_cheapest(ranked[0], ranked[1], samples[ranked[0]], samples[ranked[1]])
    return RunSummary(architecture, tuple(variants), ranked[0] if ranked else None,
                      cheapest_check=check)
