"""Cost per million calls split into what it pays for: duration, INIT, requests, API Gateway, PC.

Made from figures the summary already has, with prices from bench.awsfacts through
bench.analysis.cost in the run's region (``region``: the summary's), at the first on-demand
duration tier and without the free tier (as ``cost_per_million`` prices):

- **as measured** (``split_measured``): the mean billed ms of the row's calls, of which INIT is
  the row's INIT milliseconds per billed call (mean Init Duration x cold calls / billed calls,
  at most the whole); duration is the rest. The parts add up to the row's cost per million.
- **for the user's traffic** (``split_at_cold_share``): billed ms = (1 - r) x warm mean + r x cold
  mean at the predicted cold share r, as the decision stage prices a call; INIT is r x the mean
  Init Duration (at most the cold mean). The parts add up to the candidate's cost per call.
- **with provisioned concurrency** (``split_provisioned``): the calls at the cold share PC leaves
  (as above), plus PC's own charge per million requests: N x memory (GB) x seconds enabled a
  month x the provisioned rate / the month's requests. Calls PC serves are billed at the lower
  provisioned duration rate; here they stay at the on-demand rate, so the bar overstates by at
  most that difference (the decision's monthly cost, in the options table, has it exact).

Since 2025-08-01 Lambda bills an on-demand cold start's INIT in its Billed Duration
(bench.analysis.cost), which is why INIT is a part of the billed ms here, not an extra.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.analysis import VariantSummary, gb_seconds
from bench.analysis.cost import arch_prices, duration_rate, gateway_usd_per_million
from bench.awsfacts import BASE_PRICE_REGION, HOURS_PER_MONTH

# (field, label, CSS class): bottom to top in the chart, left to right in tables and CSV.
COMPONENTS = (
    ("duration", "Duration", "k-duration"),
    ("init", "INIT", "k-init"),
    ("requests", "Requests", "k-requests"),
    ("gateway", "API Gateway", "k-gateway"),
    ("provisioned", "Provisioned concurrency", "k-provisioned"),
)


@dataclass(frozen=True)
class CostSplit:
    """USD per million calls, by component."""

    duration: float
    init: float
    requests: float
    gateway: float
    provisioned: float = 0.0

    @property
    def total(self) -> float:
        return self.duration + self.init + self.requests + self.gateway + self.provisioned

    def parts(self) -> tuple[float, ...]:
        return tuple(getattr(self, name) for name, _, _ in COMPONENTS)


def _split(
    billed_ms: float, init_ms: float, memory_mb: int, architecture: str, path: str, region: str | None
) -> CostSplit:
    per_million = 1e6 * duration_rate(architecture, region=region)
    init_ms = min(max(init_ms, 0.0), billed_ms)
    return CostSplit(
        duration=per_million * gb_seconds(billed_ms - init_ms, memory_mb),
        init=per_million * gb_seconds(init_ms, memory_mb),
        requests=arch_prices(architecture, region).request_usd_per_million,
        gateway=gateway_usd_per_million(path, region),
    )


def split_measured(v: VariantSummary, architecture: str, region: str | None = BASE_PRICE_REGION) -> CostSplit | None:
    """The row's cost per million as measured, split; None where it has no cost."""
    billed = v.billed_ms_mean
    if billed.value is None or not billed.n or v.memory_mb is None:
        return None
    init = v.init_ms_mean
    init_ms = (init.value or 0.0) * init.n / billed.n if init is not None and init.value is not None else 0.0
    return _split(billed.value, init_ms, v.memory_mb, architecture, v.path, region)


def split_at_cold_share(
    v: VariantSummary, architecture: str, cold_share: float, region: str | None = BASE_PRICE_REGION
) -> CostSplit | None:
    """A call of the user's traffic at cold share ``cold_share``, split; None without the warm
    and cold figures it needs (a file from before they were recorded)."""
    if v.memory_mb is None:
        return None
    warm = v.billed_ms_warm.value if v.billed_ms_warm is not None else None
    cold = v.billed_ms_cold.value if v.billed_ms_cold is not None else None
    if warm is None and cold is None:
        return None
    if cold is None:  # never saw a cold start: none to price (as the decision stage does)
        return _split(warm or 0.0, 0.0, v.memory_mb, architecture, v.path, region)
    if warm is None:
        return _split(cold, v.init_ms_mean.value or 0.0, v.memory_mb, architecture, v.path, region)
    init_ms = min(v.init_ms_mean.value or 0.0, cold)
    billed = (1 - cold_share) * warm + cold_share * cold
    return _split(billed, cold_share * init_ms, v.memory_mb, architecture, v.path, region)


def provisioned_usd_per_million(
    count: int, memory_mb: int, hours_per_day: float, requests_per_month: float, architecture: str,
    region: str | None = BASE_PRICE_REGION,
) -> float:  # fmt: skip
    """PC's own monthly charge (no calls), per million of the month's requests."""
    if requests_per_month <= 0:
        return 0.0
    seconds = hours_per_day / 24 * HOURS_PER_MONTH * 3600
    usd = count * memory_mb / 1024 * seconds * arch_prices(architecture, region).provisioned_usd_per_gb_s
    return usd / requests_per_month * 1e6


def split_provisioned(
    v: VariantSummary,
    architecture: str,
    *,
    count: int,
    hours_per_day: float,
    cold_share: float,
    requests_per_month: float,
    region: str | None = BASE_PRICE_REGION,
) -> CostSplit | None:
    """The calls at the cold share PC leaves, plus PC's charge (see the module for what it leaves out)."""
    calls = split_at_cold_share(v, architecture, cold_share, region)
    if calls is None or v.memory_mb is None:
        return None
    pc = provisioned_usd_per_million(count, v.memory_mb, hours_per_day, requests_per_month, architecture, region)
    return CostSplit(calls.duration, calls.init, calls.requests, calls.gateway, pc)
