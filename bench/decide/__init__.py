"""Decide: recommend a memory size and a provisioned concurrency for the user's own traffic.

Between analysis and report: it takes the run's RunSummary (figures and concurrency), the
collector's aggregates (duration distributions) and the user's [traffic] and [decision]
settings, and returns a Recommendation (plain data) that the report only presents.
"""

from bench.decide.model import (
    Candidate,
    Infeasible,
    MemoryPick,
    ProvisionedOption,
    ProvisionedPick,
    Recommendation,
)
from bench.decide.recommend import decide, no_decision
from bench.decide.settings import DecisionSettings, TrafficSettings

__all__ = [
    "Candidate",
    "DecisionSettings",
    "Infeasible",
    "MemoryPick",
    "ProvisionedOption",
    "ProvisionedPick",
    "Recommendation",
    "TrafficSettings",
    "decide",
    "no_decision",
]
