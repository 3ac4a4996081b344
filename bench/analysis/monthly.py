"""A month's bill for one function: the measured invocation, a traffic profile, line items.

``monthly_cost`` prices what ``cost_per_million`` leaves out because it belongs to a month
rather than to one call: the duration tiers (cumulative GB-seconds a month), the free tier
(1 M requests and 400,000 GB-s, on-demand only), and provisioned concurrency (memory x
count x seconds enabled, rounded up to 5 minutes, plus the lower duration rate of the calls
it serves). Prices come from bench.awsfacts, in the invocation's region
(bench/analysis/pricing.py), and a note says whose they are.

Assumption, said again in every MonthlyCost's notes: requests spread evenly over the month
and over the concurrent executions, so provisioned concurrency P against a peak of C
serves min(1, P / C) of the requests during the hours it is enabled, unless the traffic
gives the share itself (``provisioned_served_share``, as the decision stage's simulation of
the user's traffic does). The account's other functions are taken to use no tiers or free
tier of their own.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.analysis.cost import (
    arch_prices,
    check_path,
    gateway_usd_per_million,
    gb_seconds,
    tiered_duration,
)
from bench.analysis.model import VariantSummary
from bench.analysis.pricing import prices_for
from bench.awsfacts import (
    APIGW_FIRST_TIER_REQUESTS,
    BASE_PRICE_REGION,
    FREE_TIER_GB_S,
    FREE_TIER_REQUESTS,
    HOURS_PER_MONTH,
    PROVISIONED_BILLING_INCREMENT_S,
)

_MAX_HOURS = 31 * 24
_APIGW_NAMES = {"apigw-http": "API Gateway HTTP API requests", "apigw-rest": "API Gateway REST API requests"}


@dataclass(frozen=True)
class TrafficProfile:
    """What a month asks of the function; the user's numbers, not measured ones."""

    requests_per_month: float
    path: str = "direct"
    provisioned_concurrency: int = 0
    provisioned_hours: float = 0.0  # hours a month provisioned concurrency is enabled
    peak_concurrency: int | None = None  # None: provisioned concurrency covers the peak
    free_tier: bool = False
    # The share of requests provisioned concurrency serves, when known (simulated); None: the
    # even-spread assumption, min(1, P / peak) x hours / 730.
    provisioned_served_share: float | None = None

    def __post_init__(self) -> None:
        check_path(self.path)
        if not math.isfinite(self.requests_per_month) or self.requests_per_month < 0:
            raise ValueError(f"requests_per_month {self.requests_per_month}: must be >= 0")
        if self.provisioned_concurrency < 0:
            raise ValueError(f"provisioned_concurrency {self.provisioned_concurrency}: must be >= 0")
        if not 0 <= self.provisioned_hours <= _MAX_HOURS:
            raise ValueError(f"provisioned_hours {self.provisioned_hours}: must be 0..{_MAX_HOURS}")
        if self.peak_concurrency is not None and self.peak_concurrency < 1:
            raise ValueError(f"peak_concurrency {self.peak_concurrency}: must be >= 1")
        share = self.provisioned_served_share
        if share is not None and not 0 <= share <= 1:
            raise ValueError(f"provisioned_served_share {share}: must be 0..1")

    @property
    def provisioned_share(self) -> float:
        """The share of requests provisioned concurrency serves: ``provisioned_served_share``
        when given, else min(1, P / peak) x hours / 730."""
        if not self.provisioned_concurrency or not self.provisioned_hours:
            return 0.0
        if self.provisioned_served_share is not None:
            return self.provisioned_served_share
        peak = self.peak_concurrency or self.provisioned_concurrency
        return min(1.0, self.provisioned_concurrency / peak) * min(1.0, self.provisioned_hours / HOURS_PER_MONTH)


