"""Per-variant figures of a run, from the collector's aggregates: the one source of every number.

``summarize`` turns a RunStats (bench/collect/stats.py: per (variant, path, cold) histograms,
exact moments and counts, and per (variant, path) concurrency) into a RunSummary, the data the
report and decision stages read. results.json, summary.json (``key_summary``), the HTML report
and the Locust tab all take their figures from here, so one figure is computed one way.

Each figure carries its n and, where one can be computed, its 95% interval (the method is
named in the interval; see bench.analysis.stats). A figure with no data is None, never 0: a
variant whose REPORT lines were never joined has no duration, not a duration of zero. Client
latency counts ``ok`` invocations only (a fast 429 is not a fast invocation); latency and
billed duration are also split into warm and cold invocations, so cold starts can be read
against latency and cost; invocations whose coldness is unknown are in neither. Percentiles
follow bench/analysis/sample.py's one rule (nearest rank).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from bench.analysis.cdf import latency_cdfs
from bench.analysis.cost import PROVISIONED, arch_prices, cost_per_million
from bench.analysis.model import Concurrency, Figure, Percentiles, RunSummary, VariantSummary
from bench.analysis.ranking import cheapest_check, rank_by_cost
from bench.analysis.sample import Sample
from bench.analysis.stats import UNSTABLE, Interval, mean_ci, proportion_ci, stability_warnings
from bench.collect import KeyStats, Metric, RunStats, build_stats
from bench.records import PATHS, STATUSES, InvocationRecord

ERROR_STATUSES: tuple[str, ...] = tuple(s for s in STATUSES if s != "ok")
KEY_PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
_VARIANT_MEMORY = re.compile(r"^mem-(\d+)$")


class _Group:
    """The keys of one (variant, path): their stats by cold label, and all of them added up."""

    def __init__(self) -> None:
        self.by_cold: dict[str, KeyStats] = {}
        self.total = KeyStats()

    def add(self, cold: str, stats: KeyStats) -> None:
        self.by_cold[cold] = stats
        self.total.merge(stats)

    def sample(self, metric: str, *colds: str) -> Sample:
        """One metric over the given cold labels (all of them when none is given)."""
        labels = colds or tuple(self.by_cold)
        return Sample.from_metrics(
            self.by_cold[c].metrics[metric] for c in labels if c in self.by_cold and metric in self.by_cold[c].metrics
        )

    def records(self, cold: str) -> int:
        return self.by_cold[cold].records if cold in self.by_cold else 0


def _mean(sample: Sample) -> Figure:
    if not sample.n:
        return Figure(0)
    # Durations cannot be negative: clip the interval there.
    return Figure(sample.n, sample.mean, mean_ci(sample, floor=0.0))


def _cold_rate(group: _Group) -> Figure:
    cold = group.records("cold")
    known = cold + group.records("warm")
    if not known:
        return Figure(0)
    return Figure(known, cold / known, proportion_ci(cold, known))


def _memory_of(variant: str, group: _Group, memory_by_variant: Mapping[str, int]) -> int | None:
    if group.total.memory:
        return max(group.total.memory.items(), key=lambda item: (item[1], -item[0]))[0]
    if variant in memory_by_variant:
        return memory_by_variant[variant]
    match = _VARIANT_MEMORY.match(variant)
    return int(match.group(1)) if match else None


def _cost(
    billed: Figure, memory_mb: int | None, architecture: str, path: str, region: str | None
) -> tuple[float | None, Interval | None]:
    """Cost per million and its interval; cost is affine in the mean billed ms, so the
    mean's Student t interval maps onto it exactly (clipped at 0 ms)."""
    if billed.value is None or memory_mb is None:
        return None, None
    cost = cost_per_million(billed.value, memory_mb, architecture, path, region=region)
    ci = billed.ci
    if ci is None or ci.lo is None or ci.hi is None:
        return cost, ci  # unknown, with the mean's reason
    lo, hi = (cost_per_million(max(0.0, ms), memory_mb, architecture, path, region=region) for ms in (ci.lo, ci.hi))
    return cost, Interval(lo, hi, ci.method, ci.confidence)


def _warnings(group: _Group) -> tuple[str, ...]:
    # Warm duration is the function's own compute, with neither network nor INIT in it;
    # without REPORT lines, warm client latency is the best there is.
    for label, metric in (("warm duration", "duration_ms"), ("warm client latency", "client_ms")):
        sample = group.sample(metric, "warm")
        if sample.n >= 2:
            return tuple(f"{label}: {UNSTABLE}: {w}" for w in stability_warnings(sample))
    return ()


