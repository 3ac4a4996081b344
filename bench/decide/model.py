"""The Recommendation: what the decision stage hands the report, as plain, frozen data.

Three answers, each with its evidence: which memory size (``MemoryPick``), how much provisioned
concurrency (``ProvisionedPick``, with the priced options and the simulated cold share against
N), and which variants could not be chosen and why (``Infeasible``). ``as_dict`` is what
results.json stores under "recommendation" (the README documents the keys).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Infeasible:
    """A variant that is never recommended, and why (its error rate, or too little data)."""

    variant: str
    memory_mb: int | None
    reason: str


@dataclass(frozen=True)
class Candidate:
    """One feasible variant on the traffic's path, with the figures the strategies weigh."""

    variant: str
    memory_mb: int
    usd_per_invocation: float  # priced for the user's traffic: warm and cold by its predicted cold share
    monthly_usd: float  # on demand, for the user's monthly volume
    predicted_cold_share: float  # on demand (no provisioned concurrency), from the simulation
    duration_ms: float | None  # aws-lambda-power-tuning's average: trimmed mean (20% off each end)
    latency_ms: float | None  # the SLO percentile of client latency, ok calls, on the traffic's path
    latency_upper_ms: float | None  # its 95% upper bound (order statistics); None when n is too small


@dataclass(frozen=True)
class MemoryPick:
    variant: str | None  # None: no feasible variant
    memory_mb: int | None
    strategy: str
    separated: bool | None  # can the data tell the pick from the runner-up? None: nothing to compare
    reason: str  # one sentence: why this size
    runner_up: str | None = None
    sensitivity: str | None = None  # what would have to move to change the pick
    power_tuning_pick: str | None = None  # what aws-lambda-power-tuning's own formula would pick


@dataclass(frozen=True)
class ProvisionedOption:
    """One way to run the picked size for the user's traffic, priced and simulated."""

    label: str  # "on demand", "always on", "peak hours"
    count: int  # provisioned environments (0 on demand)
    hours_per_day: float  # when they are provisioned (24 always on)
    monthly_usd: float
    predicted_cold_share: float
    predicted_p99_ms: float | None  # client latency, warm and cold mixed as simulated


@dataclass(frozen=True)
class ProvisionedPick:
    count: int  # the smallest N that keeps the cold share within the budget (0: on demand does)
    monthly_usd: float  # with that N
    on_demand_monthly_usd: float  # with 0
    break_even_utilisation: float  # PC pays when its environments are busy more than this share
    predicted_cold_share: float  # with that N
    reason: str
    case: str  # steady | sparse | bursty | trace: which kind of traffic, said in the report
    options: tuple[ProvisionedOption, ...] = ()
    curve: tuple[tuple[int, float], ...] = ()  # (N, simulated cold share), for the chart
    sensitivity: str | None = None  # e.g. "PC stops paying below 41 rps"


@dataclass(frozen=True)
class Recommendation:
    memory: MemoryPick
    provisioned_concurrency: ProvisionedPick | None  # None when no variant is feasible
    infeasible: tuple[Infeasible, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    traffic: dict[str, Any] = field(default_factory=dict)  # the settings it decided for
    decision: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # assumptions, said once

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["infeasible"] = [asdict(i) for i in self.infeasible]
        return out
