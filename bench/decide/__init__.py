"""Decide: recommend a memory size and a provisioned concurrency for the user's own traffic.

Between analysis and report: it takes the run's RunSummary (figures and concurrency), the
collector's aggregates (duration distributions) and the user's [traffic] and [decision]
settings, and returns a Recommendation (plain data) that the report only presents.

``decide`` and ``no_decision`` load on first use: bench/config.py reads the settings from here,
and reading bench.toml (or refusing it in one line) must not wait for scipy and the simulator.
"""

from typing import TYPE_CHECKING, Any

from bench.decide.model import (
    Candidate,
    Infeasible,
    MemoryPick,
    ProvisionedOption,
    ProvisionedPick,
    Recommendation,
)
from bench.decide.settings import DecisionSettings, TrafficSettings

if TYPE_CHECKING:
    from bench.decide.recommend import decide, no_decision

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


def __getattr__(name: str) -> Any:
    if name in ("decide", "no_decision"):
        from bench.decide import recommend

        return getattr(recommend, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
