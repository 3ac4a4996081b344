"""Analysis: turn InvocationRecords into summaries, costs and (later) recommendations."""

from bench.analysis.cost import cost_per_million, gb_seconds
from bench.analysis.summary import (
    Figure,
    Percentiles,
    RunSummary,
    VariantSummary,
    choose_cheapest,
    summarize,
)

__all__ = [
    "Figure",
    "Percentiles",
    "RunSummary",
    "VariantSummary",
    "choose_cheapest",
    "cost_per_million",
    "gb_seconds",
    "summarize",
]
