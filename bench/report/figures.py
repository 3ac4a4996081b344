"""Which data each chart of the report draws, from the run's summary and the recommendation.

Colours follow the variant (its place in the summary, by memory), the same in every chart. Charts
of one path draw the path of the user's traffic (else direct, else the first path run); the
latency CDFs get one chart per path. With a recommendation, the power-tuning curve and the cost
bars are priced for the user's traffic; without one, as measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from bench.analysis import Concurrency, Interval, RunSummary, VariantSummary
from bench.decide import Recommendation
from bench.records import PATHS

from .charts import (
    Component,
    Curve,
    Lane,
    Stack,
    TuningPoint,
    cdf_chart,
    cold_share_chart,
    stacked_bars,
    timeline_chart,
    tuning_chart,
)
from .charts.svg import fmt_tick
from .components import COMPONENTS, split_at_cold_share, split_measured, split_provisioned
from .decision import pc_option
from .rows import PATH_NAMES, SHORT_PATHS, cheapest_by_path, decision_path, size_label, traffic_path


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    caption: str
    svg: Markup
    wide: bool = False  # takes the page's whole width


def _bounds(interval: Interval | None) -> tuple[float | None, float | None] | None:
    return (interval.lo, interval.hi) if interval is not None and interval.known else None


def fmt_usd_short(value: float) -> str:
    if value >= 10:
        return f"{value:,.2f}"
    return f"{value:.3f}" if value >= 1 else f"{value:.4f}"


def colours(summary: RunSummary) -> dict[str, int]:
    """variant -> its palette index: its place among the summary's variants (sorted by memory)."""
    return {name: i for i, name in enumerate(dict.fromkeys(v.variant for v in summary.variants))}


def _tuning(summary: RunSummary, rec: Recommendation | None) -> Chart | None:
    path = decision_path(summary, rec)
    rows = sorted((v for v in summary.variants if v.path == path and v.memory_mb is not None),
                  key=lambda v: v.memory_mb or 0)  # fmt: skip
    if not rows or path is None:
        return None
    q = int(rec.decision.get("slo_percentile", 95)) if rec is not None else 95
    candidates = {c.variant: c for c in rec.candidates} if rec is not None else {}
    excluded = {i.variant for i in rec.infeasible} if rec is not None else set()
    points = []
    for v in rows:
        c = candidates.get(v.variant)
        if q in (50, 95, 99):
            latency, latency_ci = getattr(v.client_ms, f"p{q}"), _bounds(v.client_ms.interval(f"p{q}"))
        else:  # p90 is the decision's own figure: the summary has no p90, and only its upper bound is used
            latency = c.latency_ms if c else None
            latency_ci = (None, c.latency_upper_ms) if c and c.latency_upper_ms is not None else None
        if rec is not None:
            cost, cost_ci = (c.monthly_usd if c else None), None
        else:
            cost, cost_ci = v.cost_per_million_usd, _bounds(v.cost_per_million_ci)
        points.append(TuningPoint(
            v.memory_mb or 0, v.duration_ms.p50, _bounds(v.duration_ms.p50_ci), latency, latency_ci, cost, cost_ci,
            feasible=v.variant not in excluded,
        ))  # fmt: skip
    pick_name = rec.memory.variant if rec is not None else cheapest_by_path(summary).get(path)
    pick = next((i for i, v in enumerate(rows) if v.variant == pick_name), None)
    slo = rec.decision.get("slo_ms") if rec is not None else None
    cost_name = "USD a month, your traffic" if rec is not None else "USD per 1M calls"
    caption = (
        f"{PATH_NAMES.get(path, path)}. Duration: the REPORT lines' p50; client latency: p{q} of successful calls; "
        "bars: their 95% intervals (order statistics). "
        + ("Cost: each size on demand for your traffic, as the decision priced it (tiers included, no interval). "
           if rec is not None else "Cost: per million calls as measured, bars its 95% interval (Student t). ")
        + ("The band marks the pick." if rec is not None else "The band marks the cheapest size on this path.")
    )  # fmt: skip
    svg = tuning_chart(
        title=f"Duration, latency and cost against memory ({SHORT_PATHS.get(path, path)})",
        points=points, latency_name=f"client p{q}", cost_name=cost_name, cost_fmt=fmt_tick,
        slo_ms=float(slo) if slo is not None else None, pick=pick,
    )  # fmt: skip
    return Chart("chart-tuning", "Power-tuning curve", caption, svg)


