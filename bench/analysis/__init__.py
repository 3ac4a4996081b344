"""Analysis: turn the collector's aggregates into figures with intervals, comparisons and costs.

``summarize`` is the one source of every figure (results.json, summary.json, the report, the
Locust tab); the statistics take Samples (bench/analysis/sample.py), histograms with exact
moments, so they cost the same for ten invocations and for ten million.
"""

from bench.analysis.cdf import LatencyCdf
from bench.analysis.compare import Comparison, compare_samples
from bench.analysis.cost import (
    billed_duration_ms,
    cost_per_million,
    gb_seconds,
    init_is_billed,
    invocation_cost,
    power_tuning_cost,
    tiered_duration,
)
from bench.analysis.model import Concurrency, Figure, Percentiles, RunSummary, VariantSummary
from bench.analysis.monthly import (
    InvocationProfile,
    LineItem,
    MonthlyCost,
    TrafficProfile,
    invocation_profile,
    monthly_cost,
)
from bench.analysis.paths import GATEWAY_PATHS, PathComparison, compare_paths
from bench.analysis.pricing import RegionalPrices, prices_for
from bench.analysis.ranking import choose_cheapest, rank_by_cost
from bench.analysis.sample import PERCENTILE_RULE, Sample
from bench.analysis.separation import CheapestCheck
from bench.analysis.stats import CONFIDENCE, Interval, min_n_for_quantile_ci
from bench.analysis.summary import key_summary, summarize

__all__ = [
    "CONFIDENCE",
    "GATEWAY_PATHS",
    "PERCENTILE_RULE",
    "CheapestCheck",
    "Comparison",
    "Concurrency",
    "Figure",
    "Interval",
    "LatencyCdf",
    "InvocationProfile",
    "LineItem",
    "MonthlyCost",
    "PathComparison",
    "Percentiles",
    "RegionalPrices",
    "RunSummary",
    "Sample",
    "TrafficProfile",
    "VariantSummary",
    "billed_duration_ms",
    "choose_cheapest",
    "compare_paths",
    "compare_samples",
    "cost_per_million",
    "gb_seconds",
    "init_is_billed",
    "invocation_cost",
    "invocation_profile",
    "key_summary",
    "min_n_for_quantile_ci",
    "monthly_cost",
    "power_tuning_cost",
    "prices_for",
    "rank_by_cost",
    "summarize",
    "tiered_duration",
]
