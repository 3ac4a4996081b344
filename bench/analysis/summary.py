"""Per-variant summaries of a run: counts, percentiles, means and cost, as plain data.

``summarize`` turns InvocationRecords into a RunSummary, the data the report stage reads.
Each figure carries its n, and a figure with no data is None, never 0: a variant whose
REPORT lines were never joined has no duration, not a duration of zero. Percentiles are
numpy's "linear" method (Hyndman & Fan type 7) over the raw samples for now.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from bench.analysis.cost import arch_prices, cost_per_million
from bench.records import PATHS, STATUSES, InvocationRecord

ERROR_STATUSES: tuple[str, ...] = tuple(s for s in STATUSES if s != "ok")
PERCENTILE_METHOD = "linear"
_VARIANT_MEMORY = re.compile(r"^mem-(\d+)$")


@dataclass(frozen=True)
class Percentiles:
    """p50/p95/p99 of n samples; all three are None when n is 0."""

    n: int
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None

    @classmethod
    def of(cls, values: list[float]) -> Percentiles:
        if not values:
            return cls(n=0)
        p50, p95, p99 = np.percentile(
            np.asarray(values, dtype=float), [50, 95, 99], method=PERCENTILE_METHOD
        )
        return cls(len(values), float(p50), float(p95), float(p99))

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "p50": self.p50, "p95": self.p95, "p99": self.p99}


@dataclass(frozen=True)
class Figure:
    """One value (a mean or a maximum) over n samples; None when n is 0."""

    n: int
    value: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "value": self.value}


def _frozen_counts(counts: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(counts))


@dataclass(frozen=True)
class VariantSummary:
    """What one variant did over one path (direct or an API Gateway front)."""

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

    def __post_init__(self) -> None:
        # Read-only views, so a frozen summary cannot be changed through its counters.
        object.__setattr__(self, "errors_by_status", _frozen_counts(self.errors_by_status))
        object.__setattr__(self, "errors_by_type", _frozen_counts(self.errors_by_type))

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, (Percentiles, Figure)):
                value = value.as_dict()
            elif isinstance(value, Mapping):
                value = dict(value)
            out[name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VariantSummary:
        values = dict(data)
        for name in ("client_ms", "duration_ms"):
            values[name] = Percentiles(**values[name])
        for name in ("billed_ms_mean", "init_ms_mean", "max_memory_used_mb"):
            values[name] = Figure(**values[name])
        return cls(**values)


@dataclass(frozen=True)
class RunSummary:
    """All variants of a run, sorted by memory, and the cheapest one (None if none ran ok)."""

    architecture: str
    variants: tuple[VariantSummary, ...]
    cheapest: str | None
    percentile_method: str = PERCENTILE_METHOD

    def as_dict(self) -> dict[str, Any]:
        return {
            "architecture": self.architecture,
            "percentile_method": self.percentile_method,
            "variants": [v.as_dict() for v in self.variants],
            "cheapest": self.cheapest,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSummary:
        return cls(
            architecture=data["architecture"],
            variants=tuple(VariantSummary.from_dict(v) for v in data["variants"]),
            cheapest=data["cheapest"],
            percentile_method=data.get("percentile_method", PERCENTILE_METHOD),
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
    cold_known: int = 0
    cold: int = 0

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
        if r.cold is not None:
            self.cold_known += 1
            self.cold += r.cold
            if r.cold:
                _append_known(self.init, r.init_ms)


def _append_known(values: list, value: Any) -> None:
    if value is not None:
        values.append(value)


def _mean(values: list[float]) -> Figure:
    return Figure(len(values), float(np.mean(values))) if values else Figure(0)


def _memory_of(variant: str, s: _Samples, memory_by_variant: Mapping[str, int]) -> int | None:
    if s.memory:
        return s.memory.most_common(1)[0][0]
    if variant in memory_by_variant:
        return memory_by_variant[variant]
    match = _VARIANT_MEMORY.match(variant)
    return int(match.group(1)) if match else None


def _summarize_group(
    variant: str, path: str, s: _Samples, architecture: str, memory_by_variant: Mapping[str, int]
) -> VariantSummary:
    memory_mb = _memory_of(variant, s, memory_by_variant)
    billed = _mean(s.billed)
    cost = None
    if billed.value is not None and memory_mb is not None:
        cost = cost_per_million(billed.value, memory_mb, architecture, path)
    invocations = sum(s.statuses.values())
    return VariantSummary(
        variant=variant,
        path=path,
        memory_mb=memory_mb,
        invocations=invocations,
        ok=s.statuses["ok"],
        errors=invocations - s.statuses["ok"],
        errors_by_status={status: s.statuses[status] for status in ERROR_STATUSES},
        errors_by_type=dict(sorted(s.error_types.items())),
        cold_starts=s.cold if s.cold_known else None,
        cold_known=s.cold_known,
        client_ms=Percentiles.of(s.client),
        duration_ms=Percentiles.of(s.duration),
        billed_ms_mean=billed,
        init_ms_mean=_mean(s.init),
        max_memory_used_mb=Figure(len(s.max_memory), max(s.max_memory, default=None)),
        cost_per_million_usd=cost,
    )


def _sort_key(v: VariantSummary) -> tuple:
    # Variants of unknown memory go last rather than failing the comparison.
    return (v.memory_mb is None, v.memory_mb or 0, v.variant, PATHS.index(v.path))


def choose_cheapest(variants: Iterable[VariantSummary], architecture: str) -> str | None:
    """The variant with the lowest Lambda cost per million among those with ok invocations.

    API Gateway charges the same at every memory size, so variants compete on Lambda's own
    charge, from their billed ms pooled over every path they were called through. Ties go
    to the smaller memory size.
    """
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
    ranked = [
        (cost_per_million(billed_sum[name] / billed_n[name], memory[name], architecture),
         memory[name], name)
        for name in billed_n
        if ok[name] > 0
    ]
    return min(ranked)[2] if ranked else None


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
    return RunSummary(architecture, tuple(variants), choose_cheapest(variants, architecture))