def _cdfs(summary: RunSummary, rec: Recommendation | None) -> list[Chart]:
    palette = colours(summary)
    labels = {v.variant: size_label(v) for v in summary.variants}
    slo = rec.decision.get("slo_ms") if rec is not None else None
    out = []
    for path in sorted({c.path for c in summary.cdfs}, key=lambda p: (PATHS.index(p) if p in PATHS else len(PATHS), p)):
        found = sorted(
            (c for c in summary.cdfs if c.path == path), key=lambda c: (palette.get(c.variant, 0), c.cold != "warm")
        )
        curves = [
            Curve(labels.get(c.variant, c.variant), palette.get(c.variant, 0), c.cold == "cold", c.n, c.points)
            for c in found
        ]
        on_path_slo = float(slo) if slo is not None and path == traffic_path(rec) else None
        svg = cdf_chart(title=f"Client latency CDF, {PATH_NAMES.get(path, path)}", curves=curves, slo_ms=on_path_slo)
        caption = (
            f"{PATH_NAMES.get(path, path)}: the share of successful calls answered within x ms, per memory size; "
            "warm calls solid, cold calls dashed (hover a curve for its n)."
        )
        out.append(Chart(f"chart-cdf-{path}", f"Latency CDF, {SHORT_PATHS.get(path, path)}", caption, svg))
    return out


def _lanes(summary: RunSummary) -> list[Lane]:
    """One lane per variant, its paths added up second by second, on the run's common clock."""
    usable = [c for c in summary.concurrency if c.error is None and c.origin_s is not None and c.mean]
    if not usable:
        return []
    origin = min(c.origin_s for c in usable if c.origin_s is not None)
    by_variant: dict[str, list[Concurrency]] = {}
    for c in usable:
        by_variant.setdefault(c.variant, []).append(c)
    labels = {v.variant: size_label(v) for v in summary.variants}
    palette = colours(summary)
    lanes = []
    for variant in sorted(by_variant, key=lambda name: palette.get(name, len(palette))):
        entries = by_variant[variant]
        start = min((c.origin_s or 0) - origin for c in entries)
        length = max((c.origin_s or 0) - origin + len(c.mean) for c in entries) - start
        mean, cold = [0.0] * length, [0] * length
        for c in entries:
            at = (c.origin_s or 0) - origin - start
            for i, value in enumerate(c.mean):
                mean[at + i] += value
            for i, count in enumerate(c.cold_starts):
                cold[at + i] += count
        lanes.append(Lane(labels.get(variant, variant), palette.get(variant, 0), start, mean, cold))
    return lanes


def _timeline(summary: RunSummary) -> Chart | None:
    lanes = _lanes(summary)
    if not lanes:
        return None
    caption = (
        "Above: calls in flight, averaged over each second (all paths of a memory size added up). Below: the "
        "seconds with cold starts, each tick as tall as its count. This is the benchmark's own load, "
        "not your traffic: its cold starts are how the run measured them."
    )
    svg = timeline_chart(title="Concurrency and cold starts over the run", lanes=lanes)
    return Chart("chart-timeline", "Concurrency and cold starts over time", caption, svg, wide=True)