@dataclass(frozen=True)
class InvocationProfile:
    """One invocation as measured: its memory and mean billed ms, on demand and provisioned."""

    memory_mb: int
    architecture: str
    billed_ms: float  # on demand; cold starts' INIT included as the REPORT lines billed it
    billed_ms_provisioned: float | None = None  # served by provisioned concurrency (no INIT)
    # The share of on-demand calls that start cold, when billed_ms weighs warm and cold by a
    # predicted rate rather than the benchmark's own (for the notes); None: the benchmark's.
    cold_share: float | None = None
    region: str | None = BASE_PRICE_REGION  # whose prices; None: not recorded (us-east-1's, said)

    def __post_init__(self) -> None:
        arch_prices(self.architecture, self.region)
        if self.memory_mb <= 0:
            raise ValueError(f"memory_mb {self.memory_mb}: must be > 0")
        for value in (self.billed_ms, self.billed_ms_provisioned):
            if value is not None and (not math.isfinite(value) or value < 0):
                raise ValueError(f"billed ms {value}: must be a finite number >= 0")
        if self.cold_share is not None and not 0 <= self.cold_share <= 1:
            raise ValueError(f"cold_share {self.cold_share}: must be 0..1")


@dataclass(frozen=True)
class LineItem:
    name: str
    quantity: float
    unit: str
    usd_per_unit: float
    note: str = ""

    @property
    def usd(self) -> float:
        return self.quantity * self.usd_per_unit


