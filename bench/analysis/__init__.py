"""Analysis: turn InvocationRecords into summaries with intervals, comparisons and costs."""

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
from bench.analysis.monthly import (
    InvocationProfile,
    LineItem,
    MonthlyCost,
    TrafficProfile,
    invocation_profile,
    monthly_cost,
)
from bench.analysis.separation import CheapestCheck
from bench.analysis.stats import Interval
from bench.analysis.summary import (
    Figure,
    Percentiles,
    RunSummary,
    VariantSummary,
    choose_cheapest,
    rank_by_cost,
    summarize,
)

__all__ = [
    "CheapestCheck",
    "Comparison",
    "Figure",
    "Interval",
    "InvocationProfile",
    "LineItem",
    "MonthlyCost",
    "Percentiles",
    "RunSummary",
    "TrafficProfile",
    "VariantSummary",
    "billed_duration_ms",
    "choose_cheapest",
    "compare_samples",
    "cost_per_million",
    "gb_seconds",
    "init_is_billed",
    "invocation_cost",
    "invocation_profile",
    "monthly_cost",
    "power_tuning_cost",
    "rank_by_cost",
    "summarize",
    "tiered_duration",
]