def _cost_stacks(summary: RunSummary, rec: Recommendation | None) -> tuple[list[Stack], str]:
    arch, region = summary.architecture, summary.region
    path = traffic_path(rec)
    if rec is None or not rec.candidates or path is None:
        cheapest = cheapest_by_path(summary)
        vary = len({v.path for v in summary.variants}) > 1
        stacks = []
        for v in summary.variants:
            split = split_measured(v, arch, region)
            label = size_label(v) + (f"\n{SHORT_PATHS.get(v.path, v.path)}" if vary else "")
            mark = "cheapest" if cheapest.get(v.path) == v.variant else None
            stacks.append(Stack(label, split.parts() if split else (None,) * len(COMPONENTS), mark))
        return stacks, "as measured (the benchmark's own cold-start rate)"
    by_key: dict[str, VariantSummary] = {v.variant: v for v in summary.variants if v.path == path}
    stacks = []
    for c in sorted(rec.candidates, key=lambda c: c.memory_mb):
        row = by_key.get(c.variant)
        split = split_at_cold_share(row, arch, c.predicted_cold_share, region) if row is not None else None
        mark = "pick" if c.variant == rec.memory.variant else None
        stacks.append(Stack(f"{c.memory_mb} MB", split.parts() if split else (None,) * len(COMPONENTS), mark))
    pc = rec.provisioned_concurrency
    picked = by_key.get(rec.memory.variant or "")
    if pc is not None and pc.count > 0 and picked is not None:
        option = pc_option(pc)
        split = split_provisioned(
            picked, arch, count=pc.count, hours_per_day=option.hours_per_day if option else 24.0,
            cold_share=pc.predicted_cold_share,
            requests_per_month=float(rec.traffic.get("requests_per_month") or 0.0), region=region,
        )  # fmt: skip
        label = f"{size_label(picked)}\n+ PC {pc.count}"
        stacks.append(Stack(label, split.parts() if split else (None,) * len(COMPONENTS), "with PC"))
    return stacks, f"for your traffic on {path}, at each size's predicted cold share"


def _cost(summary: RunSummary, rec: Recommendation | None) -> Chart | None:
    stacks, basis = _cost_stacks(summary, rec)
    if not stacks:
        return None
    components = [Component(label, cls) for _, label, cls in COMPONENTS]
    svg = stacked_bars(
        title=f"Cost per million calls by component, {basis}", stacks=stacks, components=components,
        axis_label="USD per 1M calls", fmt=fmt_usd_short,
    )  # fmt: skip
    caption = (
        f"USD per million calls, {basis}; {summary.prices_statement}; first duration tier, no free tier. INIT is "
        "the part of billed duration spent initialising cold starts; how each part is computed is under "
        "\u201cHow these figures are made\u201d."
    )
    return Chart("chart-cost", "Cost by component", caption, svg, wide=len(stacks) > 6)


def _cold_share(summary: RunSummary, rec: Recommendation | None) -> Chart | None:
    pc = rec.provisioned_concurrency if rec is not None else None
    if rec is None or pc is None or not pc.curve:
        return None
    budget = rec.decision.get("cold_start_budget")
    size = f"{rec.memory.memory_mb} MB" if rec.memory.memory_mb is not None else rec.memory.variant
    svg = cold_share_chart(
        title=f"Cold share of your traffic against provisioned concurrency, {size}",
        curve=pc.curve, budget=float(budget) if budget is not None else None, pick=pc.count,
    )  # fmt: skip
    caption = (
        f"{size}: the share of your traffic's requests that find no idle environment, simulated for each N of "
        "provisioned concurrency; the dashed line is the cold-start budget, the ring the recommended N."
    )
    return Chart("chart-coldshare", "Cold share against provisioned concurrency", caption, svg)


def report_charts(summary: RunSummary, rec: Recommendation | None) -> list[Chart]:
    """The charts this run and recommendation can draw, in the page's order."""
    found: Sequence[Chart | None] = (
        _tuning(summary, rec),
        _cold_share(summary, rec),
        _cost(summary, rec),
        *_cdfs(summary, rec),
        _timeline(summary),
    )
    return [chart for chart in found if chart is not None]