@dataclass(frozen=True)
class MonthlyCost:
    invocation: InvocationProfile
    traffic: TrafficProfile
    items: tuple[LineItem, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def total_usd(self) -> float:
        return sum(item.usd for item in self.items)

    def as_dict(self) -> dict[str, Any]:
        return {
            "invocation": asdict(self.invocation),
            "traffic": asdict(self.traffic),
            "items": [{**asdict(item), "usd": item.usd} for item in self.items],
            "notes": list(self.notes),
            "total_usd": self.total_usd,
        }


def _request_items(on_demand: float, provisioned: float, traffic: TrafficProfile, rate: float) -> list[LineItem]:
    free = min(on_demand, FREE_TIER_REQUESTS) if traffic.free_tier else 0.0
    note = f"after {free:,.0f} free (on-demand requests only)" if traffic.free_tier else ""
    return [LineItem("Lambda requests", on_demand + provisioned - free, "requests", rate / 1e6, note)]


def _on_demand_duration_items(gb_s: float, traffic: TrafficProfile, invocation: InvocationProfile) -> list[LineItem]:
    free = min(gb_s, FREE_TIER_GB_S) if traffic.free_tier else 0.0
    charges = tiered_duration(gb_s, invocation.architecture, start_gb_s=free, region=invocation.region)
    if not charges:
        note = "all within the free tier" if gb_s else ""
        return [LineItem("Lambda duration, on demand", 0.0, "GB-s", 0.0, note)] if gb_s else []
    items = []
    for charge in charges:
        note = f"after {free:,.0f} free GB-s" if free and charge is charges[0] else ""
        items.append(
            LineItem(f"Lambda duration, on demand, tier {charge.tier}", charge.gb_s, "GB-s", charge.usd_per_gb_s, note)
        )
    return items


def _provisioned_items(invocation: InvocationProfile, traffic: TrafficProfile, served: float) -> list[LineItem]:
    if not traffic.provisioned_concurrency or not traffic.provisioned_hours:
        return []
    prices = arch_prices(invocation.architecture, invocation.region)
    increment = PROVISIONED_BILLING_INCREMENT_S
    seconds = math.ceil(traffic.provisioned_hours * 3600 / increment) * increment
    provisioned_gb_s = invocation.memory_mb / 1024 * traffic.provisioned_concurrency * seconds
    billed = invocation.billed_ms if invocation.billed_ms_provisioned is None else invocation.billed_ms_provisioned
    return [
        LineItem(
            "Provisioned concurrency",
            provisioned_gb_s,
            "GB-s",
            prices.provisioned_usd_per_gb_s,
            f"{traffic.provisioned_concurrency} x {invocation.memory_mb} MB x {seconds:,} s "
            f"(rounded up to {increment // 60} minutes); no free tier",
        ),
        LineItem(
            "Lambda duration, provisioned",
            served * gb_seconds(billed, invocation.memory_mb),
            "GB-s",
            prices.provisioned_duration_usd_per_gb_s,
            f"{served:,.0f} requests served",
        ),
    ]


def _gateway_items(traffic: TrafficProfile, region: str | None) -> tuple[list[LineItem], list[str]]:
    if traffic.path not in APIGW_FIRST_TIER_REQUESTS:
        return [], []
    first_tier = APIGW_FIRST_TIER_REQUESTS[traffic.path]
    notes = []
    if traffic.requests_per_month > first_tier:
        notes.append(
            f"{_APIGW_NAMES[traffic.path]}: over {first_tier:,.0f} a month the price per "
            "request falls; awsfacts holds only the first tier, so this overestimates"
        )
    rate = gateway_usd_per_million(traffic.path, region) / 1e6
    item = LineItem(_APIGW_NAMES[traffic.path], traffic.requests_per_month, "requests", rate)
    return [item], notes


def monthly_cost(invocation: InvocationProfile, traffic: TrafficProfile) -> MonthlyCost:
    """The month's bill for ``traffic`` calls of ``invocation``, item by item (see the module)."""
    prices = arch_prices(invocation.architecture, invocation.region)
    provisioned = traffic.requests_per_month * traffic.provisioned_share
    on_demand = traffic.requests_per_month - provisioned
    gateway, notes = _gateway_items(traffic, invocation.region)
    notes.insert(0, prices_for(invocation.region).statement(invocation.architecture, [traffic.path]))
    items = [
        *_request_items(on_demand, provisioned, traffic, prices.request_usd_per_million),
        *_on_demand_duration_items(
            on_demand * gb_seconds(invocation.billed_ms, invocation.memory_mb), traffic, invocation
        ),
        *_provisioned_items(invocation, traffic, provisioned),
        *gateway,
    ]
    if invocation.cold_share is None:
        notes.append("cold starts are priced at the rate the benchmark measured them (its mean billed ms)")
    else:
        notes.append(f"cold starts are priced at {invocation.cold_share:.3%} of on-demand calls, as predicted")
    if provisioned and traffic.provisioned_served_share is not None:
        notes.append(f"provisioned concurrency serves {traffic.provisioned_share:.1%} of requests, as simulated")
    elif provisioned:
        notes.append(
            f"provisioned concurrency serves {traffic.provisioned_share:.1%} of requests, "
            "assuming traffic spread evenly over the month and over concurrent executions"
        )
    return MonthlyCost(invocation, traffic, tuple(items), tuple(notes))


def invocation_profile(
    variant: VariantSummary,
    architecture: str,
    *,
    cold_start_rate: float | None = None,
    region: str | None = BASE_PRICE_REGION,
) -> InvocationProfile:
    """The InvocationProfile of a measured variant.

    On demand it bills the variant's mean billed ms, cold starts at the rate the benchmark
    saw; give ``cold_start_rate`` to price your own rate instead (warm and cold means,
    weighted). Served by provisioned concurrency it bills the warm mean: no INIT.
    ValueError when the variant has no memory size or no billed data.
    """
    if variant.memory_mb is None or variant.billed_ms_mean.value is None:
        raise ValueError(f"variant {variant.variant}: no memory size or no billed duration to price")
    warm = variant.billed_ms_warm.value if variant.billed_ms_warm is not None else None
    cold = variant.billed_ms_cold.value if variant.billed_ms_cold is not None else None
    billed = variant.billed_ms_mean.value
    if cold_start_rate is not None:
        if not 0 <= cold_start_rate <= 1:
            raise ValueError(f"cold_start_rate {cold_start_rate}: must be 0..1")
        if warm is None or (cold is None and cold_start_rate > 0):
            raise ValueError(
                f"variant {variant.variant}: needs warm and cold billed data to price another cold-start rate"
            )
        billed = (1 - cold_start_rate) * warm + cold_start_rate * (cold or 0.0)
    return InvocationProfile(variant.memory_mb, architecture, billed, warm, region=region)
