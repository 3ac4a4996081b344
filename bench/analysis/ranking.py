"""Ranking variants by cost, and whether the data can tell the cheapest from the next.

The ranking figure is each variant's Lambda cost per million from its mean billed ms, pooled
over every path it was called through (API Gateway charges the same at every memory size).
The check compares the two cheapest variants' per-call costs (bench/analysis/separation.py),
made from each variant's billed-duration histogram: cost is affine in billed ms, so the
per-call cost sample is the billed sample scaled and shifted (Sample.affine).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

from bench.analysis.cost import cost_per_million, invocation_cost
from bench.analysis.model import VariantSummary
from bench.analysis.sample import Sample
from bench.analysis.separation import CheapestCheck, check_cheapest
from bench.awsfacts import BASE_PRICE_REGION
from bench.collect import Metric


def rank_by_cost(
    variants: Iterable[VariantSummary], architecture: str, *, region: str | None = BASE_PRICE_REGION
) -> list[tuple[float, int, str]]:
    """(Lambda cost per million, memory MB, variant), cheapest first, over variants with ok
    invocations and billed data; billed ms pooled over every path a variant was called
    through. Ties go to the smaller memory size."""
    ok: Counter[str] = Counter()
    billed_sum: dict[str, float] = defaultdict(float)
    billed_n: Counter[str] = Counter()
    memory: dict[str, int] = {}
    for v in variants:
        ok[v.variant] += v.ok
        if v.billed_ms_mean.value is not None and v.memory_mb is not None:
            billed_sum[v.variant] += v.billed_ms_mean.value * v.billed_ms_mean.n
            billed_n[v.variant] += v.billed_ms_mean.n
            memory.setdefault(v.variant, v.memory_mb)
    return sorted(
        (
            cost_per_million(billed_sum[name] / billed_n[name], memory[name], architecture, region=region),
            memory[name],
            name,
        )  # fmt: skip
        for name in billed_n
        if ok[name] > 0
    )


def choose_cheapest(
    variants: Iterable[VariantSummary], architecture: str, *, region: str | None = BASE_PRICE_REGION
) -> str | None:
    """The variant with the lowest Lambda cost per million among those with ok invocations
    (see rank_by_cost); None when no variant qualifies."""
    ranked = rank_by_cost(variants, architecture, region=region)
    return ranked[0][2] if ranked else None


def cost_sample(billed: Sample, memory_mb: int, architecture: str, *, region: str | None = BASE_PRICE_REGION) -> Sample:
    """Per-call Lambda cost per million (USD) of each billed duration in ``billed``."""
    offset = 1e6 * invocation_cost(0.0, memory_mb, architecture, region=region)
    scale = 1e6 * invocation_cost(1.0, memory_mb, architecture, region=region) - offset
    return billed.affine(scale, offset)


def cheapest_check(
    ranked: Sequence[str],
    variants: Sequence[VariantSummary],
    billed_metrics: Mapping[str, list[Metric]],
    architecture: str,
    *,
    region: str | None = BASE_PRICE_REGION,
) -> CheapestCheck | None:
    """The separation check of the cheapest and the runner-up; None with fewer than two ranked."""
    if len(ranked) < 2:
        return None
    memory = {v.variant: v.memory_mb for v in variants if v.memory_mb is not None}
    first, second = ranked[0], ranked[1]
    samples = [
        cost_sample(Sample.from_metrics(billed_metrics[name]), memory[name], architecture, region=region)
        for name in (first, second)
    ]
    return check_cheapest(first, second, *samples)
