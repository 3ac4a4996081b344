"""What the user tells the decision stage: their production traffic, and how to choose.

``[traffic]`` describes the user's own traffic, not the benchmark's load: the benchmark's users,
rate and cold starts are a measuring device, and the decision prices and simulates this instead.
``[decision]`` says how to choose a memory size and how many cold starts are acceptable. Every key
is optional; the defaults are documented here and in the README. bench/config.py reads both
tables from bench.toml (or a file holding only them) and names the file and field in any error;
the rules themselves live here, once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from bench.records import PATHS

STRATEGIES = ("cost", "speed", "balanced", "slo")
SLO_PERCENTILES = (50, 90, 95, 99)
SECONDS_PER_DAY = 86_400
# AWS bills by the month; its pricing examples use 730 hours, which is 365 days / 12.
DAYS_PER_MONTH = 730 / 24
# Requests a month when [traffic] says nothing: steady, moderate traffic (about 3.8 per second).
DEFAULT_REQUESTS_PER_MONTH = 10_000_000
DEFAULT_PEAK_HOURS = 8.0
DEFAULT_BURST_S = 60.0
# SeBS measured about half of idle environments evicted every ~380 s (FACTS.md); the emulator
# reclaims after the same time by default.
DEFAULT_IDLE_TIMEOUT_S = 380.0


@dataclass(frozen=True)
class TrafficSettings:
    """The user's traffic: a monthly volume (or mean rate) with an optional daily peak and bursts,
    or a trace of per-minute counts replayed as they are."""

    requests_per_month: float = DEFAULT_REQUESTS_PER_MONTH
    peak_rps: float | None = None  # during peak_hours_per_day; the rest of the day shares what is left
    peak_hours_per_day: float = DEFAULT_PEAK_HOURS
    path: str = "direct"  # which path the production traffic takes (prices API Gateway's share)
    bursts_per_day: int = 0  # spikes from the base rate to burst_rps, each burst_s long
    burst_rps: float | None = None
    burst_s: float = DEFAULT_BURST_S
    trace: Path | None = None  # per-minute counts (CloudWatch's Invocations metric, say)

    @property
    def mean_rps(self) -> float:
        return self.requests_per_month / (DAYS_PER_MONTH * SECONDS_PER_DAY)

    def problems(self) -> list[tuple[str, object, str]]:
        """(field, value, what is allowed) for each rule the settings break; [] when they hold."""
        found: list[tuple[str, object, str]] = []
        if not math.isfinite(self.requests_per_month) or self.requests_per_month <= 0:
            found.append(("requests_per_month", self.requests_per_month, "must be > 0"))
        if self.path not in PATHS:
            found.append(("path", self.path, "must be one of " + ", ".join(PATHS)))
        if not 0 < self.peak_hours_per_day < 24:
            found.append(("peak_hours_per_day", self.peak_hours_per_day, "must be between 0 and 24 (exclusive)"))
        if self.peak_rps is not None:
            peak_share = self.peak_rps * self.peak_hours_per_day * 3600 / (self.mean_rps * SECONDS_PER_DAY)
            if self.peak_rps < self.mean_rps:
                found.append(("peak_rps", self.peak_rps, f"must be at least the mean rate ({self.mean_rps:.3g}/s)"))
            elif peak_share > 1:
                found.append(
                    (
                        "peak_rps",
                        self.peak_rps,
                        f"at most {self.mean_rps * 24 / self.peak_hours_per_day:.3g}: "
                        f"{self.peak_hours_per_day:g} peak hours at this rate exceed the month's requests",
                    )
                )
        if self.bursts_per_day < 0:
            found.append(("bursts_per_day", self.bursts_per_day, "must be >= 0"))
        if self.bursts_per_day and self.burst_rps is None:
            found.append(("burst_rps", None, "required when bursts_per_day > 0"))
        if self.burst_rps is not None and self.burst_rps <= self.mean_rps:
            found.append(("burst_rps", self.burst_rps, f"must exceed the mean rate ({self.mean_rps:.3g}/s)"))
        if not 0 < self.burst_s <= 3600:
            found.append(("burst_s", self.burst_s, "must be 0..3600 seconds (exclusive of 0)"))
        elif self.bursts_per_day and self.burst_rps is not None and not found:
            # Bursts (and the peak, where they do not overlap it) must fit in the day's requests.
            daily = self.mean_rps * SECONDS_PER_DAY
            bursts = self.bursts_per_day * self.burst_rps * self.burst_s
            if bursts > daily:
                most = daily / (self.bursts_per_day * self.burst_s)
                found.append(("burst_rps", self.burst_rps, f"at most {most:.3g}: {self.bursts_per_day} bursts a day at "
                              f"this rate carry more than the {daily:,.0f} requests of a day"))  # fmt: skip
        return found


@dataclass(frozen=True)
class DecisionSettings:
    """How to choose: the strategy, the latency objective, and what is acceptable."""

    strategy: str = "cost"  # cost | speed | balanced | slo (config makes slo the default with slo_ms)
    balanced_weight: float = 0.5  # aws-lambda-power-tuning's weight on cost (1 - weight on speed)
    slo_percentile: int = 95
    slo_ms: float | None = None  # client latency, on [traffic].path
    cold_start_budget: float = 0.01  # the largest share of requests allowed to start cold
    max_error_rate: float = 0.01  # a variant above it is infeasible
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S  # when Lambda reclaims an idle environment (assumed)

    def problems(self) -> list[tuple[str, object, str]]:
        found: list[tuple[str, object, str]] = []
        if self.strategy not in STRATEGIES:
            found.append(("strategy", self.strategy, "must be one of " + ", ".join(STRATEGIES)))
        if self.strategy == "slo" and self.slo_ms is None:
            found.append(("slo_ms", None, 'required with strategy = "slo" (client latency in ms)'))
        if not 0 <= self.balanced_weight <= 1:
            found.append(("balanced_weight", self.balanced_weight, "must be 0..1"))
        if self.slo_percentile not in SLO_PERCENTILES:
            allowed = ", ".join(map(str, SLO_PERCENTILES))
            found.append(("slo_percentile", self.slo_percentile, f"must be one of {allowed}"))
        if self.slo_ms is not None and not (math.isfinite(self.slo_ms) and self.slo_ms > 0):
            found.append(("slo_ms", self.slo_ms, "must be > 0"))
        for name in ("cold_start_budget", "max_error_rate"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                found.append((name, value, "must be 0..1 (a share of requests)"))
        if not 1 <= self.idle_timeout_s <= 86_400:
            found.append(("idle_timeout_s", self.idle_timeout_s, "must be 1..86400 seconds"))
        return found