def _summarize_group(
    variant: str, path: str, group: _Group, architecture: str, memory_by_variant: Mapping[str, int],
    region: str | None,
) -> VariantSummary:  # fmt: skip
    total = group.total
    memory_mb = _memory_of(variant, group, memory_by_variant)
    billed = _mean(group.sample("billed_ms"))
    cost, cost_ci = _cost(billed, memory_mb, architecture, path, region)
    known_types = sum(total.init_types.values())
    cold_rate = _cold_rate(group)
    return VariantSummary(
        variant=variant,
        path=path,
        memory_mb=memory_mb,
        invocations=total.records,
        ok=total.statuses["ok"],
        errors=total.records - total.statuses["ok"],
        errors_by_status={status: total.statuses.get(status, 0) for status in ERROR_STATUSES},
        errors_by_type=dict(sorted(total.error_types.items())),
        cold_starts=group.records("cold") if cold_rate.n else None,
        cold_known=cold_rate.n,
        client_ms=Percentiles.of(group.sample("client_ms")),
        duration_ms=Percentiles.of(group.sample("duration_ms")),
        billed_ms_mean=billed,
        init_ms_mean=_mean(group.sample("init_ms", "cold")),
        max_memory_used_mb=Figure(total.max_memory_n, total.max_memory_mb),
        cost_per_million_usd=cost,
        cost_per_million_ci=cost_ci,
        cold_rate=cold_rate,
        provisioned_served=total.init_types.get(PROVISIONED, 0) if known_types else None,
        init_type_known=known_types,
        client_ms_warm=Percentiles.of(group.sample("client_ms", "warm")),
        client_ms_cold=Percentiles.of(group.sample("client_ms", "cold")),
        duration_ms_warm=Percentiles.of(group.sample("duration_ms", "warm")),
        duration_ms_cold=Percentiles.of(group.sample("duration_ms", "cold")),
        billed_ms_warm=_mean(group.sample("billed_ms", "warm")),
        billed_ms_cold=_mean(group.sample("billed_ms", "cold")),
        warnings=_warnings(group),
    )


def _sort_key(v: VariantSummary) -> tuple[bool, int, str, int]:
    # Variants of unknown memory go last rather than failing the comparison.
    return (v.memory_mb is None, v.memory_mb or 0, v.variant, PATHS.index(v.path))


def _concurrency(stats: RunStats) -> tuple[Concurrency, ...]:
    out = []
    for variant, path in sorted(stats.timelines):
        try:
            series = stats.timelines[(variant, path)].series()
        except ValueError as err:
            out.append(Concurrency(variant, path, None, (), (), (), str(err)))
            continue
        out.append(
            Concurrency(
                variant,
                path,
                series["origin_s"],
                tuple(series["starts"]),
                tuple(series["in_flight"]),
                tuple(series["mean"]),
                cold_starts=tuple(series["cold_starts"]),
            )
        )
    return tuple(out)


def summarize(
    source: RunStats | Iterable[InvocationRecord],
    *,
    architecture: str,
    memory_by_variant: Mapping[str, int] | None = None,
    region: str | None = None,
) -> RunSummary:
    """Summarise a run per (variant, path), from its RunStats (or records, folded into one).

    A variant's memory comes from its records' Memory Size, else ``memory_by_variant``,
    else its name (``mem-512``). Costs are in ``region``'s prices (None: the run recorded no
    region; us-east-1's, and the summary's ``prices`` says so). ValueError for an
    architecture awsfacts has no prices for.
    """
    arch_prices(architecture, region)  # fail on a bad architecture even when nothing was billed
    stats = source if isinstance(source, RunStats) else build_stats(source)
    stats.flush()
    groups: dict[tuple[str, str], _Group] = defaultdict(_Group)
    for key, key_stats in stats.keys.items():
        groups[(key.variant, key.path)].add(key.cold, key_stats)
    memory = dict(memory_by_variant or {})
    variants = sorted(
        (
            _summarize_group(variant, path, group, architecture, memory, region)
            for (variant, path), group in groups.items()
        ),
        key=_sort_key,
    )
    ranked = [name for _, _, name in rank_by_cost(variants, architecture, region=region)]
    billed_by_variant: dict[str, list[Metric]] = defaultdict(list)
    for (variant, _path), group in groups.items():
        billed_by_variant[variant] += [
            s.metrics["billed_ms"] for s in group.by_cold.values() if "billed_ms" in s.metrics
        ]
    check = cheapest_check(ranked, variants, billed_by_variant, architecture, region=region)
    return RunSummary(
        architecture,
        tuple(variants),
        ranked[0] if ranked else None,
        cheapest_check=check,
        concurrency=_concurrency(stats),
        cdfs=latency_cdfs(stats),
        region=region,
    )


def key_summary(stats: RunStats) -> list[dict[str, Any]]:
    """summary.json's per-key figures: counts, and per metric count, mean, min, percentiles, max (ms)."""
    stats.flush()
    out = []
    for key in sorted(stats.keys):
        key_stats = stats.keys[key]
        metrics = {}
        for name, metric in sorted(key_stats.metrics.items()):
            sample = Sample.from_metric(metric)
            metrics[name] = {
                "count": sample.n,
                "mean": sample.mean,
                "min": sample.minimum,
                **{f"p{p:g}": sample.percentile(p) for p in KEY_PERCENTILES},
                "max": sample.maximum,
                "clamped": metric.clamped,
            }
        out.append(
            {
                **key._asdict(),
                "records": key_stats.records,
                "statuses": dict(key_stats.statuses),
                "error_types": dict(sorted(key_stats.error_types.items())),
                "init_types": dict(sorted(key_stats.init_types.items())),
                "max_memory_mb": key_stats.max_memory_mb,
                "metrics": metrics,
            }
        )
    return out
